"""Security probe: writes never follow a link planted in an output folder, a local Ray
never starts without token authentication, clients without the token are refused, and
``nnsynth submit``'s client sends the token also where ray was imported first.

(tests/cluster/test_loopback.py covers the listening addresses of every command's Ray,
the GCS's token mode and the dashboard being off.)"""
from __future__ import annotations

import http.server
import importlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from synth.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------- atomic writes
def test_atomic_write_does_not_follow_a_link_at_the_temp_name(tmp_path):
    """The temp name was ``.NAME.tmpPID``: a link planted there (a shared folder, a user's
    --out) had the write go through it -- the link's target overwritten, the output left a
    link to it."""
    from synth.files import write_text_atomic
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out"
    out.mkdir()
    planted = out / f".report.md.tmp{os.getpid()}"
    planted.symlink_to(victim)
    write_text_atomic(out / "report.md", "nnsynth\n")
    assert victim.read_text() == "precious\n"
    assert not (out / "report.md").is_symlink() and (out / "report.md").read_text() == "nnsynth\n"
    assert planted.is_symlink()                     # not ours: left where it was
    assert sorted(p.name for p in out.iterdir()) == sorted([planted.name, "report.md"])


def test_atomic_temp_is_created_exclusively(tmp_path, monkeypatch):
    """Even a name guessed right is never reused: the temp file is created with O_EXCL |
    O_NOFOLLOW, a name that exists (a link included) is passed over."""
    import secrets
    from synth.files import write_text_atomic
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    names = iter(["aaaa", "bbbb"])
    monkeypatch.setattr(secrets, "token_hex", lambda n=None: next(names))
    planted = tmp_path / f".x.json.tmp{os.getpid()}.aaaa"
    planted.symlink_to(victim)
    write_text_atomic(tmp_path / "x.json", "{}\n")
    assert victim.read_text() == "precious\n" and planted.is_symlink()
    assert (tmp_path / "x.json").read_text() == "{}\n"


def test_two_writers_of_one_path_get_two_temp_files(tmp_path):
    """Two threads of one process writing the same file shared one temp file (same pid):
    one's bytes went into the other's, a reader could see a torn file."""
    from synth.files import atomic_path
    target = tmp_path / "table.parquet"
    with atomic_path(target) as a, atomic_path(target) as b:
        assert a != b
        a.write_text("A")
        b.write_text("B")
    assert target.read_text() in ("A", "B")
    assert [p.name for p in tmp_path.iterdir()] == ["table.parquet"]


def test_lock_file_link_is_refused_not_truncated(tmp_path):
    """A run folder whose .nnsynth.lock is a link to a user's file (claim_dir lets the lock
    name through) had that file truncated and overwritten with a pid."""
    from synth.files import LOCK_FILE, claim_dir, lock_dir
    victim = tmp_path / "thesis.tex"
    victim.write_text("precious\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_FILE).symlink_to(victim)
    claim_dir(run)
    with pytest.raises(UserError, match="symbolic link"):
        with lock_dir(run):
            pass
    assert victim.read_text() == "precious\n"


def test_lock_still_works_and_excludes(tmp_path):
    from synth.files import claim_dir, lock_dir
    run = claim_dir(tmp_path / "run")
    with lock_dir(run):
        with pytest.raises(UserError, match="in use"):
            with lock_dir(run):
                pass
    with lock_dir(run):      # released
        pass


# --------------------------------------------------------------------------- Ray token auth
@pytest.mark.parametrize("mode", ["token ", " token", "token\n", "disabled", ""])
def test_local_ray_refuses_modes_ray_reads_as_not_token(monkeypatch, mode):
    """``RAY_AUTH_MODE="token "`` passed nnsynth's check (it stripped the value) while Ray,
    which does not, started a local cluster without token authentication: a process
    without the token joined it (seen: 'token ' -> authentication mode 0)."""
    connect_module = importlib.import_module("cluster.connect")
    monkeypatch.setenv("RAY_AUTH_MODE", mode)
    with pytest.raises(UserError, match="RAY_AUTH_MODE"):
        connect_module._require_token_auth()


@pytest.mark.parametrize("mode", ["token", "TOKEN", "Token"])
def test_token_modes_ray_accepts_are_accepted(monkeypatch, mode):
    connect_module = importlib.import_module("cluster.connect")
    monkeypatch.setenv("RAY_AUTH_MODE", mode)
    connect_module._require_token_auth()


def test_connect_with_a_padded_mode_starts_no_ray(monkeypatch):
    import ray
    from cluster.connect import connect
    # a Ray an earlier module of this process left for reuse (conftest's ray_local): shut
    # down, so that this test's own start is what it checks (it skipped here before, checking
    # nothing, whenever it ran after a ray_local module in the same worker)
    ray.shutdown()
    monkeypatch.setenv("RAY_AUTH_MODE", "token ")
    with pytest.raises(UserError, match="RAY_AUTH_MODE='token '"):
        connect(num_cpus=1)
    assert not ray.is_initialized()


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):   # noqa: N802  (http.server's name)
        type(self).seen.append(self.headers.get("Authorization"))
        body = json.dumps({"ray_version": "2.60.0", "version": "4"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_submit_client_sends_the_token_when_ray_was_imported_first(tmp_path):
    """``submit_run`` set RAY_AUTH_MODE=token and left the token to Ray's client, which
    reads the mode once, at ``import ray``: from a script or notebook that had imported ray
    (mode unset), no token was sent and the cluster refused the submission."""
    token = "0123456789abcdef0123456789abcdef"
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text(token)
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    _Recorder.seen = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
        env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT))
        code = ("import ray\nfrom deploy.submit import _client\n"
                f"_client({url!r})\nprint('CLIENT OK')")
        res = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
        server.server_close()
    assert "CLIENT OK" in res.stdout, res.stderr[-2000:]
    assert _Recorder.seen and all(h == f"Bearer {token}" for h in _Recorder.seen), _Recorder.seen


def test_submit_client_sends_no_token_when_the_user_disabled_it(monkeypatch):
    from deploy.submit import auth_headers
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    assert auth_headers("http://127.0.0.1:9") is None


# --------------------------------------------------------------------------- one local Ray
def test_local_ray_is_loopback_and_refuses_a_client_without_the_token(monkeypatch):
    """The nnsynth way (cluster.connect.connect): every listening socket of its process
    tree on the loopback address, token mode on, and a call to its GCS without the token
    (or with another one) refused.  (A whole ``ray.init`` without the token is refused too,
    after ~20 s of retries: too slow for here.)"""
    import ray
    from cluster.connect import connect
    from tests.deploy.raytools import descendants
    # a Ray an earlier module of this process left for reuse (conftest's ray_local): shut
    # down, so that this test's own start is what it checks (it skipped here before, checking
    # nothing, whenever it ran after a ray_local module in the same worker)
    ray.shutdown()
    monkeypatch.delenv("RAY_AUTH_MODE", raising=False)
    ctx = connect(num_cpus=1)
    try:
        from ray._raylet import AuthenticationMode, get_authentication_mode
        assert get_authentication_mode() == AuthenticationMode.TOKEN
        from tests.cluster.test_loopback import _listening, _listeners_of
        table, addresses = _listening(), {}
        for pid in [os.getpid(), *descendants(os.getpid())]:
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            addresses.update({(pid, port): address
                              for address, port in _listeners_of(pid, fds, table)})
        assert addresses
        assert set(addresses.values()) <= {"127.0.0.1", "::ffff:127.0.0.1", "::1"}, addresses
        # the GCS over plain gRPC (what a driver's first call is): no token, a wrong one, ours
        import grpc
        from ray._raylet import AuthenticationTokenLoader
        from ray.core.generated import gcs_service_pb2, gcs_service_pb2_grpc
        token = AuthenticationTokenLoader.instance().get_raw_token(ignore_auth_mode=True)
        with grpc.insecure_channel(ctx.gcs_address) as channel:
            stub = gcs_service_pb2_grpc.NodeInfoGcsServiceStub(channel)
            request = gcs_service_pb2.GetAllNodeInfoRequest()
            for metadata in (None, [("authorization", "Bearer " + "0" * 32)]):
                with pytest.raises(grpc.RpcError) as refused:
                    stub.GetAllNodeInfo(request, metadata=metadata, timeout=20)
                assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            reply = stub.GetAllNodeInfo(request, metadata=[("authorization", f"Bearer {token}")],
                                        timeout=20)
            assert len(reply.node_info_list) == 1
    finally:
        ray.shutdown()
