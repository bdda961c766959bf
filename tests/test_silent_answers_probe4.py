"""Silent wrong answers in the recurrent / language-model paths (probe 4): a host-CPU latency
table timed other work than the layer's (LSTM, recurrent cell, BatchNorm), and a language
model's perplexity left targets of the split out.  Each test failed before its fix."""
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


# ------------------------------------------------------------------- language-model perplexity
def _stateless_lm(vocab=7, width=6, seed=0):
    """An LSTM language model whose prediction depends on the current token only: W_hh = 0
    (h_{t-1} unread) and a forget-gate bias of -1e4 (f = 0: c_{t-1} forgotten)."""
    from synth.lm import LanguageModel
    torch.manual_seed(seed)
    model = LanguageModel({"cell": "lstm", "embed": width, "hidden": [width], "tied": False,
                           "dropout": 0.0}, vocab)
    layer = model.rnn[0]
    with torch.no_grad():
        layer.hh.weight.zero_()
        layer.hh.bias.zero_()
        layer.ih.bias[width:2 * width] = -1e4      # gate order i, f, g, o
        layer.ih.weight.mul_(8.0)                   # outputs that differ by token
    return model.eval()


@pytest.mark.parametrize("batch", [1, 3, 7, 10])
def test_perplexity_is_over_every_target_token_of_the_split(batch):
    """perplexity() scored the targets of batchify's columns only: the first token of every
    column after the first (column k's last token never predicted it) and the len % batch
    tokens batchify drops were left out, so the figure was over fewer tokens than the
    split's, and differed with the evaluation batch even for a model that reads no state.
    By hand: exp(mean over all 37 pairs (ids[t], ids[t+1]) of -log p(ids[t+1] | ids[t]))."""
    import math
    import torch.nn.functional as F
    from synth.lm import perplexity
    model = _stateless_lm()
    ids = torch.randint(7, (38,), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits = model(ids[:-1].unsqueeze(0))[0][0]           # (37, V), state irrelevant
        want = math.exp(F.cross_entropy(logits, ids[1:]).item())
    assert perplexity(model, ids, batch=batch, bptt=4) == pytest.approx(want, rel=1e-5)


def test_perplexity_columns_carry_their_state_into_the_next_columns_first_token_and_the_rest():
    """By hand on a model that reads its state: 38 tokens in 3 columns of 12 (2 left over);
    column k reads its tokens from a zero state and predicts one past its end, the last
    column also the 2 left-over tokens (37 targets in all)."""
    import math
    import torch.nn.functional as F
    from synth.lm import LanguageModel, perplexity
    torch.manual_seed(0)
    model = LanguageModel({"cell": "hlstm", "embed": 6, "hidden": [6], "dropout": 0.0}, 7).eval()
    ids = torch.randint(7, (38,), generator=torch.Generator().manual_seed(1))
    total = 0.0
    with torch.no_grad():
        for start, stop in ((0, 12), (12, 24), (24, 37)):
            logits = model(ids[start:stop].unsqueeze(0))[0][0]
            total += F.cross_entropy(logits, ids[start + 1:stop + 1], reduction="sum").item()
    want = math.exp(total / 37)
    assert perplexity(model, ids, batch=3, bptt=5) == pytest.approx(want, rel=1e-5)
