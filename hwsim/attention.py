"""Attention as hwsim prices it (Vaswani et al. 2017, Eq. 1: softmax(Q K^T / sqrt(d_k)) V, per
head): an nn.MultiheadAttention call (``attention_ops``) or F.scaled_dot_product_attention
called in a forward (``sdpa_ops``) is its GEMMs, the projections as ``linear`` ops and Q K^T
and A V as ``matmul`` ops (batched GEMMs of two activations, no weight bytes), the softmax an
``eltwise`` op.  ``mha_work`` and ``sdpa_work`` count a call's work from its shapes
alone (``hwsim.workload.sample_work``'s bound, before any score matrix is made).
"""
from __future__ import annotations

import dataclasses
import inspect
import math

import torch
from torch import nn

from hwsim.op import FP32_BYTES, Op, make_op, weight_id
from synth.config import short_repr
from synth.errors import UserError

def _zeros_of(*ts: torch.Tensor) -> float:
    """Fraction of exact zeros over the tensors together (a ``matmul``'s two operands)."""
    n = sum(t.numel() for t in ts)
    return sum(t.numel() - int(torch.count_nonzero(t)) for t in ts) / n if n else 0.0


def product_op(name: str, tag: str, x1: torch.Tensor, x2: torch.Tensor, shape: tuple,
               batch: int, elems: int = 0) -> Op:
    """A product of two activations as one ``matmul`` op: ``shape`` = (G, T, K, N), G GEMMs
    (T x K) @ (K x N) of operands ``x1`` (G T K values) and ``x2`` (G K N values), G =
    ``batch`` x heads (sample-major), G T K N MACs, no weights (both operands are inputs the
    op reads: ``in_bytes``, their zeros together its act_sparsity), ``elems`` element ops
    besides (Q K^T's scale).  Attention's Q K^T and A V (``_products``) and a product of two
    activations a forward calls itself (``hwsim.products``: x @ y, torch.bmm, einsum) are
    this op; geometry ``("product", tag)``."""
    g, t, kk, n = shape
    f = FP32_BYTES
    both = x1.numel() + x2.numel()
    return Op(type="matmul", name=name, in_shape=(batch, both // batch),
              out_shape=(batch, g // batch, t, n), weight_shape=(), macs=g * t * kk * n,
              weight_bytes=0, in_bytes=both * f, out_bytes=g * t * n * f,
              act_sparsity=_zeros_of(x1, x2), gemm=(t, kk, n), groups=g, elems=elems,
              geometry=(("product", tag),))


def _products(name: str, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, a: torch.Tensor,
              masked_adds: int, batch: int) -> list[Op]:
    """The products of scaled dot-product attention on per-head tensors q (G, L, E),
    k (G, S, E), v (G, S, Ev) and its attention weights a (G, L, S), G = ``batch`` x heads
    (sample-major: a sample's heads are consecutive):
    ``NAME.scores`` Q K^T, G GEMMs (L x E) @ (E x S), G L E S MACs, and the 1/sqrt(E) scale as
    one multiply per query value (``elems``: applied to Q before the product, as
    nn.MultiheadAttention's math path does); ``NAME.softmax`` over the G L S scores (one
    element op per value, as nn.Softmax; ``masked_adds`` more per score where a mask is
    added); ``NAME.context`` A V, G GEMMs (L x S) @ (S x Ev), G L S Ev MACs.  Both products
    are ``matmul`` ops: their second operand is an activation, not a weight (0 weight bytes;
    its values are inputs the op reads).  Shapes are batch first, as every op's: a product's
    input (batch, both operands' values of a sample), its output and the softmax's
    (batch, heads, L, S or Ev); its batch is in its groups, one GEMM per sample and head
    (``hwsim.accel.op_samples`` tiles a batch by its groups)."""
    g, l, e = q.shape
    s, ev = k.shape[1], v.shape[2]
    f = FP32_BYTES
    heads = g // batch

    def product(tag, x1, x2, t, kk, n, elems=0):
        return product_op(f"{name}.{tag}", tag, x1, x2, (g, t, kk, n), batch, elems)
    scores = product("scores", q, k, l, e, s, elems=g * l * e)
    geo = (("kind", "Softmax"), ("dim", -1)) + ((("masked", True),) if masked_adds else ())
    soft = Op(type="eltwise", name=f"{name}.softmax", in_shape=(batch, heads, l, s),
              out_shape=(batch, heads, l, s), weight_shape=(), macs=0, weight_bytes=0, in_bytes=g * l * s * f,
              out_bytes=g * l * s * f, act_sparsity=_zeros_of(q @ k.transpose(1, 2)),
              elems=(1 + masked_adds) * g * l * s, geometry=geo)
    return [scores, soft, product("context", a, v, l, s, ev)]


def _heads(t: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, L, E) -> (B * heads, L, E / heads): one slice per sample and head."""
    b, l, e = t.shape
    return t.reshape(b, l, heads, e // heads).transpose(1, 2).reshape(b * heads, l, e // heads)


_MHA_CALL = inspect.signature(nn.MultiheadAttention.forward)
# what nn.MultiheadAttention.forward calls with the arguments it was given (its masks made
# float, a batch_first call's tensors transposed to (L, B, E)); a subclass's forward calls it
# through super().forward with the arguments it binds (its own mask, need_weights=True...)
MHA_FUNC = torch.nn.functional.multi_head_attention_forward
_MHA_F = inspect.signature(MHA_FUNC)


def _mha_f_call(args, kwargs) -> dict:
    """An F.multi_head_attention_forward call's arguments by name, defaults filled in."""
    call = _MHA_F.bind(*args, **kwargs)
    call.apply_defaults()
    return call.arguments


def attention_ops(name: str, m: nn.MultiheadAttention, calls: list, run: str) -> list[Op]:
    """The ops of an nn.MultiheadAttention layer's call (``_mha_ops``), read from the one
    F.multi_head_attention_forward call its forward made (``calls``: (args, kwargs, result)
    of each, recorded by ``hwsim.workload.extract``): the arguments the attention actually ran
    on.  A subclass whose forward binds its own (always need_weights=True, its own attn_mask,
    one input as query, key and value) was priced as its parent on the arguments its caller
    gave (the parent's defaults: no mask, need_weights=True), or refused where they did not
    bind to the parent's.  A forward that calls it twice is both calls (the second's ops
    named ``NAME#2.*``).  A forward that made no such call (its own attention, which hwsim
    does not see), or one with another width or head count than the layer's, is refused in
    one line naming the layer."""
    return [op for ops in attention_call_ops(name, m, calls, run) for op in ops]


def attention_call_ops(name: str, m: nn.MultiheadAttention, calls: list, run: str
                       ) -> list[list[Op]]:
    """``attention_ops``, the ops of each call apart (``hwsim.workload`` places each call's
    where it ran among a subclass's own work)."""
    what = f"hwsim cannot price layer {short_repr(name)} ({type(m).__name__}): a " \
           f"MultiheadAttention is priced from the calls its forward makes to " \
           f"MultiheadAttention.forward (F.multi_head_attention_forward)"
    if not calls:
        raise UserError(f"{what}, and its forward made none")
    return [_call_ops(name if i == 0 else f"{name}#{i + 1}", m, one, run, what)
            for i, one in enumerate(calls)]


def _call_ops(name: str, m: nn.MultiheadAttention, one: tuple, run: str, what: str
              ) -> list[Op]:
    """The ops of one recorded F.multi_head_attention_forward call of layer ``m``."""
    args, kwargs, result = one
    c = _mha_f_call(args, kwargs)
    if (c["embed_dim_to_check"], c["num_heads"]) != (m.embed_dim, m.num_heads):
        raise UserError(f"{what}, and its forward made it with embed_dim "
                        f"{c['embed_dim_to_check']} and {c['num_heads']} heads (the layer's: "
                        f"{m.embed_dim} and {m.num_heads})")
    batched = c["query"].dim() == 3

    def layout(t):   # the functional's (L, B, E) -> the layer's own (batch_first: B, L, E)
        return t.transpose(0, 1) if m.batch_first and batched else t
    call = _MHA_CALL.bind(m, *(layout(c[n]) for n in ("query", "key", "value")),
                          **{n: c[n] for n in ("key_padding_mask", "need_weights", "attn_mask",
                                               "average_attn_weights", "is_causal")})
    out = layout(result[0])
    if type(m).forward is nn.MultiheadAttention.forward:
        return _mha_ops(name, m, call, out, run)
    try:   # a subclass's own call of the functional: the parent may not take it again
        return _mha_ops(name, m, call, out, run)
    except (RuntimeError, AssertionError, ValueError, TypeError, AttributeError) as e:
        lines = str(e).splitlines() or [type(e).__name__]
        raise UserError(f"{what}; the parent refuses the arguments its forward made it with: "
                        f"{lines[0]}") from None


def _mha_ops(name: str, m: nn.MultiheadAttention, call: inspect.BoundArguments, out,
             run: str) -> list[Op]:
    """An nn.MultiheadAttention call (torch's docs: MultiHead(Q, K, V) = Concat(head_1..h) W^O,
    head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)), as its GEMMs: the projections
    ``NAME.q_proj``, ``NAME.k_proj``, ``NAME.v_proj`` (``linear`` ops of rows x E x E MACs,
    each a slice of in_proj_weight or its own q/k/v_proj_weight), the per-head products
    (``_products``: Q K^T, softmax, A V) and ``NAME.out_proj`` (``linear``, rows x E x E).
    Self-attention over L tokens of width d: 4 L d^2 + 2 L^2 d MACs a sample.  A key bias
    (add_bias_kv) and add_zero_attn each add one key and value.  Called with need_weights and
    average_attn_weights (nn's defaults; the call's own, from ``attention_ops``), the weights
    it returns are the heads' mean:
    ``NAME.weights``, one add per weight and one divide per mean.  Sparsities are measured
    on the call's own tensors (the attention weights from the module itself: zero where
    masked)."""
    call.apply_defaults()
    c = dict(call.arguments)
    c.pop("self")
    query, key, value = (c[n].detach() for n in ("query", "key", "value"))
    e, h = m.embed_dim, m.num_heads
    batched = query.dim() == 3

    def batch_first(t):   # the call's layout -> (B, L, width)
        return (t if m.batch_first else t.transpose(0, 1)) if batched else t.unsqueeze(0)
    if m.in_proj_weight is not None:   # packed: one (3E x E) tensor, sliced q, k, v
        w = m.in_proj_weight.detach()
        weights = [(w[i * e:(i + 1) * e], f"{weight_id(m, run, 'in_proj_weight')}:{t}")
                   for i, t in enumerate("qkv")]
    else:
        weights = [(getattr(m, f"{t}_proj_weight").detach(), weight_id(m, run, f"{t}_proj_weight"))
                   for t in "qkv"]
    bias = m.in_proj_bias.detach() if m.in_proj_bias is not None else None
    ops, proj = [], []
    for i, (t, x) in enumerate(zip("qkv", (query, key, value))):
        w, wid = weights[i]
        y = torch.nn.functional.linear(x, w, None if bias is None else bias[i * e:(i + 1) * e])
        rows = x.numel() // x.shape[-1]
        op = make_op("linear", f"{name}.{t}_proj", x, y, w, macs=rows * w.numel(),
                     gemm=(rows, w.shape[1], e))
        ops.append(dataclasses.replace(op, weight_id=wid if run else "",
                                       geometry=(("bias", bias is not None),)))
        proj.append(batch_first(y))
    q, k, v = proj
    b = q.shape[0]
    if m.bias_k is not None:   # one more key and value: the learned biases
        k = torch.cat([k, m.bias_k.detach().expand(b, 1, e)], 1)
        v = torch.cat([v, m.bias_v.detach().expand(b, 1, e)], 1)
    if m.add_zero_attn:        # and a zero one
        k, v = torch.cat([k, k.new_zeros(b, 1, e)], 1), torch.cat([v, v.new_zeros(b, 1, e)], 1)
    # the attention weights per head, from the module itself (its masks as it applies them)
    weights_out = nn.MultiheadAttention.forward(m, **{**c, "need_weights": True,
                                                      "average_attn_weights": False})[1]
    a = weights_out.detach().reshape(b * h, q.shape[1], k.shape[1])
    masked = c["attn_mask"] is not None or c["key_padding_mask"] is not None
    ops += _products(name, _heads(q, h), _heads(k, h), _heads(v, h), a, int(masked), b)
    s = k.shape[1]
    if c["need_weights"] and c["average_attn_weights"]:
        ops.append(Op(type="eltwise", name=f"{name}.weights", in_shape=(b, h, q.shape[1], s),
                      out_shape=(b, q.shape[1], s), weight_shape=(), macs=0, weight_bytes=0,
                      in_bytes=a.numel() * FP32_BYTES, out_bytes=a.numel() // h * FP32_BYTES,
                      act_sparsity=_zeros_of(a), elems=a.numel() + a.numel() // h,
                      geometry=(("kind", "HeadMean"),)))
    ctx = (a @ _heads(v, h)).reshape(b, h, q.shape[1], e // h).transpose(1, 2).reshape(b, -1, e)
    ctx = (ctx if m.batch_first else ctx.transpose(0, 1)) if batched else ctx[0]
    y = out[0] if isinstance(out, tuple) else out
    w = m.out_proj.weight.detach()
    op = make_op("linear", f"{name}.out_proj", ctx, y, w, macs=ctx.numel() // e * w.numel(),
                 gemm=(ctx.numel() // e, e, w.shape[0]))
    ops.append(dataclasses.replace(op, weight_id=weight_id(m.out_proj, run) if run else "",
                                   geometry=(("bias", m.out_proj.bias is not None),)))
    return ops


SDPA = getattr(torch.nn.functional, "scaled_dot_product_attention", None)
_SDPA_ARGS = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale",
              "enable_gqa")


def _sdpa_call(args, kwargs) -> dict:
    """F.scaled_dot_product_attention's arguments by name."""
    return {**dict(zip(_SDPA_ARGS, args)), **kwargs}


def sdpa_work(args, kwargs) -> tuple[int, int]:
    """(MACs, attention weights) of an F.scaled_dot_product_attention call (``sdpa_ops``'s
    count, from the shapes alone: meta tensors too): G = the leading dimensions broadcast
    (grouped keys repeated over their query heads), G L S E for Q K^T and G L S Ev for A V,
    and G L S weights."""
    c = _sdpa_call(args, kwargs)
    q, k, v = c["query"], c["key"], c["value"]
    lead_k, lead_v = k.shape[:-2], v.shape[:-2]
    if c.get("enable_gqa", False) and k.dim() >= 3 and q.dim() >= 3:
        lead_k, lead_v = lead_k[:-1] + q.shape[-3:-2], lead_v[:-1] + q.shape[-3:-2]
    g = math.prod(torch.broadcast_shapes(q.shape[:-2], lead_k, lead_v))
    scores = g * q.shape[-2] * k.shape[-2]
    return scores * (q.shape[-1] + v.shape[-1]), scores


def sdpa_ops(name: str, args, kwargs) -> list[Op]:
    """F.scaled_dot_product_attention(q, k, v, ...) called in a forward: its products
    (``_products``) on q (..., L, E), k (..., S, E), v (..., S, Ev), the leading dimensions
    (batch, heads: torch's (N, ..., L, E)) broadcast to G, the first the batch; a mask (attn_mask or is_causal) is one add per score, a
    dropout_p > 0 one multiply per weight.  The attention weights are torch's reference
    computation (its docs): softmax(Q K^T x scale + mask), grouped keys repeated over their
    query heads (enable_gqa)."""
    c = _sdpa_call(args, kwargs)
    q, k, v = (c[n].detach() for n in ("query", "key", "value"))
    mask, causal = c.get("attn_mask"), bool(c.get("is_causal", False))
    if c.get("enable_gqa", False) and k.dim() >= 3 and k.shape[-3] != q.shape[-3]:
        k = k.repeat_interleave(q.shape[-3] // k.shape[-3], -3)
        v = v.repeat_interleave(q.shape[-3] // v.shape[-3], -3)
    lead = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    l, s = q.shape[-2], k.shape[-2]
    q3, k3, v3 = (t.expand(*lead, *t.shape[-2:]).reshape(-1, *t.shape[-2:]) for t in (q, k, v))
    scale = c.get("scale") or 1 / math.sqrt(q.shape[-1])
    bias = torch.zeros(l, s, dtype=q.dtype)
    if causal:
        bias.masked_fill_(~torch.ones(l, s, dtype=torch.bool).tril(), float("-inf"))
    if mask is not None:
        mask = mask.detach()
        bias = bias.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else bias + mask
    a = torch.softmax((q3 @ k3.transpose(1, 2)) * scale
                      + bias.expand(*lead, l, s).reshape(-1, l, s), -1)
    adds = int(mask is not None or causal) + int((c.get("dropout_p") or 0) > 0)
    return _products(name, q3, k3, v3, a, adds, lead[0] if lead else 1)


def mha_work(args, kwargs) -> tuple[int, int]:
    """(MACs, attention weights) of an F.multi_head_attention_forward call (``attention_ops``'s
    count, from the shapes alone: meta tensors too): query (L, B, E) or (L, E), key and
    value (S, B, .) or (S, .); a key bias and add_zero_attn one more key each."""
    c = _mha_f_call(args, kwargs)
    q, k, v = c["query"], c["key"], c["value"]
    e = c["embed_dim_to_check"]
    b = q.shape[1] if q.dim() == 3 else 1
    rows_q, rows_k = q.numel() // q.shape[-1], k.numel() // k.shape[-1]
    s = rows_k // b + (c["bias_k"] is not None) + bool(c["add_zero_attn"])
    proj = e * (rows_q * q.shape[-1] + rows_k * (k.shape[-1] + v.shape[-1]) + rows_q * e)
    return proj + 2 * rows_q * s * e, c["num_heads"] * rows_q * s
