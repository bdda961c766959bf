"""A head whose job agent never serves is named with its cause and remedy (h260).

Following the README's cluster flow on a machine where another Ray ran (any nnsynth
command's local Ray holds the job agent's port 52365 on 127.0.0.1), the head's agent could
not bind that port and served no jobs.  ``nnsynth submit`` retried for 60 s (a just-started
head's agent comes up late) and then passed on Ray's "Request failed with status code 500:
No available agent to submit job, please try again later.." -- and trying again later never
helps.  The line now says what the README says: another Ray on the head's machine may hold
port 52365; start the head with --dashboard-agent-listen-port.

The dashboard here is an HTTP server in this process answering as such a head does (its
version, the working_dir upload, and 500 for the job); no Ray starts.
"""
from __future__ import annotations

import http.server
import json
import threading

import pytest

NO_AGENT = b"No available agent to submit job, please try again later."   # Ray 2.60's


class _Head(http.server.BaseHTTPRequestHandler):
    jobs = 0

    def _send(self, code: int, body: bytes, kind: str = "application/json"):
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):    # noqa: N802  (http.server's names)
        if self.path.startswith("/api/packages/"):
            self._send(404, b"")                          # not uploaded yet
        else:
            self._send(200, json.dumps({"ray_version": "2.60.0", "version": "4",
                                        "ray_commit": "0"}).encode())

    def do_PUT(self):    # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._send(200, b"{}")

    def do_POST(self):   # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).jobs += 1
        self._send(500, NO_AGENT, "text/plain")

    def log_message(self, *args):
        pass


def test_no_available_agent_names_the_port_and_the_remedy(tmp_path, monkeypatch):
    import deploy.submit
    from synth.errors import UserError
    (tmp_path / "home" / ".ray").mkdir(parents=True)
    (tmp_path / "home" / ".ray" / "auth_token").write_text("0" * 64)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    for key in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(deploy.submit, "AGENT_WAIT_SECONDS", 1.5)
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Head)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Head.jobs = 0
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with pytest.raises(UserError) as e:
            deploy.submit.submit_run("tiny", url, working_dir=project, echo=lambda line: None)
    finally:
        server.shutdown()
        server.server_close()
    line = str(e.value)
    assert _Head.jobs >= 2                        # retried while a new agent may come up
    assert line.startswith(f"job submission to {url} failed: "), line
    assert "No available agent" in line and "52365" in line, line
    assert "--dashboard-agent-listen-port" in line and "\n" not in line, line
    assert "try again later" not in line, line
