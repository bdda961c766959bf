"""The ``nnsynth`` script ends as Python's exit would -- non-daemon threads joined, atexit
hooks run, output flushed, the command's status -- without the interpreter's teardown that
follows (``deploy.cli.main.exit_without_teardown``): with torch, Ray and pyarrow loaded it
freed every object of every module for 2-5 s after the command had finished."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = """
import atexit, sys, threading
class Teardown:
    def __del__(self):          # runs only in the interpreter's teardown of this module
        print("teardown", flush=True)
kept = Teardown()
atexit.register(lambda: print("hook", flush=True))
threading.Thread(target=lambda: (threading.main_thread().join(),   # the exit has begun
                                 print("thread", flush=True))).start()
from deploy.cli.main import cli
cli()   # as the console script calls it: the arguments from sys.argv
"""


def _script(*args):
    return subprocess.run([sys.executable, "-c", SCRIPT, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": ROOT})


def test_the_script_exits_without_the_interpreters_teardown():
    done = _script("models")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "families:" in done.stdout                     # the command's output, flushed
    assert lines[-2:] == ["thread", "hook"], lines[-3:]    # threads joined, then the hooks
    assert "teardown" not in lines


def test_the_status_is_the_commands():
    refused = _script("train", "--bogus")
    assert refused.returncode == 2 and "no such option" in refused.stderr.lower()
    assert refused.stdout.splitlines() == ["thread", "hook"]


def test_a_profiled_script_exits_as_before(tmp_path):
    """``python -m cProfile`` writes its file after the script returns: that exit is Python's."""
    out = tmp_path / "cli.prof"
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m",
                           "deploy.cli.main", "models"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": ROOT})
    assert done.returncode == 0 and "families:" in done.stdout, done.stderr
    assert out.stat().st_size > 0


def test_a_caller_giving_the_arguments_goes_on_after_the_command():
    """``cli([...])`` in a program (tests/search/test_h228_trial_imports.py's check of what
    a refused search imported) raises SystemExit as click does: the fast exit had ended the
    caller there, its own lines never ran."""
    code = ("from deploy.cli.main import cli\n"
            "try:\n"
            "    cli(['models'])\n"
            "except SystemExit as e:\n"
            "    print('caller goes on', e.code)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": ROOT})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "caller goes on 0", done.stdout[-500:]
