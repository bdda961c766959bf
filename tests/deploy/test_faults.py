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
"""
import json
import os
import signal
import subprocess
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.deploy.raytools import kill_titled, wait_for

ROOT = Path(__file__).resolve().parents[2]
LATENCY_MS = 0.005     # iris MLPs of the mlp space price at 0.0004-0.08 ms: this excludes some


def _start(args: list[str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    return subprocess.Popen(["nnsynth", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env=env)


def _finish(proc: subprocess.Popen, timeout: float = 600) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, (out + err)[-3000:]
    return json.loads(out.strip().splitlines()[-1])         # --json: stdout's last line


def _rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist() if path.is_file() else []


def test_latency_constrained_search_survives_a_killed_hwsim_actor(tmp_path):
    out = tmp_path / "search"
    proc = _start(["search", "--dataset", "iris", "--space", "mlp", "--searcher", "chameleon",
                   "--trials", "3", "--n-initial", "2", "--concurrency", "1", "--epochs", "1",
                   "--constraint", f"latency_ms<={LATENCY_MS}", "--out", str(out), "--json"])
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
    rows = _rows(out / "results.parquet")
    assert summary["trials"] == 3 == len(rows) == len({r["trial_id"] for r in rows})
    assert all(r["latency_ms"] is not None and r["latency_ms"] <= LATENCY_MS for r in rows)
    assert all(r["energy_mj"] > 0 for r in rows)
    again = _finish(_start(["search", "--resume", str(out), "--json"]))   # nothing reruns
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
    proc = _start(args)
    try:
        wait_for(lambda: shards() or proc.poll() is not None, timeout=400,
                 what="the first finished shard", poll=0.05)
        assert proc.poll() is None, "the synthesis ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)          # the driver and the Ray it started
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    done = {p.name: p.read_bytes() for p in shards()}
    assert 1 <= len(done) < 4
    from synth.checkpoint import read_checkpoint
    steps_before = read_checkpoint(out / "students" / "pair-0.pt")["metrics"]["kd_steps"]
    assert steps_before == 3 * len(done)
    summary = _finish(_start(args))
    assert summary["skipped"] == len(done) and summary["written"] == 4 - len(done)
    assert summary["student_kd_steps"] == {"0": 3 * 4}      # resumed from the saved student
    assert sorted(p.name for p in shards()) == [f"shard-{i:05d}.parquet" for i in range(4)]
    for name, data in done.items():                          # finished shards untouched
        assert (out / name).read_bytes() == data
    seeds = [pq.read_table(p).column("seed")[0].as_py() for p in shards()]
    assert len(set(seeds)) == 4
