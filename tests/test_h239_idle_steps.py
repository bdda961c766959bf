"""grow-prune's step counts say which steps changed the model's connections.

``nnsynth grow-prune --dataset iris --model mlp_small --epochs 2 --prune-steps 6
--prune-fraction 0.9 --retrain-epochs 0 --schedule '{"max_accuracy_drop": 1}'`` reached 0
connections at step 2 and reported ``steps: 6``, with four more history rows of ``pruned: 0``;
a growth round from a dense start (``grown_connections: 0``) was counted like one that grew.
Pruning now ends when no connection is left, and a step that changed no connection is
marked ``idle`` and counted apart (``idle_steps``)."""
import torch

from synth.data import load_dataset
from synth.grow_prune import GrowPruneSchedule, grow_and_prune, idle_steps, kept_steps
from synth.models import build


def _iris_mlp():
    data = load_dataset("iris", seed=0)
    torch.manual_seed(0)
    return data, build({"family": "mlp", "hidden": [16]}, data.input_shape, data.num_classes)


def test_pruning_ends_when_no_connection_is_left():
    data, model = _iris_mlp()
    schedule = GrowPruneSchedule(prune_steps=6, prune_fraction=0.99, retrain_epochs=0,
                                 max_accuracy_drop=1, criterion="layerwise", device="cpu")
    model, history = grow_and_prune(model, data, schedule)
    assert history[-1]["connections"] == 0
    assert all(r["pruned"] > 0 for r in history[1:]), history   # no row of a step that did nothing
    assert len(history) < 7 and kept_steps(history) == len(history) - 1
    assert idle_steps(history) == 0


def test_a_growth_round_that_grew_nothing_is_idle_and_not_counted():
    data, model = _iris_mlp()
    schedule = GrowPruneSchedule(growth_rounds=1, prune_steps=1, prune_fraction=0.5,
                                 retrain_epochs=0, max_accuracy_drop=1, device="cpu")
    model, history = grow_and_prune(model, data, schedule)   # dense start: nothing to grow
    grow, prune = history[1], history[2]
    assert grow["phase"] == "grow" and grow["grown_connections"] == 0 and grow["idle"]
    assert prune["pruned"] > 0 and "idle" not in prune
    assert kept_steps(history) == 1 and idle_steps(history) == 1


def test_scann_stops_where_no_connection_is_left(caplog):
    """SCANN (scheme B) pruned to nothing ran its other steps and growth rounds, each
    removing or growing nothing (and would have warned once a call)."""
    import logging

    from synth.scann import ScannConfig, run_scann
    data = load_dataset("iris", seed=0)
    config = ScannConfig(components=2, epochs=1, prune_steps=8, prune_fraction=0.95,
                         retrain_epochs=0, max_accuracy_drop=1, hidden=(8,), device="cpu")
    with caplog.at_level(logging.WARNING):
        result = run_scann(data, config)
    history = result["history"]
    assert result["connections"] == 0 and history[-1]["connections"] == 0
    assert not any(r.get("idle") for r in history), history
    assert result["steps"] == len(history) - 1
    assert "no connection left" not in caplog.text
