"""Step floors (``min_steps``) beyond train: grow-prune's dense training, a search's trials,
and the one rule ``synth.train.epochs_for_steps`` that train, continual and distill share."""
import pytest

from synth.distill import DistillConfig, distill_train_config
from synth.errors import UserError
from synth.train import MAX_EPOCHS, epochs_for_steps


def test_a_floor_past_the_epoch_bound_is_refused_not_capped():
    # 1,000,000 steps of one batch an epoch were capped at MAX_EPOCHS (100,000 steps) in
    # train without a word; distill refused the same count.  One rule now, one message.
    with pytest.raises(UserError, match=r"min_steps 1,000,000 needs 1,000,000 passes over "
                                        r"108 inputs; the limit is 100,000 \(lower min_steps\)"):
        epochs_for_steps(15, 1_000_000, 108, 128)
    assert epochs_for_steps(15, MAX_EPOCHS, 108, 128) == MAX_EPOCHS
    with pytest.raises(UserError, match=r"synthesize more inputs"):
        distill_train_config(DistillConfig(min_steps=1_000_000), 10)
    # distill's epochs are the shared rule's (3 inputs: one step an epoch; 0 inputs too)
    for n in (0, 3, 64, 500, 5000):
        c = DistillConfig()
        assert distill_train_config(c, n).epochs == epochs_for_steps(
            c.epochs, c.min_steps, n, c.batch_size)
