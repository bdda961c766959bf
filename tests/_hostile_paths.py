"""What the hostile-path sweeps share (h308's of every input, h311's of every output): the
click command tree walked, the parameters that name outputs, a tiny trained checkpoint, and a
run on a daemon thread that fails the test when it is not back in ``HANG_S``."""
from __future__ import annotations

import os
import threading
import time

import click
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli

HANG_S = 20.0   # a run not back by then is hung (pytest-timeout would wait 600 s)

# Parameters (by name) that name what a command writes: left out of the input sweep, the
# output sweep's own (tests/deploy/test_h311_hostile_out_sweep.py).
OUTPUTS = {"out", "run_dir"}


def walk(command: click.Command, path: tuple = ()):
    """(command path, its click command) for every leaf command under ``command``."""
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from walk(command.commands[name], path + (name,))
    else:
        yield " ".join(path), command


def spelling(param: click.Parameter) -> str:
    return param.opts[0] if isinstance(param, click.Option) else param.name.upper()


def tiny_checkpoint(path) -> str:
    """A BatchNorm MLP trained one epoch on iris's classes 0 and 1 at ``path`` (a teacher for
    invert, distill and prune; continual's model of old classes, class 2 the new one)."""
    r = CliRunner().invoke(cli, ["train", "--dataset", "iris[0,1]", "--model",
                                 '{"family": "mlp", "hidden": [8], "bn": true}', "--epochs",
                                 "1", "--min-steps", "0", "--out", str(path)])
    assert r.exit_code == 0, r.output
    return str(path)


def bounded(call, fifo, what: str, limit: float = HANG_S):
    """``call()``'s value and its seconds, run on a daemon thread; fails the test if it is
    not back within ``limit`` seconds (a writer then opens ``fifo``, so that a read blocked on
    it ends).  A refusal is back in HANG_S; a command run to its end takes longer on a loaded
    machine (symbiotic's tiny run passed 20 s beside a CI run)."""
    done: dict = {}

    def target():
        try:
            done["value"] = call()
        except BaseException as e:   # noqa: BLE001 -- raised below, in the test's thread
            done["error"] = e

    thread = threading.Thread(target=target, daemon=True)
    start = time.monotonic()
    thread.start()
    thread.join(limit)
    elapsed = time.monotonic() - start
    if thread.is_alive():
        try:   # unblock a reader waiting on the FIFO
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass
        thread.join(5)
        pytest.fail(f"{what} did not return in {limit:.0f} s")
    if "error" in done:
        raise done["error"]
    return done["value"], elapsed
