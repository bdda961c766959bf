"""`nnsynth eval --split all` scores every row, so a set too small for stratified
train/val/test splits loads for it: a CSV of 8 rows (7 of one class, 1 of the other) was
refused ("too few rows per class for stratified train/val/test splits"), and so was a file
whose split column says test on every row ("no row has split 'train'").  Other splits still
need the split and are refused as before."""
import numpy as np
import pytest
import torch

from synth.checkpoint import save_checkpoint
from synth.models import build
from tests._cli import json_result, one_error_line, run

ROWS = [(0.1, 1.0, "p"), (0.2, 1.1, "q"), (0.3, 0.9, "p"), (0.4, 1.2, "p"),
        (0.5, 0.8, "p"), (0.6, 1.3, "p"), (0.7, 0.7, "p"), (0.8, 1.4, "p")]


def _model(path):
    """A 2-feature, 2-class MLP trained on raw values (mean 0, std 1): its outputs on a
    file's rows are known without nnsynth's loaders."""
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [4]}, (2,), 2)
    save_checkpoint(path, model, dataset={
        "name": "csv:train.csv", "input_shape": [2], "num_classes": 2, "class_names": ["p", "q"],
        "mean": [0.0, 0.0], "std": [1.0, 1.0], "split_seed": 0})
    return model.eval()


def _expected_accuracy(model, rows) -> float:
    x = torch.tensor([[a, b] for a, b, *_ in rows], dtype=torch.float32)
    y = np.array([("p", "q").index(r[2]) for r in rows])
    with torch.no_grad():
        return float((model(x).argmax(1).numpy() == y).mean())


@pytest.mark.parametrize("split_column", [False, True])
def test_split_all_scores_a_set_too_small_to_split(tmp_path, split_column):
    model = _model(tmp_path / "m.pt")
    f = tmp_path / "new.csv"
    f.write_text("a,b,label" + ",split" * split_column + "\n" + "".join(
        f"{a},{b},{c}" + ",test" * split_column + "\n" for a, b, c in ROWS))
    base = ["eval", "--model", str(tmp_path / "m.pt"), "--dataset", f"csv:{f}"]
    result = json_result(run(base + ["--split", "all", "--json"]))
    assert result["split"] == "all" and result["samples"] == len(ROWS)
    assert result["accuracy"] == pytest.approx(_expected_accuracy(model, ROWS))
    line = one_error_line(run(base + ["--split", "test"]))   # a split still needs one
    assert ("too few rows per class" in line if not split_column
            else "no row has split 'train'" in line), line


def test_split_all_of_a_splittable_set_is_unchanged(tmp_path):
    model = _model(tmp_path / "m.pt")
    rows = ROWS + [(0.9, 1.5, "q"), (1.0, 1.6, "q"), (1.1, 1.7, "q"), (1.2, 1.8, "q")] * 2
    f = tmp_path / "new.csv"
    f.write_text("a,b,label\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows))
    base = ["eval", "--model", str(tmp_path / "m.pt"), "--dataset", f"csv:{f}", "--json"]
    whole = json_result(run(base + ["--split", "all"]))
    assert whole["samples"] == len(rows)
    assert whole["accuracy"] == pytest.approx(_expected_accuracy(model, rows))
    test = json_result(run(base))                  # its test split: the stratified one
    assert test["split"] == "test" and 0 < test["samples"] < len(rows)
