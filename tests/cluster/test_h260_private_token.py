"""The token a local Ray is started with is readable by this user alone (h260).

Token authentication is what keeps another user of the machine out of nnsynth's local Ray
(its ports are on 127.0.0.1, which every local user reaches).  Where no token existed, Ray
2.60's ``ray.init`` wrote a new one to ~/.ray/auth_token with ``open(path, "w")``: mode 0644
under the usual umask (its folder 0755), so any user who could reach the home folder could
read it, join the Ray and run code as its owner.  ``cluster.connect`` now makes the token
itself, 0600 in a 0700 folder, before the local start; a token file others can read (one
``ray get-auth-token --generate`` wrote, 0644) is named in a warning with the chmod.
"""
from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

START = """
import json, os, ray
from cluster.connect import connect
connect(num_cpus=1)
path = os.path.expanduser("~/.ray/auth_token")
print(json.dumps({"file": oct(os.stat(path).st_mode & 0o777),
                  "folder": oct(os.stat(os.path.dirname(path)).st_mode & 0o777),
                  "length": len(open(path).read().strip())}))
ray.shutdown()
"""


def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RAY_AUTH", "RAY_ADDRESS"))}
    return {**env, "HOME": str(home), "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}


def test_a_local_start_without_a_token_makes_a_private_one(tmp_path):
    proc = subprocess.run([sys.executable, "-c", START], env=_env(tmp_path), cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    made = json.loads(proc.stdout.strip().splitlines()[-1])
    assert made == {"file": "0o600", "folder": "0o700", "length": 64}, made


def test_a_token_others_can_read_is_warned_about(tmp_path, monkeypatch, caplog):
    from cluster.connect import private_token
    for key in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    token = tmp_path / ".ray" / "auth_token"
    token.parent.mkdir()
    token.write_text("a" * 64)
    token.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="cluster.connect"):
        private_token()
    lines = [r.getMessage() for r in caplog.records if r.name == "cluster.connect"]
    assert len(lines) == 1 and str(token) in lines[0], lines
    assert "mode 644" in lines[0] and f"chmod 600 {token}" in lines[0], lines
    assert token.read_text() == "a" * 64 and stat.S_IMODE(token.stat().st_mode) == 0o644
    caplog.clear()
    token.chmod(0o600)
    private_token()
    assert not [r for r in caplog.records if r.name == "cluster.connect"]


def test_a_token_in_the_environment_or_a_named_file_is_left_alone(tmp_path, monkeypatch):
    from cluster.connect import private_token
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("RAY_AUTH_TOKEN_PATH", raising=False)
    monkeypatch.setenv("RAY_AUTH_TOKEN", "b" * 64)
    private_token()
    monkeypatch.delenv("RAY_AUTH_TOKEN")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "missing"))
    private_token()            # a named file that is not there: Ray says so
    assert not (tmp_path / ".ray").exists() and not (tmp_path / "missing").exists()
