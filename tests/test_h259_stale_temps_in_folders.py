"""A killed (SIGKILL) nnsynth's temp file in an output folder, or beside diabdeep's --out
(h259): the rerun that resumes there removes it -- only nnsynth's own temp names whose
writer is gone; a running writer's temp file and the user's files stay.  The rerun of
``nnsynth invert --out DIR`` (and of symbiotic, search) kept ``.shard-00003.parquet.tmpPID.
<hex>`` for good; diabdeep's kept ``.r.json.tmpPID.<hex>`` and ``.r.json.resume.tmpPID.<hex>``
(train's --out had it cleared, h232)."""
import os
import signal
import subprocess
import sys

from synth.files import OWNER_MARKER, TEMP_NAME, check_out_dir, working_dir
from tests._cli import one_error_line, run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KILLED_WRITER = """
import os, sys
from synth.files import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half a file")
    os.kill(os.getpid(), 9)            # SIGKILL mid-write: no finally runs
"""


def _killed_while_writing(path) -> str:
    """The temp file a process killed inside ``atomic_path(path)`` left beside ``path``."""
    folder = os.path.dirname(path)
    before = set(os.listdir(folder))
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": ROOT}, capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-500:]
    (left,) = set(os.listdir(folder)) - before
    assert TEMP_NAME.fullmatch(left)
    return os.path.join(folder, left)


def _kept(folder) -> list[str]:
    """A running writer's temp file (this process's parent) and the user's look-alikes."""
    names = [f".shard-00004.parquet.tmp{os.getppid()}.0123456789ab",
             ".shard-00004.parquet.tmp12", "notes.tmp1.0123456789ab"]
    for name in names:
        (folder / name).write_text("kept")
    return [str(folder / n) for n in names]


def test_an_output_folder_that_resumes_loses_its_dead_writers_temps(tmp_path):
    out = tmp_path / "synth"
    (out / "students").mkdir(parents=True)
    (out / "job.json").write_text("{}")           # an earlier job's folder: it resumes
    stale = [_killed_while_writing(out / "shard-00003.parquet"),
             _killed_while_writing(out / "students" / "pair-0.pt")]
    kept = _kept(out)
    check_out_dir(out, "--out", ("job.json",))
    assert not any(os.path.exists(p) for p in stale)
    assert all(os.path.exists(p) for p in kept) and (out / "job.json").is_file()


def test_a_working_directory_loses_its_dead_writers_temps_once_locked(tmp_path):
    out = tmp_path / "search"
    (out / "models").mkdir(parents=True)
    (out / OWNER_MARKER).write_text("nnsynth's")
    stale = _killed_while_writing(out / "models" / "a.pt")
    kept = _kept(out)
    with working_dir(out, "--out", "search directory"):
        assert not os.path.exists(stale)
    assert all(os.path.exists(p) for p in kept)


def test_diabdeep_clears_its_reports_and_states_dead_temps(tmp_path):
    report = tmp_path / "r.json"
    stale = [_killed_while_writing(report), _killed_while_writing(tmp_path / "r.json.resume")]
    kept = _kept(tmp_path)
    bad = tmp_path / "bad.ts"
    bad.write_text("garbage\n")           # refused as it loads, after --out was taken
    line = one_error_line(run(["diabdeep", "--dataset", f"ts:{bad}", "--out", str(report)]))
    assert "bad.ts" in line
    assert not any(os.path.exists(p) for p in stale)
    assert all(os.path.exists(p) for p in kept)
