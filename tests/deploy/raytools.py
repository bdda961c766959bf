"""Test helpers: a real `ray start --head` on 127.0.0.1 in its own temporary directory.

Teardown stops only the processes of *this* head (found by its temporary directory in
their command lines), so other Ray sessions on the machine are left alone; on a CI machine
that runs nothing else this is what `ray stop` does.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from unittest import mock



def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports: every socket stays bound until all are chosen (one at a
    time, the kernel may hand the same port out twice; Ray then refuses to start)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


# Ray Train's controller asks its workers every 2 s whether they have finished (a second
# lost per training on average) and starts a preemption watcher (one more Python process,
# ~2-3 s of CPU on a loaded 2-core machine) for spot nodes; no test here has either.  Ray
# Train passes both variables from the driver to its controller.
RAY_TRAIN_TEST_ENV = {"RAY_TRAIN_HEALTH_CHECK_INTERVAL_S": "0.5",
                      "RAY_TRAIN_ENABLE_PREEMPTION_WATCHER": "0"}


@contextlib.contextmanager
def loopback_cluster(head_cpus: int, worker_cpus: list[int]):
    """A ``ray.cluster_utils.Cluster`` on 127.0.0.1 (a head with ``head_cpus`` and one node
    per entry of ``worker_cpus``), joined by this process through ``cluster.connect``; its
    dashboard on a free port, not Ray's default 8265, which another xdist worker's Ray may
    hold.  Yields ``(cluster, dashboard URL)``: the URL is what ``nodes_of`` asks."""
    import ray
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster
    from cluster.connect import connect, private_token
    from ray._private.authentication.authentication_token_setup import (
        _enable_token_auth, ensure_token_if_auth_enabled)
    ray_constants.ENABLE_RAY_CLUSTER = False        # every node on 127.0.0.1
    port = free_ports(1)[0]
    # Token authentication, as cluster.connect's local Ray has it: Cluster starts its nodes
    # without ray.init, so Ray 2.60 left it off (RAY_AUTH_MODE unset) and any local user
    # could submit jobs to the dashboard or join the GCS while a test ran.  Ray reads the
    # mode once per process: its own switch sets the variable and re-reads it.
    with mock.patch.dict(os.environ, {**RAY_TRAIN_TEST_ENV, "RAY_AUTH_MODE": "token"}):
        _enable_token_auth()
        private_token()      # a token made here is 0600 (Ray's own would be 0644)
        ensure_token_if_auth_enabled(create_token_if_missing=True)
        cluster = Cluster(initialize_head=True,    # the dashboard serves ray.util.state
                          head_node_args={"num_cpus": head_cpus, "include_dashboard": True,
                                          "dashboard_host": "127.0.0.1", "dashboard_port": port})
        try:
            for cpus in worker_cpus:
                cluster.add_node(num_cpus=cpus)
            cluster.wait_for_nodes(timeout=180)   # add_node returns before the GCS lists a node
            connect(cluster.address)
            assert len([n for n in ray.nodes() if n["Alive"]]) == 1 + len(worker_cpus)
            yield cluster, f"http://127.0.0.1:{port}"
        finally:
            ray.shutdown()
            cluster.shutdown()


def nodes_of(class_name: str, dashboard: str) -> set[str]:
    """Nodes of the actors of ``class_name``, asked of *this* cluster's dashboard (without an
    address, ray.util.state asks the Ray most recently started on the machine, which under
    pytest-xdist can be another worker's).  The name may come qualified (Tune's function
    trainables: ``wrap_function.<locals>.ImplicitFunc``)."""
    from ray.util.state import list_actors
    return {a.node_id for a in list_actors(address=dashboard, limit=10000)
            if a.class_name.rsplit(".", 1)[-1] == class_name}


PORT_FLAGS = ("--dashboard-agent-listen-port", "--dashboard-agent-grpc-port",
              "--metrics-export-port", "--runtime-env-agent-port", "--ray-client-server-port",
              "--node-manager-port", "--object-manager-port")


HEAD_START_ATTEMPTS = 2   # `ray start --head` tries (a start-up deadline missed under load)


class LocalHead:
    """``ray start --head --dashboard-host 127.0.0.1 --num-cpus N --temp-dir DIR``."""

    def __init__(self, num_cpus: int = 2):
        self.temp_dir = Path(tempfile.mkdtemp(prefix="nnray", dir="/tmp"))
        self.port, self.dashboard_port, *self.component_ports = free_ports(2 + len(PORT_FLAGS))
        self.address = f"http://127.0.0.1:{self.dashboard_port}"
        self.num_cpus = num_cpus
        # RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0: the GCS and raylet listen on 127.0.0.1, as
        # cluster.connect's local Ray does; --node-ip-address alone left them on every
        # interface (a single-node head: no worker joins it)
        self.env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0",
                    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
                    **RAY_TRAIN_TEST_ENV}     # the head's processes and its jobs inherit it
        self.env.pop("RAY_ADDRESS", None)

    def start(self) -> "LocalHead":
        cmd = ["ray", "start", "--head", "--node-ip-address", "127.0.0.1",
               "--port", str(self.port), "--dashboard-host", "127.0.0.1",
               "--dashboard-port", str(self.dashboard_port), "--num-cpus", str(self.num_cpus),
               "--temp-dir", str(self.temp_dir), "--disable-usage-stats"]
        # Every fixed default port picked afresh: another Ray on this machine (a developer's,
        # a parallel test) may hold 52365 (the job agent's) or 10001, and then jobs cannot
        # be submitted ("No available agent").
        for flag, port in zip(PORT_FLAGS, self.component_ports):
            cmd += [flag, str(port)]
        # a token where `ray start` looks, as the README's `ray get-auth-token --generate`
        # makes one (private: 0600): on a machine where no Ray had run, ~/.ray held none and
        # the head refused to start ('no authentication token was found')
        from cluster.connect import private_token
        private_token()
        for attempt in range(1, HEAD_START_ATTEMPTS + 1):
            res = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                                 timeout=120)
            if res.returncode == 0:
                break
            self.stop()
            # a GCS that missed Ray's start-up deadline on a loaded machine ('Failed to get
            # node info ... Deadline Exceeded': test_job_submit's three tests in the clean-
            # clone CI of 05d30ec3) is started again, as cluster.connect's local Ray is
            if attempt == HEAD_START_ATTEMPTS or "Deadline Exceeded" not in res.stderr:
                raise RuntimeError(f"ray start failed: {res.stderr[-2000:]}")
            self.temp_dir.mkdir()
        try:
            self._wait_dashboard()
            self._wait_job_agent()
        except RuntimeError:
            self.stop()
            raise
        return self

    def _wait_dashboard(self, timeout: float = 60) -> None:
        import urllib.error
        import urllib.request
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.address}/api/version", timeout=2)
                return
            except urllib.error.HTTPError:   # answered (e.g. 401 without a token): it is up
                return
            except Exception:
                time.sleep(0.5)
        raise RuntimeError(f"dashboard at {self.address} did not come up")

    def _wait_job_agent(self, timeout: float = 180) -> None:
        """The head's job agent registers a few seconds after the dashboard answers; until
        then a submission fails with 'No available agent'.  Submit a no-op until accepted.

        The client sends the token only when this process's Ray config says token mode:
        Ray reads RAY_AUTH_MODE into that config once, so setting the variable is not
        enough where the config was read before (the test module ran after one that used
        Ray without starting it); Ray's own switch sets the variable and re-reads it."""
        from ray._private.authentication.authentication_token_setup import _enable_token_auth
        _enable_token_auth()
        from ray.job_submission import JobSubmissionClient
        client = JobSubmissionClient(self.address)
        deadline = time.monotonic() + timeout
        while True:
            try:
                job = client.submit_job(entrypoint="true")
                break
            except RuntimeError as e:
                if "No available agent" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(1.0)
        while str(client.get_job_status(job)).split(".")[-1] not in ("SUCCEEDED", "FAILED",
                                                                      "STOPPED"):
            if time.monotonic() > deadline:
                raise RuntimeError("the no-op readiness job did not finish")
            time.sleep(0.5)

    def processes(self) -> list[int]:
        """PIDs whose command line mentions this head's temporary directory (Linux /proc)."""
        marker = str(self.temp_dir).encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                if marker in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
        return pids

    def stop(self) -> None:
        """Stop the head as ``ray stop`` orders it: the GCS last.  Sent SIGTERM together,
        gcs_server and the raylet wait on each other (measured: both alive 12 s later), so
        every stop spent its whole grace and then SIGKILLed; the raylet and the Python
        services exit on SIGTERM within ~1.5 s, then the GCS within ~0.2 s.  Each wave polls
        for its processes' exit (0.1 s sleeps, 3 s cap); SIGKILL is the fallback for any
        that outlive both (the head and its temp dir are thrown away)."""
        def command(pid: int) -> bytes:
            try:
                return (Path("/proc") / str(pid) / "cmdline").read_bytes()
            except OSError:
                return b""

        waves = ((signal.SIGTERM, lambda cmd: b"gcs_server" not in cmd, 3.0),
                 (signal.SIGTERM, lambda cmd: True, 3.0),
                 (signal.SIGKILL, lambda cmd: True, 5.0))
        for sig, pick, wait in waves:
            pids = [pid for pid in self.processes() if pick(command(pid))]
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while pids and time.monotonic() < deadline:
                time.sleep(0.1)
                pids = [pid for pid in self.processes() if pid in pids]
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def descendants(root: int) -> dict[int, str]:
    """PID -> command line (Ray workers: their title, e.g. ``ray::HwsimShard``) of every
    process below ``root`` (Linux /proc): the processes of the Ray that ``root`` started,
    not another session's on the same machine."""
    children: dict[int, list[int]] = {}
    cmdline: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline[int(entry.name)] = (entry / "cmdline").read_bytes().replace(
                b"\0", b" ").decode(errors="replace").strip()
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, stack = {}, [root]
    while stack:
        for pid in children.get(stack.pop(), []):
            found[pid] = cmdline.get(pid, "")
            stack.append(pid)
    return found


def wait_for(condition, timeout: float, what: str, poll: float = 0.1):
    """Poll ``condition()`` until it returns something truthy (returned) or ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def kill_titled(root: int, title: str) -> list[int]:
    """SIGKILL every process below ``root`` whose title starts with ``title``; their PIDs."""
    pids = [pid for pid, cmd in descendants(root).items() if cmd.startswith(title)]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def live_parquet_rows(path: Path, columns: list[str] | None = None) -> list[dict]:
    """The rows of a Parquet file a running search replaces as its trials end (an atomic
    rename): [] while it is not there.  One read of the file's bytes: pq.read_table(path)
    opens it twice (footer, then pages), so a poll between the two read the new file's
    pages at the old footer's offsets ('Page was smaller (0) than expected (11)': the
    clean-clone CI of b7f8e07 in test_resume_search, and of b34bb30 in test_faults)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    return pq.read_table(pa.BufferReader(data), columns=columns).to_pylist()
