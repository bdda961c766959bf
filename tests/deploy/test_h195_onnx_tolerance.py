"""The ONNX check allows tolerance + rtol x the sample's largest |logit| (numpy.allclose's atol
and rtol on the sample's scale).  An absolute 1e-4 alone failed logits in the hundreds whose
float32 rounding differed by less than 1e-6 of them, and let outputs of 1e-5 differ by several
times their own size."""
import numpy as np
import pytest
import torch

import deploy.onnx_export as onnx_export
from deploy.onnx_export import DEFAULT_RTOL, DEFAULT_TOLERANCE, export_and_verify
from synth.errors import UserError
from synth.models import build


def _model(logit_scale: float):
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8]}, (4,), 3).eval()
    with torch.no_grad():
        last = model.prunable_layers()[-1][1]
        last.weight.mul_(logit_scale)
        last.bias.mul_(logit_scale)
    return model


def _onnx_off_by(monkeypatch, factor: float):
    """onnxruntime's logits times ``factor``: a rounding or an export error of that size."""
    real = onnx_export.onnx_predict
    monkeypatch.setattr(onnx_export, "onnx_predict",
                        lambda *a, **k: (real(*a, **k) * np.float32(factor)).astype(np.float32))


def test_large_logits_pass_within_float32_rounding(tmp_path, monkeypatch):
    model = _model(2000.0)
    x = torch.randn(32, 4)
    assert model(x).abs().max() > 300                  # logits in the hundreds
    _onnx_off_by(monkeypatch, 1 + 2e-6)                # float32 rounding, relative
    check = export_and_verify(model, tmp_path / "m.onnx", x)
    assert check["max_abs_diff"] > 1e-4                # what the absolute check refused
    assert check["max_rel_diff"] < DEFAULT_RTOL
    assert check["tolerance"] == DEFAULT_TOLERANCE and check["rtol"] == DEFAULT_RTOL
    assert (tmp_path / "m.onnx").is_file()


def test_tiny_outputs_that_differ_fail(tmp_path, monkeypatch):
    model = _model(1e-4)
    x = torch.randn(32, 4)
    assert model(x).abs().max() < 1e-4                 # outputs of about 1e-5
    _onnx_off_by(monkeypatch, 1.5)                     # half their size off: an error
    with pytest.raises(UserError, match=r"differs from PyTorch by .* on a sample whose "
                                        r"largest \|logit\| is .*: more than tolerance 1e-06 "
                                        r"\+ rtol 1e-05 x "):
        export_and_verify(model, tmp_path / "m.onnx", x)
    assert not (tmp_path / "m.onnx").exists()


def test_real_export_of_large_logits_passes(tmp_path):
    """No stand-in: a LeNet-5 whose logits reach the thousands, through onnxruntime."""
    torch.manual_seed(0)
    model = build("lenet5", (1, 28, 28), 10).eval()
    with torch.no_grad():
        last = model.prunable_layers()[-1][1]
        last.weight.mul_(1e4)
        last.bias.mul_(1e4)
    x = torch.randn(64, 1, 28, 28) * 3
    check = export_and_verify(model, tmp_path / "m.onnx", x)
    assert check["max_rel_diff"] < DEFAULT_RTOL


def test_nan_never_agrees(tmp_path, monkeypatch):
    _onnx_off_by(monkeypatch, float("nan"))
    with pytest.raises(UserError, match="differs from PyTorch by nan"):
        export_and_verify(_model(1.0), tmp_path / "m.onnx", torch.randn(4, 4))


def test_rtol_is_checked(tmp_path):
    with pytest.raises(UserError, match="rtol"):
        export_and_verify(_model(1.0), tmp_path / "m.onnx", torch.randn(4, 4), rtol=-1.0)
