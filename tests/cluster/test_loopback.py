"""Safety of the cluster (issue 13, item 16): every command that brings up Ray (invert,
search, run, sweep) starts it through ``cluster.connect.connect`` only, bound to the
loopback address -- also when ``ray`` was imported before nnsynth's modules -- with
token authentication on and no dashboard.

Each command runs in its own process on tiny settings; while it runs, the listening TCP
sockets of its whole process tree (GCS, raylet, workers, agents) are read from /proc
(``Listeners``).  The sweep is checked here; the other commands are checked on processes
that other tests start anyway (each such process cost ~15-25 s of the suite here):
``nnsynth invert`` with ``ray`` imported first and as the ``nnsynth`` script, and
``nnsynth search`` with ``ray`` imported first, in tests/deploy/test_faults.py;
``nnsynth run`` with ``ray`` imported first in tests/deploy/test_resume_search.py.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
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


def command_line(args: list[str], ray_first: bool) -> list[str]:
    """``nnsynth ARGS`` as a process: the ``nnsynth`` script, or, with ``ray_first``, a
    Python that imports ``ray`` before any nnsynth module and then runs the same CLI."""
    if not ray_first:
        return ["nnsynth", *args]
    code = f"import ray; import sys; from deploy.cli.main import cli; " \
           f"sys.argv = ['nnsynth'] + {list(args)!r}; cli()"
    return [sys.executable, "-c", code]


def command_env() -> dict[str, str]:
    """The environment of a command whose Ray is checked: nothing that would choose its
    Ray's address, authentication or bind address for it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0",
           **RAY_TRAIN_TEST_ENV}
    for key in ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"):
        env.pop(key, None)
    return env


class Listeners:
    """The listening TCP sockets of process ``pid``'s tree, and whether its GCS runs with
    token authentication and a full dashboard runs (``_observe``), polled every
    ``interval`` s in a thread from construction until ``stop()`` (or the ``with`` block's
    end); ``check(what)`` asserts that Ray ran, bound to the loopback address only, with
    token authentication and no dashboard."""

    def __init__(self, pid: int, interval: float = 0.3):
        import threading
        self.pid, self.interval = pid, interval
        self.seen: dict = {}
        self.facts: dict = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            _observe(self.pid, self.seen, self.facts)
            self._stop.wait(self.interval)

    def stop(self) -> "Listeners":
        self._stop.set()
        self._thread.join()
        return self

    def __enter__(self) -> "Listeners":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def check(self, what: str) -> None:
        seen, facts = self.seen, self.facts
        names = {name for name, _, _ in seen}
        assert {"gcs_server", "raylet"} <= names, f"{what}: Ray not seen running: {seen}"
        outside = sorted(k for k in seen if k[1] not in LOOPBACK)
        assert not outside, f"{what}: listening beyond the loopback address: {outside}"
        assert facts.get("gcs_auth") is True, f"{what}: its GCS runs without token auth"
        assert not facts.get("dashboard"), f"{what}: a dashboard runs, none was asked for"


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
    (tmp / "run.yaml").write_text(json.dumps(RUN))
    (tmp / "sweep.yaml").write_text(json.dumps({"name": "sw", "base": str(tmp / "run.yaml"),
                                                "root": str(tmp / "sweeps"), "max_parallel": 1,
                                                # its run trains the teacher (Ray Train in a
                                                # sweep task); pair actors: the invert and
                                                # run commands' checks (module docstring)
                                                "runs": [{"name": "one", "teacher.cache": "",
                                                          "synthesis.enabled": False}]}))
    return tmp


COMMANDS = {
    "invert": lambda t: ["invert", "--teacher", str(t / "teacher.pt"), "--num-images", "10",
                         "--iterations", "2", "--batch-size", "10", "--shard-size", "10",
                         "--no-early-stop", "--num-cpus", "1", "--out", str(t / "inv")],
    "sweep": lambda t: ["sweep", str(t / "sweep.yaml"), "--num-cpus", "1"],
}


def test_sweep_ray_listens_on_loopback_only(inputs):
    """``nnsynth sweep`` with ``ray`` imported first; its run trains a teacher, so Ray
    Train's workers (in a sweep task) are among the processes checked."""
    for attempt in range(2):   # Ray gives its raylet 30 s to start: a loaded machine retries
        proc = subprocess.Popen(command_line(COMMANDS["sweep"](inputs), ray_first=True),
                                env=command_env(), cwd=inputs, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        with Listeners(proc.pid) as listeners:
            try:
                out, err = proc.communicate(timeout=240)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    out, err = proc.communicate()
        if "timed out during startup" not in err:
            break
    assert proc.returncode == 0, err[-2000:]
    assert "reusing teacher" not in err + out, (err + out)[-2000:]   # it trains one
    listeners.check("nnsynth sweep")


def test_auth_disabled_is_refused_before_ray_starts(inputs, monkeypatch):
    from click.testing import CliRunner
    from deploy.cli.main import cli
    import ray
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    r = CliRunner().invoke(cli, COMMANDS["invert"](inputs))
    assert r.exit_code == 2 and "RAY_AUTH_MODE=disabled" in r.output, r.output
    assert not ray.is_initialized()
