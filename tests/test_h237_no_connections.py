"""A model pruned to no connections has no 'reduction' figure (null; 'none'), not the
dense count over max(1, 0).

``nnsynth grow-prune --dataset iris --model mlp_small --epochs 2 --prune-steps 6
--prune-fraction 0.9 --retrain-epochs 0 --schedule '{"max_accuracy_drop": 1}'`` printed
'connections: 0' and 'reduction: 2400.0000', the dense model's 2,400 connections over one;
scann the same (21,312x of a 300-feature table pruned to nothing)."""
import functools

import synth.scann
from synth.scann import ScannConfig
from tests._cli import json_result, run


def test_grow_prune_to_nothing_has_no_reduction(tmp_path):
    result = json_result(run(["-q", "grow-prune", "--dataset", "iris", "--model", "mlp_small",
                              "--epochs", "1", "--min-steps", "0", "--prune-steps", "3",
                              "--prune-fraction", "0.99",
                              "--retrain-epochs", "0", "--schedule",
                              '{"max_accuracy_drop": 1}', "--out", str(tmp_path / "z.pt"),
                              "--json"]))
    assert result["connections"] == 0 and result["reduction"] is None, result
    human = run(["-q", "grow-prune", "--dataset", "iris", "--model", "mlp_small", "--epochs",
                 "1", "--min-steps", "0", "--prune-steps", "3", "--prune-fraction", "0.99",
                 "--retrain-epochs", "0",
                 "--schedule", '{"max_accuracy_drop": 1}', "--out", str(tmp_path / "y.pt")])
    assert "reduction: none" in human.output, human.output


def test_scann_to_nothing_has_no_reduction(monkeypatch):
    monkeypatch.setattr(synth.scann, "ScannConfig",
                        functools.partial(ScannConfig, epochs=1, prune_steps=1, retrain_epochs=0))
    monkeypatch.setattr(synth.scann, "connections", lambda model: 0)
    result = json_result(run(["-q", "scann", "--dataset", "iris", "--json"]))
    assert result["connections"] == 0 and result["reduction"] is None, result
    assert result["input_connections"] == 0 and result["input_reduction"] is None
