"""The suite's own state directory (tests/conftest.py: ``NNSYNTH_STATE_DIR``, where the
searches it starts are recorded) is removed when the run ends.  conftest made one with
``tempfile.mkdtemp`` at every import -- the pytest process and each xdist worker, which
inherits the first one's and used it -- and never removed any: 1,439 ``nnsynth-test-state-*``
were left in /tmp here.  Only the directory a process made itself is removed, by that process;
a ``NNSYNTH_STATE_DIR`` given from outside is the caller's and stays."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORD = "NNSYNTH_TEST_H181_RECORD"


def test_the_suite_has_a_state_directory_of_its_own():
    where = Path(os.environ["NNSYNTH_STATE_DIR"])
    assert where.is_dir()
    if os.environ.get(RECORD):   # run by the tests below: where it was, seen from a worker
        Path(os.environ[RECORD]).write_text(json.dumps(
            {"dir": str(where), "pid": os.getpid(), "entries": os.listdir(where)}))


def _pytest(tmp_path, *args, state_dir=None):
    """This module's first test run by a new pytest (``args``: its xdist options) with its own
    TMPDIR: (the record the test wrote, what TMPDIR holds afterwards)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("NNSYNTH_STATE_DIR", "PYTEST_XDIST_WORKER", "PYTEST_CURRENT_TEST")}
    env.update(TMPDIR=str(tmp), **{RECORD: str(tmp_path / "record.json")})
    if state_dir is not None:
        env["NNSYNTH_STATE_DIR"] = str(state_dir)
    started = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "-o", "addopts=", *args,
                        f"{Path(__file__).relative_to(ROOT)}::"
                        "test_the_suite_has_a_state_directory_of_its_own"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert time.monotonic() - started < 120
    return json.loads((tmp_path / "record.json").read_text()), sorted(
        p.name for p in tmp.iterdir() if p.name.startswith("nnsynth-test-state-"))


def test_an_xdist_worker_uses_the_main_processs_directory_and_it_is_removed(tmp_path):
    record, left = _pytest(tmp_path, "-n", "1")
    assert record["pid"] != os.getpid() and record["dir"].startswith(str(tmp_path / "tmp"))
    assert left == [], left   # the one used, and no unused one of the worker's


def test_a_directory_given_from_outside_is_kept(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("the caller's")
    record, left = _pytest(tmp_path, "-p", "no:xdist", state_dir=mine)
    assert record["dir"] == str(mine) and left == [], left
    assert (mine / "keep.txt").read_text() == "the caller's"
