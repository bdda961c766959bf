"""The op records of one leaf module call (``op_from_module``): convolutions, Linear, pools,
norms, activations, resampling and embeddings here; an nn.MultiheadAttention's projections and
products in ``hwsim.attention``; torch's LSTM, GRU and RNN in ``hwsim.recurrent``.  Which
layers are priced, which are free (``FREE``) and what the rest are told (``KNOWN_LAYERS``).
"""
from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from hwsim.arithmetic import arithmetic_op
from hwsim.attention import attention_ops
from hwsim.copies import copy_op
from hwsim.op import FP32_BYTES, NORM_OPS_PER_ELEMENT, Op, lookup_elems, make_op
from hwsim.recurrent import RNNS, rnn_ops

# --- which layers -----------------------------------------------------------------------------
# convolutions lowered to a GEMM (im2col): a Conv1d is a Conv2d with a height of 1, a Conv3d's
# reduction runs over its depth too (K = C * R * S * D)
CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
# transposed convolutions: a GEMM of the input, then col2im (each product added into its
# output position)
CONVT = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
# layers with matrix weights that extract() prices (an Embedding is a lookup: no MACs, one
# table row read per index, ``_embedding_op``; a MultiheadAttention is its projections and
# products, ``attention_ops``); any other module with such weights (Bilinear...) is
# refused, not priced as free
PRICED = CONVS + CONVT + (nn.Linear, nn.LSTM, nn.LSTMCell, nn.GRU, nn.GRUCell, nn.RNN,
                          nn.RNNCell, nn.Embedding, nn.EmbeddingBag, nn.MultiheadAttention)
# element-wise activations: one element op per input value on the vector unit (a GLU's
# input is two halves, a sigmoid of one and a product with the other: still one per input
# value; a softmax's or log-softmax's exp, sum and divide are counted as one, as nn.Softmax's
# always were); a PReLU also reads its per-channel slopes (its weight)
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish,
               nn.LeakyReLU, nn.ELU, nn.Softmax, nn.PReLU, nn.LogSoftmax, nn.Softmin,
               nn.Softmax2d, nn.Softplus, nn.Mish, nn.Hardsigmoid, nn.Hardtanh, nn.SELU,
               nn.CELU, nn.GLU, nn.LogSigmoid, nn.Softsign, nn.Tanhshrink, nn.Hardshrink,
               nn.Softshrink, nn.Threshold, nn.RReLU)
POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
         nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d,
         nn.MaxPool3d, nn.AvgPool3d, nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool3d)
# power-average pools (``pool`` ops too): f(X) = (sum over the window of x^p)^(1/p)
# (torch.nn.LPPool2d's docs; F.lp_pool2d computes avg_pool(x^p) x window, then the root)
LPPOOLS = (nn.LPPool1d, nn.LPPool2d, nn.LPPool3d)
# layers that move values without a weight (``resample`` ops): an Upsample (nearest or
# interpolating, by scale or size; UpsamplingNearest2d/UpsamplingBilinear2d are ones) and a
# PixelShuffle / PixelUnshuffle (a permutation of channels into space and back).  Their
# cost is their traffic (the input read, the output written) plus ``INTERPOLATION_OPS``
# A ChannelShuffle is one too: a permutation of the channels (ShuffleNet, Zhang et al.
# 2018), no arithmetic
# A padding layer (ZeroPad2d, ReflectionPad2d: pix2pix, CycleGAN) is one too: its input
# copied into a larger output, the border values a constant or copies of the input's (no
# arithmetic; it was refused as a layer with no cost model).  F.pad called in a forward is
# the layer it computes (``hwsim.functional.PAD_FUNCS``: it was free); a conv's own padding
# stays part of the conv
PADS = tuple(getattr(nn, f"{kind}Pad{d}d") for kind in ("Zero", "Constant", "Reflection",
                                                        "Replication", "Circular")
             for d in (1, 2, 3) if hasattr(nn, f"{kind}Pad{d}d"))
RESAMPLE = (nn.Upsample, nn.PixelShuffle, nn.PixelUnshuffle, nn.ChannelShuffle) + PADS
# element ops per output value of an Upsample, by mode: an interpolated value is a weighted
# sum of its neighbours, one multiply-add (element op) per neighbour read: linear 2
# neighbours, bilinear 4 (2 x 2), trilinear 8 (2 x 2 x 2), bicubic 16 (4 x 4); nearest (and
# nearest-exact) copies one input value: 0 element ops, data movement only.  ('area' is an
# adaptive average pool: one add per input value, as ``pool`` counts it.)
INTERPOLATION_OPS = {"nearest": 0, "nearest-exact": 0, "linear": 2, "bilinear": 4,
                     "trilinear": 8, "bicubic": 16}
# normalizations that compute their statistics at inference (a BatchNorm uses stored ones,
# unless it keeps none: ``module_op``)
NORMS = (nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d,
         nn.RMSNorm)
# (NORM_OPS_PER_ELEMENT, a NORMS layer's element ops per element: ``hwsim.op``, which prices a
# training step's batch statistics with it too, ``forward_elems``)
# an RMSNorm's (torch.nn.RMSNorm's docs: y = x / sqrt(mean(x^2) + eps) x weight): its
# statistic a sum of squares (one multiply-add a value), then the scale (one multiply): 2.
# It was refused as a layer with no cost model, and F.rms_norm free (h196)
RMS_OPS_PER_ELEMENT = 2
# element-wise work of a LocalResponseNorm per element, besides its window's sum (``size``
# adds): b_c = a_c (k + alpha / n sum_{c' in window} a_c'^2)^-beta (torch.nn.LocalResponseNorm's
# docs; F.local_response_norm: the square, the window's average over channels, then x alpha,
# + k, ^beta, and the divide): 1 square + 1 divide (the average) + 3 + 1 divide = 6
LRN_OPS_PER_ELEMENT = 6
_GEOMETRY = ("kernel_size", "stride", "padding", "dilation", "padding_mode", "ceil_mode",
             "count_include_pad", "divisor_override", "dim", "negative_slope", "alpha",
             "approximate", "min_val", "max_val", "eps", "affine", "track_running_stats",
             "normalized_shape", "elementwise_affine", "num_groups", "mode", "beta",
             "threshold", "value", "lambd", "lower", "upper", "size", "scale_factor",
             "align_corners", "recompute_scale_factor", "upscale_factor", "downscale_factor")


def geometry(m: nn.Module) -> tuple:
    """What of a layer's settings its shapes do not say, as ``(name, value)`` pairs: kernel,
    stride, padding, dilation, bias, and which pooling or activation it is.  The op a host
    CPU table times must be the layer's (an average pool was timed as a max pool, a dilated
    conv undilated, a GELU as a ReLU), and layers that differ here are different work."""
    kind = next((c.__name__ for c in type(m).__mro__
                 if c in POOLS + LPPOOLS + ACTIVATIONS + NORMS + CONVT + RESAMPLE
                 + (nn.LocalResponseNorm,)), None)
    out = [("kind", kind)] if kind else []
    for attr in _GEOMETRY:
        v = getattr(m, attr, None)
        if v is not None and not isinstance(v, (torch.Tensor, nn.Module)):
            out.append((attr, tuple(v) if isinstance(v, list) else v))
    if isinstance(m, CONVT):   # (a Conv2d has one too, always 0: not in its key)
        out.append(("output_padding", tuple(m.output_padding)))
    if isinstance(m, CONVS + CONVT + (nn.Linear,)):
        out.append(("bias", m.bias is not None))
    # settings only these layers have (an Embedding has a norm_type too: not its work)
    if isinstance(m, LPPOOLS):
        out.append(("norm_type", m.norm_type))
    if isinstance(m, nn.LocalResponseNorm):
        out.append(("k", m.k))
    if isinstance(m, nn.ChannelShuffle):
        out.append(("groups", m.groups))
    return tuple(out)


# --- op records -------------------------------------------------------------------------------
def op_from_module(name: str, m: nn.Module, x: torch.Tensor, y, args=(), kwargs=None,
                   run: str = "", mha_calls: list = ()) -> Op | list[Op] | None:
    """The op record of one leaf module call (None for modules that do no work; a list for
    a stacked LSTM, one op per layer, or an attention's projections and products).  ``args``
    and ``kwargs``: the call's (what the input alone does not say: an EmbeddingBag's
    per_sample_weights, an attention's key, value and masks); ``run``: the extract's, for the
    weight ids of an attention's projections; ``mha_calls``: an attention's calls of
    F.multi_head_attention_forward during its call (``attention_ops`` prices the one it
    made)."""
    if isinstance(m, nn.MultiheadAttention):
        return attention_ops(name, m, list(mha_calls), run)
    if isinstance(m, QUANT_BOUNDARIES):   # the function it calls, its arguments its settings
        return (arithmetic_op(name, torch.dequantize, (x,), {}, y) if isinstance(m, _nnq.DeQuantize)
                else arithmetic_op(name, torch.quantize_per_tensor,
                                   (x, float(m.scale), int(m.zero_point), m.dtype), {}, y))
    if isinstance(m, nn.Flatten):   # a copy where its input is no contiguous tensor (a
        # permuted one), as x.flatten() in a forward is; else a view, free (h227: was free)
        return copy_op(name, torch.flatten, (x, m.start_dim, m.end_dim), {}, [y])
    m = float_twin(m)
    op = module_op(name, m, x, y)
    if isinstance(op, Op) and isinstance(m, nn.EmbeddingBag):
        psw = (kwargs or {}).get("per_sample_weights", args[2] if len(args) > 2 else None)
        if psw is not None:
            return _weighted_bag(op, m, geometry(m))
    return dataclasses.replace(op, geometry=geometry(m)) if isinstance(op, Op) else op


def float_twin(m: nn.Module) -> nn.Module:
    """A quantized layer (``QUANTIZED``: torch.ao.nn.quantized's Linear and convolutions,
    their dynamic forms) as the float layer of its settings, its weights dequantized (their
    zeros the layer's); any other module itself."""
    cls = next((f for q, f in QUANTIZED.items() if isinstance(m, q)), None)
    if cls is None:
        return m
    w, b = m.weight().dequantize(), m.bias()
    if cls is nn.Linear:
        twin = nn.Linear(m.in_features, m.out_features, bias=b is not None, device="meta")
    else:
        extra = {"output_padding": m.output_padding} if issubclass(cls, CONVT) else {}
        twin = cls(m.in_channels, m.out_channels, m.kernel_size, stride=m.stride,
                   padding=m.padding, dilation=m.dilation, groups=m.groups,
                   bias=b is not None, padding_mode=m.padding_mode, device="meta", **extra)
    twin.weight = nn.Parameter(w.detach(), requires_grad=False)
    if b is not None:
        twin.bias = nn.Parameter(b.detach(), requires_grad=False)
    return twin


def _weighted_bag(op: Op, m: nn.EmbeddingBag, geo: tuple) -> Op:
    """An EmbeddingBag called with ``per_sample_weights``: each value read is multiplied by
    its index's weight before the bag's sum, one multiply per value read added to ``elems``
    (they were not counted), and the call's geometry says so (a weighted bag is other work
    than an unweighted one: a host table times it with weights)."""
    return dataclasses.replace(op, elems=op.elems + lookup_elems(op.in_elems, m.embedding_dim),
                               geometry=geo + (("per_sample_weights", True),))


def module_op(name: str, m: nn.Module, x: torch.Tensor, y) -> Op | list[Op] | None:
    """The op record(s) of layer ``m`` on input ``x`` with output ``y``, from the module alone
    (its call's other arguments: ``op_from_module``); None for a layer with no op here."""
    if isinstance(m, CONVS):
        # Conv2d and Conv1d alike (a Conv1d of kernel k on length L is the Conv2d of kernel
        # 1 x k on 1 x L): K = R*S*C per group, T = output pixels of the batch (an unbatched
        # input too: the output's values over its channels)
        w = m.weight.detach()  # effective weight: a parametrization (mask) is applied here
        g = m.groups
        cin_g, cout_g = m.in_channels // g, m.out_channels // g
        k = cin_g * math.prod(m.kernel_size)                     # K = R*S*C per group
        t = y.numel() // m.out_channels                          # T = output pixels (batch)
        kind = "depthwise" if g > 1 and g == m.in_channels else "conv"
        return make_op(kind, name, x, y, w, macs=t * k * cout_g * g, gemm=(t, k, cout_g), groups=g)
    if isinstance(m, CONVT):
        # a transposed conv (weight Cin x Cout/g x kernel) scatters every input value into a
        # kernel window of each output channel of its group: per group the GEMM
        # (input pixels x Cin/g) @ (Cin/g x Cout/g * R * S), MACs = input pixels x Cin x
        # Cout/g x R x S (torch.utils.flop_counter's count for a transposed conv); then col2im
        # adds each of the T x N x g products into its output value: ``elems``.  Not the conv
        # of the zero-stuffed input, which multiplies the inserted zeros too.
        w = m.weight.detach()
        g = m.groups
        cin_g, cout_g = m.in_channels // g, m.out_channels // g
        t = x.numel() // m.in_channels                           # T = input pixels (batch)
        n = cout_g * math.prod(m.kernel_size)
        kind = "depthwise" if g > 1 and g == m.in_channels else "conv"
        return make_op(kind, name, x, y, w, macs=t * cin_g * n * g, gemm=(t, cin_g, n),
                       groups=g, elems=t * n * g)
    if isinstance(m, nn.Linear):
        w = m.weight.detach()
        t = x.numel() // m.in_features                           # rows (batch x leading dims)
        return make_op("linear", name, x, y, w, macs=t * m.in_features * m.out_features,
                       gemm=(t, m.in_features, m.out_features))
    if isinstance(m, POOLS + LPPOOLS) and isinstance(y, tuple) and y:
        y = y[0]   # a max pool with return_indices=True: (values, indices); it was an
        # AttributeError ('tuple' object has no attribute 'shape') out of extract()
    if isinstance(m, POOLS):
        # each output reads its window: one comparison/addition per input value a window
        # holds (``pool_window_reads``; it was the input's values, as if every window
        # tiled the input exactly: a 3 x 3 stride-1 pool is ~9 per input value, a 2 x 2
        # stride-5 one skips most of them)
        return make_op("pool", name, x, y, elems=pool_window_reads(m, x, y))
    if isinstance(m, LPPOOLS):
        return make_op("pool", name, x, y, elems=lp_pool_elems(
            m.norm_type, x.numel(), y.numel(), pool_window_reads(m, x, y)))
    if isinstance(m, nn.LocalResponseNorm):   # its window's sum, then LRN_OPS_PER_ELEMENT
        return make_op("norm", name, x, y, elems=(m.size + LRN_OPS_PER_ELEMENT) * x.numel())
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        # with stored statistics one multiply-add per element; without them
        # (track_running_stats=False: torch normalizes by the batch's statistics at inference
        # too; F.batch_norm(training=True), ``hwsim.functional``) it computes them first, a sum
        # and a sum of squares, as a NORMS layer does: NORM_OPS_PER_ELEMENT.  (It was one
        # either way, h196)
        per = 1 if m.track_running_stats else NORM_OPS_PER_ELEMENT
        return make_op("batchnorm", name, x, y, elems=per * x.numel())
    if isinstance(m, nn.RMSNorm):
        return make_op("norm", name, x, y, elems=RMS_OPS_PER_ELEMENT * x.numel())
    if isinstance(m, NORMS):   # was no op: LayerNorm, GroupNorm, InstanceNorm priced as free
        per = 1 if getattr(m, "track_running_stats", False) else NORM_OPS_PER_ELEMENT
        return make_op("norm", name, x, y, elems=per * x.numel())
    if isinstance(m, nn.PReLU):   # its slopes, one per channel (or one), are read too
        return make_op("eltwise", name, x, y, m.weight.detach(), elems=x.numel())
    if isinstance(m, ACTIVATIONS):
        return make_op("eltwise", name, x, y, elems=x.numel())
    if isinstance(m, RESAMPLE):
        return make_op("resample", name, x, y, elems=resample_elems(m, x.numel(), y.numel()))
    if isinstance(m, RNNS):
        return rnn_ops(name, m, x, y)
    if isinstance(m, (nn.Embedding, nn.EmbeddingBag)):
        return _embedding_op(name, m, x, y)
    return None


# a conv's padding mode -> the padding layer whose copy it makes (``conv_padding_op``)
_PAD_KINDS = {"reflect": "ReflectionPad", "replicate": "ReplicationPad",
              "circular": "CircularPad"}


def conv_padding_op(name: str, m: nn.Module, x: torch.Tensor) -> Op | None:
    """The padded copy a Conv1d/2d/3d of padding_mode 'reflect', 'replicate' or 'circular'
    makes before it convolves (torch's _ConvNd._conv_forward: ``F.pad(input,
    _reversed_padding_repeated_twice, mode)`` into a new tensor, then the conv of padding 0):
    a ``resample`` op named ``NAME.pad``, the input's values read and the padded tensor's
    written, as the padding layer of that mode (``PADS``; geometry its kind and F.pad's
    padding, what a host table runs).  None for zero padding (the conv's own, no copy) or no
    padding.  (The copy was free: a reflect-padded conv cost what a zero-padded one does.)"""
    mode = getattr(m, "padding_mode", "zeros")
    pad = tuple(int(p) for p in getattr(m, "_reversed_padding_repeated_twice", ()))
    if not isinstance(m, CONVS) or mode not in _PAD_KINDS or not any(pad):
        return None
    shape = list(x.shape)   # F.pad's order: the last dimension's (left, right) first
    for i in range(len(pad) // 2):
        shape[-1 - i] += pad[2 * i] + pad[2 * i + 1]
    op = make_op("resample", f"{name}.pad", x, x)
    return dataclasses.replace(op, out_shape=tuple(shape),
                               out_bytes=math.prod(shape) * FP32_BYTES,
                               geometry=(("kind", f"{_PAD_KINDS[mode]}{len(m.kernel_size)}d"),
                                         ("padding", pad)))


def lp_pool_elems(p: float, in_elems: int, out_elems: int, reads: int | None = None) -> int:
    """Element ops of a power-average pool (``LPPOOLS``) of norm ``p``, as F.lp_pool2d
    computes it (avg_pool of x^p, then scaled and rooted): one power x^p per input value, the
    windows' sums (one add per value a window reads: ``reads``, ``pool_window_reads``; the
    input's values where the windows tile it), then per output value the sum's scale back
    from avg_pool's mean (x window size) and the root ^(1/p): in + reads + 2 x out.  p = inf
    is a max pool of |x| (F.lp_pool2d's own case): one |x| per input value and one comparison
    per value read; p = -inf the same and a negation per output value.  ``reads`` was taken
    as the input's values, as if the windows never overlapped (a stride-1 2 x 3 window reads
    most values 6 times)."""
    reads = in_elems if reads is None else reads
    if p == float("inf"):
        return in_elems + reads
    if p == -float("inf"):
        return in_elems + reads + out_elems
    return in_elems + reads + 2 * out_elems


def _tuple(v, d: int) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * d


def pool_window_reads(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> int:
    """Input values the windows of pool ``m`` (``POOLS``) read in total, from input ``x`` to
    output ``y``: per spatial dimension the sum over outputs of the input positions in each
    window (padding and positions past the input's end are no reads), their product, times
    the leading (batch x channel) values.  A window of kernel k, stride s, padding p and
    dilation d at output o holds the positions o*s - p + j*d, j < k (torch's MaxPool2d and
    AvgPool2d docs).  An adaptive pool's window at output i of n over L values is
    [floor(i L / n), ceil((i + 1) L / n)) (torch's adaptive pooling; its windows may
    overlap).  Equal to the input's values where the windows tile it exactly (a 2 x 2
    stride-2 pool on even sizes, a global pool)."""
    base = next(c for c in type(m).__mro__ if c in POOLS + LPPOOLS)
    d = int(base.__name__[-2])                                       # MaxPool2d: 2
    ins, outs = tuple(x.shape[-d:]), tuple(y.shape[-d:])
    lead = x.numel() // max(math.prod(ins), 1)
    per_dim = []
    if base.__name__.startswith("Adaptive"):
        for L, n in zip(ins, outs):
            i = torch.arange(n, dtype=torch.int64)
            starts = torch.div(i * L, n, rounding_mode="floor")
            ends = -torch.div(-(i + 1) * L, n, rounding_mode="floor")       # ceil
            per_dim.append(int((ends - starts).sum()))
    else:
        k = _tuple(m.kernel_size, d)
        s = _tuple(m.stride if m.stride is not None else m.kernel_size, d)
        p = _tuple(getattr(m, "padding", 0), d)
        dil = _tuple(getattr(m, "dilation", 1), d)
        for L, n, kk, ss, pp, dd in zip(ins, outs, k, s, p, dil):
            pos = (torch.arange(n, dtype=torch.int64)[:, None] * ss - pp
                   + torch.arange(kk, dtype=torch.int64)[None, :] * dd)
            per_dim.append(int(((pos >= 0) & (pos < L)).sum()))
    return lead * math.prod(per_dim)


def resample_elems(m: nn.Module, in_elems: int, out_elems: int) -> int:
    """Element ops of a ``RESAMPLE`` layer: ``INTERPOLATION_OPS`` per output value of an
    Upsample (0 for nearest), one per input value of an 'area' one (a pool), 0 for a
    PixelShuffle, PixelUnshuffle or ChannelShuffle (a permutation: traffic only) and for a
    padding layer (a copy)."""
    if not isinstance(m, nn.Upsample):
        return 0
    if m.mode == "area":
        return in_elems
    return INTERPOLATION_OPS.get(m.mode, 0) * out_elems


def _embedding_op(name: str, m: nn.Module, x: torch.Tensor, y) -> Op:
    """A table lookup (``embedding``): each of the ``x.numel()`` indices reads one row of
    ``embedding_dim`` values, and no multiply-accumulate is done (it was priced as free: a
    language model's embedding cost nothing).  The op's weight is the whole table (what the
    model stores); the values a lookup reads are ``lookup_elems`` = indices x embedding_dim
    (``hwsim.accel`` reads them from DRAM where the table does not fit on chip).  An
    EmbeddingBag then reduces each bag's rows: one add (a comparison for ``max``) per value
    read into its bag's accumulator, and for ``mean`` one divide per output value: ``elems``
    (PyTorch's EmbeddingBag docs: sum, mean or max of each bag's rows; a call with
    per_sample_weights multiplies each value read by its weight first: ``_weighted_bag``,
    one multiply per value read).  The indices are addresses, not
    activations: no activation sparsity."""
    elems = 0
    if isinstance(m, nn.EmbeddingBag):
        elems = lookup_elems(x.numel(), m.embedding_dim) + (
            y.numel() if m.mode == "mean" else 0)
    op = make_op("embedding", name, x, y, m.weight.detach(), elems=elems)
    return dataclasses.replace(op, act_sparsity=0.0)


# leaf modules that do no arithmetic at inference (a reshape, the identity, a dropout); any
# quantized layers (torch.ao.nn.quantized, static and dynamic): their weights packed, no
# Parameter, so a dynamic quantized Linear (a Module holding its packed weights as a child)
# ran its kernel outside any layer and was free, and a static one's quantized input was
# refused (h227).  Each is priced as the float layer of its settings and dequantized
# weights (``float_twin``).  The hardware models have one operand width for every op
# (accel's precision_bits, SPRING's fixed point), no per-layer bit width: an 8-bit layer
# costs there what its float twin does.  Quantize and DeQuantize are the element-wise
# quantize_per_tensor and dequantize (``hwsim.pointwise``).  Any other quantized layer
# (a dynamic LSTM, a quantized Embedding) calls a kernel extract refuses in one line.
_nnq = torch.ao.nn.quantized
QUANTIZED = {_nnq.Linear: nn.Linear, _nnq.Conv1d: nn.Conv1d, _nnq.Conv2d: nn.Conv2d,
             _nnq.Conv3d: nn.Conv3d, _nnq.ConvTranspose1d: nn.ConvTranspose1d,
             _nnq.ConvTranspose2d: nn.ConvTranspose2d, _nnq.ConvTranspose3d: nn.ConvTranspose3d}
QUANT_BOUNDARIES = (_nnq.Quantize, _nnq.DeQuantize)   # a quantized model in and out of int8
# other leaf module extract() has no op for is refused (a user's own layer,
# synth.sparse_exec.CSRLinear were left out of the price silently; Upsample, PixelShuffle,
# 3-d pools and activations such as PReLU, LogSoftmax, Softplus are priced)
# (a Sequential without layers, a ResNet's identity shortcut, is a leaf: the identity)
# (nn.Dropout was priced as an activation: a pass over its input at inference, where it is
# the identity, while Dropout1d/2d/3d were free)
FREE = (nn.Identity, nn.Sequential, nn.Flatten, nn.Unflatten, nn.Dropout, nn.Dropout1d,
        nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.FeatureAlphaDropout)
KNOWN_LAYERS = ("Conv1d/2d/3d, ConvTranspose1d/2d/3d, Linear, LSTM, GRU, RNN and their cells, "
                "H-LSTM, Embedding, EmbeddingBag, MultiheadAttention, "
                "scaled_dot_product_attention, products and convolutions called in a "
                "forward (F.linear, F.conv1d/2d/3d and F.conv_transpose1d/2d/3d as their "
                "layers; x @ W of a Parameter W as a Linear; x @ y, matmul, mm, bmm, mv, dot, "
                "vdot, addmm, baddbmm, addmv, addbmm, inner, tensordot, linalg.multi_dot "
                "and two-operand einsum of activations as attention's products; addr as "
                "outer + add), layers of your own (by what their forward calls), "
                "1-d, 2-d and 3-d pooling (LPPool too), "
                "BatchNorm, LayerNorm, RMSNorm, GroupNorm, InstanceNorm, LocalResponseNorm, "
                "activations, Upsample, PixelShuffle, PixelUnshuffle, ChannelShuffle, padding "
                "layers (ZeroPad2d, ReflectionPad2d..., F.pad), tensor "
                "arithmetic in a forward (+, -, *, /, element-wise functions such as -x, "
                "x ** 2, exp, clamp, where, comparisons; reductions such as mean, sum, max, "
                "var, norm; sorts such as sort, topk, median, unique; losses such as "
                "mse_loss, cross_entropy; cat, stack, copies, scatters, fills and random "
                "draws); quantized Linear and convolutions (torch.ao.nn.quantized, as "
                "their float layers), Quantize, DeQuantize; "
                "Flatten, Identity, Dropout and views (reshape, permute, slices) are free")
