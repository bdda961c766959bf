"""Helper 151's probe of the recurrent grow-and-prune path: a compacted checkpoint's zeros
stay pruned when it is grown and pruned again."""
import pytest
import torch

from synth import masked
from synth.compact import compact
from synth.data import Dataset
from synth.grow_prune import GrowPruneSchedule, grow_and_prune
from synth.models import build, count_parameters


def _sequences(n=64, c=2, t=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n + 32,), generator=gen)
    x = torch.randn(n + 32, c, t, generator=gen)
    x[:, 0] += (2.0 * y - 1).view(-1, 1)
    return Dataset("tiny", x[:n], y[:n], x[n:n + 16], y[n:n + 16], x[n + 16:], y[n + 16:],
                   (c, t), 2, ["a", "b"], [0.0] * c, [1.0] * c)


@pytest.mark.parametrize("family", ["lstm", "hlstm"])
def test_grow_prune_of_a_compacted_model_keeps_its_zeros_pruned(family):
    """A compacted grow-and-prune checkpoint (zeros, no masks) given to grow-and-prune again
    was masked all-ones: retraining revived its zeros, and `nnsynth grow-prune --model` of an
    H-LSTM of 636 connections came out of one 20% step with 1,242 (reduction 0.51)."""
    torch.manual_seed(0)
    data = _sequences()
    spec = {"family": family, "hidden": [6]} | ({"gate_hidden": 4} if family == "hlstm" else {})
    model = build(spec, data.input_shape, 2)
    masked.attach_masks(model, masked.random_masks(model, 0.4, seed=1))
    sparse = compact(model.eval())        # as grow-prune saves it: zeros where pruned, no masks
    start = masked.connections(sparse)
    assert start < 0.6 * sum(lin.weight.numel() for _, lin, _ in masked.masked_layers(model))
    schedule = GrowPruneSchedule(prune_steps=1, prune_fraction=0.2, retrain_epochs=1,
                                 lr=0.1, batch_size=16, max_accuracy_drop=1.0, device="cpu",
                                 criterion="magnitude")
    out, history = grow_and_prune(sparse, data, schedule)
    assert history[0]["connections"] == start
    assert history[-1]["connections"] == start - round(0.2 * start)
    assert masked.connections(out) == history[-1]["connections"]
    assert count_parameters(out, nonzero=True) == history[-1]["parameters"]
