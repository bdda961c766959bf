"""Follow-ups (helper 84): a sweep's errors about one of its runs name the sweep file, as
every other error of the file does ("error: s.yaml: grid.seed must be ...")."""
import pytest

from deploy.sweep import SweepConfig, expand, load_sweep
from synth.errors import ConfigError
from tests._cli import one_error_line, run


@pytest.mark.parametrize("text, message", [
    ("runs:\n  - {seed: x}\n",
     "sweep run 0 ('00-seed=x'): seed must be an integer in [0, 2147483647], got 'x'"),
    ("grid: {seed.x: [1]}\n", "sweep run 0 ('00-x=1'): cannot set seed.x: seed is not a section"),
    ("grid: {seed: [0, 0]}\n", "sweep runs 0 ('00-seed=0') and 1 ('01-seed=0') are the same config"),
    ("runs:\n  - {name: x, seed: 1}\n  - {name: x, seed: 2}\n",
     "sweep runs 0 and 1 both write the run directory 'x'"),
    ("runs:\n  - {name: sweep.parquet}\n", "sweep run 0: name 'sweep.parquet' is taken"),
])
def test_sweep_run_errors_name_the_sweep_file(tmp_path, text, message):
    path = tmp_path / "mysweep.yaml"
    path.write_text("name: s\nbase: tiny\n" + text)
    with pytest.raises(ConfigError) as raised:
        load_sweep(path)
    assert str(raised.value).startswith(f"{path}: {message}"), str(raised.value)
    line = one_error_line(run(["sweep", str(path), "--check"]))
    assert line.startswith(f"error: {path}: {message}"), line


def test_sweep_run_errors_without_a_file_name_the_run_only():
    # expand() of a SweepConfig made in Python: no file to name
    with pytest.raises(ConfigError, match=r"^sweep run 0 \('00-seed=x'\): seed must be"):
        expand(SweepConfig(base="tiny", runs=({"seed": "x"},)))


@pytest.mark.parametrize("text, message", [
    ("grid: {seed: []}\n", "grid.seed must be a non-empty list of values, got []"),
    ("grid: {}\n", "a sweep needs a grid or a list of runs"),
    ("grid: {search.options.searcher: [bogus]}\n",
     "sweep run 0 ('00-searcher=bogus'): search.options: searcher must be one of steerage"),
    ("grid: {search.options.trials: [0]}\n",
     "sweep run 0 ('00-trials=0'): search.options: trials must be in [1, 100000], got 0"),
])
def test_sweep_check_option_errors_are_one_line_naming_file_and_option(tmp_path, text, message):
    path = tmp_path / "s.yaml"
    path.write_text("base: tiny\n" + text)
    line = one_error_line(run(["sweep", str(path), "--check"]))
    assert line.startswith(f"error: {path}: {message}"), line


def test_sweep_grid_that_is_a_list_is_shown_as_the_user_wrote_it(tmp_path):
    # said "grid must be a mapping of option: value, got (1,)": the tuple from_dict made
    path = tmp_path / "s.yaml"
    path.write_text("base: tiny\ngrid: [1]\n")
    line = one_error_line(run(["sweep", str(path), "--check"]))
    assert line == (f"error: {path}: grid must be a mapping of dotted config key: list of "
                    f"values, got [1]")
