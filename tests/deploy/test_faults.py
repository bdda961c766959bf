"""Fault tests: a process of the job is SIGKILLed while it works; the rerun (or the job
itself) finishes with no trial or shard lost or repeated.

- an hwsim pool actor killed mid-search (the latency-constrained Chameleon search of the
  README, from the CLI): Ray restarts it, every trial is priced and meets the constraint;
  resuming the finished search trains nothing again;
- the driver killed mid-synthesis (`nnsynth invert --adi`): the rerun keeps the finished
  shards byte for byte, writes the others once, and the pair's student resumes from the
  weights it had saved.

(A pair actor killed mid-shard: tests/cluster/test_pairs.py; the driver killed mid-search:
tests/deploy/test_resume_search.py.)

The processes here also carry tests/cluster/test_loopback.py's check of the commands' Rays
(loopback only, token authentication, no dashboard): the killed search and synthesis run
with ``ray`` imported before nnsynth's modules, the synthesis's rerun as the ``nnsynth``
script.
"""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.cluster.test_loopback import Listeners, command_env, command_line
from tests.deploy.raytools import kill_titled, live_parquet_rows, wait_for

ROOT = Path(__file__).resolve().parents[2]
LATENCY_MS = 0.005     # iris MLPs of the mlp space price at 0.0004-0.08 ms: this excludes some


def _start(args: list[str], log: Path, ray_first: bool = False,
           watch: bool = False) -> subprocess.Popen:
    """``nnsynth ARGS`` in its own session (killpg reaches the Ray it starts); stdout and
    stderr go to files, so a long run never blocks on a full pipe while the test polls.
    With ``ray_first``, ``ray`` is imported before nnsynth's modules (test_loopback's
    ``command_line``).  With ``watch``, ``proc.listeners`` polls the listening sockets of
    its process tree (test_loopback's ``Listeners``) until ``_finish`` or ``stop()``."""
    log.mkdir(parents=True, exist_ok=True)
    n = len(list(log.glob("*.out")))
    with open(log / f"{n}.out", "w") as out, open(log / f"{n}.err", "w") as err:
        proc = subprocess.Popen(command_line(args, ray_first), cwd=ROOT, stdout=out,
                                stderr=err, text=True, start_new_session=True,
                                env=command_env())
    proc.logs = (log / f"{n}.out", log / f"{n}.err")
    proc.listeners = Listeners(proc.pid) if watch else None
    return proc


def _finish(proc: subprocess.Popen, timeout: float = 600) -> dict:
    proc.wait(timeout=timeout)
    if proc.listeners is not None:
        proc.listeners.stop()
    out, err = (p.read_text() for p in proc.logs)
    assert proc.returncode == 0, (out + err)[-3000:]
    return json.loads(out.strip().splitlines()[-1])         # --json: stdout's last line


def _rows(path: Path) -> list[dict]:
    return live_parquet_rows(path)


def test_latency_constrained_search_survives_a_killed_hwsim_actor(tmp_path):
    out = tmp_path / "search"
    proc = _start(["search", "--dataset", "iris", "--space", "mlp", "--searcher", "chameleon",
                   "--trials", "3", "--n-initial", "2", "--concurrency", "1", "--epochs", "1",
                   "--constraint", f"latency_ms<={LATENCY_MS}", "--out", str(out), "--json"],
                  tmp_path / "logs", ray_first=True, watch=True)
    try:
        wait_for(lambda: _rows(out / "results.parquet") or proc.poll() is not None,
                 timeout=400, what="the first finished trial")
        assert proc.poll() is None, "the search ended before an hwsim actor could be killed"
        assert len(_rows(out / "results.parquet")) < 3
        assert kill_titled(proc.pid, "ray::HwsimShard"), "no hwsim actor of this search found"
        summary = _finish(proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.listeners.stop()
    proc.listeners.check("nnsynth search (ray imported first)")
    rows = _rows(out / "results.parquet")
    assert summary["trials"] == 3 == len(rows) == len({r["trial_id"] for r in rows})
    assert all(r["latency_ms"] is not None and r["latency_ms"] <= LATENCY_MS for r in rows)
    assert all(r["energy_mj"] > 0 for r in rows)
    again = _finish(_start(["search", "--resume", str(out), "--json"], tmp_path / "logs"))
    after = _rows(out / "results.parquet")
    assert again["trials"] == 3
    assert [(r["trial_id"], r["finished_at"]) for r in after] == [
        (r["trial_id"], r["finished_at"]) for r in rows]


@pytest.fixture(scope="module")
def teacher(digits, tmp_path_factory):
    from tests.synth._tiny import tiny_teacher_checkpoint
    return tiny_teacher_checkpoint(digits, tmp_path_factory.mktemp("t") / "teacher.pt")


def test_driver_killed_mid_synthesis_rerun_finishes_once(teacher, tmp_path):
    out = tmp_path / "inv"
    args = ["invert", "--teacher", str(teacher), "--num-images", "40", "--shard-size", "10",
            "--batch-size", "10", "--pairs", "1", "--iterations", "80", "--adi", "--student",
            json.dumps({"family": "mlp", "hidden": [16]}), "--kd-steps", "3", "--num-cpus", "2",
            "--out", str(out), "--json"]
    shards = lambda: sorted(out.glob("shard-*.parquet"))  # noqa: E731
    proc = _start(args, tmp_path / "logs", ray_first=True, watch=True)
    try:
        wait_for(lambda: shards() or proc.poll() is not None, timeout=400,
                 what="the first finished shard", poll=0.05)
        assert proc.poll() is None, "the synthesis ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)          # the driver and the Ray it started
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.listeners.stop()
    proc.listeners.check("nnsynth invert (ray imported first)")
    done = {p.name: p.read_bytes() for p in shards()}
    assert 1 <= len(done) < 4
    from synth.checkpoint import read_checkpoint
    # the student is saved before its shard: it has learned from every written shard (and
    # from the next one when the kill fell between the two writes)
    steps_before = read_checkpoint(out / "students" / "pair-0.pt")["metrics"]["kd_steps"]
    assert steps_before in (3 * len(done), 3 * (len(done) + 1))
    rerun = _start(args, tmp_path / "logs", watch=True)
    summary = _finish(rerun)
    rerun.listeners.check("nnsynth invert (the nnsynth script)")
    assert summary["skipped"] == len(done) and summary["written"] == 4 - len(done)
    assert summary["student_kd_steps"] == {"0": steps_before + 3 * (4 - len(done))}  # resumed
    assert sorted(p.name for p in shards()) == [f"shard-{i:05d}.parquet" for i in range(4)]
    for name, data in done.items():                          # finished shards untouched
        assert (out / name).read_bytes() == data
    seeds = [pq.read_table(p).column("seed")[0].as_py() for p in shards()]
    assert len(set(seeds)) == 4


def test_json_stays_the_last_line_of_stdout(tmp_path):
    """What a command prints after its JSON object (Ray's late worker messages) goes to
    stderr: `python -c` stands in for such a message after emit()."""
    code = ("import sys; from deploy.cli.options import emit; emit({'a': 1}, True); "
            "print('(raylet) A worker died'); sys.stdout.flush()")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == '{"a": 1}'
    assert "(raylet) A worker died" in res.stderr
