"""Killed (SIGKILL) and interrupted (Ctrl-C, SIGINT) during the search and rerun: the search
stage is not recorded as finished, the pipeline resumes, and the trials that had finished are
not trained again (their rows, timestamps and checkpoints are unchanged).

The teacher and synthesis stages run once per module (``prepared``); the test starts from
a copy of that run directory, so its processes run the search stage only (the stages
before it are "done earlier", as in any resumed run).  ``prepared`` finds its teacher in a
teacher cache filled here (tests/deploy/teachers.py): the cache is no part of a stage's
fingerprint, so the ledger's stages carry the fingerprints of the config's own run, without
the Ray Train start-up of a teacher that the pipeline and cluster tests train on workers.

The killed process also carries tests/cluster/test_loopback.py's check of ``nnsynth run``'s
Ray (loopback only, token authentication, no dashboard), with ``ray`` imported before
nnsynth's modules."""
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.cluster.test_loopback import Listeners, command_env, command_line
from tests.deploy.raytools import live_parquet_rows

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "deploy" / "configs" / "digits_search.yaml"


def _rows(path: Path) -> list[dict]:
    # read whole (raytools.live_parquet_rows): the search replaces the file as trials end
    return live_parquet_rows(path, ["trial_id", "finished_at", "checkpoint"])


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """A run directory of CONFIG stopped after synthesis (as `nnsynth run CONFIG --num-cpus 2
    --stop-after synthesis` leaves it), made in this process; Ray is shut down afterwards."""
    import ray
    from deploy.pipeline import run_pipeline
    from deploy.run_config import load_run_config
    from tests.deploy.teachers import seed_teacher_cache
    root = tmp_path_factory.mktemp("prepared")
    run_dir = root / "run"
    config = load_run_config(str(CONFIG))
    seed_teacher_cache(config, root / "teachers")
    cached = load_run_config(str(CONFIG), {"num_cpus": 2, "teacher": {
        **config.teacher.to_dict(), "cache": str(root / "teachers")}})
    try:
        run_pipeline(cached, run_dir, progress=False, stop_after="synthesis")
    finally:
        ray.shutdown()
    ledger = json.loads((run_dir / "ledger.json").read_text())
    assert set(ledger["stages"]) == {"teacher", "synthesis"}
    assert ledger["stages"]["teacher"]["outputs"]["reused"]
    from synth.data import load_dataset
    digest = load_dataset(config.teacher.dataset, seed=config.data_seed).digest()
    for stage in ("teacher", "synthesis"):      # what CONFIG's own run records
        assert ledger["stages"][stage]["fingerprint"] == config.stage_fingerprint(
            stage, {"teacher": digest})
    return run_dir


def _start(run_dir: Path, ray_first: bool = False) -> subprocess.Popen:
    """The search stage in a process of its own session; its output goes to a file beside
    the run directory (``_output``): a pipe nobody reads while the test polls would block
    the run once Tune's progress tables fill it (64 KiB).  With ``ray_first``, ``ray`` is
    imported before nnsynth's modules and ``proc.listeners`` polls the listening sockets
    of its process tree (test_loopback's ``command_line`` and ``Listeners``)."""
    log = run_dir.parent / f"out-{len(list(run_dir.parent.glob('out-*.txt')))}.txt"
    args = ["run", str(CONFIG), "--run-dir", str(run_dir), "--num-cpus", "2",
            "--stop-after", "search"]
    with open(log, "w") as out:
        proc = subprocess.Popen(command_line(args, ray_first), cwd=ROOT, stdout=out,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                env=command_env())
    proc.log = log
    proc.listeners = Listeners(proc.pid) if ray_first else None
    return proc


def _output(proc: subprocess.Popen, timeout: float) -> str:
    """Wait for ``proc`` (at most ``timeout`` s); its output.  A process still running then
    is killed with its local Ray (its own session), and the test fails with its output."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail(f"still running after {timeout} s; its output:\n"
                    + proc.log.read_text()[-3000:])
    return proc.log.read_text()


def _stop_after(run_dir: Path, results: Path, trials: int, how: str,
                ray_first: bool = False) -> tuple[int, str]:
    """Start the search stage, wait until ``trials`` trials have finished, stop it ``how``
    (SIGKILL to the driver and its local Ray, or Ctrl-C to the driver); (exit code, output).
    With ``ray_first`` (``_start``), its Ray's listening sockets are checked as well."""
    proc = _start(run_dir, ray_first)
    deadline = time.monotonic() + 400
    while len(_rows(results)) < trials and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before it could be stopped:\n" + _output(proc, 60)
    assert trials <= len(_rows(results)) < 3
    if how == "kill":
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if proc.listeners is not None:
            proc.listeners.stop().check("nnsynth run (ray imported first)")
        return proc.returncode, ""
    os.kill(proc.pid, signal.SIGINT)            # a clean, loud stop
    out = _output(proc, 120)
    return proc.returncode, out


def _stamps(results: Path) -> dict:
    return {r["trial_id"]: (r["finished_at"], os.path.getmtime(r["checkpoint"]))
            for r in _rows(results)}


def _search_done(run_dir: Path) -> bool:
    return "search" in json.loads((run_dir / "ledger.json").read_text())["stages"]


def test_killed_then_interrupted_search_resumes_and_keeps_finished_trials(prepared, tmp_path):
    """One run directory, three processes: the first is killed after its first trial, the
    second resumes and is interrupted (Ctrl-C) after the next, the third finishes.  A stopped
    search is not recorded as done, and no finished trial is trained again."""
    run_dir = shutil.copytree(prepared, tmp_path / "run", symlinks=True)
    results = run_dir / "search" / "results.parquet"

    code, _ = _stop_after(run_dir, results, 1, "kill", ray_first=True)
    assert code == -signal.SIGKILL and not _search_done(run_dir)
    killed = _stamps(results)

    code, out = _stop_after(run_dir, results, len(killed) + 1, "ctrl-c")
    assert "resuming the search" in out and "teacher: done earlier" in out, out[-3000:]
    interrupted = _stamps(results)
    assert all(interrupted[t] == killed[t] for t in killed)   # same row, same file
    if code == 0:                   # Ctrl-C as the last trial finished: then, and only then,
        assert _search_done(run_dir) and len(interrupted) == 3, out[-3000:]   # done
        return
    assert code == 130, out[-3000:]
    assert "interrupted: finished work is kept" in out and not _search_done(run_dir)

    rerun = _start(run_dir)
    out = _output(rerun, 600)
    assert rerun.returncode == 0, out[-3000:]
    assert "synthesis: done earlier" in out and "resuming the search" in out
    # Ray Train's per-checkpoint INFO line from the trial processes is no progress line
    assert "Checkpoint successfully created" not in out, out[-3000:]
    rows = _rows(results)
    assert len(rows) == 3 and len({r["trial_id"] for r in rows}) == 3
    final = _stamps(results)
    assert all(final[t] == interrupted[t] for t in interrupted)
    ledger = json.loads((run_dir / "ledger.json").read_text())
    assert ledger["stages"]["search"]["outputs"]["summary"]["trials"] == 3
