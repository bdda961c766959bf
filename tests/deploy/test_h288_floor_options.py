"""A step floor past the epoch limit is told by the option the user typed (h288): `nnsynth
train --min-steps 1000000` said 'min_steps 1,000,000 needs ... (lower min_steps)', the
library field, not the option; grow-prune's --min-steps and --retrain-min-steps alike.  The
library's own wording (a field name) stays, and the error keeps its fields across processes."""
import pickle

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.errors import ConfigError
from synth.train import StepFloorError, epochs_for_steps


@pytest.mark.parametrize("command, option, passes", [
    ("train", "--min-steps", "250,000"),
    ("grow-prune", "--min-steps", "250,000"),
    ("grow-prune", "--retrain-min-steps", "500,000")])
def test_the_floor_is_named_by_the_option_given(tmp_path, command, option, passes):
    out = tmp_path / "m.pt"
    done = CliRunner().invoke(cli, [command, "--dataset", "iris", "--model", "mlp_small",
                                    option, "1000000", "--out", str(out)])
    assert done.exit_code == 2, done.output
    assert (f"error: {option} 1,000,000 needs {passes} passes over 108 inputs; the limit is "
            f"100,000 (lower {option})\n") in done.output
    assert "min_steps" not in done.output and "Traceback" not in done.output
    assert not out.exists()


def test_the_library_names_the_field_and_the_error_crosses_processes():
    with pytest.raises(StepFloorError) as raised:
        epochs_for_steps(3, 1_000_000, 108, 64, remedy="lower retrain_min_steps",
                         name="retrain_min_steps")
    error = raised.value
    assert isinstance(error, ConfigError)
    line = ("retrain_min_steps 1,000,000 needs 500,000 passes over 108 inputs; the limit is "
            "100,000 (lower retrain_min_steps)")
    assert str(error) == line
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.field, copy.value) == (line, "retrain_min_steps", 1_000_000)
    assert copy.named("--retrain-min-steps").startswith("--retrain-min-steps 1,000,000 needs")
