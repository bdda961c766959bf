"""LPPool1d/2d/3d, LocalResponseNorm, ChannelShuffle, nn.MultiheadAttention (so a
TransformerEncoderLayer) and F.scaled_dot_product_attention are priced on the accelerator,
SPRING, the GPU roofline and the host tables (they were refused as unpriced), with MACs and
element ops counted by hand here; a module called at two places of a forward costs twice
(``merge_repeated`` merged its calls into one op); a module registered under two names no
longer leaves the model's weights on the meta device."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import hwsim
from hwsim import gpu, spring, tables
from hwsim.accel import op_samples
from hwsim.workload import FP32_BYTES, extract, summary
from synth.errors import UserError

B = 2   # batch of every extract here


def _prices_everywhere(ops):
    """Every backend prices the workload > 0 (finite), and every op has a host-table row."""
    p = hwsim.price_ops(ops, spring_cfg=True)
    for k in ("latency_ms", "energy_mj", "dram_bytes", "spring_latency_ms", "spring_energy_mj"):
        assert math.isfinite(p[k]) and p[k] > 0, k
    for mode in ("inference", "training"):
        g, s = gpu.evaluate(ops, mode=mode), spring.evaluate(ops, mode=mode)
        assert g["latency_ms"] > 0 and math.isfinite(s["energy_mj"]) and s["energy_mj"] > 0
    for device in ("accel", "spring"):
        t = tables.build_table(ops, device)
        assert all(t[o.key()]["latency_ms"] > 0 for o in ops)
    gen = torch.Generator().manual_seed(0)
    for o in ops:           # the host table can time each op (it raised for a new type)
        tables.op_callable(o, gen)()
    return p


# (layer, sample shape, op type, element ops of a batch of B counted by hand)
def _lp(p, n_in, n_out, reads=None):   # x^p per input value, an add per value a window reads
    return n_in + (n_in if reads is None else reads) + 2 * n_out   # (n_in where they tile), and
    # the scale and root per output


LAYERS = [
    (nn.LPPool2d(2, 2), (4, 6, 6), "pool", _lp(2, B * 144, B * 36)),
    # windows 2 x 3 at stride 1 over 5 x 7: 4 x 5 outputs, each reading 6 values
    (nn.LPPool2d(3, (2, 3), stride=1, ceil_mode=True), (2, 5, 7), "pool",
     _lp(3, B * 70, B * 2 * 4 * 5, B * 2 * 4 * 5 * 6)),
    # windows of 3 at stride 2 over 9: 4 outputs reading 3 each (positions 2, 4, 6 twice)
    (nn.LPPool1d(1.5, 3, stride=2), (4, 9), "pool", _lp(1.5, B * 36, B * 16, B * 4 * 4 * 3)),
    (nn.LPPool3d(2, 2), (2, 4, 4, 4), "pool", _lp(2, B * 128, B * 16)),
    (nn.LPPool2d(float("inf"), 2), (4, 6, 6), "pool", 2 * B * 144),   # |x|, then a max
    # a square, its window's `size` adds and a divide, x alpha, + k, ^beta, the divide
    (nn.LocalResponseNorm(3), (4, 5, 5), "norm", (3 + 6) * B * 100),
    (nn.LocalResponseNorm(2, alpha=1e-3, beta=0.5, k=2.0), (6, 4), "norm", (2 + 6) * B * 24),
    (nn.ChannelShuffle(2), (4, 3, 3), "resample", 0),   # a permutation: traffic only
    (nn.ChannelShuffle(3), (6, 5), "resample", 0),
]


@pytest.mark.parametrize("layer, shape, kind, elems", LAYERS,
                         ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else None)
def test_each_layer_is_priced_on_every_backend_with_its_hand_count(layer, shape, kind, elems):
    ops = extract(layer, shape, batch=B)
    assert len(ops) == 1
    op = ops[0]
    x = torch.randn((B,) + shape)
    y = layer(x)
    assert (op.type, op.macs, op.elems) == (kind, 0, elems)
    assert op.in_elems == x.numel() and op.out_shape == tuple(y.shape)
    p = _prices_everywhere(ops)
    assert p["dram_bytes"] >= op.in_elems + op.out_elems     # 8-bit: read in, write out
    # the host table runs the layer's own function with its settings: the layer's output
    out = tables.op_callable(op, torch.Generator().manual_seed(3))()
    xin = torch.randn(op.in_shape, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(out, layer(xin), equal_nan=True)


@pytest.mark.parametrize("layer, call", [
    (nn.LPPool2d(2, 2, stride=1), lambda x: F.lp_pool2d(x, 2, 2, stride=1)),
    (nn.Sequential(nn.Flatten(2), nn.LPPool1d(3, 2)), lambda x: F.lp_pool1d(x.flatten(2), 3, 2)),
    (nn.LocalResponseNorm(3, k=2.0), lambda x: F.local_response_norm(x, 3, k=2.0)),
    (nn.ChannelShuffle(2), lambda x: F.channel_shuffle(x, 2)),
    (nn.ChannelShuffle(2), lambda x: torch.channel_shuffle(x, 2)),
])
def test_a_functional_form_prices_as_its_module(layer, call):
    """F.lp_pool2d and F.local_response_norm in a forward were priced as the avg_pool inside
    them (a fraction of their work); F.channel_shuffle was free."""
    class Fn(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 1)

        def forward(self, x):
            return call(self.conv(x))
    ops = extract(Fn(), (4, 6, 6), batch=B)
    assert len(ops) == 2 and ops[0].type == "conv"
    one = extract(nn.Sequential(nn.Conv2d(4, 4, 1), layer), (4, 6, 6), batch=B)[-1]
    assert ops[1].key() == one.key()


# --- attention ------------------------------------------------------------------------------
class SelfAttention(nn.Module):
    def __init__(self, d, heads, **kw):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True, **kw)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=False)[0]


def _gemm_macs(ops):
    return sum(o.macs for o in ops if o.type in ("linear", "matmul"))


@pytest.mark.parametrize("L, d, heads", [(5, 8, 2), (7, 12, 3), (1, 4, 1), (16, 32, 8)])
def test_attention_macs_are_4_L_d2_plus_2_L2_d(L, d, heads):
    """Self-attention of L tokens of width d: the q, k, v and out projections 4 L d^2, the
    heads' Q K^T and A V h x L (d/h) L each: 2 L^2 d a sample."""
    ops = extract(SelfAttention(d, heads), (L, d), batch=B)
    assert _gemm_macs(ops) == B * (4 * L * d * d + 2 * L * L * d)
    by = {o.name.split(".")[-1]: o for o in ops}
    dh = d // heads
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        o = by[name]
        assert (o.type, o.macs, o.gemm, o.groups) == ("linear", B * L * d * d, (B * L, d, d), 1)
        assert o.weight_shape == (d, d) and o.weight_bytes == d * d * FP32_BYTES
    for name, gemm in (("scores", (L, dh, L)), ("context", (L, L, dh))):
        o = by[name]   # per head and sample one GEMM: summed over the heads, L^2 d
        assert (o.type, o.gemm, o.groups) == ("matmul", gemm, B * heads)
        assert o.macs == B * heads * L * dh * L == B * L * L * d
        # its second operand is an activation: no weight bytes, both operands are inputs
        assert o.weight_shape == () and o.weight_bytes == 0
        assert o.in_bytes == B * heads * (L * dh + L * dh if name == "scores"
                                          else L * L + L * dh) * FP32_BYTES
        assert op_samples(o) == B   # a product's batch is its groups, never its rows
    assert by["scores"].elems == B * L * d          # the 1/sqrt(d_k) scale of Q
    assert by["softmax"].type == "eltwise" and by["softmax"].elems == B * heads * L * L
    # the model stores in_proj_weight and out_proj.weight: 4 d^2 values, nothing for K or V
    assert summary(ops)["weight_bytes"] == 4 * d * d * FP32_BYTES
    assert hwsim.price_ops(ops)["weight_bytes"] == 4 * d * d * FP32_BYTES
    _prices_everywhere(ops)


def test_attention_variants_count_their_keys_masks_and_weights():
    """kdim/vdim, add_bias_kv and add_zero_attn (one more key each), a mask (one add per
    score, its zeros measured in the weights) and need_weights (the heads' mean: one add per
    weight and a divide per mean); MACs by hand."""
    L, S, d, h, kd = 5, 7, 8, 2, 3
    m = nn.MultiheadAttention(d, h, batch_first=True, kdim=kd, vdim=kd, add_bias_kv=True,
                              add_zero_attn=True)
    mask = torch.ones(L, S, dtype=torch.bool).triu(1)   # True: not attended

    class Cross(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn, self.mem = m, nn.Linear(d, kd)

        def forward(self, x):
            mem = self.mem(x[:, :1]).expand(-1, S, -1)
            return self.attn(x, mem, mem, attn_mask=mask)[0]
    ops = extract(Cross(), (L, d), batch=B)
    by = {o.name.split(".")[-1]: o for o in ops}
    s = S + 2                                  # the bias key and the zero key
    assert by["k_proj"].macs == by["v_proj"].macs == B * S * kd * d
    assert by["scores"].macs == by["context"].macs == B * L * s * d
    assert by["softmax"].elems == 2 * B * h * L * s              # softmax + the mask's add
    assert by["weights"].elems == B * h * L * s + B * L * s      # the heads' mean
    assert by["weights"].out_shape == (B, L, s)
    # the zeros SPRING skips, measured: the masked weights (j > i of the S keys: 20 of the
    # 5 x 7 per head and sample; the bias and zero keys are not masked) and the zero key's
    # and value's d/h values per head and sample
    dh = d // h
    masked, zero_rows = B * h * sum(S - 1 - i for i in range(L)), B * h * dh
    assert by["context"].in_elems == B * h * (L * s + s * dh)
    assert by["context"].act_sparsity == pytest.approx(
        (masked + zero_rows) / by["context"].in_elems)
    assert by["scores"].act_sparsity == pytest.approx(zero_rows / by["scores"].in_elems)
    assert by["weights"].act_sparsity == pytest.approx(masked / (B * h * L * s))
    # weights: q d x d, k and v d x kdim, out d x d; the biases are not weights (as a Linear's)
    assert summary(ops)["weight_bytes"] == (d * kd + 2 * d * d + 2 * d * kd) * FP32_BYTES
    _prices_everywhere(ops)


def test_an_unbatched_and_a_sequence_first_attention_price_as_the_batch_first_one():
    torch.manual_seed(0)
    bf = nn.MultiheadAttention(8, 2, batch_first=True)
    sf = nn.MultiheadAttention(8, 2)
    sf.load_state_dict(bf.state_dict())

    class Call(nn.Module):
        def __init__(self, attn, seq_first):
            super().__init__()
            self.attn, self.seq_first = attn, seq_first

        def forward(self, x):
            x = x.transpose(0, 1) if self.seq_first else x
            return self.attn(x, x, x, need_weights=False)[0]
    a = extract(Call(bf, False), (5, 8), batch=1)
    b = extract(Call(sf, True), (5, 8), batch=1)
    assert [(o.type, o.macs, o.gemm, o.groups, o.elems, o.weight_bytes, o.in_bytes)
            for o in a] == [(o.type, o.macs, o.gemm, o.groups, o.elems, o.weight_bytes,
                             o.in_bytes) for o in b]
    one = nn.Sequential(nn.Flatten(0, 1), nn.Unflatten(0, (5,)))   # (1, 5, 8) -> (5, 8)

    class Unbatched(nn.Module):
        def __init__(self):
            super().__init__()
            self.one, self.attn = one, bf

        def forward(self, x):
            x = self.one(x)
            return self.attn(x, x, x, need_weights=False)[0]
    c = extract(Unbatched(), (5, 8), batch=1)
    assert _gemm_macs(c) == _gemm_macs(a) == 4 * 5 * 64 + 2 * 25 * 8


def test_the_attention_output_is_untouched_and_its_module_leaf():
    """Pricing re-runs the attention for its weights' zeros: the model's output is the same
    as without pricing, and the projections inside it are not priced twice."""
    torch.manual_seed(1)
    m = SelfAttention(8, 2).eval()
    x = torch.randn(3, 5, 8)
    want = m(x)
    ops = extract(m, (5, 8), inputs=x)
    assert [o.name for o in ops] == [f"attn.{n}" for n in (
        "q_proj", "k_proj", "v_proj", "scores", "softmax", "context", "out_proj")]
    torch.testing.assert_close(m(x), want)
    assert ops[-1].out_shape == tuple(want.shape)


@pytest.mark.parametrize("kw, masked", [({}, 0), ({"is_causal": True}, 1),
                                        ({"dropout_p": 0.0, "scale": 0.1}, 0)])
def test_scaled_dot_product_attention_in_a_forward_is_priced(kw, masked):
    """F.scaled_dot_product_attention was refused ('called outside a layer')."""
    L, d, h = 6, 8, 2

    class Sdpa(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)

        def forward(self, x):
            q, k, v = (t.reshape(x.shape[0], L, h, d // h).transpose(1, 2)
                       for t in self.qkv(x).chunk(3, -1))
            y = F.scaled_dot_product_attention(q, k, v, **kw)
            return self.out(y.transpose(1, 2).reshape(x.shape[0], L, d))
    ops = extract(Sdpa(), (L, d), batch=B)
    assert _gemm_macs(ops) == B * (4 * L * d * d + 2 * L * L * d)
    soft = next(o for o in ops if o.name.endswith(".softmax"))
    assert soft.elems == (1 + masked) * B * h * L * L
    context = next(o for o in ops if o.name.endswith(".context"))
    if kw.get("is_causal"):   # A's upper triangle is zero: measured
        zeros = B * h * L * (L - 1) // 2
        assert context.act_sparsity == pytest.approx(zeros / context.in_elems)
    _prices_everywhere(ops)


def test_a_transformer_encoder_layer_prices_instead_of_being_refused():
    """nn.TransformerEncoderLayer was 'hwsim cannot price layer self_attn
    (MultiheadAttention)'; its attention, feed-forward, norms, adds and ReLU are priced."""
    L, d, h, ff = 5, 8, 2, 16
    layer = nn.TransformerEncoderLayer(d, h, ff, batch_first=True)
    ops = extract(layer, (L, d), batch=B)
    assert _gemm_macs(ops) == B * (4 * L * d * d + 2 * L * L * d + 2 * L * d * ff)
    assert sorted({o.type for o in ops}) == ["eltwise", "linear", "matmul", "norm"]
    assert hwsim.price(layer, (L, d))["latency_ms"] > 0
    _prices_everywhere(ops)
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, h, ff, batch_first=True), 2,
                                enable_nested_tensor=False)
    mask = nn.Transformer.generate_square_subsequent_mask(L)

    class Causal(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = enc

        def forward(self, x):
            return self.enc(x, mask=mask, is_causal=True)
    ops = extract(Causal(), (L, d), batch=B)
    assert _gemm_macs(ops) == 2 * B * (4 * L * d * d + 2 * L * L * d + 2 * L * d * ff)
    _prices_everywhere(ops)


class _Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin, self.bilinear = nn.Linear(4, 4), nn.Bilinear(4, 4, 2)

    def forward(self, x):
        return self.bilinear(self.lin(x), x)


class _Einsum(nn.Module):
    def __init__(self):
        super().__init__()
        self.q = nn.Linear(8, 8)

    def forward(self, x):
        q = self.q(x)   # (two operands are priced since h234: hwsim.products)
        return torch.einsum("bld,bmd,bme->ble", q, x, x)


# (Q K^T as a product in a module's own forward: tests/hwsim/test_layers_h81.py's _Attention)
@pytest.mark.parametrize("model, shape, named", [
    (_Pair(), (4,), "Bilinear"),
    (_Einsum(), (5, 8), "einsum('bld,bmd,bme->ble')\" (called outside a layer"),
])
def test_layers_still_without_a_cost_model_are_refused_in_one_line(model, shape, named):
    with pytest.raises(UserError, match="cannot price layer") as e:
        hwsim.price(model, shape)
    assert named in str(e.value) and "\n" not in str(e.value)


# --- a module called at two places ----------------------------------------------------------
class _Twice(nn.Module):
    """``a`` applied to the input and again to ``mid``'s output; unshared: ``b`` a copy of a."""

    def __init__(self, shared, width=256):
        super().__init__()
        torch.manual_seed(0)
        self.shared = shared
        self.a, self.mid, self.b = (nn.Linear(width, width) for _ in range(3))
        self.b.load_state_dict(self.a.state_dict())

    def forward(self, x):
        return (self.a if self.shared else self.b)(self.mid(self.a(x)))


def test_a_linear_called_twice_costs_twice():
    """Its two calls were merged into one 'recurrent' op read once: SPRING priced 0.0047 mJ
    where two Linears of the same weights cost 0.0070."""
    shared, apart = extract(_Twice(True), (256,)), extract(_Twice(False), (256,))
    assert [o.type for o in shared] == ["linear"] * 3
    assert [o.key() for o in shared] == [o.key() for o in apart]
    p, q = hwsim.price_ops(shared, spring_cfg=True), hwsim.price_ops(apart, spring_cfg=True)
    for k in ("latency_ms", "energy_mj", "dram_bytes", "spring_latency_ms",
              "spring_energy_mj", "macs"):
        assert p[k] == pytest.approx(q[k], rel=1e-12), k
    # the weights are stored once (the ops read one Parameter)
    assert p["weight_bytes"] == 2 * 256 * 256 * FP32_BYTES < q["weight_bytes"]


def test_a_linear_called_on_different_rows_costs_each_call():
    """Merged, a Linear on 1 row then on 40 was 2 GEMMs of 1 row: 189 cycles for 227."""
    class Diff(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(16, 16)

        def forward(self, x):
            return self.a(x[:, :1]), self.a(x)
    ops = extract(Diff(), (40, 16))
    assert [(o.type, o.gemm) for o in ops] == [("linear", (1, 16, 16)), ("linear", (40, 16, 16))]
    alone = [extract(nn.Linear(16, 16), (t, 16))[0] for t in (1, 40)]
    for k in ("cycles", "spring_latency_ms"):
        assert hwsim.price_ops(ops, spring_cfg=True)[k] == pytest.approx(
            hwsim.price_ops(alone, spring_cfg=True)[k]), k


def test_a_relu_module_used_twice_is_two_ops_of_their_own_shapes():
    class Shared(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1, self.c2, self.act = nn.Conv2d(3, 8, 3), nn.Conv2d(8, 4, 3), nn.ReLU()

        def forward(self, x):
            return self.act(self.c2(self.act(self.c1(x))))
    ops = extract(Shared(), (3, 8, 8), batch=B)
    acts = [o for o in ops if o.type == "eltwise"]
    assert [o.in_shape for o in acts] == [(B, 8, 6, 6), (B, 4, 4, 4)]
    assert [o.elems for o in acts] == [B * 288, B * 64]


def test_recurrent_steps_still_merge():
    from synth.models import build
    ops = extract(build("lstm32", (3, 7), 5), (3, 7))
    rec = [o for o in ops if o.type == "recurrent"]
    assert rec and all(o.groups == 7 for o in rec)


def test_a_module_registered_twice_keeps_its_weights():
    """A Linear reachable under two names (``b = a``): the meta-device pass that bounds the
    work (torch.func.functional_call) left its weights on the meta device, and the model was
    refused ('Tensor.item() cannot be called on meta tensors')."""
    class Alias(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.mid = nn.Linear(8, 8), nn.Linear(8, 8)
            self.b = self.a

        def forward(self, x):
            return self.b(self.mid(self.a(x)))
    m = Alias()
    before = {n: p.detach().clone() for n, p in m.named_parameters()}
    ops = extract(m, (8,))
    assert [o.name for o in ops] == ["a", "mid", "a"]
    assert summary(ops)["weight_bytes"] == 2 * 64 * FP32_BYTES
    assert all(p.device.type == "cpu" for p in m.parameters())
    for n, p in m.named_parameters():
        assert torch.equal(p, before[n])
    assert m.b is m.a
