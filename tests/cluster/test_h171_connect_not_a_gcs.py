"""A HOST:PORT address where a service that is no Ray GCS listens is one line, in bounded
time (helper 171).

``cluster.connect`` refused an address where nothing listens (157a6d6) by a TCP connect;
a port where something else listens passed it, and ``ray.init`` then waited on it: a server
that accepts and says nothing, or an HTTP server, was still waited on after 40 s (Ray's
GcsClient retries, "Failed to connect to GCS ... within 5 seconds"), and a gRPC server that
is no GCS gave ~20 s of "Failed to get cluster ID" warnings and Ray's own error.  connect()
now probes the GCS over gRPC first (``gcs_silent``) and refuses in one line naming the
address.  Each server here is a thread of this process; no Ray starts.
"""
from __future__ import annotations

import socket
import threading
import time
from concurrent import futures

import pytest

from cluster.connect import GCS_CHECK_SECONDS, connect, gcs_silent
from synth.errors import UserError

BOUND = GCS_CHECK_SECONDS * 2 + 10      # TCP check + gRPC probe, and slack on a loaded machine


class _Server:
    """A TCP server on 127.0.0.1 that accepts every connection and then either stays silent
    or answers what it reads with an HTTP/1.1 error (a web server at the port)."""

    def __init__(self, http: bool):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.http, self.held = http, []
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:            # closed
                return
            self.held.append(conn)
            if self.http:
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                 b"Connection: close\r\n\r\n")
                    conn.close()
                except OSError:
                    pass

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture(params=["silent", "http", "grpc"])
def service(request):
    """The address of a service that is no Ray GCS: a silent TCP server, an HTTP server, or
    a gRPC server with no services (every call 'unimplemented')."""
    if request.param == "grpc":
        import grpc
        server = grpc.server(futures.ThreadPoolExecutor(1))
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        yield request.param, f"127.0.0.1:{port}"
        server.stop(None)
        return
    server = _Server(http=request.param == "http")
    yield request.param, server.address
    server.close()


def _connect_in_thread(address: str, timeout: float):
    """connect(address) in a thread joined for ``timeout`` seconds: (outcome, seconds); the
    outcome is the exception raised, or 'hung' (the thread is left behind, a daemon)."""
    outcome = {}

    def run():
        try:
            connect(address)
            outcome["value"] = "joined"
        except BaseException as e:       # noqa: BLE001  (what the thread ended with)
            outcome["value"] = e
    start = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome.get("value", "hung"), time.monotonic() - start


@pytest.mark.timeout(120)
def test_a_service_that_is_no_gcs_is_refused_in_bounded_time(service):
    import ray
    kind, address = service
    outcome, seconds = _connect_in_thread(address, BOUND)
    assert outcome != "hung", f"connect({address!r}) to a {kind} service still waiting " \
                              f"after {seconds:.0f} s"
    assert isinstance(outcome, UserError), repr(outcome)
    message = str(outcome)
    port = address.split(":")[1]
    assert message.startswith(f"cannot join the Ray cluster at '{address}': no Ray GCS "
                              f"answered at port {port} of 127.0.0.1"), message
    assert "\n" not in message
    assert not ray.is_initialized()


@pytest.mark.timeout(60)
def test_the_cli_exits_2_naming_the_address(tmp_path, digits):
    import torch
    from click.testing import CliRunner
    from deploy.cli.main import cli
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    torch.manual_seed(0)
    model = build({"family": "convnet", "widths": [4], "kernels": [3], "strides": [2],
                   "bn": True, "pool": "avg", "hidden": []}, digits.input_shape, digits.num_classes)
    save_checkpoint(tmp_path / "teacher.pt", model, dataset=digits.metadata())
    server = _Server(http=True)
    try:
        r = CliRunner().invoke(cli, ["invert", "--teacher", str(tmp_path / "teacher.pt"),
                                     "--num-images", "10", "--iterations", "1",
                                     "--address", server.address, "--out", str(tmp_path / "inv")])
    finally:
        server.close()
    assert r.exit_code == 2, r.output
    assert f"cannot join the Ray cluster at '{server.address}': no Ray GCS answered" \
        in r.output, r.output
    assert "Traceback" not in r.output


def test_the_probe_leaves_other_addresses_to_ray():
    for address in ("auto", "ray://127.0.0.1:1", "garbage address", "127.0.0.1", ":6379",
                    "127.0.0.1:0"):
        assert gcs_silent(address, timeout=0.5) is None, address
