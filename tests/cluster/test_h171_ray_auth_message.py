"""Ray's advice to opt out of token authentication is not shown to nnsynth's users
(helper 171).

At every local start with RAY_AUTH_MODE unset, Ray 2.60 logs (logger
``ray._private.authentication.authentication_token_setup``) "Token authentication is enabled
for this Ray cluster. Set RAY_AUTH_MODE=disabled to opt out. For more information, see
...".  nnsynth refuses RAY_AUTH_MODE=disabled (``cluster.connect._require_token_auth``), so
a user who followed the advice got an error.  ``connect`` now takes that sentence out of
Ray's line; Ray's other warnings still show, and (h269) the rest of the line with -v.

One local Ray starts, in a subprocess (``connect(quiet=False)``, as ``nnsynth run`` with
progress on): its whole stderr is what a user sees.  The same process checks that a real
GCS passes connect's probe of HOST:PORT addresses (``gcs_silent``, test_h171_connect_not_a_gcs).
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cluster.connect import RAY_AUTH_LOGGER, hide_auth_opt_out

ROOT = Path(__file__).resolve().parents[2]
OPT_OUT = "RAY_AUTH_MODE=disabled"
ENABLED = "Token authentication is enabled for this Ray cluster."

START = """
import json, ray
from cluster.connect import connect, gcs_silent
connect(num_cpus=1, quiet=False)
address = ray.get_runtime_context().gcs_address
print(json.dumps({"gcs": address, "probe": gcs_silent(address)}))
ray.shutdown()
"""


@pytest.fixture(scope="module")
def started():
    """stdout's JSON and stderr of a process that started a local Ray through connect."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    for key in ("RAY_AUTH_MODE", "RAY_ADDRESS"):   # unset: Ray then gives its advice
        env.pop(key, None)
    proc = subprocess.run([sys.executable, "-c", START], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr


def test_a_local_start_does_not_advise_disabling_token_auth(started):
    _, stderr = started
    assert OPT_OUT not in stderr, stderr[-2000:]
    # h269: without -v neither the rest of that line nor Ray's INFO ("Started a local Ray
    # instance.") is shown (the rest shows with -v: test_only_the_opt_out_sentence_...)
    assert ENABLED not in stderr, stderr[-2000:]
    assert "Started a local Ray instance" not in stderr, stderr[-2000:]


def test_a_real_gcs_passes_the_probe(started):
    result, _ = started
    assert result["probe"] is None, result


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_only_the_opt_out_sentence_is_taken_out():
    """Ray's own warning functions, through the filter connect installs: the enabled line
    loses its opt-out sentence; the disabled line (advice to turn auth on) is untouched."""
    from ray._private.authentication import authentication_token_setup as setup
    hide_auth_opt_out()
    hide_auth_opt_out()                              # once, however often connect runs
    logger = logging.getLogger(RAY_AUTH_LOGGER)
    assert sum(type(f).__name__ == "_NoAuthOptOut" for f in logger.filters) == 1
    handler, level = _Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)   # a quiet connect left Ray's loggers at ERROR
    shown = logging.getLogger("cluster")   # h269: the enabled line shows with -v only
    shown_level = shown.level
    shown.setLevel(logging.INFO)
    try:
        setup._warn_token_auth_enabled()
        setup._warn_token_auth_disabled()
        logger.warning("Set RAY_AUTH_MODE=disabled, or else")   # the advice in other words
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        shown.setLevel(shown_level)
    enabled, disabled = handler.lines
    assert enabled.startswith(ENABLED + " For more information, see https://"), enabled
    assert OPT_OUT not in enabled
    assert disabled.startswith("Token authentication is disabled for this Ray cluster.")
    assert "RAY_AUTH_MODE=token" in disabled
