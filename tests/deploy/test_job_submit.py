"""A real Ray head (`ray start --head` on 127.0.0.1 in a temporary directory) and
`ray job submit --working-dir . -- nnsynth run tiny`: the job succeeds and writes its run
directory; `nnsynth submit` returns the job's exit status (non-zero for a failing job).
Token authentication is on (Ray 2.60 default): the clients run with RAY_AUTH_MODE=token.

The job finds tiny's teacher in its teacher cache (trained here, once, by synth.train.fit,
the loop a Ray Train worker runs), so it runs every stage but spends no time on a teacher
training (tests/deploy/test_two_node.py trains one with Ray Train, for a run of tiny's
stages on digits); Ray Train inside the job is still exercised by the refine stage."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.deploy.raytools import LocalHead
from tests.deploy.teachers import seed_teacher_cache

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def head():
    h = LocalHead(num_cpus=2).start()
    yield h
    h.stop()
    assert h.processes() == []


def _seed_teacher_cache(run_root: Path) -> None:
    """tiny's teacher, where ``nnsynth run tiny --run-dir ROOT/tiny`` looks for it
    (``teacher.cache: teachers`` beside the run directory)."""
    from deploy.run_config import load_run_config
    cfg = load_run_config("tiny")
    seed_teacher_cache(cfg, run_root / cfg.teacher.cache)


def test_the_head_listens_on_loopback_only(head):
    """The test head (``ray start --head --node-ip-address 127.0.0.1``) had its GCS and
    raylet listening on every interface (``*:PORT``); now 127.0.0.1 only, like every
    listening socket of its processes and their children."""
    from tests.cluster.test_loopback import LOOPBACK, _listeners_of, _listening
    from tests.deploy.raytools import descendants
    table, seen = _listening(), set()
    for root in head.processes():
        for pid in [root, *descendants(root)]:
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
                name = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            seen.update((name,) + address for address in _listeners_of(pid, fds, table))
    assert {"gcs_server", "raylet"} <= {name for name, _, _ in seen}, seen
    assert not [k for k in seen if k[1] not in LOOPBACK], sorted(seen)


def test_ray_job_submit_tiny(head, tmp_path):
    run_dir = tmp_path / "tiny"
    _seed_teacher_cache(tmp_path)
    res = subprocess.run(
        ["ray", "job", "submit", "--address", head.address, "--working-dir", ".", "--",
         "nnsynth", "run", "tiny", "--run-dir", str(run_dir)],
        cwd=ROOT, env=head.env, capture_output=True, text=True, timeout=400)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert "succeeded" in res.stdout
    for name in ("summary.md", "final.pt", "model.onnx", "results.parquet", "pareto.png",
                 "images.png", "ledger.json"):
        assert (run_dir / name).is_file(), name
    ledger = json.loads((run_dir / "ledger.json").read_text())
    assert set(ledger["stages"]) == {"teacher", "synthesis", "search", "refine", "export"}
    assert ledger["stages"]["teacher"]["outputs"]["reused"]
    # the synthesis stage says whether its set carries any layout (synth.inversion.layout_report)
    assert 0 <= ledger["stages"]["synthesis"]["outputs"]["summary"]["layout_kept"] <= 1


def test_nnsynth_submit_returns_job_status(head, tmp_path):
    """A job that fails on the cluster: its log is streamed and submit exits 1.  (A config
    with a bad key no longer gets that far: it is refused before the upload, exit 2.)"""
    bad = ROOT / "tests" / "deploy" / "configs" / "missing_data.yaml"
    res = subprocess.run(["nnsynth", "submit", str(bad), "--address", head.address],
                         cwd=ROOT, env=head.env, capture_output=True, text=True, timeout=200)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "no-such-file-on-the-cluster.csv not found" in res.stdout   # the job's log
    assert "FAILED" in res.stdout
    refused = subprocess.run(["nnsynth", "submit", str(ROOT / "tests" / "deploy" / "configs" /
                                                     "bad_key.yaml"), "--address", head.address],
                             cwd=ROOT, env=head.env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "unknown config key 'search.trails'" in refused.stderr


def test_submit_without_a_token_is_one_line(tmp_path):
    """Token authentication on and no token where Ray looks (~/.ray/auth_token,
    RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH): ray's AuthenticationError was a traceback."""
    import os
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH_TOKEN")}
    env.update(HOME=str(tmp_path), RAY_AUTH_MODE="token")
    res = subprocess.run(["nnsynth", "submit", "tiny", "--address", "http://127.0.0.1:9"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    lines = [l for l in res.stderr.splitlines() if l.strip()]
    assert res.returncode == 2 and len(lines) == 1, res.stderr[-2000:]
    assert lines[0].startswith("error: ") and "token" in lines[0] and "RAY_AUTH_TOKEN" in lines[0]
    assert "Traceback" not in res.stderr
