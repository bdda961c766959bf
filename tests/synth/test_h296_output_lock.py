"""h296: ``synth.files.OutputLock``, the lock a command holds on a single-file (or folder)
output while it runs: a second holder is refused in one line naming the first's pid, a
killed holder's lock file does not block, the lock file is removed on release, and a file of
that name that nnsynth did not write is refused and kept."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from synth.errors import UserError
from synth.files import OutputLock, output_lock_path

ROOT = Path(__file__).resolve().parents[2]


def _holder(out: Path) -> subprocess.Popen:
    """Another process holding ``out``'s lock (as a running nnsynth command does)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from synth.files import OutputLock\n"
         "with OutputLock(sys.argv[1]):\n    print('locked', flush=True)\n    time.sleep(120)\n",
         str(out)], env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
        text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_writer_refused_then_a_killed_holder_does_not_block(tmp_path):
    out = tmp_path / "m.pt"
    lock = output_lock_path(out)
    assert lock == tmp_path / ".m.pt.nnsynth.lock"
    holder = _holder(out)
    try:
        with pytest.raises(UserError, match=rf"^{out} is being written by another nnsynth run "
                                            rf"\(pid {holder.pid}\); wait for it or choose "
                                            rf"another --out$"):
            with OutputLock(out):
                pass
        assert lock.read_text() == f"{holder.pid}\n"   # the holder's file is not touched
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert lock.is_file()                  # a killed holder leaves its file: it does not block
    with OutputLock(out):
        assert lock.read_text() == f"{os.getpid()}\n"
    assert not lock.exists()               # removed on release: nothing left beside m.pt
    assert sorted(os.listdir(tmp_path)) == []


def test_a_file_named_as_the_lock_that_is_not_nnsynths_is_kept(tmp_path):
    out = tmp_path / "m.pt"
    mine = output_lock_path(out)
    mine.write_text("my notes\n")
    with pytest.raises(UserError, match="is not a lock file nnsynth wrote"):
        with OutputLock(out):
            pass
    assert mine.read_text() == "my notes\n"


def test_a_folder_made_for_the_lock_goes_when_left_empty(tmp_path):
    out = tmp_path / "new" / "deeper" / "m.pt"
    with OutputLock(out):
        assert output_lock_path(out).is_file()
    assert not (tmp_path / "new").exists()      # refused or failed, nothing is left
    with OutputLock(out):
        out.write_text("x")                      # the command wrote its output there: kept
    assert out.is_file() and not output_lock_path(out).exists()


def test_a_killed_holders_lock_file_alone_leaves_a_folder_empty_to_nnsynth(tmp_path):
    """``train --out d/m.pt`` SIGKILLed before writing anything leaves only its lock file in
    d: ``search --out d`` / ``run --run-dir d`` (check_out_dir, claim_dir) took it for a
    user's file, 'holds files nnsynth did not write (e.g. .m.pt.nnsynth.lock)'."""
    from synth.files import check_out_dir, claim_dir
    d = tmp_path / "d"
    holder = _holder(d / "m.pt")
    live = output_lock_path(d / "m.pt")
    with pytest.raises(UserError, match="did not write"):   # a running holder's: not empty
        check_out_dir(d)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert os.listdir(d) == [live.name]
    assert check_out_dir(d) == d
    assert claim_dir(d) == d
    (d / "mine.lock").write_text(f"{holder.pid}\n")             # not the name it gives: kept
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / ".x.nnsynth.lock").write_text("notes\n")   # not a pid: the user's
    with pytest.raises(UserError, match="did not write"):
        check_out_dir(tmp_path / "e")


# A folder that takes no lock file (/proc) was skipped here, left to the command's own checks
# ('cannot write /proc/x.onnx', after the work): it is refused now, naming the output
# (tests/synth/test_h301_unwritable_out.py).
