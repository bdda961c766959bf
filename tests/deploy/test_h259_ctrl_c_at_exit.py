"""Ctrl-C as nnsynth exits (h259): once a command has ended, a Ctrl-C ends the process at
once, exit 130, with no traceback.  The exit runs the shutdown hooks libraries registered
during the command -- ray.init's ``ray.shutdown``, which waits for Ray's processes -- and a
second Ctrl-C of an interrupted ``nnsynth search`` (the user pressing it again) came after
the 'interrupted: ... rerun it with --resume' line as 'Exception ignored in atexit callback
<function shutdown>' and a 20-line traceback ending in KeyboardInterrupt.  Here a hook
registered before the command stands in for Ray's: atexit runs it after nnsynth's own."""
import os
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = """
import atexit, sys, time
def library_shutdown():          # a library's hook, as Ray's waits for its processes
    print("shutting down", file=sys.stderr, flush=True)
    time.sleep(30)
atexit.register(library_shutdown)
from deploy.cli.main import cli
cli(["models"])
"""


def test_ctrl_c_during_the_exits_shutdown_hooks_ends_it_at_once(tmp_path):
    err = tmp_path / "err.txt"
    with open(err, "wb") as stream:
        proc = subprocess.Popen([sys.executable, "-c", SCRIPT], cwd=ROOT, stderr=stream,
                                stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": ROOT})
        try:
            deadline = time.monotonic() + 60
            while b"shutting down" not in err.read_bytes():
                assert proc.poll() is None and time.monotonic() < deadline, err.read_text()
                time.sleep(0.05)
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 130, err.read_text()
    assert "Traceback" not in err.read_text() and "KeyboardInterrupt" not in err.read_text()
    assert b"families:" in out        # the command's output was all written
