"""An ONNX export of a digits model says how digits' raw pixels are scaled (helper h236).

scikit-learn's ``load_digits`` holds pixel values 0..16; nnsynth divides them by 16.  The
export's ``preprocessing`` line said "pixels scaled to [0, 1] (full scale = 1, e.g. 8-bit /
255)", and a user who followed its example (raw / 255) got 10% accuracy from a model that
`nnsynth eval` scored at 72% (`nnsynth export --model dig.pt --out dig.onnx` of
`nnsynth train --dataset digits --model convnet_small --epochs 2`).  The built-in image sets
now record the raw value of a full-scale pixel (``pixel_scale``), the export names it, and
the data's digest is what it was (a checkpoint trained before still matches its set).
"""
import dataclasses
import json

import numpy as np
import pytest
import torch

from deploy.onnx_export import onnx_metadata
from synth.data import load_dataset


def test_digits_records_its_pixel_scale_and_keeps_its_digest():
    data = load_dataset("digits")
    assert data.metadata()["pixel_scale"] == 16
    without = dataclasses.replace(
        data, extra={k: v for k, v in data.extra.items() if k != "pixel_scale"})
    assert data.digest() == without.digest()


def test_export_metadata_names_the_raw_scale():
    data = load_dataset("digits")
    props = onnx_metadata(data.metadata(), data.input_shape)
    assert json.loads(props["pixel_scale"]) == 16
    assert "/ 16" in props["preprocessing"]
    assert "255" not in props["preprocessing"]   # the example that gave 10% accuracy
    # a set that records none keeps the general line
    meta = {k: v for k, v in data.metadata().items() if k != "pixel_scale"}
    assert "8-bit / 255" in onnx_metadata(meta, data.input_shape)["preprocessing"]
    # a crafted record is no recipe: it is left out, not printed
    for bad in (0, -3, float("nan"), "16; rm -rf /", True, 1e40):
        props = onnx_metadata({**meta, "pixel_scale": bad}, data.input_shape)
        assert "pixel_scale" not in props and "8-bit / 255" in props["preprocessing"]


def test_following_the_recipe_reproduces_eval(tmp_path):
    """The export fed raw load_digits pixels as its metadata says scores what eval scores."""
    import onnxruntime as ort
    from sklearn.datasets import load_digits

    from synth.checkpoint import save_checkpoint
    from synth.models import build
    from synth.train import TrainConfig, evaluate, fit
    from tests._cli import json_result, run
    data = load_dataset("digits")
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [32], "bn": False, "dropout": 0.0},
                  data.input_shape, data.num_classes)
    fit(model, data, TrainConfig(epochs=2, progress=False))
    save_checkpoint(tmp_path / "d.pt", model, dataset=data.metadata(), metrics={})
    out = json_result(run(["export", "--model", str(tmp_path / "d.pt"),
                           "--out", str(tmp_path / "d.onnx"), "--json"]))
    meta = {k: json.loads(v) if k in ("mean", "std", "pixel_scale") else v
            for k, v in out["metadata"].items()}
    raw = load_digits()
    x, y = data.split("all")
    expected = evaluate(model.eval(), x, y)["accuracy"]   # every sample, as the raw set
    scaled = raw.images / meta["pixel_scale"]
    x_onnx = ((scaled - meta["mean"][0]) / meta["std"][0]).astype(np.float32)[:, None]
    logits = ort.InferenceSession(str(tmp_path / "d.onnx")).run(None, {"input": x_onnx})[0]
    got = float((logits.argmax(1) == raw.target).mean())
    assert got == pytest.approx(expected, abs=1e-9)
    assert expected > 0.5
