"""Helper 272: a search's own Tune reads and its recorded digests vouch only for bytes it
wrote or verified.

- A new search (no --resume) ran Tune on Ray's default filesystem: as ``fit()`` ended Tune
  unpickled each failed trial's error.pkl from the results folder, as it was then; one
  replaced after Tune wrote it ran its code.  A new search's Tune now reads its experiment
  through ``search.trust.VerifiedReads`` too, with no recorded digests: only the bytes this
  process wrote.
- ``record_tune_state`` hashed the files as they were when the search stopped: a pickle
  replaced after Tune wrote it (or verified it) was recorded as the search's, and the next
  --resume unpickled it.  Now such a file is recorded as not vouched for, and a resume
  resumes from results.parquet.
- An experiment at a file:// ``storage_path`` was restored on Ray's default filesystem (any
  URI was): a tuner.pkl replaced after nnsynth's check was unpickled."""
import os
import pickle
import signal
from pathlib import Path

import pyarrow.fs as pafs
import pytest

import search.run
from search.run import SearchConfig, run_search
from search.trust import record_tune_state, state_dir, unverified_tune_state, verified_reads
from search.trust import UNVOUCHED
from synth.errors import UserError
from synth.files import claim_dir
from tests.search.test_h245_tune_state_digest import Planted, _stopped
from tests.search.test_h267_tune_state_reads import resume_refuses_a_swapped_tuner_pickle

CONFIG = SearchConfig(space="mlp", dataset="iris", trials=1, concurrency=1, n_initial=2,
                      searcher="random", epochs=1, hardware=False, seed=5, max_failures=0)


def _write(fs, path: str, data: bytes) -> None:
    with fs.open_output_stream(path) as f:
        f.write(data)


def _recorded(out: Path) -> dict:
    name = (out / "search_id").read_text().strip() + ".tune"
    import json
    return json.loads((state_dir() / "searches" / name).read_text())["files"]


def test_only_what_this_process_wrote_or_verified_is_recorded(tmp_path):
    """No Ray: a new search's filesystem (nothing recorded), then a restored one's."""
    from tests.search.test_h216_search_state import _search
    out = _search(tmp_path / "s", rows=1, trials=2)
    tune = claim_dir(out / "tune", "--out")      # as a new search's is
    (tune / "trial").mkdir()
    path, fs = verified_reads(out, str(tune), restored=False)
    assert path == str(tune)
    _write(fs, f"{tune}/tuner.pkl", pickle.dumps({"tuner": 1}))
    _write(fs, f"{tune}/trial/error.pkl", pickle.dumps("error"))
    _write(fs, f"{tune}/trial/result.json", b"{}\n")
    (tune / "trial" / "checkpoint_000000").mkdir()
    (tune / "trial" / "checkpoint_000000" / "model.pt").write_bytes(b"a worker's model")
    # replaced after Tune wrote it, and one planted beside (Tune reads the newest state)
    (tune / "trial" / "error.pkl").write_bytes(pickle.dumps(Planted(tmp_path / "ran")))
    (tune / "experiment_state-2099-01-01_00-00-00.json").write_text("{}")
    record_tune_state(out, str(tune), fs)
    files = _recorded(out)
    assert files["trial/error.pkl"] == UNVOUCHED
    assert files["experiment_state-2099-01-01_00-00-00.json"] == UNVOUCHED
    assert len(files["tuner.pkl"]) == 64 and len(files["trial/result.json"]) == 64
    # a trial worker's files (Tune unpickles none) and nnsynth's owner marker: as found
    assert len(files["trial/checkpoint_000000/model.pt"]) == 64
    assert len(files[".nnsynth-owned"]) == 64
    why = unverified_tune_state(out, str(tune))
    assert "2 of its files changed" in why and "trial/error.pkl" in why
    # restored (recorded as Tune left it): a verified pickle replaced while the search runs
    # again is not recorded as the search's either
    (tune / "trial" / "error.pkl").write_bytes(pickle.dumps("error"))
    (tune / "experiment_state-2099-01-01_00-00-00.json").unlink()
    record_tune_state(out, str(tune))
    assert unverified_tune_state(out, str(tune)) is None
    path, fs = verified_reads(out, str(tune))
    (tune / "tuner.pkl").write_bytes(pickle.dumps(Planted(tmp_path / "ran")))
    (tune / "trial" / "checkpoint_000000" / "model.pt").write_bytes(b"retrained")
    record_tune_state(out, str(tune), fs)
    files = _recorded(out)
    assert files["tuner.pkl"] == UNVOUCHED and files["trial/error.pkl"] != UNVOUCHED
    assert files["trial/checkpoint_000000/model.pt"] != UNVOUCHED
    assert "tuner.pkl" in unverified_tune_state(out, str(tune))


def test_which_storage_is_read_through_the_verified_reads(tmp_path):
    """A file:// or s3:// experiment is read through VerifiedReads as a path is (S3 with its
    files uploaded as they close: ``_uploads_as_closed``); gs://, hdfs://, abfs:// ones are
    given as they are (the module docstring says why)."""
    assert verified_reads(tmp_path, "gs://bucket/runs/tune-x", restored=False) == (
        "gs://bucket/runs/tune-x", None)
    path, fs = verified_reads(tmp_path, f"file://{tmp_path}/tune-x", restored=False)
    assert path == f"{tmp_path}/tune-x" and isinstance(fs, pafs.PyFileSystem)
    # region and endpoint given: nothing is reached
    path, fs = verified_reads(tmp_path, "s3://bucket/runs/tune-x?region=us-east-1&"
                                        "endpoint_override=127.0.0.1:9&scheme=http",
                              restored=False)
    assert path == "bucket/runs/tune-x" and isinstance(fs.handler.fs, pafs.S3FileSystem)
    assert fs.handler.fs.__reduce__()[1][0]["background_writes"] is False


@pytest.fixture(scope="module")
def ray_session(ray_local):
    return ray_local


def test_a_new_searchs_error_pickle_replaced_before_tune_reads_it(ray_session, tmp_path,
                                                                  monkeypatch):
    """The search's one trial fails (its models folder is a file); as ``fit()`` ends Tune
    reads the trial's error.pkl back: replaced just before, it is refused, unpickled by
    nobody, and not recorded as the search's (a --resume resumes from results.parquet)."""
    from ray.tune.experiment.trial import Trial
    out = tmp_path / "s"
    marker = tmp_path / "ran"
    begin = search.run.begin_search

    def begun_without_a_models_folder(out_dir, *a, **k):
        begin(out_dir, *a, **k)
        (Path(out_dir) / "models").write_text("not a folder")
    real = Trial.get_pickled_error

    def replaced_then_read(trial):
        Path(trial.storage.trial_fs_path, "error.pkl").write_bytes(
            pickle.dumps(Planted(marker)))
        return real(trial)
    monkeypatch.setattr(search.run, "begin_search", begun_without_a_models_folder)
    monkeypatch.setattr(Trial, "get_pickled_error", replaced_then_read)
    with pytest.raises(UserError, match=r"changed after this search wrote it \(train_candidate"
                                        r".*/error\.pkl changed\): nothing of it was "
                                        r"unpickled; rerun the command with --resume"):
        run_search(CONFIG, out, progress=False)
    assert not marker.exists()
    assert "error.pkl" in unverified_tune_state(out, str(out / "tune"))


def _restored_with_a_replaced_tuner_pickle(tmp_path, monkeypatch, storage: str) -> None:
    """A search on ``storage`` stopped by Ctrl-C after its first trial; its tuner.pkl
    replaced after nnsynth's check (at ``Tuner.restore``) is not unpickled."""
    out = tmp_path / "s"
    _stopped(out, monkeypatch, CONFIG.replace(trials=2, storage_path=storage))
    experiment = f"{storage}/tune-" + (out / "search_id").read_text().strip()
    assert unverified_tune_state(out, experiment) is None
    resume_refuses_a_swapped_tuner_pickle(out, experiment, tmp_path / "ran", monkeypatch)


def test_a_file_uri_experiment_is_restored_through_the_verified_reads(ray_session, tmp_path,
                                                                      monkeypatch):
    _restored_with_a_replaced_tuner_pickle(tmp_path, monkeypatch, f"file://{tmp_path}/store")


@pytest.mark.skipif(not os.environ.get("NNSYNTH_TEST_S3"),
                    reason="NNSYNTH_TEST_S3 (s3://bucket/prefix) names no S3 to test on")
def test_an_s3_experiment_is_restored_through_the_verified_reads(ray_session, tmp_path,
                                                                 monkeypatch):
    """On an S3 server (h272 ran it on moto_server, its endpoint and keys in AWS_* before
    pytest started, for Ray's workers to have them)."""
    import uuid
    storage = f"{os.environ['NNSYNTH_TEST_S3'].rstrip('/')}/{uuid.uuid4().hex}"
    _restored_with_a_replaced_tuner_pickle(tmp_path, monkeypatch, storage)


def test_a_state_planted_while_a_new_search_ran_is_not_restored(ray_session, tmp_path,
                                                                 monkeypatch, caplog):
    """A newer experiment_state planted beside Tune's while the search ran (stopped by
    Ctrl-C after its first trial) was recorded with the rest, and the --resume unpickled
    it (Tune reads the newest); it is not the search's, and the resume starts over from
    results.parquet."""
    import logging

    import cloudpickle
    from ray.tune.utils.serialization import binary_to_hex
    out, marker = tmp_path / "s", tmp_path / "ran"
    report = search.run.report_trial

    def planted_then_interrupt(path, *, row=None, error=None):
        report(path, row=row, error=error)
        if row is not None:
            (out / "tune" / "experiment_state-2099-01-01_00-00-00.json").write_text(
                '{"_type": "CLOUDPICKLE_FALLBACK", "value": "%s"}'
                % binary_to_hex(cloudpickle.dumps(Planted(marker))))
            os.kill(os.getpid(), signal.SIGINT)
    with monkeypatch.context() as m:
        m.setattr(search.run, "report_trial", planted_then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            run_search(CONFIG.replace(trials=2), out, progress=False)
    assert "experiment_state-2099" in unverified_tune_state(out, str(out / "tune"))
    with caplog.at_level(logging.WARNING, logger="search"):
        summary = run_search(None, out, resume=True, progress=False)
    assert not marker.exists() and summary["trials"] == 2
    assert "resuming from results.parquet, 1 finished trial kept" in caplog.text
