"""`nnsynth scann --out` writes a checkpoint that `nnsynth eval` scores as scann did: the
feature reduction is folded into the MLP's first layer (synth.scann.model_on_inputs)."""
import functools
import json

import pytest
import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.errors import UserError
from synth.masked import attach_masks
from synth.models import build, prunable_layers
from synth.scann import LINEAR_REDUCERS, ScannConfig, fit_reduction, model_on_inputs


@pytest.fixture(scope="module")
def iris():
    from synth.data import load_dataset
    return load_dataset("iris")


@pytest.mark.parametrize("method", LINEAR_REDUCERS)
def test_the_folded_model_on_raw_inputs_is_the_model_on_reduced_ones(iris, method):
    reduced, feature_map = fit_reduction(iris, method, 2 if method != "none" else 0.5, seed=0)
    k = reduced.input_shape[0]
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [6, 4]}, (k,), iris.num_classes)
    gen = torch.Generator().manual_seed(1)
    attach_masks(model, {name: torch.rand(layer.weight.shape, generator=gen) < 0.6
                         for name, layer in prunable_layers(model)})
    folded = model_on_inputs(model.eval(), feature_map, iris.input_shape)
    assert folded.input_shape == iris.input_shape
    with torch.no_grad():
        for raw, red in ((iris.x_train, reduced.x_train), (iris.x_test, reduced.x_test)):
            assert torch.allclose(folded(raw), model(red), atol=1e-4, rtol=1e-4)
    # the layers after the first keep their masks and weights
    (_, a), (_, b) = prunable_layers(model)[1], prunable_layers(folded)[1]
    assert torch.equal(a.weight, b.weight)


def test_kernel_pca_cannot_be_folded(iris):
    _, feature_map = fit_reduction(iris, "kernel_pca", 2, seed=0)
    model = build({"family": "mlp", "hidden": [4]}, (2,), iris.num_classes)
    with pytest.raises(UserError, match="kernel_pca reduction is not a linear map"):
        model_on_inputs(model, feature_map, iris.input_shape)


def test_cli_scann_out_is_evaluable_by_eval(tmp_path, monkeypatch):
    """`nnsynth scann --out m.pt` saved the MLP of the reduced features with no data set and
    no reduction: `nnsynth eval --model m.pt` said 'names no data set', and with --dataset
    iris 'has input shape (4,) but the model expects (2,)'."""
    import synth.scann
    fast = functools.partial(ScannConfig, epochs=5, prune_steps=2, retrain_epochs=2)
    monkeypatch.setattr(synth.scann, "ScannConfig", fast)   # what the command builds
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(cli, ["-q", "scann", "--dataset", "iris", "--hidden", "16,8",
                                 "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    scann = json.loads(r.stdout.strip().splitlines()[-1])
    assert scann["checkpoint"] == str(out) and scann["reduced_features"] == 2
    assert scann["checkpoint_connections"] >= scann["connections"] > 0
    assert scann["reduction"] == pytest.approx(scann["baseline_connections"]
                                               / scann["connections"])
    r = CliRunner().invoke(cli, ["eval", "--model", str(out), "--json"])
    assert r.exit_code == 0, r.output
    scored = json.loads(r.stdout.strip().splitlines()[-1])
    assert scored["dataset"] == "iris" and scored["split"] == "test"
    assert scored["accuracy"] == pytest.approx(scann["test_accuracy"], abs=1e-9)
    assert scored["nonzero_parameters"] > 0
    # the data it was trained on, hashed (synth.checkpoint.trained_record): a rewritten
    # set is a warning in eval; scann's checkpoints recorded no digest (lead, 12-06)
    from synth.checkpoint import read_checkpoint
    from synth.data import load_dataset
    record = read_checkpoint(out)["dataset"]
    assert record["digest"] == load_dataset("iris", seed=0).digest()


def test_cli_scann_out_refuses_a_nonlinear_reducer_before_work(tmp_path):
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(cli, ["scann", "--dataset", "iris", "--reduce", "kernel_pca",
                                 "--out", str(out)])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and "Traceback" not in r.output, r.output
    assert "--out needs a linear --reduce" in lines[0] and "kernel_pca" in lines[0], lines[0]
    assert not out.exists()
