"""Helper 245: Tune's saved state is unpickled on --resume only as the search's own process
left it.  ``search.trust`` refused a directory this user did not start, but not a changed
one: anyone who could write into the search's folder (group-writable, synced) could replace
tune/tuner.pkl, and the next ``nnsynth search --resume`` ran its code.  Now a SHA-256 of each
file of the experiment is kept in the user's state directory as the search process stops,
and a state with no digests (a killed process) or a changed one is not restored: the search
resumes from results.parquet (its finished trials kept, the others run) with a warning.

One real search per test (iris, 2 one-at-a-time trials), stopped by a Ctrl-C after its first
trial as ``nnsynth search`` is (``_fit_interruptibly``)."""
import logging
import os
import pickle
import signal

import pytest

import search.run
from search.results import read_results
from search.run import SearchConfig, run_search
from search.trust import record_tune_state, state_dir, unverified_tune_state

CONFIG = SearchConfig(space="mlp", dataset="iris", trials=2, concurrency=1, n_initial=2,
                      searcher="random", epochs=1, hardware=False, seed=5)


@pytest.fixture(scope="module")
def ray_session(ray_local):
    return ray_local


def _stopped(out, monkeypatch, config=CONFIG):
    """A search of ``config`` stopped by Ctrl-C after its first trial finished; its one
    row."""
    report = search.run.report_trial

    def then_interrupt(path, *, row=None, error=None):
        report(path, row=row, error=error)
        if row is not None:
            os.kill(os.getpid(), signal.SIGINT)
    with monkeypatch.context() as m:
        m.setattr(search.run, "report_trial", then_interrupt)
        with pytest.raises(KeyboardInterrupt):
            run_search(config, out, progress=False)
    rows = read_results(out / "results.parquet")
    assert len(rows) == 1
    return rows.iloc[0]


def _restores(monkeypatch) -> list:
    from ray import tune
    calls = []
    real = tune.Tuner.restore

    def spy(*a, **k):
        calls.append(a)
        return real(*a, **k)
    monkeypatch.setattr(tune.Tuner, "restore", spy)
    return calls


class Planted:
    """A pickle that runs code: unpickled, it makes the directory ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def test_an_untouched_stopped_search_restores_its_tune_state(ray_session, tmp_path,
                                                             monkeypatch, caplog):
    out = tmp_path / "s"
    first = _stopped(out, monkeypatch)
    assert unverified_tune_state(out, str(out / "tune")) is None
    calls = _restores(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="search"):
        summary = run_search(None, out, resume=True, progress=False)
    assert len(calls) == 1 and "not verified" not in caplog.text
    rows = read_results(out / "results.parquet")
    assert summary["trials"] == 2 and len(set(rows["trial_id"])) == 2
    kept = rows[rows["trial_id"] == first["trial_id"]].iloc[0]
    assert kept["finished_at"] == first["finished_at"]      # not trained again


def test_a_replaced_pickle_is_not_unpickled(ray_session, tmp_path, monkeypatch, caplog):
    out = tmp_path / "s"
    first = _stopped(out, monkeypatch)
    marker = tmp_path / "ran"
    (out / "tune" / "tuner.pkl").write_bytes(pickle.dumps(Planted(marker)))
    calls = _restores(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="search"):
        summary = run_search(None, out, resume=True, progress=False)
    assert not marker.exists() and not calls
    (line,) = [r.getMessage() for r in caplog.records if "not verified" in r.getMessage()]
    assert line.startswith(f"Tune's saved state in {out / 'tune'} is not verified (")
    assert "tuner.pkl" in line and "resuming from results.parquet, 1 finished trial kept" in line
    rows = read_results(out / "results.parquet")
    assert summary["trials"] == 2 and len(set(rows["trial_id"])) == 2
    kept = rows[rows["trial_id"] == first["trial_id"]].iloc[0]
    assert kept["finished_at"] == first["finished_at"]
    # the planted folder was nnsynth's tune/: removed and begun anew, and recorded again
    assert unverified_tune_state(out, str(out / "tune")) is None


def test_a_killed_search_has_no_digests(tmp_path):
    """No record (the process was SIGKILLed before it stopped): not verified."""
    from tests.search.test_h216_search_state import _search
    out = _search(tmp_path / "s", rows=1, trials=2)
    (out / "tune").mkdir()
    (out / "tune" / "tuner.pkl").write_bytes(b"x")
    assert "did not stop cleanly" in unverified_tune_state(out, str(out / "tune"))


def test_an_added_or_changed_file_is_seen(tmp_path):
    """Tune reads the newest experiment_state-*.json: one planted beside the recorded ones is
    a change, as is any byte of a recorded file; the digests are the user's alone (0600)."""
    from tests.search.test_h216_search_state import _search
    out = _search(tmp_path / "s", rows=1, trials=2)
    tune = out / "tune"
    (tune / "trial").mkdir(parents=True)
    (tune / "tuner.pkl").write_bytes(b"x")
    (tune / "trial" / "params.pkl").write_bytes(b"y")
    record_tune_state(out, str(tune))
    record = state_dir() / "searches" / ((out / "search_id").read_text().strip() + ".tune")
    assert record.stat().st_mode & 0o777 == 0o600
    assert unverified_tune_state(out, str(tune)) is None
    (tune / "experiment_state-2099-01-01_00-00-00.json").write_text("{}")
    assert "experiment_state-2099" in unverified_tune_state(out, str(tune))
    (tune / "experiment_state-2099-01-01_00-00-00.json").unlink()
    (tune / "trial" / "params.pkl").write_bytes(b"z")
    assert "1 of its files changed" in unverified_tune_state(out, str(tune))
