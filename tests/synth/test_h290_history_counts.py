"""h290: a grow-and-prune history row counts parameters as every other figure does.

``synth.grow_prune.measure`` (the rows of ``nnsynth grow-prune --json``'s ``history``, the
checkpoint's ``grow_prune_history``, scann's and diabdeep's histories) put the *nonzero*
count under ``parameters``, where the result beside it, ``nnsynth eval``, prune, export and
search all mean every parameter by ``parameters`` and the nonzero ones by
``nonzero_parameters``: a grow-prune of digits' mlp [32, 16] (bn) said ``parameters: 2708``
for the saved model and 488 in its final history row.  Recounted here by hand.
"""
import torch

from synth import masked
from synth.grow_prune import GrowPruneSchedule, grow_and_prune, measure
from synth.models import build


def _by_hand(model):
    """(every parameter, the nonzero ones of the effective weights), without nnsynth."""
    total = sum(p.numel() for p in model.parameters())
    nonzero = 0
    for m in model.modules():
        for name in ("weight", "bias"):
            t = getattr(m, name, None)
            if isinstance(t, torch.Tensor) and (name in m._parameters or
                                                hasattr(m, "parametrizations")):
                nonzero += int((t != 0).sum())
    return total, nonzero


def test_a_history_row_counts_all_and_nonzero_parameters_apart(digits):
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [16, 8], "bn": True}, digits.input_shape,
                  digits.num_classes).eval()
    masked.attach_masks(model, masked.random_masks(model, 0.2, seed=0))
    total, nonzero = _by_hand(model)
    assert nonzero < total
    row = measure(model, digits)
    assert row["parameters"] == total
    assert row["nonzero_parameters"] == nonzero


def test_grow_prune_history_and_result_say_parameters_alike(digits):
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [16]}, digits.input_shape, digits.num_classes)
    schedule = GrowPruneSchedule(prune_steps=1, prune_fraction=0.5, retrain_epochs=0,
                                 criterion="magnitude", device="cpu")
    out, history = grow_and_prune(model, digits, schedule)
    total, nonzero = _by_hand(out)
    assert history[-1]["parameters"] == total == history[0]["parameters"]
    assert history[-1]["nonzero_parameters"] == nonzero < history[0]["nonzero_parameters"]
