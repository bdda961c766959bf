"""h218: the convnet (and lenet5) constructor sized its classifier with a real forward pass on
two zero samples of the input shape: every build of a large input paid a real convolution
over it (bounded, but seconds and gigabytes for a 3 x 2048 x 2048 input), after build()'s
check had already run on the meta device.  The width is now the output-size formula, and the
BatchNorm statistics that pass left (running_var 0.9, one batch tracked) are set as it left
them, so a model of a given seed is the same as before, bit for bit."""
import pytest
import torch
from torch import nn

from synth.models import batchnorm_layers, build, resolve_spec
from synth.models.convnet import ConvNet
from synth.models.lenet5 import LeNet5

LARGE = (3, 2048, 2048)


@pytest.fixture
def real_convolutions(monkeypatch):
    """The input shapes of every convolution run on real (not meta) tensors; a large one is
    refused at once, so that the test fails fast where the pass still runs."""
    seen = []
    real = nn.Conv2d._conv_forward

    def recorded(self, x, weight, bias):
        if x.device.type != "meta":
            seen.append(tuple(x.shape))
            if x.numel() > 1 << 20:
                raise AssertionError(f"a real convolution over {tuple(x.shape)}")
        return real(self, x, weight, bias)
    monkeypatch.setattr(nn.Conv2d, "_conv_forward", recorded)
    return seen


@pytest.mark.parametrize("spec", [
    {"family": "convnet", "widths": [16, 32], "kernels": [3, 3], "strides": [1, 2]},
    {"family": "convnet", "widths": [2], "kernels": [5], "strides": [16], "pool": "flatten",
     "hidden": [16], "bn": False},
    {"family": "lenet5", "channels": [2, 1], "hidden": [4], "bn": True},
])
def test_constructing_a_model_of_a_large_input_runs_no_convolution(spec, real_convolutions):
    cls = ConvNet if spec["family"] == "convnet" else LeNet5
    model = cls(resolve_spec(spec), LARGE, 10)
    assert real_convolutions == []
    model = build(spec, LARGE, 10)        # build()'s own check runs on the meta device
    assert real_convolutions == [] and tuple(model.input_shape) == LARGE
    assert model.classifier[0].in_features == _features_width(model, LARGE)


def _features_width(model, shape) -> int:
    """What a pass through the features gives a sample (on the meta device: no arithmetic)."""
    from synth.models.registry import _ShapesByFormula
    meta = build(model.spec, shape, model.num_classes, meta=True)
    with torch.no_grad(), _ShapesByFormula():
        return meta.features(torch.empty((1,) + tuple(shape), device="meta")).shape[1]


def _as_before(spec, shape, seed):
    """The model the old constructor made: the same weights (the seed), BatchNorm buffers
    fresh, then its features once on two zero samples in training mode."""
    torch.manual_seed(seed)
    model = build(spec, shape, 5)
    for m in batchnorm_layers(model.features):
        m.reset_running_stats()
    model.features.train()
    with torch.no_grad():
        width = model.features(torch.zeros((2,) + shape)).shape[1]
    assert width == model.classifier[0].in_features
    return model


@pytest.mark.parametrize("spec,shape", [
    ("convnet_small", (1, 8, 8)),
    ("convnet_digits", (1, 8, 8)),
    ({"family": "convnet", "widths": [3, 5, 2], "kernels": [5, 2, 4], "strides": [2, 3, 1],
      "pool": "flatten", "hidden": [7, 5]}, (3, 9, 7)),
    ({"family": "convnet", "widths": [4, 6], "kernels": [3, 2], "strides": [1, 2],
      "bn": False, "pool": "max"}, (2, 5, 12)),
    ({"family": "convnet", "widths": [4], "kernels": [3], "strides": [1]}, (1, 1, 1)),
    ("lenet5_bn", (1, 28, 28)),
    ("lenet5", (3, 32, 32)),
])
def test_the_model_of_a_seed_is_what_the_pass_made(spec, shape):
    torch.manual_seed(4)
    model = build(spec, shape, 5)
    before = _as_before(spec, shape, 4)
    mine, theirs = model.state_dict(), before.state_dict()
    assert list(mine) == list(theirs)
    for key in mine:
        assert mine[key].shape == theirs[key].shape and torch.equal(mine[key], theirs[key]), key
    x = torch.randn((3,) + shape, generator=torch.Generator().manual_seed(1))
    for training in (True, False):
        model.train(training)
        before.train(training)
        with torch.no_grad():
            assert torch.equal(model(x), before(x))
