"""grow-prune with --target-accuracy above the accuracy pruning starts from (h187: a sparse
seed at 0.201 validation, --target-accuracy 0.5): every step was undone, one whose retraining
reached 0.465 too, and the user was left with the seed and no word why.  Now one warning at
the start of pruning says the floor is above the start."""
import logging

from synth import masked
from synth.grow_prune import GrowPruneSchedule, grow_and_prune
from synth.models import build


def test_a_floor_above_the_start_is_said(digits, caplog):
    model = build({"family": "mlp", "hidden": [8]}, digits.input_shape, digits.num_classes)
    masked.attach_masks(model)   # untrained: about 10% validation accuracy
    schedule = GrowPruneSchedule(prune_steps=1, prune_fraction=0.5, retrain_epochs=0,
                                 accuracy_floor=0.99, device="cpu")
    with caplog.at_level(logging.WARNING, logger="synth.grow_prune"):
        _, history = grow_and_prune(model, digits, schedule)
    assert [r["phase"] for r in history] == ["start", "reverted"]
    assert "below the floor 0.9900 (--target-accuracy)" in caplog.text
    caplog.clear()
    schedule = GrowPruneSchedule(prune_steps=1, prune_fraction=0.5, retrain_epochs=0,
                                 device="cpu")
    with caplog.at_level(logging.WARNING, logger="synth.grow_prune"):
        grow_and_prune(model, digits, schedule)
    assert "below the floor" not in caplog.text
