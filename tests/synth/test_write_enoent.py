"""Writing into a folder that cannot hold files is one line, not a traceback: `nnsynth
export --out /proc/x.onnx` ended in FileNotFoundError from the temporary file (ENOENT was
not among the write errors a user can fix).  Only the setup (folder, temporary file) is
caught: an ENOENT raised by the writer's own code inside the block stays an error of ours."""
import os

import pytest

from synth.errors import UserError
from synth.files import atomic_path


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_a_folder_that_takes_no_files_is_a_user_error():
    with pytest.raises(UserError, match="cannot write /proc/x.onnx"):
        with atomic_path("/proc/x.onnx") as tmp:
            tmp.write_text("never")


def test_a_missing_file_inside_the_writer_is_not_rewritten(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "out.txt"):
            open(tmp_path / "no-such-input.txt").read()
    assert not (tmp_path / "out.txt").exists()
