"""ONNX export and its check hand each submodule its own train/eval mode back (synth.modes):
a BatchNorm the user froze in eval mode inside a training model stays frozen, also when the
export or the check raises."""
import pytest
import torch
from torch import nn

from deploy.onnx_export import export_onnx, verify_onnx
from synth.models import build


def frozen_bn_model():
    model = build("lenet5_bn", (1, 28, 28), 10)
    model.train()
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    bn.eval()   # the user freezes one BatchNorm's statistics for fine-tuning
    return model, bn


def test_export_and_verify_keep_a_frozen_batchnorm_frozen(tmp_path):
    model, bn = frozen_bn_model()
    path = export_onnx(model, tmp_path / "m.onnx")
    assert model.training and not bn.training
    verify_onnx(path, model, torch.randn(4, 1, 28, 28))
    assert model.training and not bn.training


def test_the_modes_come_back_when_export_or_verify_raises(tmp_path):
    model, bn = frozen_bn_model()
    with pytest.raises(Exception):
        export_onnx(model, tmp_path / "m.onnx", input_shape=(3, 5, 5))   # wrong input shape
    assert model.training and not bn.training
    path = export_onnx(model, tmp_path / "m.onnx")
    with pytest.raises(Exception):
        verify_onnx(path, model, torch.randn(4, 3, 5, 5))
    assert model.training and not bn.training
