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
    assert count_parameters(out, nonzero=True) == history[-1]["nonzero_parameters"]


@pytest.mark.parametrize("family", ["lstm", "hlstm"])
def test_compaction_removes_a_cell_that_only_its_own_gates_read(family):
    """A cell unit whose h is read by its own gates (or those of another unit nothing else
    reads) but by no consumer cannot change the output; compaction kept it because its
    column in the recurrent matrix was nonzero (re-compacting a basicmotions H-LSTM
    grow-prune checkpoint now drops one such cell: 173 -> 163 nonzero parameters)."""
    torch.manual_seed(0)
    spec = {"family": family, "hidden": [4]} | ({"gate_hidden": 3, "dropout": 0.0}
                                               if family == "hlstm" else {})
    model = build(spec, (2, 5), 3).eval()
    masked.attach_masks(model)
    layer = model.rnn.layers[0]
    head = dict((n, m) for n, _, m in masked.masked_layers(model))["head"]
    head.mask[:, 1:] = False                 # the classifier reads cell 0 only
    if family == "lstm":
        hh = masked.masked_layers(model)[1][2].mask     # rnn.layers.0.hh, (4H, H)
        unit = torch.arange(16) % 4                    # row -> its cell unit
        hh[unit == 0] = False
        hh[unit == 0, 0] = True                        # cell 0 reads only itself
        # cells 1-3 read each other and themselves: a loop nothing outside reads
    else:
        for k in "ifgo":
            out = layer.gates[k].out.parametrizations.weight[0].mask    # (H, gate units)
            hid = layer.gates[k].hid.parametrizations.weight[0].mask    # (units, I + H)
            out[0] = False
            out[0, 0] = True               # cell 0's gate reads gate unit 0 only
            out[1:, 0] = False
            hid[0, 2:] = False
            hid[0, 2] = True               # ... which reads x and h_0 only
    x = torch.randn(40, 2, 5)
    small = compact(model)
    assert small.spec["hidden"] == [1]
    with torch.no_grad():
        assert torch.allclose(small(x), model(x), atol=1e-6)
        assert torch.allclose(small.infer(x), model(x), atol=1e-6)
    assert count_parameters(small, nonzero=True) < count_parameters(model, nonzero=True)


def test_grow_prune_hlstm_seed_with_dormant_gate_units_grows_neurons():
    """`nnsynth grow-prune --model '{"family": "hlstm", ...}' --schedule '{"seed_units":
    0.5}'` trained the dense model and then refused ('needs a feed-forward chain of layers;
    HLSTMClassifier is recurrent'), though an H-LSTM's gates have hidden units (diabdeep
    seeds them); now random_masks leaves gate units dormant and neuron growth fills them."""
    from synth.errors import UserError
    torch.manual_seed(0)
    data = _sequences()
    model = build({"family": "hlstm", "hidden": [4], "gate_hidden": 6}, data.input_shape, 2)
    schedule = GrowPruneSchedule(seed_density=0.5, seed_units=0.5, growth_rounds=1,
                                 neuron_growth=2, prune_steps=0, retrain_epochs=0,
                                 growth_batches=2, batch_size=16, device="cpu")
    seed = masked.random_masks(model, 0.5, 0, unit_fraction=0.5)
    for k in "ifgo":
        hid, out = (seed[f"rnn.layers.0.gates.{k}.{p}"] for p in ("hid", "out"))
        assert int((hid.any(1) | out.any(0)).sum()) == 3       # half the 6 units live
    out, history = grow_and_prune(model, data, schedule)
    assert history[1]["grown_neurons"] == 4 * 2              # 2 per gate
    lstm = build({"family": "lstm", "hidden": [4]}, data.input_shape, 2)
    with pytest.raises(UserError, match="seed_units < 1 .* lstm has none"):
        masked.random_masks(lstm, 0.5, 0, unit_fraction=0.5)
