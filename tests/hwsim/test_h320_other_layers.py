"""h320: layers a user's model has that the registry never builds, priced as the textbook
counts them.  (A latency table's predicted total is a sum of rows each within
MAX_TABLE_ENTRY and may pass it: tests/test_h212_table_overflow.py predicts such a table.)"""
from __future__ import annotations

import pytest
import torch
from torch import nn

from hwsim import accel, extract, price
from hwsim.accel import AcceleratorConfig
from synth.errors import UserError


@pytest.mark.parametrize("channels, side, faster", [(16, 8, False), (64, 16, True)])
def test_a_depthwise_conv_is_no_slower_than_the_dense_conv_of_its_shape(channels, side,
                                                                         faster):
    """A depthwise Conv2d(16, 16, 3) on 16 x 8 x 8 (1/16 of the dense conv's MACs) took
    0.005024 ms on the default 32 x 32 ws array, the dense one 0.001578: its 16 groups ran
    one after another, a fold each (16 folds for the dense conv's 5).  Its groups are now
    packed as a block-diagonal GEMM (``accel.grouped_gemm_cycles``): never slower than the
    dense conv, faster where the groups fill more than a fold (64 channels on 16 x 16:
    0.044672 ms for the dense conv's 0.025198, now half of it); energy cheaper as before."""
    shape = (channels, side, side)
    dw = price(nn.Conv2d(channels, channels, 3, padding=1, groups=channels), shape)
    dense = price(nn.Conv2d(channels, channels, 3, padding=1), shape)
    assert dw["macs"] * channels == dense["macs"]
    assert 0 < dw["latency_ms"] <= dense["latency_ms"]
    assert (dw["latency_ms"] < dense["latency_ms"]) == faster
    assert 0 < dw["energy_mj"] < dense["energy_mj"]


@pytest.mark.parametrize("layer, dense, shape", [
    (nn.Conv2d(16, 32, 3, groups=4), nn.Conv2d(16, 32, 3), (16, 9, 9)),
    (nn.Conv2d(12, 12, 5, groups=12, stride=2), nn.Conv2d(12, 12, 5, stride=2), (12, 20, 20)),
    (nn.Conv1d(32, 32, 5, groups=32), nn.Conv1d(32, 32, 5), (32, 100)),
    (nn.ConvTranspose2d(8, 8, 3, stride=2, groups=8), nn.ConvTranspose2d(8, 8, 3, stride=2),
     (8, 5, 5))])
def test_grouped_layers_are_no_slower_than_dense_on_any_array(layer, dense, shape):
    """On arrays of several shapes and each dataflow, a grouped layer's compute cycles are
    at most its dense counterpart's (a depthwise Conv1d(32, 32, 5) on 100 steps was 6.4x
    the dense one's on 32 x 32 ws), and at least one MAC a PE a cycle."""
    (g,), (d,) = extract(layer, shape), extract(dense, shape)
    for rows, cols in ((32, 32), (8, 64), (128, 4), (1, 1)):
        for df in accel.DATAFLOWS:
            cfg = AcceleratorConfig(rows=rows, cols=cols, dataflow=df)
            cg = accel.evaluate([g], cfg)["layers"][0]["compute_cycles"]
            cd = accel.evaluate([d], cfg)["layers"][0]["compute_cycles"]
            assert g.macs / (rows * cols) <= cg <= cd, (rows, cols, df)


def test_recurrent_steps_are_not_packed():
    """A recurrent op's groups are its steps, each reading the last one's h: they stay one
    GEMM after another (packing is for independent groups only)."""
    (op,) = extract(nn.LSTM(6, 10, batch_first=True), (7, 6))
    cfg = AcceleratorConfig()
    per_step = accel.gemm_compute_cycles(1, 16, 40, cfg.rows, cfg.cols, 0)
    assert (op.gemm, op.groups) == ((1, 16, 40), 7)
    layer = accel.evaluate([op], cfg)["layers"][0]
    assert layer["compute_cycles"] == 7 * per_step + -(-op.elems // cfg.cols)


RNN_CASES = [
    # (layer, sample shape, textbook MACs of one sample: gates x H x (I + H) a step and
    # direction, a later layer's I the directions x H)
    (nn.LSTM(6, 10, num_layers=2, bidirectional=True, batch_first=True), (7, 6),
     7 * 2 * 4 * 10 * (6 + 10) + 7 * 2 * 4 * 10 * (20 + 10)),
    (nn.GRU(6, 10, num_layers=2, bidirectional=True, batch_first=True), (7, 6),
     7 * 2 * 3 * 10 * (6 + 10) + 7 * 2 * 3 * 10 * (20 + 10)),
    (nn.RNN(6, 10, batch_first=True), (7, 6), 7 * 10 * (6 + 10)),
    (nn.LSTM(6, 10, proj_size=4, batch_first=True), (7, 6), 7 * (4 * 10 * (6 + 4) + 10 * 4)),
    (nn.LSTMCell(6, 10), (6,), 4 * 10 * 16),
    (nn.GRUCell(6, 10), (6,), 3 * 10 * 16)]


@pytest.mark.parametrize("layer, shape, macs", RNN_CASES,
                         ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else None)
def test_torch_recurrent_layers_count_their_work_in_the_bound(layer, shape, macs):
    """extract prices them at the textbook count; ``sample_work`` (the bound extract checks
    before its forward pass) counted 0 MACs for torch's LSTM, GRU and RNN, and none of
    their output: a torch LSTM of any size was run, never refused."""
    from hwsim.workload import sample_work
    assert sum(o.macs for o in extract(layer, shape, batch=2)) == 2 * macs
    work = sample_work(layer, shape)
    assert work is not None and work[0] == macs and work[1] > 0
    assert "forward" not in vars(layer)   # its forward given back


def test_a_torch_lstm_past_the_work_bound_is_refused_at_once():
    """An LSTM(1, 1024, num_layers=2) over 100,000 steps is 1.26e12 MACs, past
    MAX_EXTRACT_MACS: refused in one line before any forward pass (sample_work ran it on
    the meta device, step by step through Python, and counted it as 0: no bound)."""
    import time
    from hwsim.workload import MAX_EXTRACT_MACS
    layer = nn.LSTM(1, 1024, num_layers=2, batch_first=True)
    start = time.perf_counter()
    with pytest.raises(UserError, match="one sample of .* runs 1,2[0-9,]+ multiply-accumulates"):
        extract(layer, (100_000, 1))
    assert time.perf_counter() - start < 5
    assert 100_000 * 4 * 1024 * (1 + 1024 + 2048 + 1024) > MAX_EXTRACT_MACS


class _TinyViT(nn.Module):
    """A class token concatenated to the patches, a learned position embedding added, an
    attention layer, and learned queries read by a second attention layer (a Perceiver's
    latents, DETR's object queries): Parameters of 2 and 3 dimensions no product reads."""

    def __init__(self, d: int = 16, queries: int = 3):
        super().__init__()
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.pos = nn.Parameter(torch.randn(1, 7, d))
        self.attn = nn.MultiheadAttention(d, 4, batch_first=True)
        self.queries = nn.Parameter(torch.randn(1, queries, d))
        self.pool = nn.MultiheadAttention(d, 4, batch_first=True)

    def forward(self, x):
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], 1) + self.pos
        x = self.attn(x, x, x)[0]
        return self.pool(self.queries.expand(x.shape[0], -1, -1), x, x)[0]


def test_parameters_read_by_priced_ops_are_no_unpriced_layer():
    """Such a model was refused ('hwsim cannot price layer '' (_TinyViT): no cost model')
    though every op reading them is priced (the cat, the add, the attention layers): only a
    product's operands counted as read.  Priced at the textbook count: attention over L
    tokens of width E with H heads is 4 L E^2 (projections) + 2 L^2 E (scores, weighted
    sum); the learned queries' layer 2 Q E^2 + 2 L E^2 + 2 Q L E."""
    L, E, Q = 7, 16, 3
    ops = extract(_TinyViT(), (6, 16), batch=2)
    macs = 4 * L * E * E + 2 * L * L * E + 2 * Q * E * E + 2 * L * E * E + 2 * Q * L * E
    assert sum(o.macs for o in ops) == 2 * macs
    kinds = [o.type for o in ops]
    assert "resample" in kinds and "eltwise" in kinds   # the cat and the add, priced
    p = price(_TinyViT(), (6, 16))
    assert 0 < p["latency_ms"] < float("inf") and 0 < p["energy_mj"] < float("inf")


def test_a_parameter_no_op_reads_is_still_refused():
    """A module whose matrix no priced op reads (its forward hands it to nothing hwsim
    sees) stays refused by name: priced without it the model could be too cheap."""
    class Unseen(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(4, 4))

        def forward(self, x):
            return x * 2.0
    with pytest.raises(UserError, match=r"cannot price layer 'Unseen' \(Unseen\)"):
        extract(Unseen(), (4,))


@pytest.mark.parametrize("layer, pruned, weights", [
    (nn.LSTM(6, 10, batch_first=True), ("weight_ih_l0", "weight_hh_l0"), 4 * 10 * 16),
    (nn.GRU(6, 10, batch_first=True), ("weight_ih_l0",), 3 * 10 * 16),
    (nn.LSTM(6, 10, num_layers=2, bidirectional=True, batch_first=True),
     ("weight_hh_l1_reverse",), 2 * 4 * 10 * 16 + 2 * 4 * 10 * 30)])
def test_a_recurrent_layer_pruned_with_torch_prune_keeps_its_matrices(layer, pruned, weights):
    """torch.nn.utils.prune keeps a pruned matrix as the Parameter NAME_orig and its mask:
    the op left the matrix out (a GRU with its input matrix pruned priced 300 weights for
    480, none of them the zeros), and an LSTM with both matrices pruned was a ValueError
    traceback ('torch.cat(): expected a non-empty list of Tensors').  Its MACs are the
    textbook's; its zeros are the mask's."""
    import torch.nn.utils.prune as tp
    from hwsim import zero_weights
    torch.manual_seed(0)
    zeros = 0
    for name in pruned:
        tp.l1_unstructured(layer, name, amount=0.5)
        zeros += int((getattr(layer, name) == 0).sum())
    ops = extract(layer, (7, 6))
    assert sum(o.weight_elems for o in ops) == weights
    assert zero_weights(ops) == zeros > 0
    assert sum(o.macs for o in ops) == 7 * weights   # each weight one MAC a step


def test_a_lazy_layer_not_yet_initialized_is_one_line():
    """nn.LazyLinear before its first forward pass has no weights to price: a ValueError
    traceback ('Attempted to use an uninitialized parameter') came out of extract().  Once
    run, it is an nn.Linear, priced as one."""
    model = nn.Sequential(nn.Flatten(), nn.LazyLinear(4))
    with pytest.raises(UserError, match=r"cannot price '1' \(LazyLinear\): its parameters "
                                        r"are not initialized"):
        extract(model, (2, 3))
    model(torch.zeros(1, 2, 3))
    assert sum(o.macs for o in extract(model, (2, 3))) == 6 * 4


class _Packed(nn.Module):
    """Sequences of lengths 7, 3, 5 and 1 packed (``pack_padded_sequence``, unsorted)
    through a recurrent layer, then padded again."""

    def __init__(self, rnn: nn.Module):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
        packed = pack_padded_sequence(x, [7, 3, 5, 1][:x.shape[0]], batch_first=True,
                                      enforce_sorted=False)
        return pad_packed_sequence(self.rnn(packed)[0], batch_first=True)[0]


@pytest.mark.parametrize("rnn, per_step", [
    (nn.GRU(6, 10, batch_first=True), 3 * 10 * 16),
    (nn.LSTM(6, 10, num_layers=2, bidirectional=True, batch_first=True),
     2 * 4 * 10 * 16 + 2 * 4 * 10 * 30),
    (nn.LSTM(6, 10, proj_size=4, batch_first=True), 4 * 10 * (6 + 4) + 10 * 4)],
    ids=["gru", "lstm2bi", "lstm_proj"])
def test_a_recurrent_layer_on_packed_sequences_is_priced_per_row(rnn, per_step):
    """Refused before ('GRU on a PackedSequence'); priced at its rows: each sequence's
    steps, 16 of the padded 28, the textbook MACs of each."""
    ops = extract(_Packed(rnn), (7, 6), batch=4)
    assert sum(o.macs for o in ops) == (7 + 3 + 5 + 1) * per_step
    assert all(o.act_sparsity < 0.5 for o in ops if o.name == "rnn")   # (no padding zeros)
    p = price(_Packed(rnn), (7, 6), batch=4, spring=True)
    assert all(0 < p[k] < float("inf") for k in ("latency_ms", "energy_mj",
                                                 "spring_latency_ms", "spring_energy_mj"))
