"""Helper 213: a labelled file holding only some of a model's classes is scored against the
model's outputs for those classes, matched by name (``synth.checkpoint.checkpoint_dataset``):
``nnsynth eval --dataset csv:heldout.csv`` of a file of 2 of a 3-class model's classes said
"has 2 classes but the model predicts 3".  A file with a class the model does not know is
still refused, naming it.  Each test failed before the fix."""
import numpy as np
import pytest

from synth.errors import UserError


def _rows(path, names, n=150):
    """Well separated classes: class k (of 'apple', 'kiwi', 'plum') at feature a = 4 k."""
    centre = {"apple": 0.0, "kiwi": 4.0, "plum": 8.0}
    rows = ["a,b,label"] + [
        f"{centre.get(names[i % len(names)], 12.0) + 0.01 * (i % 13):.3f},"
        f"{0.07 * (i % 5):.3f},{names[i % len(names)]}" for i in range(n)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def fruit(tmp_path_factory):
    from synth.train import TrainConfig
    from synth.workflows import train_checkpoint
    root = tmp_path_factory.mktemp("h213")
    own = _rows(root / "own.csv", ["apple", "kiwi", "plum"])
    model = root / "m.pt"
    result = train_checkpoint(f"csv:{own}", "mlp_small", model,
                              TrainConfig(epochs=20, lr=0.1, device="cpu", progress=False))
    assert result["test_accuracy"] > 0.9
    return root, model


@pytest.mark.parametrize("split", ["test", "all"])
def test_eval_scores_a_file_of_some_of_the_models_classes(fruit, split):
    """'plum' is the file's class 1 but the model's output 2: scored by index, the accuracy
    would be about half; it equals sklearn's on the file's own labels."""
    from sklearn.metrics import accuracy_score

    from synth.checkpoint import checkpoint_dataset, load_model
    from synth.data import load_dataset
    from synth.workflows import evaluate_checkpoint
    root, model_path = fruit
    held = _rows(root / "heldout.csv", ["apple", "plum"], n=60)
    result, notes = evaluate_checkpoint(model_path, f"csv:{held}", split)
    model = load_model(model_path)
    data = checkpoint_dataset(model, f"csv:{held}", whole=split == "all")
    x, _ = data.split(split)
    own = load_dataset(f"csv:{held}", seed=data.seed, whole=split == "all")
    _, y_own = own.split(split)
    truth = [own.class_names[i] for i in y_own.tolist()]     # the file's own labels
    outputs = model.checkpoint_info["dataset"]["class_names"]
    import torch
    with torch.no_grad():
        predicted = [outputs[i] for i in model.eval()(x).argmax(1).tolist()]
    expected = accuracy_score(truth, predicted)
    assert result["accuracy"] == pytest.approx(expected)
    assert result["accuracy"] > 0.9
    assert result["samples"] == len(truth)
    assert not any("output i is scored" in n for n in notes)
    assert np.isin(data.split(split)[1].numpy(), [0, 2]).all()   # the model's indices


def test_export_scores_a_file_of_some_classes(fruit, tmp_path):
    pytest.importorskip("onnx")
    from deploy.onnx_export import export_checkpoint
    root, model_path = fruit
    held = _rows(root / "heldout2.csv", ["plum", "kiwi"], n=60)
    result = export_checkpoint(model_path, tmp_path / "m.onnx", dataset=f"csv:{held}")
    result = result[0] if isinstance(result, tuple) else result
    assert "heldout2.csv" in result["checked_on"]


def test_a_class_the_model_does_not_know_is_refused_by_name(fruit):
    from synth.workflows import evaluate_checkpoint
    root, model_path = fruit
    held = _rows(root / "other.csv", ["apple", "mango"], n=60)
    with pytest.raises(UserError, match="mango") as e:
        evaluate_checkpoint(model_path, f"csv:{held}")
    assert "\n" not in str(e.value)
    assert "apple" in str(e.value) and "plum" in str(e.value)   # the model's classes named
