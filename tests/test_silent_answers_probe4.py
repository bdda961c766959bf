"""Silent wrong answers in the recurrent / language-model paths (probe 4): a host-CPU latency
table timed other work than the layer's (LSTM, recurrent cell, BatchNorm), and ...
Each test failed before its fix."""
import pytest
import torch
from torch import nn

from hwsim import tables
from hwsim.workload import extract
from synth.models.hlstm import HLSTMLayer
from synth.models.lstm import LSTMLayer


# ------------------------------------------------------------- hwsim host table: the timed op
def _timed(op, seed=0):
    return tables.op_callable(op, torch.Generator().manual_seed(seed))()


def _drawn_layer(layer: nn.Module, op, seed=0, buffers=()):
    """``layer`` and the input op_callable draws: input, then each parameter in order, then
    the named buffers (BatchNorm: running mean, running variance in (0.5, 1.5))."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(op.in_shape, generator=gen)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
        if "running_mean" in buffers:
            layer.running_mean.copy_(torch.randn(layer.running_mean.shape, generator=gen))
            layer.running_var.copy_(torch.rand(layer.running_var.shape, generator=gen) + 0.5)
    return layer.eval(), x


LSTMS = {
    "bias_bidirectional_batch_first": dict(bias=True, bidirectional=True, batch_first=True),
    "no_bias": dict(bias=False),
    "bidirectional_time_first": dict(bidirectional=True),
}


@pytest.mark.parametrize("name", list(LSTMS))
def test_lstm_op_is_timed_with_the_layers_bias_and_layout(name):
    """op_callable timed every LSTM op as a fresh nn.LSTM(K - H, H): with a bias whatever the
    layer had, one direction for a bidirectional layer (its steps x 2 run as a sequence twice
    as long), time-first whatever the layer's layout."""
    kw = LSTMS[name]
    model = nn.LSTM(5, 6, num_layers=2, **kw)
    ops = extract(model, (7, 5), batch=3)    # time-first: 3 steps of 7 samples
    assert len(ops) == 2
    dirs = 2 if kw.get("bidirectional") else 1
    for op, in_size in zip(ops, (5, 6 * dirs)):
        layer, x = _drawn_layer(nn.LSTM(in_size, 6, **kw), op)
        want = layer(x)[0]
        got = _timed(op)[0]
        assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5), (name, op.name)


def test_lstm_cell_op_is_an_lstm_cell_step():
    cell = nn.LSTMCell(4, 5, bias=False)
    (op,) = extract(cell, (4,), batch=3)
    layer, x = _drawn_layer(nn.LSTMCell(4, 5, bias=False), op)
    got, want = _timed(op), layer(x)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(got, want))


def test_lstms_that_differ_only_in_bias_are_two_table_rows():
    ops = extract(nn.LSTM(4, 5, bias=True), (6, 4)) + extract(nn.LSTM(4, 5, bias=False), (6, 4))
    assert ops[0].key() != ops[1].key()
    assert len(tables.build_table(ops, "cpu", repeats=2)) == 2


def _cell_op(layer, batch=2, steps=5):
    ops = extract(layer, (steps, layer.input_size), batch=batch)
    (op,) = [o for o in ops if o.name.endswith(".cell")]
    return op


@pytest.mark.parametrize("kind", ["lstm", "hlstm"])
def test_recurrent_cell_op_is_the_cell_update(kind):
    """A recurrent layer's cell op (gates' sigmoid x3, tanh x2, c_t = f c + i g,
    h_t = o tanh(c_t), per step) was timed as one ReLU over the layer's input."""
    hidden = 4
    layer = LSTMLayer(3, hidden) if kind == "lstm" else HLSTMLayer(3, hidden, [2, 3, 4, 5])
    op = _cell_op(layer)
    g = dict(op.geometry)
    assert g["hidden"] == hidden and g["relu"] == (0 if kind == "lstm" else 14)
    h, c = _timed(op)
    # the same pre-activations and c_0 through an LSTMLayer whose gates pass them on:
    # W_ih = identity (4H inputs), W_hh = 0, no biases
    gen = torch.Generator().manual_seed(0)
    n, t = op.in_shape[:2]
    torch.randn(op.in_shape, generator=gen)    # op_callable draws the input first, as always
    z = torch.randn((n, t, 4 * hidden), generator=gen)
    c0 = torch.randn((n, hidden), generator=gen)
    ref = LSTMLayer(4 * hidden, hidden)
    with torch.no_grad():
        ref.ih.weight.copy_(torch.eye(4 * hidden))
        for p in (ref.ih.bias, ref.hh.weight, ref.hh.bias):
            p.zero_()
        want_h, (_, want_c) = ref(z, (torch.zeros(n, hidden), c0))
    assert h.shape == want_h.shape == tuple(op.out_shape)
    assert torch.allclose(h, want_h, atol=1e-6) and torch.allclose(c, want_c, atol=1e-6)


BATCHNORMS = {
    "affine": (nn.BatchNorm2d(3), (3, 4, 4)),
    "eps": (nn.BatchNorm2d(3, eps=0.5), (3, 4, 4)),
    "no_affine_1d": (nn.BatchNorm1d(4, affine=False), (4, 6)),
    "batch_stats": (nn.BatchNorm2d(3, track_running_stats=False), (3, 4, 4)),
}


@pytest.mark.parametrize("name", list(BATCHNORMS))
def test_batchnorm_op_is_eval_batchnorm_with_its_affine_step(name):
    """BatchNorm was timed as F.batch_norm(x, 0, 1) without weight and bias (no affine
    multiply-add), at the default eps, and with running statistics for a layer that has
    none (it normalizes by the batch's own)."""
    bn, shape = BATCHNORMS[name]
    (op,) = extract(bn, shape, batch=2)
    layer, x = _drawn_layer(bn, op, buffers=("running_mean",) if bn.track_running_stats else ())
    with torch.no_grad():
        want = layer(x)
    got = _timed(op)
    assert got.shape == want.shape and torch.allclose(got, want, atol=1e-5), name
