"""h186's probe of data-free pruning: a model with no filter or neuron to remove."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.checkpoint import save_checkpoint
from synth.dfprune import PruneConfig, prune
from synth.errors import UserError
from synth.models import build

LINEAR = {"family": "mlp", "hidden": [], "bn": False, "dropout": 0.0}   # the head alone


def test_a_model_with_no_prunable_layer_is_a_one_line_error():
    """An MLP without hidden layers is its classifier head alone: nothing to remove.  It was
    a ZeroDivisionError traceback (removed = 1 - 0 / 0) from nnsynth prune --importance
    magnitude --kd-steps 0 (the other importances need images, refused before: no BatchNorm)."""
    model = build(LINEAR, (1, 8, 8), 10).eval()
    with pytest.raises(UserError, match="no filter or neuron"):
        prune(model, None, None, PruneConfig(ratio=0.5, importance="magnitude", progress=False))


def test_the_cli_says_so(tmp_path, digits):
    model = build(LINEAR, digits.input_shape, digits.num_classes).eval()
    path = tmp_path / "linear.pt"
    save_checkpoint(path, model, dataset=digits.metadata(), metrics={})
    res = CliRunner().invoke(cli, ["prune", "--model", str(path), "--ratio", "0.5",
                                   "--importance", "magnitude", "--kd-steps", "0",
                                   "--out", str(tmp_path / "p.pt")])
    assert res.exit_code == 2, res.output
    assert "no filter or neuron" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "p.pt").exists()
