"""h188: nnsynth hwsim table refuses an option that the table it makes does not read (the
value was dropped without a word), as it refuses --threads for a model device and --accel
for another device."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


def _line(args):
    r = CliRunner().invoke(cli, ["hwsim", "table"] + args)
    assert r.exit_code == 2, r.output
    lines = [l for l in r.output.splitlines() if l.strip()]
    assert len(lines) == 1 and "Traceback" not in r.output, r.output
    return lines[0]


@pytest.mark.parametrize("args, option", [
    # a model prices an op once: no repeats, no random inputs timed (--seed 7 and --seed 0
    # gave the same table)
    (["--device", "accel", "--model", "mlp_small@4", "--repeats", "50"], "--repeats"),
    (["--device", "spring", "--model", "mlp_small@4", "--seed", "7"], "--seed"),
    # --widths is the sweep's
    (["--model", "mlp_small@4", "--widths", "8:16:8"], "--widths"),
    # a sweep times Linear/LSTM layers of its widths, no model
    (["--sweep", "linear", "--widths", "8:16:8", "--input-shape", "3x32x32"], "--input-shape"),
    (["--sweep", "linear", "--widths", "8:16:8", "--num-classes", "7"], "--num-classes"),
])
def test_an_option_the_table_does_not_read_is_refused(args, option):
    line = _line(args)
    assert line.startswith(f"error: {option} ") and "leave" in line, line


def test_the_options_a_table_reads_still_work():
    r = CliRunner().invoke(cli, ["hwsim", "table", "--device", "accel", "--model",
                                 "mlp_small@4", "--input-shape", "4", "--num-classes", "3"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["hwsim", "table", "--model", "mlp_small@4", "--repeats", "4",
                                 "--seed", "3"])
    assert r.exit_code == 0, r.output
