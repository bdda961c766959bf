"""nnsynth distill refuses an option of the mode it does not run (h250).

``--data-free --epochs 3`` (or ``--num-workers 2``: --synth's passes and Ray Train workers;
ADI runs its rounds in this process) and ``--synth DIR --rounds 3`` (``--images-per-round``,
``--adi-weight``: the ADI rounds') started and the value was never read.  Each is one line,
exit 2, before the teacher is read; a value out of its range is still named by its range."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


@pytest.mark.parametrize("args, error", [
    (["--data-free", "--epochs", "3"], "error: --epochs sets a run with --synth DIR; "
                                       "--data-free does not read it (drop --epochs)"),
    (["--data-free", "--num-workers", "2"], "error: --num-workers sets"),
    (["--synth", "{d}", "--rounds", "3"], "error: --rounds sets a run with --data-free"),
    (["--synth", "{d}", "--images-per-round", "4", "--adi-weight", "0.5"],
     "error: --images-per-round and --adi-weight set a run with --data-free"),
    (["--data-free", "--epochs", "0"], "error: Invalid value for '--epochs'"),
])
def test_an_option_of_the_other_mode_is_refused(tmp_path, args, error):
    d = tmp_path / "set"
    d.mkdir()
    teacher = tmp_path / "t.pt"
    teacher.write_bytes(b"")   # never read: refused before
    r = CliRunner().invoke(cli, ["distill", "--teacher", str(teacher), "--student",
                                 "mlp_small", "--out", str(tmp_path / "s.pt"),
                                 *[a.format(d=d) for a in args]])
    assert r.exit_code == 2, r.output
    assert len(r.output.strip().splitlines()) == 1 and r.output.startswith(error), r.output


@pytest.mark.parametrize("args", [["--data-free", "--rounds", "2"],
                                  ["--synth", "{d}", "--epochs", "2", "--num-workers", "1"]])
def test_an_option_of_the_mode_run_is_taken(tmp_path, args):
    """Its own mode's options pass the check: the run goes on to read the (empty) teacher."""
    d = tmp_path / "set"
    d.mkdir()
    teacher = tmp_path / "t.pt"
    teacher.write_bytes(b"")
    r = CliRunner().invoke(cli, ["distill", "--teacher", str(teacher), "--student",
                                 "mlp_small", "--out", str(tmp_path / "s.pt"),
                                 *[a.format(d=d) for a in args]])
    assert r.exit_code == 2 and "t.pt" in r.output and " sets a run" not in r.output, r.output
