"""Safety of the cluster (issue 13, item 16): every command that brings up Ray (invert,
search, run, sweep) starts it through ``cluster.connect.connect`` only, bound to the
loopback address -- also when ``ray`` was imported before nnsynth's modules -- with
token authentication on and no dashboard.

Each command runs in its own process on tiny settings; while it runs, the listening TCP
sockets of its whole process tree (GCS, raylet, workers, agents) are read from /proc.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.deploy.raytools import RAY_TRAIN_TEST_ENV, descendants

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
TEACHER = {"family": "convnet", "widths": [4], "kernels": [3], "strides": [2], "bn": True,
           "pool": "avg", "hidden": []}
RUN = {"name": "loop", "teacher": {"dataset": "digits", "model": json.dumps(TEACHER), "epochs": 1,
                                   "cache": ""},
       "synthesis": {"num_images": 10, "pairs": 1, "shard_size": 10, "student": "",
                     "inversion": {"iterations": 2, "min_iterations": 1, "batch_size": 10,
                                   "lowres_iterations": 0, "early_stop": False}},
       "search": {"enabled": False}, "refine": {"enabled": False},
       "export": {"onnx": False, "price": False}, "num_cpus": 1}


def _listening() -> dict[str, tuple[str, int]]:
    """socket inode -> (address, port) for every listening TCP socket on the machine."""
    table = {}
    for name, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] != "0A":                        # TCP_LISTEN
                continue
            hexip, port = parts[1].split(":")
            raw = bytes.fromhex(hexip)
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            table[parts[9]] = (socket.inet_ntop(family, raw), int(port, 16))
    return table


def _listeners_of(pid: int, fds: list[str], table: dict) -> list[tuple[str, int]]:
    """(address, port) of each listening socket in ``table`` that process ``pid`` holds open
    among its file descriptors ``fds``."""
    out = []
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in table:
            out.append(table[target[8:-1]])
    return out


def _observe(pid: int, seen: dict, facts: dict) -> None:
    table = _listening()
    for p in [pid, *descendants(pid)]:
        try:
            name = Path(f"/proc/{p}/comm").read_text().strip()
            cmdline = Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
            fds = os.listdir(f"/proc/{p}/fd")
        except OSError:
            continue
        if "dashboard/dashboard.py" in cmdline and "--disable-frontend" not in cmdline:
            facts["dashboard"] = True     # the full dashboard (Ray's API head runs without it)
        if name == "gcs_server":
            try:
                env = Path(f"/proc/{p}/environ").read_bytes().split(b"\0")
                facts["gcs_auth"] = b"RAY_AUTH_MODE=token" in env
            except OSError:
                pass
        for address in _listeners_of(p, fds, table):
            seen[(name,) + address] = True


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    import torch
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    tmp = tmp_path_factory.mktemp("loop")
    digits = load_dataset("digits")
    torch.manual_seed(0)
    model = build(TEACHER, digits.input_shape, digits.num_classes)
    save_checkpoint(tmp / "teacher.pt", model, dataset=digits.metadata())
    # the run case finds its teacher in the cache: it starts Ray for its pair actors only
    # (Ray Train's workers are the sweep case's), ~20 s less of the suite
    run = {**RUN, "teacher": {**RUN["teacher"], "cache": str(tmp / "teachers")}}
    (tmp / "run.yaml").write_text(json.dumps(run))
    from deploy.run_config import load_run_config
    from deploy.stages import teacher_cache_key
    key = teacher_cache_key(load_run_config(str(tmp / "run.yaml")), digits.digest())
    (tmp / "teachers").mkdir()
    save_checkpoint(tmp / "teachers" / key, model, dataset=digits.metadata(),
                    metrics={"test_accuracy": 0.0}, extra={"role": "teacher"})
    (tmp / "sweep.yaml").write_text(json.dumps({"name": "sw", "base": str(tmp / "run.yaml"),
                                                "root": str(tmp / "sweeps"), "max_parallel": 1,
                                                # its run trains the teacher (Ray Train in a
                                                # sweep task); pair actors: the invert and run
                                                # cases
                                                "runs": [{"name": "one", "teacher.cache": "",
                                                          "synthesis.enabled": False}]}))
    return tmp


COMMANDS = {
    "invert": lambda t: ["invert", "--teacher", str(t / "teacher.pt"), "--num-images", "10",
                         "--iterations", "2", "--batch-size", "10", "--shard-size", "10",
                         "--no-early-stop", "--num-cpus", "1", "--out", str(t / "inv")],
    "search": lambda t: ["search", "--dataset", "iris", "--space", "mlp", "--trials", "1",
                         "--concurrency", "1", "--searcher", "random", "--n-initial", "1", "--epochs", "1",
                         "--no-hardware", "--out", str(t / "search")],
    "run": lambda t: ["run", str(t / "run.yaml"), "--run-dir", str(t / "run")],
    "sweep": lambda t: ["sweep", str(t / "sweep.yaml"), "--num-cpus", "1"],
}


@pytest.mark.parametrize("command, ray_first", [("invert", True), ("search", True),
                                                ("run", True), ("sweep", True),
                                                ("invert", False)])
def test_ray_listens_on_loopback_only(inputs, command, ray_first):
    args = COMMANDS[command](inputs)
    prelude = "import ray; " if ray_first else ""
    code = f"{prelude}import sys; from deploy.cli.main import cli; sys.argv = ['nnsynth'] + " \
           f"{args!r}; cli()"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0",
           **RAY_TRAIN_TEST_ENV}
    for key in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"):
        env.pop(key, None)
    for attempt in range(2):   # Ray gives its raylet 30 s to start: a loaded machine retries
        proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=inputs,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen: dict = {}
        facts: dict = {}
        deadline = time.monotonic() + 240
        try:
            while proc.poll() is None and time.monotonic() < deadline:
                _observe(proc.pid, seen, facts)
                time.sleep(0.3)
        finally:
            if proc.poll() is None:
                proc.kill()
            out, err = proc.communicate()
        if "timed out during startup" not in err:
            break
    assert proc.returncode == 0, err[-2000:]
    if command in ("run", "sweep"):   # the run reuses the cached teacher; the sweep trains one
        assert ("reusing teacher" in err + out) == (command == "run"), (err + out)[-2000:]
    names = {name for name, _, _ in seen}
    assert {"gcs_server", "raylet"} <= names, seen          # Ray was seen running
    outside = sorted(k for k in seen if k[1] not in LOOPBACK)
    assert not outside, outside
    assert facts.get("gcs_auth") is True                    # token authentication on
    assert not facts.get("dashboard")                       # no dashboard unless asked


def test_auth_disabled_is_refused_before_ray_starts(inputs, monkeypatch):
    from click.testing import CliRunner
    from deploy.cli.main import cli
    import ray
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    r = CliRunner().invoke(cli, COMMANDS["invert"](inputs))
    assert r.exit_code == 2 and "RAY_AUTH_MODE=disabled" in r.output, r.output
    assert not ray.is_initialized()
