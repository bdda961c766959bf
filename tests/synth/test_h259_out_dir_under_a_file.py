"""An output folder (``nnsynth invert --out``, ``symbiotic --out``) under a file of the user's
(h259): one line naming the option and the file, as a file --out under a file says it
(``check_replaceable``).  invert said 'output directory f/out is not writable: Not a
directory', symbiotic 'latency cache folder f/out/cache is under the file f' (a folder the
user never typed), after loading its text."""
import pytest

from synth.errors import UserError
from synth.files import check_out_dir
from tests._cli import one_error_line, run


def test_check_out_dir_names_the_option_and_the_file(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("the user's")
    for out in (plain / "out", plain / "out" / "deeper", plain):
        with pytest.raises(UserError, match=f"^--out {out} cannot be written: {plain} is a "
                                            f"file, not a directory$"):
            check_out_dir(out, "--out")
    assert plain.read_text() == "the user's"


def test_symbiotic_out_under_a_file_is_said_before_the_text_loads(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("the user's")
    line = one_error_line(run(["symbiotic", "--dataset", f"text:{tmp_path / 'none.txt'}",
                               "--platform", "accel", "--out", str(plain / "out")]))
    assert line == f"error: --out {plain / 'out'} cannot be written: {plain} is a file, not " \
                   f"a directory"
