"""`nnsynth incremental --old A --new B` with two data sets (helper 64): the JSON and the text
table give every row's test accuracy on old + new, on old and on new, and the target is on
the combined validation data.  Before, only the new set's test accuracy was reported: a model
that knew the old set well and the new one badly showed only the bad number, and an update
that forgot the old set could not be told from one that kept it."""
import numpy as np
import pytest
import torch

from tests._cli import json_result, one_error_line, run


def _csv(path, x, y):
    header = ",".join(f"p{i}" for i in range(x.shape[1])) + ",label"
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header=header, comments="",
               fmt="%g")
    return f"csv:{path}"


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """Two sources of the same ten digit classes: A, and B mirrored left to right; a sparse
    MLP trained on A only."""
    from sklearn.datasets import load_digits

    from synth import masked
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    from synth.train import TrainConfig, fit
    d = load_digits()
    idx = np.random.default_rng(0).permutation(len(d.target))
    a, b = idx[:900], idx[900:]
    mirror = d.data[b].reshape(-1, 8, 8)[:, :, ::-1].reshape(-1, 64)
    root = tmp_path_factory.mktemp("h64")
    names = {"A": _csv(root / "A.csv", d.data[a], d.target[a]),
             "B": _csv(root / "B.csv", mirror, d.target[b]),
             "B9": _csv(root / "B9.csv", mirror[d.target[b] < 9], d.target[b][d.target[b] < 9]),
             "narrow": _csv(root / "N.csv", d.data[b][:, :32], d.target[b])}
    old = load_dataset(names["A"])
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [32]}, old.input_shape, old.num_classes)
    fit(model, old, TrainConfig(epochs=10, seed=0, device="cpu", progress=False))
    masked.attach_masks(model)
    masked.prune_connections(model, 0.5, "lamp")
    save_checkpoint(root / "A.pt", model, dataset=old.metadata(), masks=masked.masks_of(model))
    return {**names, "model": str(root / "A.pt"), "root": root}


def test_two_sets_report_accuracy_on_old_new_and_both(sets):
    from synth.checkpoint import load_model
    from synth.data import load_dataset
    from synth.train import evaluate
    args = ["incremental", "--model", sets["model"], "--old", sets["A"], "--new", sets["B"],
            "--target", "0.99", "--max-epochs", "0.1", "--min-steps", "0"]
    r = json_result(run(args + ["--json"]))
    model = load_model(sets["model"]).eval()
    from synth.checkpoint import in_model_scale
    # B in the model's normalization (A's): each file standardized by its own statistics
    # reached the model rescaled, and the updated checkpoint recorded B's normalization
    meta = model.checkpoint_info["dataset"]
    old, new = load_dataset(sets["A"]), in_model_scale(load_dataset(sets["B"]), meta)
    on_old = evaluate(model, old.x_test, old.y_test)["accuracy"]
    on_new = evaluate(model, new.x_test, new.y_test)["accuracy"]
    assert on_old > on_new + 0.3                          # it learned the old source only
    before = r["before"]
    assert before["test_accuracy_old"] == pytest.approx(on_old)     # was not reported
    assert before["test_accuracy_new"] == pytest.approx(on_new)     # was 'test_accuracy'
    n_old, n_new = len(old.y_test), len(new.y_test)
    assert before["test_accuracy"] == pytest.approx((on_old * n_old + on_new * n_new)
                                                    / (n_old + n_new))
    assert r["held_out"] == {"shared": False, "val": len(old.y_val) + len(new.y_val),
                             "test": n_old + n_new, "test_old": n_old, "test_new": n_new}
    for key in ("incremental", "finetune", "finetune_sparse", "scratch"):
        assert {"test_accuracy", "test_accuracy_old", "test_accuracy_new"} <= set(r[key])
    out = sets["root"] / "updated.pt"
    text = run(args + ["--out", str(out)])
    assert text.exit_code == 0, text.output
    info = load_model(out).checkpoint_info      # which old set test_accuracy_old is of
    assert info["extra"]["incremental_old_dataset"] == {"name": sets["A"], "split_seed": 0}
    assert info["dataset"]["name"] == sets["B"] and "test_accuracy_old" in info["metrics"]
    assert (info["dataset"]["mean"], info["dataset"]["std"]) == (meta["mean"], meta["std"])
    assert "(on old + new:" in text.output and "test accuracy on old + new" in text.output
    row = next(line for line in text.output.splitlines() if line.startswith("old model"))
    assert f"old {on_old:.4f}" in row and f"new {on_new:.4f}" in row


def test_one_set_says_old_and_new_share_its_test_split(sets):
    r = json_result(run(["incremental", "--model", sets["model"], "--old", sets["A"], "--new",
                         sets["A"], "--target", "0.5", "--max-epochs", "0.1", "--json"]))
    assert r["held_out"]["shared"]
    s = r["before"]
    assert s["test_accuracy"] == s["test_accuracy_old"] == s["test_accuracy_new"]


@pytest.mark.parametrize("new, message", [
    ("B9", "old and new data label other classes"),      # said 'differ: shapes (64,) vs (64,)'
    ("B9", "B9.csv lacks ['9']"),                         # (lists cut at 6 hid which)
    # 32 of the model's 64 columns: named since the columns are (h111), before by shape
    ("narrow", "has other feature columns than the model was trained on (missing 'p32'"),
])
def test_sets_that_cannot_be_merged_are_one_line_errors(sets, new, message):
    line = one_error_line(run(["incremental", "--model", sets["model"], "--old", sets["A"],
                               "--new", sets[new], "--target", "0.5", "--max-epochs", "0.1"]))
    assert message in line


def test_old_fraction_with_two_sets_is_refused(sets):
    line = one_error_line(run(["incremental", "--model", sets["model"], "--old", sets["A"],
                               "--new", sets["B"], "--old-fraction", "0.5"]))
    assert "--old-fraction splits one data set" in line
