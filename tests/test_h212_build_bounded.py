"""h212: build()'s fit check runs on the meta device (shapes by formula) and skips the real
forward pass when the shapes fit: a ~300 kB checkpoint of resnet8_w16 recording input
(3, 2048, 2048) took 315 s to build (its trial pass: tens of G multiply-accumulates), a
1000-layer convnet on 8x8 inputs 21 s.  The guard below refuses any real convolution over
a large input, so the tests fail fast before the fix instead of running for minutes."""
import pytest
import torch
from torch import nn

from synth.checkpoint import load_model, save_checkpoint
from synth.errors import UserError
from synth.models import build
from synth.models.registry import WorkLimitError

BIG = 1 << 20   # values of a convolution's input a test lets run for real


@pytest.fixture
def no_big_arithmetic(monkeypatch):
    real = nn.Conv2d._conv_forward

    def guarded(self, x, weight, bias):
        if x.device.type != "meta" and x.numel() > BIG:
            raise RuntimeError(f"a real convolution over {x.numel():,} values")
        return real(self, x, weight, bias)
    monkeypatch.setattr(nn.Conv2d, "_conv_forward", guarded)


def test_a_checkpoint_recording_a_huge_input_builds_without_its_arithmetic(
        tmp_path, no_big_arithmetic):
    path = tmp_path / "m.pt"
    save_checkpoint(path, build("resnet8_w16", (3, 8, 8), 10))
    payload = torch.load(path, weights_only=True)
    payload["input_shape"] = [3, 2048, 2048]
    torch.save(payload, path)
    model = load_model(path)
    assert tuple(model.input_shape) == (3, 2048, 2048)


def test_build_refuses_past_the_limits_without_arithmetic(no_big_arithmetic):
    spec = {"family": "resnet", "depths": [1, 1, 1, 1], "width": 256}
    with pytest.raises(WorkLimitError, match="multiply-accumulates|output values"):
        build(spec, (3, 2048, 2048), 10)


def test_a_deep_convnet_builds_without_a_real_pass(monkeypatch):
    calls = []
    real = nn.Conv2d._conv_forward
    monkeypatch.setattr(nn.Conv2d, "_conv_forward",
                        lambda self, x, w, b: calls.append(x.device.type) or real(self, x, w, b))
    spec = {"family": "convnet", "widths": [8] * 300, "kernels": [3] * 300,
            "strides": [1] * 300}
    model = build(spec, (3, 8, 8), 10)
    # build()'s check on meta; the family sizes its classifier by formula (h218: its own
    # real pass over the input is gone)
    assert calls.count("cpu") == 0 and calls.count("meta") == 300
    assert model(torch.zeros(1, 3, 8, 8)).shape == (1, 10)


def test_a_spec_that_does_not_fit_still_says_so():
    spec = {"family": "convnet", "widths": [8], "kernels": [3], "strides": [1],
            "pool": "flatten", "hidden": []}
    with pytest.raises(UserError, match="does not fit input shape"):
        build({"family": "lenet5"}, (1, 2, 2), 10)
    assert build(spec, (1, 8, 8), 3)

