"""h184: compaction of the recurrent families keeps no weight that feeds nothing.

A layer none of whose cell units reaches the output, or an H-LSTM gate none of whose hidden
units is live, keeps one unit so that it exists (``synth.compact_recurrent``); that unit kept
its weights, which fed nothing and were counted as connections, MACs and parameters of the
compacted model: an H-LSTM whose candidate gate was pruned at its output kept 9 connections
into the one g unit (x every step), an LSTM whose classifier reads nothing (an all-zero
input set trains to that) 16 connections for a constant model.  The outputs are the masked
model's either way; the inputs are left-padded sequences as ``synth.sequences`` makes them.
"""
import torch

from synth import masked
from synth.compact_recurrent import compact_recurrent
from synth.models import build


def _masked(spec, shape=(3, 6), classes=4, seed=0):
    torch.manual_seed(seed)
    model = build(spec, shape, classes)
    masked.attach_masks(model)
    return model.eval()


def _masks(model) -> dict:
    return {n: m.mask for n, _, m in masked.masked_layers(model)}


def _inputs(n=40, shape=(3, 6)):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn((n,) + shape, generator=gen)
    x[:10, :, :4] = 0          # left padding (zeros = the training mean): 2 real steps
    x[10:15, :, :5] = 0        # one real step
    x[15:20] = 0               # all-zero features
    return x


def _same(a, b, x):
    with torch.no_grad():
        return float((a(x) - b(x)).abs().max()) <= 1e-5


def test_a_gate_pruned_at_its_output_keeps_no_connection():
    model = _masked({"family": "hlstm", "hidden": [6], "gate_hidden": 4})
    _masks(model)["rnn.layers.0.gates.g.out"].zero_()      # W_g: every weight pruned
    small = compact_recurrent(model)
    g = small.rnn.layers[0].gates.g
    assert small.spec["gate_hidden"] == [[4, 4, 1, 4]]
    assert not g.hid.weight.any() and not g.out.weight.any()
    useless = int((model.rnn.layers[0].gates.g.hid.weight != 0).sum())      # 4 x 9
    assert masked.connections(small) == masked.connections(model) - useless
    assert _same(model, small, _inputs())


def test_a_gate_without_inputs_is_folded_into_its_bias():
    model = _masked({"family": "hlstm", "hidden": [6], "gate_hidden": 4}, seed=2)
    _masks(model)["rnn.layers.0.gates.f.hid"].zero_()      # W*_f: f is a constant gate
    with torch.no_grad():
        model.rnn.layers[0].gates.f.hid.parametrizations.weight.original.zero_()
        model.rnn.layers[0].gates.f.hid.bias.copy_(torch.tensor([0.5, -0.2, 0.3, 1.0]))
    small = compact_recurrent(model)
    f = small.rnn.layers[0].gates.f
    assert f.hid.weight.shape[0] == 1 and not f.hid.weight.any() and not f.out.weight.any()
    assert _same(model, small, _inputs())


def test_a_layer_nothing_reads_keeps_no_connection():
    for spec in ({"family": "lstm", "hidden": [6]},
                 {"family": "hlstm", "hidden": [6], "gate_hidden": 4},
                 {"family": "lstm", "hidden": [6, 5]},
                 {"family": "hlstm", "hidden": [6, 5], "gate_hidden": 3}):
        model = _masked(spec)
        _masks(model)["head"].zero_()                       # the classifier reads no unit
        small = compact_recurrent(model)
        assert small.spec["hidden"] == [1] * len(spec["hidden"])
        assert masked.connections(small) == 0, spec
        assert _same(model, small, _inputs())


def test_a_hidden_unit_pruned_to_nothing_is_removed():
    """Unit 2 of the first of two H-LSTM layers: no gate writes it, nothing reads it."""
    model = _masked({"family": "hlstm", "hidden": [6, 5], "gate_hidden": 4})
    masks = _masks(model)
    for k in "ifgo":
        masks[f"rnn.layers.0.gates.{k}.out"][2] = False          # its four gate rows
        masks[f"rnn.layers.0.gates.{k}.hid"][:, 3 + 2] = False   # h_{t-1}[2] read by layer 0
        masks[f"rnn.layers.1.gates.{k}.hid"][:, 2] = False       # its h_t read by layer 1
    small = compact_recurrent(model)
    assert small.spec["hidden"] == [5, 5]
    assert masked.connections(small) == masked.connections(model)
    assert _same(model, small, _inputs())
