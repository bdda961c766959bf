"""h246: CLI probes (each test failed before its fix)."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


def _run(args):
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize("budget", ["0", "100000"])
def test_dse_seed_with_the_whole_grid_is_refused(budget):
    """`hwsim dse --seed 3 --budget 0` evaluated the whole grid and took the seed without a
    word (it draws only a --budget sample)."""
    res = _run(["hwsim", "dse", "--model", "lenet5", "--seed", "3", "--budget", budget])
    assert res.exit_code == 2, res.output
    line = res.output.strip()
    assert "\n" not in line and "--seed" in line and "whole grid" in line, line


def test_dse_seed_with_a_sample_still_runs():
    res = _run(["hwsim", "dse", "--model", "lenet5", "--seed", "3", "--budget", "3", "--json"])
    assert res.exit_code == 0, res.output


def test_symbiotic_threads_has_the_commands_cap():
    """`symbiotic --threads 1000 --no-ray` was taken (other commands cap --threads at
    options.THREADS, threads_option's range); now the same range, checked before any data
    is read."""
    res = _run(["symbiotic", "--dataset", "text:/nonexistent.txt", "--platform", "host",
                "--out", "/tmp/h246_never", "--threads", "1000", "--no-ray"])
    assert res.exit_code == 2, res.output
    assert "--threads" in res.output and "1000" in res.output, res.output
