"""Fixed-point checkpoints are evaluated as they are deployed: round-to-nearest.

`nnsynth eval` ran a `nnsynth train --fixed-point` checkpoint with the training's rounding
(stochastic by default) while `nnsynth export` rounds to nearest: on digits, a 2.4 mlp_small
scored 0.7444 in train's test_accuracy, 0.7389 in eval and 0.7417 in the exported ONNX model
(the same weights), and two evaluations of one attached model gave 0.7389 then 0.7361.
Stochastic rounding is a training device (Gupta et al. 2015); every forward pass outside
training now rounds to nearest, and eval's ``fixed_point`` field names the rounding used."""
import pytest
import torch
import torch.nn.functional as F

from synth.models.registry import PRUNABLE
from synth.quant import FixedPointTraining, QuantConfig, attach_inference, quantize
from tests._cli import json_result, one_error_line, run


def _cli(*args) -> dict:
    return json_result(run([*args, "--json"]))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2.4 mlp_small trained on wine with the default (stochastic) rounding, and what
    `nnsynth train` reported for it."""
    out = tmp_path_factory.mktemp("h132") / "q.pt"
    result = _cli("train", "--dataset", "wine", "--model", "mlp_small", "--epochs", "2",
                  "--min-steps", "0", "--fixed-point", "2.4", "--out", str(out))
    assert result["fixed_point"]["rounding"] == "stochastic"     # the training's rounding
    return out, result


def _nearest_logits(path, x: torch.Tensor) -> torch.Tensor:
    """The checkpoint's forward pass with every Linear/Conv output rounded to nearest on its
    grid: written out here from ``quantize``, not through ``attach_inference``."""
    from synth.checkpoint import load_model
    from synth.quant import checkpoint_quant
    model = load_model(path).eval()
    q = checkpoint_quant(model)
    for m in model.modules():
        if isinstance(m, PRUNABLE):
            m.register_forward_hook(
                lambda mod, args, out: quantize(out, q.int_bits, q.frac_bits, "nearest"))
    with torch.no_grad():
        for p in model.parameters():   # stored on the grid already: unchanged
            assert torch.equal(p, quantize(p, q.int_bits, q.frac_bits, "nearest"))
        return model(x)


def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return int((logits.argmax(1) == y).sum()) / len(y)     # as synth.train.evaluate counts


def _test_split(path):
    from synth.checkpoint import checkpoint_dataset, load_model
    return checkpoint_dataset(load_model(path), None, source="test").split("test")


def test_eval_is_the_nearest_rounded_forward_pass(trained):
    path, _ = trained
    x, y = _test_split(path)
    logits = _nearest_logits(path, x)
    first = _cli("eval", "--model", str(path))
    assert first["fixed_point"] == "2.4 nearest"      # names the rounding it ran
    assert first["accuracy"] == _accuracy(logits, y)
    assert first["loss"] == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-6)
    assert _cli("eval", "--model", str(path)) == first


def test_train_reports_the_nearest_rounded_test_accuracy(trained):
    """train's test_accuracy and test_loss were measured with the training's stochastic
    rounding still attached: another number than eval's for the checkpoint it wrote."""
    path, result = trained
    x, y = _test_split(path)
    logits = _nearest_logits(path, x)
    assert result["test_accuracy"] == _accuracy(logits, y)
    assert result["test_loss"] == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-6)
    evaluated = _cli("eval", "--model", str(path))
    assert evaluated["accuracy"] == result["test_accuracy"]


def test_eval_agrees_with_the_exported_model(trained, tmp_path):
    path, _ = trained
    evaluated = _cli("eval", "--model", str(path))
    exported = _cli("export", "--model", str(path), "--out", str(tmp_path / "q.onnx"))
    assert exported["fixed_point"] == evaluated["fixed_point"] == "2.4 nearest"
    assert exported["prediction_mismatches"] == 0
    assert exported["onnx_accuracy"] == exported["torch_accuracy"] == evaluated["accuracy"]


def test_attached_inference_is_the_same_on_every_call(trained):
    """attach_inference drew the stochastic rounding from one seeded generator: the second
    evaluation of the same attached model scored another accuracy."""
    from synth.checkpoint import load_model
    from synth.quant import checkpoint_quant
    from synth.train import evaluate
    path, _ = trained
    x, y = _test_split(path)
    model = load_model(path)
    hooks = attach_inference(model, checkpoint_quant(model))
    with torch.no_grad():
        first = model.eval()(x)
        assert torch.equal(model(x), first)
    assert torch.equal(first, _nearest_logits(path, x))
    whole, batched = evaluate(model, x, y), evaluate(model, x, y, batch_size=7)
    assert whole["accuracy"] == batched["accuracy"]      # the batches do not draw
    assert whole["loss"] == pytest.approx(batched["loss"], rel=1e-6)
    hooks.detach()


def test_training_hooks_round_to_nearest_outside_training():
    """FixedPointTraining rounds stochastically in train mode only: the validation that picks
    the best epoch, and the final test, see the rounding the deployed model applies."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 40), torch.nn.ReLU(), torch.nn.Linear(40, 5))
    fx = FixedPointTraining(QuantConfig(int_bits=3, frac_bits=3, seed=1))   # stochastic
    fx.attach(model)
    x = torch.randn(64, 6)
    with torch.no_grad():
        trained = [model.train()(x) for _ in range(2)]
        evaluated = [model.eval()(x) for _ in range(2)]
    assert not torch.equal(*trained)                          # draws in training
    assert torch.equal(*evaluated)
    fx.detach()
    with torch.no_grad():                                     # the same, rounded to nearest
        h = model[0](x)
        h = quantize(h, 3, 3, "nearest")
        out = quantize(model[2](torch.relu(h)), 3, 3, "nearest")
    assert torch.equal(evaluated[0], out)


def test_eval_rounding_option(trained, tmp_path):
    path, _ = trained
    stochastic = _cli("eval", "--model", str(path), "--rounding", "stochastic")
    assert stochastic["fixed_point"] == "2.4 stochastic"
    assert _cli("eval", "--model", str(path), "--rounding", "stochastic") == stochastic
    assert _cli("eval", "--model", str(path), "--rounding", "nearest")["fixed_point"] == (
        "2.4 nearest")
    # a float32 checkpoint has no grid to round onto: the option would be ignored
    fp32 = tmp_path / "f.pt"
    _cli("train", "--dataset", "wine", "--model", "mlp_small", "--epochs", "1",
         "--min-steps", "0", "--out", str(fp32))
    line = one_error_line(run(["eval", "--model", str(fp32), "--rounding", "nearest"]))
    assert "--rounding" in line and "fixed point" in line


@pytest.mark.parametrize("args", [["--rounding", "nearest"], ["--scaling", "per_tensor"]])
def test_train_refuses_fixed_point_options_without_fixed_point(tmp_path, args):
    """--rounding and --scaling were ignored without --fixed-point: a float32 model."""
    line = one_error_line(run(["train", "--dataset", "iris", "--model", "mlp_small",
                               "--epochs", "1", "--min-steps", "0",
                               *args, "--out", str(tmp_path / "f.pt")]))
    assert args[0] in line and "--fixed-point" in line
    assert not (tmp_path / "f.pt").exists()
