"""diabdeep's epochs are bounded as TrainConfig's are: `nnsynth diabdeep --epochs 99999999999`
was refused as 'retrain_epochs must be in [0, 10000], got 50000000000', a value derived from
--epochs that the user never typed."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.diabdeep import DiabDeepConfig
from synth.errors import UserError


def test_epochs_beyond_the_training_bound_are_refused_by_name():
    with pytest.raises(UserError, match=r"^epochs must be in \[1, 100000\]"):
        DiabDeepConfig(epochs=99_999_999_999).validate()
    with pytest.raises(UserError, match=r"^final_epochs must be in \[0, 100000\]"):
        DiabDeepConfig(final_epochs=10**12).validate()


def test_the_cli_names_the_option():
    r = CliRunner().invoke(cli, ["diabdeep", "--dataset", "gunpoint", "--epochs", "99999999999"])
    assert r.exit_code == 2 and "--epochs must be in [1, 100000]" in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1
