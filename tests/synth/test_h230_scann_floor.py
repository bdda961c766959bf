"""SCANN's pruning never keeps a step that loses more than ``max_accuracy_drop`` of the best
accuracy the network reached (h230).

Schemes A and C set the floor once, from the grown network, which had only a growth round's
retraining; the pruning's retraining then lifted it, and a later step that lost all of that
was kept because it stayed above the grown network's floor.  ``nnsynth scann --dataset iris
--scheme C`` (defaults): grown at 0.65 (train + validation), pruned and retrained to 0.925
at 6 connections, then a step to 0.658 was kept and reported: test accuracy 0.667 (0.9
before that step), 'reduction 800'.  The figures below replay that run's accuracies through
a stand-in for ``grow_and_prune`` that applies its floor rule (fast; the real run takes
about 20 s)."""
import pytest
import torch

import synth.scann as scann
from synth.data import load_dataset
from synth.grow_prune import final_row
from synth.models import build

GROWN, PRUNED = 0.65, [0.667, 0.825, 0.933, 0.925, 0.658, 0.95]


def _replay(monkeypatch):
    """grow_and_prune's floor rule: a pruning step is undone (and the call stops) below
    max(accuracy_floor, the call's reference - max_accuracy_drop), the reference being the
    grown network when the call grows, else its start."""
    accuracies, state = iter(PRUNED), {"acc": 0.333}
    monkeypatch.setattr(scann, "PRUNE_BACKOFF", 0)   # the floor rule alone: no retried step

    def fake(model, data, schedule, **_):
        rows = [{"step": 0, "phase": "start", "val_accuracy": state["acc"],
                 "test_accuracy": state["acc"], "connections": 10}]
        if schedule.growth_rounds:
            state["acc"] = GROWN
            rows.append({"step": 1, "phase": "grow", "val_accuracy": GROWN,
                         "test_accuracy": GROWN, "connections": 10})
        floor = max(schedule.accuracy_floor, rows[-1]["val_accuracy"] - schedule.max_accuracy_drop)
        for _ in range(schedule.prune_steps):
            acc = next(accuracies)
            row = {"step": rows[-1]["step"] + 1, "phase": "prune", "val_accuracy": acc,
                   "test_accuracy": acc, "connections": 5}
            if acc < floor:
                rows.append(dict(row, phase="reverted"))
                break
            state["acc"] = acc
            rows.append(row)
        return model, rows
    monkeypatch.setattr(scann, "grow_and_prune", fake)


@pytest.mark.parametrize("scheme", ["A", "C"])
def test_a_step_that_loses_what_retraining_gained_is_undone(monkeypatch, scheme):
    _replay(monkeypatch)
    data = load_dataset("iris")
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8, 4]}, data.input_shape, data.num_classes)
    config = scann.ScannConfig(scheme=scheme, prune_steps=len(PRUNED), device="cpu")
    _, history = scann.synthesize(model, data, config)
    kept = [r["val_accuracy"] for r in history if r["phase"] == "prune"]
    assert kept == PRUNED[:4]                      # 0.925 is within 0.01 of 0.933
    assert [r["val_accuracy"] for r in history if r["phase"] == "reverted"] == [0.658]
    assert final_row(history)["val_accuracy"] == 0.925
