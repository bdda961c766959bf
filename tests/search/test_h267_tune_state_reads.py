"""Helper 267: Tune unpickles only the bytes whose digests were checked.

``search.trust.unverified_tune_state`` checked the digests of a stopped search's Tune
state before ``--resume`` let Tune restore it, but Tune read the files again later from the
same path (tuner.pkl in ``Tuner.restore``, after Ray started: seconds; the experiment
state and the searcher's when ``fit()`` resumes; error.pkl as it ends): a tuner.pkl
replaced after the check was unpickled.  Now the restored Tune reads its experiment through
``search.trust.VerifiedReads``, which gives a file Tune may unpickle only as the recorded
bytes (or as this process wrote it), and refuses any other in one line."""
import pickle

import pyarrow.fs as pafs
import pytest

from search.trust import (TuneStateChanged, VerifiedReads, record_tune_state,
                          tune_state_digests, unverified_tune_state, verified_reads)
from synth.errors import UserError
from tests.search.test_h245_tune_state_digest import Planted, _stopped


def _recorded(tmp_path):
    from tests.search.test_h216_search_state import _search
    out = _search(tmp_path / "s", rows=1, trials=2)
    tune = out / "tune"
    (tune / "trial").mkdir(parents=True)
    (tune / "tuner.pkl").write_bytes(pickle.dumps({"tuner": 1}))
    (tune / "trial" / "error.pkl").write_bytes(pickle.dumps("error"))
    (tune / "trial" / "result.json").write_text("{}\n")
    record_tune_state(out, str(tune))
    assert unverified_tune_state(out, str(tune)) is None
    return out, tune


def test_only_the_checked_bytes_are_read(tmp_path):
    out, tune = _recorded(tmp_path)
    path, fs = verified_reads(out, str(tune))
    assert path == str(tune)
    with fs.open_input_file(f"{tune}/tuner.pkl") as f:
        assert pickle.loads(f.readall()) == {"tuner": 1}
    # replaced after the check: refused, in one line naming the file
    (tune / "tuner.pkl").write_bytes(pickle.dumps(Planted(tmp_path / "ran")))
    with pytest.raises(TuneStateChanged, match=r"tuner\.pkl changed\): nothing of it was "
                                                r"unpickled; rerun"):
        fs.open_input_file(f"{tune}/tuner.pkl")
    assert isinstance(TuneStateChanged("x"), UserError)
    (tune / "trial" / "error.pkl").write_bytes(b"planted")
    with pytest.raises(TuneStateChanged, match="error.pkl changed"):
        fs.open_input_stream(f"{tune}/trial/error.pkl")
    # a newer experiment state planted beside the recorded ones (Tune reads the newest)
    (tune / "experiment_state-2099-01-01_00-00-00.json").write_text("{}")
    with pytest.raises(TuneStateChanged, match="experiment_state-2099.* appeared"):
        fs.open_input_stream(f"{tune}/experiment_state-2099-01-01_00-00-00.json")
    # a trial's results (not unpickled) are read as they are; Tune's own writes read back
    (tune / "trial" / "result.json").write_text('{"a": 1}\n')
    with fs.open_input_stream(f"{tune}/trial/result.json") as f:
        assert f.read() == b'{"a": 1}\n'
    with fs.open_output_stream(f"{tune}/experiment_state-2100-01-01_00-00-00.json") as f:
        f.write(b"[]")
    with fs.open_input_stream(f"{tune}/experiment_state-2100-01-01_00-00-00.json") as f:
        assert f.read() == b"[]"
    # ... and only as written: replaced since, it is refused too
    (tune / "experiment_state-2100-01-01_00-00-00.json").write_text("[1]")
    with pytest.raises(TuneStateChanged, match=r"changed after this search wrote it "
                                               r"\(experiment_state-2100.* changed\)"):
        fs.open_input_stream(f"{tune}/experiment_state-2100-01-01_00-00-00.json")
    (tmp_path / "staging").mkdir()
    (tmp_path / "staging" / "error.pkl").write_bytes(pickle.dumps("another error"))
    fs.create_dir(f"{tune}/trial2")
    pafs.copy_files(str(tmp_path / "staging"), f"{tune}/trial2",
                    destination_filesystem=fs)   # Tune's syncs: pyarrow's copy_files
    with fs.open_input_stream(f"{tune}/trial2/error.pkl") as f:
        assert pickle.loads(f.read()) == "another error"
    (tune / "trial2" / "error.pkl").write_bytes(b"planted")
    with pytest.raises(TuneStateChanged, match="trial2/error.pkl changed"):
        fs.open_input_stream(f"{tune}/trial2/error.pkl")
    # a later restore in this process checks it again, as recorded (it was not)
    with pytest.raises(TuneStateChanged, match="experiment_state-2100.* appeared"):
        verified_reads(out, str(tune))[1].open_input_stream(
            f"{tune}/experiment_state-2100-01-01_00-00-00.json")
    # Tune keeps the filesystem in its trials' state: it pickles, and lists as before
    again = pickle.loads(pickle.dumps(fs))
    assert isinstance(again.handler, VerifiedReads) and again.handler.root == str(tune)
    names = {i.path for i in fs.get_file_info(pafs.FileSelector(str(tune), recursive=True))}
    assert f"{tune}/trial/error.pkl" in names
    assert set(tune_state_digests(str(tune))) >= {"tuner.pkl", "trial/error.pkl"}


@pytest.fixture(scope="module")
def ray_session(ray_local):
    return ray_local


def test_a_pickle_replaced_after_the_check_is_not_unpickled(ray_session, tmp_path,
                                                            monkeypatch):
    """The swap lands between nnsynth's check and Tune's restore: at ``Tuner.restore``."""
    out = tmp_path / "s"
    _stopped(out, monkeypatch)
    assert unverified_tune_state(out, str(out / "tune")) is None
    resume_refuses_a_swapped_tuner_pickle(out, str(out / "tune"), tmp_path / "ran",
                                          monkeypatch)


def resume_refuses_a_swapped_tuner_pickle(out, experiment: str, marker, monkeypatch) -> None:
    """``--resume`` of the stopped search in ``out`` whose tuner.pkl (in ``experiment``, a
    path or a URI) is replaced between nnsynth's check and Tune's restore (at
    ``Tuner.restore``) is refused in one line, and the planted pickle never runs."""
    from ray import tune

    from search.run import run_search
    real = tune.Tuner.restore.__func__

    def swapped_then_restored(cls, *a, **k):
        fs, root = pafs.FileSystem.from_uri(experiment)
        with fs.open_output_stream(f"{root}/tuner.pkl") as f:
            f.write(pickle.dumps(Planted(marker)))
        return real(cls, *a, **k)
    monkeypatch.setattr(tune.Tuner, "restore", classmethod(swapped_then_restored))
    with pytest.raises(UserError, match=r"changed after it was verified \(tuner\.pkl "
                                        r"changed\): nothing of it was unpickled"):
        run_search(None, out, resume=True, progress=False)
    assert not marker.exists()


def test_a_state_planted_after_the_restore_is_not_unpickled(ray_session, tmp_path,
                                                            monkeypatch):
    """The swap lands after ``Tuner.restore`` and before ``fit()`` resumes, which reads the
    newest experiment_state-*.json (its trials cloudpickled in it)."""
    import cloudpickle
    from ray.tune.utils.serialization import binary_to_hex

    import search.run
    out = tmp_path / "s"
    _stopped(out, monkeypatch)
    marker = tmp_path / "ran"
    real = search.run._fit_interruptibly

    def planted_then_fit(*a, **k):
        (out / "tune" / "experiment_state-2099-01-01_00-00-00.json").write_text(
            '{"_type": "CLOUDPICKLE_FALLBACK", "value": "%s"}'
            % binary_to_hex(cloudpickle.dumps(Planted(marker))))
        return real(*a, **k)
    monkeypatch.setattr(search.run, "_fit_interruptibly", planted_then_fit)
    with pytest.raises(UserError, match=r"experiment_state-2099-01-01_00-00-00\.json "
                                        r"appeared\): nothing of it was unpickled"):
        search.run.run_search(None, out, resume=True, progress=False)
    assert not marker.exists()
