"""Joining a Ray cluster that requires token authentication without sending its token is one
line that says so, at once (h260).

A head started as the README says (``RAY_AUTH_MODE=token ray start --head ...``) refuses a
client that sends no token, and Ray 2.60 sends one to an address named explicitly
(``--address``, RAY_ADDRESS) only with RAY_AUTH_MODE=token: ``nnsynth invert --address
HOST:6379`` (any command that joins) with the mode unset (the token in ~/.ray/auth_token)
printed ~20 s of Ray's "Failed to get cluster ID
from GCS server: Unauthenticated ... Authentication token is missing or incorrect" and then
"cannot join the Ray cluster at ...: Failed to connect to Ray cluster ...", which names no
token; with RAY_AUTH_MODE=token and no token anywhere it was Ray's AuthenticationError
traceback (exit 1).  connect's GCS probe now reads the GCS's refusal, and a token mode with
no token is refused before Ray is asked.

The GCS here is a gRPC server in this process answering Ray's first call (GetClusterId) as a
token-authenticated GCS answers a client without the token; no Ray starts.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent import futures
from pathlib import Path

import pytest

from cluster.connect import check_address, gcs_silent
from synth.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
REFUSAL = "InvalidAuthToken: Authentication token is missing or incorrect"   # Ray 2.60's


def token_mode() -> bool:
    """Whether this process's Ray clients send a token (Ray's reading of RAY_AUTH_MODE)."""
    from ray._raylet import AuthenticationMode, get_authentication_mode
    return get_authentication_mode() == AuthenticationMode.TOKEN


@pytest.fixture
def token_gcs():
    """The address of a GCS that refuses every call for want of the cluster's token."""
    import grpc
    from ray.core.generated import gcs_service_pb2_grpc

    class Refusing(gcs_service_pb2_grpc.NodeInfoGcsServiceServicer):
        def GetClusterId(self, request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, REFUSAL)

    server = grpc.server(futures.ThreadPoolExecutor(2))
    gcs_service_pb2_grpc.add_NodeInfoGcsServiceServicer_to_server(Refusing(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop(None)


@pytest.fixture
def mode_unset(monkeypatch):
    """RAY_AUTH_MODE unset, as Ray reads it (a test before this one in the process may have
    started a local Ray, which switches the process to token mode); put back afterwards."""
    import ray
    from ray._raylet import Config
    if ray.is_initialized():   # connect() would return it without a probe: the module's
        ray.shutdown()         # Ray (a later ray_local starts a new one) instead of a skip
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    Config.initialize("")          # Ray's own way to read the mode again (_enable_token_auth)
    yield
    monkeypatch.undo()
    Config.initialize("")


def test_a_token_refusal_is_one_line_naming_the_token(token_gcs, mode_unset):
    start = time.monotonic()
    with pytest.raises(UserError) as e:
        check_address(token_gcs)
    line = str(e.value)
    assert time.monotonic() - start < 10
    assert line.startswith(f"cannot join the Ray cluster at '{token_gcs}': its GCS requires "
                           f"token authentication"), line
    assert "RAY_AUTH_MODE=token" in line and "sends no token" in line, line
    assert "~/.ray/auth_token" in line, line
    assert "\n" not in line
    assert gcs_silent(token_gcs) is None     # a GCS answered: not "no Ray GCS answered"


SEARCH = ["search", "--dataset", "iris", "--space", "mlp", "--trials", "2", "--n-initial", "2"]


def test_the_cli_without_the_mode_exits_2_in_one_line(token_gcs, tmp_path, mode_unset):
    """RAY_AUTH_MODE unset here (a token in ~/.ray/auth_token or not: Ray sends it to no
    named address): in this process, as ``nnsynth search --address`` runs it."""
    from click.testing import CliRunner
    from deploy.cli.main import cli
    assert not token_mode()
    start = time.monotonic()
    r = CliRunner().invoke(cli, [*SEARCH, "--address", token_gcs, "--out", str(tmp_path / "s")])
    assert r.exit_code == 2, r.output
    assert time.monotonic() - start < 15
    line = r.output.strip()
    assert line.startswith(f"error: cannot join the Ray cluster at '{token_gcs}': its GCS "
                           f"requires token authentication and this process sends no token"), line
    assert "\n" not in line and "RAY_AUTH_MODE=token" in line, line
    assert not (tmp_path / "s").exists()


def test_the_token_mode_without_a_token_exits_2_in_one_line(token_gcs, tmp_path):
    """RAY_AUTH_MODE=token and no token anywhere: Ray's AuthenticationError traceback was the
    answer (exit 1).  A process of its own: Ray reads the mode when it is imported."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RAY_AUTH", "RAY_ADDRESS"))}
    env.update(PYTHONPATH=str(ROOT), HOME=str(tmp_path), RAY_AUTH_MODE="token")
    r = subprocess.run([sys.executable, "-m", "deploy.cli.main", *SEARCH, "--address",
                        token_gcs, "--out", str(tmp_path / "s")], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr[-3000:]
    assert lines[0] == (f"error: cannot join the Ray cluster at '{token_gcs}': RAY_AUTH_MODE is "
                        f"token here and no authentication token was found: put the cluster's "
                        f"token in ~/.ray/auth_token, or set RAY_AUTH_TOKEN (or "
                        f"RAY_AUTH_TOKEN_PATH to a file holding it)"), lines
    assert not (tmp_path / "s").exists()
