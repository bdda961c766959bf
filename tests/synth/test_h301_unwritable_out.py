"""h301: an output that cannot be written is refused when its lock is taken, before any work
(``synth.files.OutputLock``, which every command's outputs pass through).  A folder that takes
no new file (``/proc``: ``os.access`` says yes there, and to root everywhere) was let through:
``nnsynth diabdeep --out /proc/r.json`` trained for 1.5 minutes, then failed to write.  A path
under a regular file and a device are refused too, in one line; nothing is left behind."""
import os

import pytest

from synth.errors import UserError
from synth.files import OutputLock


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
@pytest.mark.parametrize("out", ["/proc/h301-r.json", "/proc/h301-new/deeper/r.json"])
def test_a_folder_that_takes_no_file_is_refused(out):
    with pytest.raises(UserError, match=rf"^--out {out} cannot be written: /proc is not "
                                        rf"writable \(it takes no new files\)$"):
        with OutputLock(out):
            pass
    assert not os.path.lexists("/proc/h301-new")


@pytest.mark.parametrize("under", ["m.pt", "d/m.pt"])
def test_a_path_under_a_regular_file_is_refused_and_nothing_is_made(tmp_path, monkeypatch, under):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes").write_text("mine\n")
    with pytest.raises(UserError, match=rf"^--report notes/{under} cannot be written: notes is "
                                        rf"a file, not a directory$"):
        with OutputLock(f"notes/{under}", "--report"):
            pass
    assert sorted(os.listdir(tmp_path)) == ["notes"]
    assert (tmp_path / "notes").read_text() == "mine\n"


def test_a_device_or_pipe_is_refused_and_no_lock_file_is_made_beside_it(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # each said what it is (it was "(a device, pipe or socket)" for both)
    for out, kind in ((fifo, r"a named pipe \(FIFO\)"), ("/dev/full", "a device")):
        with pytest.raises(UserError, match=rf"exists and is not a file or folder \(it is "
                                            rf"{kind}\)"):
            with OutputLock(out):
                pass
    assert sorted(os.listdir(tmp_path)) == ["pipe"]
    assert not os.path.lexists("/dev/.full.nnsynth.lock")


def test_a_folder_made_for_the_output_stays_only_while_the_command_runs(tmp_path):
    out = tmp_path / "new" / "deeper" / "m.pt"
    with OutputLock(out):
        assert (tmp_path / "new" / "deeper").is_dir()
    assert not (tmp_path / "new").exists()
