"""A model whose outputs overflow is not told to "train longer" (helper h257).

A checkpoint's weights of 3e38 are finite (the load check of NaN/inf weights passes them), but
its forward pass overflows float32: nnsynth eval printed accuracy 0.1000, loss null and "the
model predicts class '0' for every test sample ... (train longer; an imbalanced set: balance
its classes)", the wrong cause.  The one-class line now says the outputs are NaN or infinite.
"""
import torch

from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.grow_prune import one_class_warning
from synth.models import build
from tests._cli import one_error_line, run


def _model(data):
    torch.manual_seed(0)
    return build({"family": "mlp", "hidden": [8], "bn": False, "dropout": 0.0},
                  data.input_shape, data.num_classes).eval()


def test_overflowing_outputs_are_named(tmp_path):
    data = load_dataset("digits")
    model = _model(data)
    with torch.no_grad():   # hidden units above 0, each output sums them at 3e38 a weight
        model.net[1].bias.fill_(100.0)
        model.net[-1].weight.fill_(3e38)
    line = one_class_warning(model, data)
    assert line.startswith("the model's outputs are NaN or infinite on ")
    assert "of 360 test samples" in line and "train longer" not in line
    path = save_checkpoint(tmp_path / "m.pt", model, dataset=data.metadata(), metrics={})
    # eval refuses it on the set's first samples (h265: synth.checkpoint.check_outputs_on)
    line = one_error_line(run(["eval", "--model", str(path), "--json"]))
    assert line.startswith(f"error: checkpoint {path}: its outputs are NaN or infinite on ")


def test_a_finite_one_class_model_keeps_its_line():
    data = load_dataset("digits")
    model = _model(data)
    with torch.no_grad():
        model.net[-1].weight.zero_()
        model.net[-1].bias.copy_(torch.arange(data.num_classes, dtype=torch.float32))
    line = one_class_warning(model, data)
    assert line.startswith("the model predicts class '9' for every test sample")
