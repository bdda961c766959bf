"""grow-prune of a family compaction cannot rebuild is refused before any training."""
import pytest

from synth.errors import UserError
from synth.grow_prune import GrowPruneSchedule
from synth.workflows import grow_prune_checkpoint


def test_resnet_with_compaction_is_refused_before_the_dense_training(tmp_path):
    def no_training(*args, **kwargs):
        raise AssertionError("trained a model whose result could not be saved")
    with pytest.raises(UserError, match=r"not 'resnet'.*--no-compact"):
        grow_prune_checkpoint("digits", "resnet8_w16", tmp_path / "r.pt",
                              GrowPruneSchedule(prune_steps=1), epochs=1, progress=False,
                              fit_fn=no_training)
    assert list(tmp_path.iterdir()) == []
