"""`nnsynth export` writes what a deployer needs into the ONNX file's metadata_props (h120).

The file held a graph only: the model takes inputs normalized with its training set's mean
and std, a table's columns in its own order and gives logits in its class order, and none of
that was in the .onnx.  Now the metadata names them, and applying it to raw CSV rows with
onnxruntime alone gives what `nnsynth eval` gives on those rows."""
import csv
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli

FEATURES = ["height_cm", "weight_kg", "age"]
CLASSES = {0: "cat", 1: "dog", 2: "fox"}


def _rows(rng, n: int, ages=(1, 15)) -> list[dict]:
    """Raw measurements far from zero (so normalization matters), labelled by a rule."""
    rows = []
    for _ in range(n):
        h, w, a = rng.normal(170, 10), rng.normal(70, 8), rng.uniform(*ages)
        label = CLASSES[int(h > 170) + int(w > 72)]
        rows.append({"height_cm": round(h, 2), "weight_kg": round(w, 2), "age": round(a, 1),
                     "label": label})
    return rows


def _write(path, rows, columns) -> None:
    with open(path, "w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=columns)
        out.writeheader()
        out.writerows(rows)


def _invoke(args) -> dict:
    r = CliRunner().invoke(cli, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return json.loads(r.output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("h120")
    rng = np.random.default_rng(0)
    _write(tmp / "train.csv", _rows(rng, 150), FEATURES + ["label"])
    # new readings: other statistics (older animals: their own mean and std would be the wrong
    # ones) and the columns in another order, label in the middle
    _write(tmp / "new.csv", _rows(rng, 60, ages=(10, 30)), ["age", "label", "weight_kg",
                                                       "height_cm"])
    _invoke(["train", "--dataset", f"csv:{tmp / 'train.csv'}", "--model", "mlp_small",
             "--epochs", "2", "--min-steps", "0",
             "--optimizer", "adam", "--lr", "0.01", "--out", tmp / "m.pt",
             "--json"])
    result = _invoke(["export", "--model", tmp / "m.pt", "--out", tmp / "m.onnx", "--json"])
    return tmp, result


def test_metadata_props_name_columns_classes_and_normalization(exported):
    import onnx
    from synth.checkpoint import read_checkpoint
    tmp, result = exported
    props = {p.key: p.value for p in onnx.load(str(tmp / "m.onnx")).metadata_props}
    meta = read_checkpoint(tmp / "m.pt")["dataset"]
    assert result["metadata"] == props                    # --json emits what was written
    assert json.loads(props["class_names"]) == meta["class_names"] == ["cat", "dog", "fox"]
    assert json.loads(props["feature_names"]) == FEATURES == meta["feature_names"]
    mean, std = json.loads(props["mean"]), json.loads(props["std"])
    assert len(mean) == len(std) == len(FEATURES)
    assert mean == meta["mean"] and std == meta["std"]   # exactly, JSON keeps every digit
    assert 150 < mean[0] < 190 and 50 < mean[1] < 90     # the raw training moments
    assert json.loads(props["value_range"]) == meta["value_range"]
    assert json.loads(props["input_shape"]) == [3] and props["kind"] == "features"
    assert props["input_name"] == "input" and props["output_name"] == "logits"
    assert "(x - mean) / std per feature" in props["preprocessing"]
    assert props["nnsynth_version"]


def test_onnx_with_its_metadata_reproduces_eval_on_raw_rows(exported):
    """Raw rows of new.csv put in feature_names order, (x - mean) / std, onnxruntime, argmax
    named by class_names: the accuracy and loss `nnsynth eval` reports on that file."""
    import onnx
    import onnxruntime as ort
    tmp, _ = exported
    props = {p.key: p.value for p in onnx.load(str(tmp / "m.onnx")).metadata_props}
    names, classes = json.loads(props["feature_names"]), json.loads(props["class_names"])
    mean, std = (np.array(json.loads(props[k]), dtype=np.float64) for k in ("mean", "std"))
    with open(tmp / "new.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    raw = np.array([[float(r[n]) for n in names] for r in rows])
    x = ((raw - mean) / std).astype(np.float32)
    session = ort.InferenceSession(str(tmp / "m.onnx"), providers=["CPUExecutionProvider"])
    logits = session.run([props["output_name"]], {props["input_name"]: x})[0].astype(np.float64)
    labels = np.array([classes.index(r["label"]) for r in rows])
    accuracy = float(np.mean(logits.argmax(1) == labels))
    shifted = logits - logits.max(1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    loss = float(-log_softmax[np.arange(len(labels)), labels].mean())

    ev = _invoke(["eval", "--model", tmp / "m.pt", "--dataset", f"csv:{tmp / 'new.csv'}",
                  "--split", "all", "--json"])
    assert ev["samples"] == len(rows) == 60
    assert accuracy == ev["accuracy"]
    assert math.isclose(loss, ev["loss"], rel_tol=1e-4, abs_tol=1e-5)


def test_human_output_names_the_metadata(exported, tmp_path):
    tmp, _ = exported
    r = CliRunner().invoke(cli, ["export", "--model", str(tmp / "m.pt"), "--out",
                                 str(tmp_path / "m.onnx")])
    assert r.exit_code == 0, r.output
    line = r.output.strip().splitlines()[-1]
    assert line.startswith("ONNX metadata") and "3 class names" in line
    assert "3 feature names" in line and "(x - mean) / std" in line


def test_metadata_leaves_onnxruntime_outputs_unchanged(tmp_path):
    """The same model exported with and without metadata gives bit-identical logits; an
    image set's line says its pixels are in [0, 1] before the per-channel normalization."""
    import onnx
    import torch
    from deploy.onnx_export import export_onnx, onnx_metadata, onnx_predict
    from synth.models import build
    torch.manual_seed(0)
    model = build("mlp_small", (1, 8, 8), 4).eval()
    meta = {"name": "x", "class_names": list("abcd"), "mean": [0.3], "std": [0.2]}
    props = onnx_metadata(meta, model.input_shape)
    assert props["kind"] == "image" and "[0, 1]" in props["preprocessing"]
    assert "per channel" in props["preprocessing"]
    plain = export_onnx(model, tmp_path / "plain.onnx")
    tagged = export_onnx(model, tmp_path / "tagged.onnx", metadata=props)
    assert {p.key: p.value for p in onnx.load(str(tagged)).metadata_props} == props
    assert not onnx.load(str(plain)).metadata_props
    x = torch.randn(9, 1, 8, 8)
    assert np.array_equal(onnx_predict(plain, x), onnx_predict(tagged, x))
