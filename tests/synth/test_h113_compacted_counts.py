"""h113: a grow-prune result counts the connections of the model it saved (compacted)."""
import pytest
import torch

from synth import masked
from synth.checkpoint import load_model
from synth.grow_prune import GrowPruneSchedule


def test_grow_prune_result_counts_the_connections_of_the_saved_compacted_model(tmp_path):
    """compaction drops rows that feed nothing and folds units with no inputs; the result's
    ``connections`` (and ``reduction``) were the masked model's, ``nonzero_parameters`` the
    saved one's."""
    from synth.workflows import grow_prune_checkpoint
    torch.manual_seed(0)
    schedule = GrowPruneSchedule(prune_steps=2, prune_fraction=0.8, criterion="magnitude",
                                 retrain_epochs=0, seed=0, device="cpu")
    out = tmp_path / "g.pt"
    result = grow_prune_checkpoint("digits", {"family": "mlp", "hidden": [32, 16]}, out,
                                   schedule, epochs=1, distill=False, progress=False)
    saved = load_model(out)
    final = [r for r in result["history"] if r.get("final")][0]
    assert final["connections"] > masked.connections(saved)   # compaction removed something
    assert result["connections"] == masked.connections(saved)
    assert result["reduction"] == pytest.approx(
        result["dense_connections"] / masked.connections(saved))
    assert saved.checkpoint_info["metrics"]["connections"] == masked.connections(saved)
