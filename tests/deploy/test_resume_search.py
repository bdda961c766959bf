"""Killed (SIGKILL) or interrupted (Ctrl-C, SIGINT) during the search and rerun: the search
stage is not recorded as finished, the pipeline resumes, and the trials that had finished are
not trained again (their rows, timestamps and checkpoints are unchanged).

The teacher and synthesis stages run once per module (``prepared``); each test starts from
a copy of that run directory, so its processes run the search stage only (the stages
before it are "done earlier", as in any resumed run)."""
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "deploy" / "configs" / "digits_search.yaml"


def _rows(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return pq.read_table(path, columns=["trial_id", "finished_at", "checkpoint"]).to_pylist()


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A run directory of CONFIG stopped after synthesis (as `nnsynth run CONFIG --num-cpus 2
    --stop-after synthesis` leaves it), made in this process; Ray is shut down afterwards."""
    import ray
    from deploy.pipeline import run_pipeline
    from deploy.run_config import load_run_config
    run_dir = tmp_path_factory.mktemp("prepared") / "run"
    try:
        run_pipeline(load_run_config(str(CONFIG), {"num_cpus": 2}), run_dir, progress=False,
                     stop_after="synthesis")
    finally:
        ray.shutdown()
    ledger = json.loads((run_dir / "ledger.json").read_text())
    assert set(ledger["stages"]) == {"teacher", "synthesis"}
    return run_dir


def _start(run_dir: Path) -> subprocess.Popen:
    return subprocess.Popen(["nnsynth", "run", str(CONFIG), "--run-dir", str(run_dir),
                             "--num-cpus", "2", "--stop-after", "search"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


@pytest.mark.parametrize("how", ["kill", "ctrl-c"])
def test_stop_during_search_keeps_finished_trials(prepared, tmp_path, how):
    run_dir = shutil.copytree(prepared, tmp_path / "run", symlinks=True)
    results = run_dir / "search" / "results.parquet"
    proc = _start(run_dir)
    deadline = time.monotonic() + 400
    while len(_rows(results)) < 1 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.5)
    assert proc.poll() is None, "the run ended before it could be killed:\n" + proc.stdout.read()
    finished = _rows(results)
    assert 1 <= len(finished) < 3
    if how == "kill":
        os.killpg(proc.pid, signal.SIGKILL)     # killed: the driver and its local Ray
        proc.wait()
    else:
        os.kill(proc.pid, signal.SIGINT)        # Ctrl-C to the driver: a clean, loud stop
        out, _ = proc.communicate(timeout=120)
        if proc.returncode == 0:                # Ctrl-C as the last trial finished: then,
            ledger = json.loads((run_dir / "ledger.json").read_text())  # and only then, done
            assert ledger["stages"]["search"]["outputs"]["summary"]["trials"] == 3, out[-3000:]
            return
        assert proc.returncode == 130, out[-3000:]
        assert "interrupted: finished work is kept" in out
    ledger = json.loads((run_dir / "ledger.json").read_text())
    assert set(ledger["stages"]) == {"teacher", "synthesis"}     # search did not finish
    stamps = {r["trial_id"]: (r["finished_at"], os.path.getmtime(r["checkpoint"]))
              for r in _rows(results)}

    rerun = _start(run_dir)
    out, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, out[-3000:]
    assert "teacher: done earlier" in out and "synthesis: done earlier" in out
    assert "resuming the search" in out
    rows = _rows(results)
    assert len(rows) == 3 and len({r["trial_id"] for r in rows}) == 3
    for r in rows:                               # finished trials: same row, same file
        if r["trial_id"] in stamps:
            assert (r["finished_at"], os.path.getmtime(r["checkpoint"])) == stamps[r["trial_id"]]
    ledger = json.loads((run_dir / "ledger.json").read_text())
    assert ledger["stages"]["search"]["outputs"]["summary"]["trials"] == 3
