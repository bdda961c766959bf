"""Checkpoints edited by hand are refused in one line (helper h257).

A BatchNorm's ``running_var`` below 0 (training never writes one) made that layer's output
NaN: ``nnsynth eval`` exited 0 with accuracy 0.1, loss null and "the model predicts class
'0' for every test sample ... (train longer ...)", and export failed on a NaN difference.  A
``dataset.pixel_scale`` of 0 or NaN was accepted and the export dropped it, writing "full
scale = 1" into the ONNX metadata of a model of digits' pixels 0..16.
"""
import torch

from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.models import build
from tests._cli import json_result, one_error_line, run


def _checkpoint(tmp_path, edit=None):
    data = load_dataset("digits")
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": True, "dropout": 0.0},
                  data.input_shape, data.num_classes).eval()
    path = save_checkpoint(tmp_path / "m.pt", model, dataset=data.metadata(), metrics={})
    if edit is not None:
        payload = torch.load(path, weights_only=True)
        edit(payload)
        torch.save(payload, path)
    return str(path)


def test_negative_running_var_is_refused(tmp_path):
    def negative(p):
        var = [k for k in p["state_dict"] if k.endswith("running_var")][0]
        p["state_dict"][var][3] = -1.0
    path = _checkpoint(tmp_path, negative)
    line = one_error_line(run(["eval", "--model", path]))
    assert "running_var must be >= 0" in line and "m.pt" in line
    assert "running_var must be >= 0" in one_error_line(
        run(["hwsim", "eval", "--model", path]))


def test_running_var_of_zero_is_a_variance(tmp_path):
    def zero(p):
        var = [k for k in p["state_dict"] if k.endswith("running_var")][0]
        p["state_dict"][var][3] = 0.0
    out = json_result(run(["eval", "--model", _checkpoint(tmp_path, zero), "--json"]))
    assert out["loss"] is not None


def test_pixel_scale_that_is_no_positive_number_is_refused(tmp_path):
    for bad in (0, -16, float("nan"), "16"):
        path = _checkpoint(tmp_path, lambda p: p["dataset"].__setitem__("pixel_scale", bad))
        line = one_error_line(run(["export", "--model", path, "--out",
                                   str(tmp_path / "m.onnx")]))
        assert "pixel_scale must be a number in (0, 2^32]" in line, bad
    assert not (tmp_path / "m.onnx").exists()
    out = json_result(run(["eval", "--model", _checkpoint(tmp_path), "--json"]))
    assert out["dataset"] == "digits"


def test_repeated_or_empty_class_names_are_refused(tmp_path):
    """A checkpoint's class names are held to a loaded set's rule: distinct and non-empty.
    Ten names 'a' were accepted (eval only warned that they are not digits' names), and
    matching a set's classes to outputs by name is ambiguous with repeats."""
    for names, said in ((["a"] * 10, "class name 'a' is given twice"),
                        ([""] * 10, "a class name is empty")):
        path = _checkpoint(tmp_path, lambda p: p["dataset"].__setitem__("class_names", names))
        line = one_error_line(run(["eval", "--model", path]))
        assert said in line and "m.pt" in line
