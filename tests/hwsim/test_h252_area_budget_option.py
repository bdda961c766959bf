"""An area budget below every configuration's area is told by the option typed (h252).

``nnsynth hwsim dse --model lenet5 --area-budget 0.001`` said 'error: area_budget_mm2=0.001
is below the smallest configuration's area 1.751 mm^2': DseConfig's field, not the option
the user typed (a range error of the same value says '--area-budget must be in ...').  The
error now carries its field and value (``value_error``), which the CLI words by the option."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from hwsim import extract
from hwsim.dse import DseConfig, explore
from synth.errors import ConfigError
from torch import nn

ARGS = ["hwsim", "dse", "--model", "mlp_small@4", "--num-classes", "3"]


def test_the_option_is_named():
    r = CliRunner().invoke(cli, ARGS + ["--area-budget", "0.001"])
    assert r.exit_code == 2, r.output
    assert len(r.output.strip().splitlines()) == 1, r.output
    assert r.output.startswith("error: --area-budget must be at least the smallest "
                               "configuration's area, "), r.output
    assert r.output.rstrip().endswith("mm^2, got 0.001"), r.output
    r = CliRunner().invoke(cli, ARGS + ["--area-budget", "0.001", "--budget", "2"])
    assert r.exit_code == 2, r.output
    assert r.output.startswith("error: --area-budget must be at least the smallest area of "
                               "the 2 configurations sampled (budget) of the grid's 5,184, "), \
        r.output


def test_the_library_error_has_its_field():
    ops = extract(nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3)), (6,))
    with pytest.raises(ConfigError, match=r"^area_budget_mm2 must be at least") as e:
        explore({"m": ops}, DseConfig(rows=(128,), cols=(64,), area_budget_mm2=0.5))
    assert e.value.field == "area_budget_mm2" and e.value.value == 0.5
