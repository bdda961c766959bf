"""grow-prune of a checkpoint grow-prune pruned before: 'dense' figures are the dense start's.

The result's dense_connections was the loaded model's own nonzero weights: an H-LSTM pruned
from 4,384 connections to 2,214, pruned again to 1,765, said dense_connections 2,214 and
reduction 1.25 (2.48 against its dense start), and dense_test_accuracy was the pruned
start's.  The checkpoint's metrics record its dense start; they are carried where it is
grown and pruned again on the set and split it was."""
import torch

from tests._cli import json_result, run
from tests.synth.test_h220_same_set_split import _ts_pair


def _grow_prune(model, out, dataset, *extra):
    # --epochs trains a spec densely; a checkpoint is trained already (refused with one)
    epochs = ["--epochs", "1", "--min-steps", "0"] if isinstance(model, str) else []
    return json_result(run(["-q", "grow-prune", "--dataset", dataset, "--model", str(model),
                            *epochs, "--prune-steps", "1", "--prune-fraction", "0.5",
                            "--retrain-epochs", "1", "--retrain-min-steps", "0",
                            "--schedule", '{"max_accuracy_drop": 1}',
                            "--out", str(out), "--threads", "1", "--json", *extra]))


def test_a_pruned_checkpoint_pruned_again_reports_against_its_dense_start(tmp_path):
    sets = _ts_pair(tmp_path / "sets")
    first = _grow_prune("convnet1d_small", tmp_path / "a.pt", f"ts:{sets}")
    assert first["connections"] < first["dense_connections"]
    again = _grow_prune(tmp_path / "a.pt", tmp_path / "b.pt", f"ts:{sets}/")
    assert again["start_connections"] == first["connections"]
    assert again["dense_connections"] == first["dense_connections"]
    assert again["dense_test_accuracy"] == first["dense_test_accuracy"]
    assert again["reduction"] == first["dense_connections"] / again["connections"]
    saved = torch.load(tmp_path / "b.pt", weights_only=True)
    assert saved["metrics"]["dense_connections"] == first["dense_connections"]
    # on another set (same shape and classes) the recorded dense start is not its: the
    # loaded model's own connections, as before
    other = _ts_pair(tmp_path / "other", seed=5)
    elsewhere = _grow_prune(tmp_path / "a.pt", tmp_path / "c.pt", f"ts:{other}")
    assert elsewhere["dense_connections"] == elsewhere["start_connections"]
