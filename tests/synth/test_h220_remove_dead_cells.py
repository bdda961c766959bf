"""masked.remove_dead masks the gate rows of recurrent cell units that cannot reach the output.

Such units (their h_t read by no live gate, no next layer, no classifier) were left in the
masked model: a grow-prune of an H-LSTM saved --no-compact reported 111 connections, the
same run saved compacted 96 (the same function), and each step's history row counted them."""
import pytest
import torch

from synth import masked
from synth.compact import compact
from synth.models import build

GATES = "ifgo"


def _silence(model, layer: int, unit: int) -> None:
    """Mask every weight that reads h_unit of recurrent layer ``layer``: that unit can no
    longer reach the output, though its own gate rows stay connected."""
    named = {n: m for n, _, m in masked.masked_layers(model)}
    layers = model.rnn.layers
    last = layer + 1 == len(layers)
    if model.spec["family"] == "lstm":
        named[f"rnn.layers.{layer}.hh"].mask[:, unit] = False
        reader = ["head"] if last else [f"rnn.layers.{layer + 1}.ih"]
    else:
        width = layers[layer].input_size
        for g in GATES:
            named[f"rnn.layers.{layer}.gates.{g}.hid"].mask[:, width + unit] = False
        reader = ["head"] if last else [f"rnn.layers.{layer + 1}.gates.{g}.hid" for g in GATES]
    for name in reader:
        named[name].mask[:, unit] = False


@pytest.mark.parametrize("spec", [
    {"family": "lstm", "hidden": [8, 6], "dropout": 0.0, "frame": 1},
    {"family": "hlstm", "hidden": [8, 6], "gate_hidden": 4, "dropout": 0.0, "frame": 2},
])
def test_after_remove_dead_the_masked_model_counts_what_its_compact_copy_holds(spec):
    torch.manual_seed(0)
    model = build(spec, (3, 10), 4)
    masked.attach_masks(model, masked.random_masks(model, 0.5, 1))
    _silence(model, 0, 1)
    _silence(model, 1, 0)
    with torch.no_grad():   # the masked weights as zeros, as pruning leaves them
        for _, layer, m in masked.masked_layers(model):
            masked.original_weight(layer).mul_(m.mask)
    model.eval()
    x = torch.randn(16, 3, 10)
    with torch.no_grad():
        before = model(x)
        removed = masked.remove_dead(model)
        assert removed > 0
        torch.testing.assert_close(model(x), before, rtol=0, atol=1e-6)
        small = compact(model)
        assert masked.connections(model) == masked.connections(small)
        torch.testing.assert_close(small(x), before, rtol=0, atol=1e-5)
