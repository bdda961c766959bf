"""Functions a forward calls on tensors, as extraction sees them: the products and
convolutions no op records (``UNPRICED_FUNCS``: refused), the activations, pools,
resampling and padding (F.pad) functions priced as the module each computes
(``functional_module``), and element-wise arithmetic, means, sums and concatenations priced
as a tensor add is (``arithmetic_op``).
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from hwsim.op import Op, make_op

# products and convolutions a module's own forward may call on tensors (attention's Q K^T, a
# functional conv): no op records them, and a model priced without them is too cheap
UNPRICED_FUNCS = frozenset(f for f in (
    torch.matmul, torch.mm, torch.bmm, torch.einsum, torch.addmm, torch.baddbmm, torch.addbmm,
    torch.mv, torch.tensordot, torch.Tensor.__matmul__, torch.Tensor.__rmatmul__,
    torch.Tensor.matmul, torch.Tensor.mm, torch.Tensor.bmm, torch.Tensor.mv,
    torch.nn.functional.linear, torch.nn.functional.bilinear, torch.nn.functional.conv1d,
    torch.nn.functional.conv2d, torch.nn.functional.conv3d,
    torch.nn.functional.conv_transpose1d, torch.nn.functional.conv_transpose2d,
    torch.nn.functional.conv_transpose3d,
    torch.nn.functional.interpolate,
    # (an attention's projections and products: priced from an nn.MultiheadAttention's
    # call, hwsim.attention.attention_ops; called by a forward itself it was free, h126)
    torch.nn.functional.multi_head_attention_forward) if f is not None)   # (interpolate: unless antialiased,
                                                         # priced as nn.Upsample: FUNCTIONAL;
                                                         # F.scaled_dot_product_attention:
                                                         # priced, ``sdpa_ops``)

_F = torch.nn.functional
# activations a module's own forward may call as functions (F.relu(x), torch.sigmoid(x),
# x.softmax(1)), resampling functions (F.interpolate, F.pixel_shuffle) and pools
# (F.max_pool2d): each is the ``ACTIVATIONS``, ``RESAMPLE`` or ``POOLS`` module it
# computes and the names of that module's settings in the function's argument order after
# the input.  Called outside a leaf module, one is
# priced as that module is (the same op and geometry); they were free (activations) or
# refused (F.interpolate), while the module equivalent was priced.
_SOFTMAX_DIM = ("dim",)
_MAX_POOL = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
_AVG_POOL = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
             "divisor_override")     # (avg_pool1d: without divisor_override)
FUNCTIONAL = {
    **{f: (nn.ReLU, ()) for f in (_F.relu, _F.relu_, torch.relu, torch.relu_, torch.Tensor.relu,
                                  torch.Tensor.relu_)},
    _F.relu6: (nn.ReLU6, ()), _F.gelu: (nn.GELU, ("approximate",)), _F.silu: (nn.SiLU, ()),
    **{f: (nn.Sigmoid, ()) for f in (_F.sigmoid, torch.sigmoid, torch.sigmoid_,
                                     torch.Tensor.sigmoid, torch.Tensor.sigmoid_)},
    **{f: (nn.Tanh, ()) for f in (_F.tanh, torch.tanh, torch.tanh_, torch.Tensor.tanh,
                                  torch.Tensor.tanh_)},
    _F.hardswish: (nn.Hardswish, ()),
    _F.leaky_relu: (nn.LeakyReLU, ("negative_slope",)),
    _F.leaky_relu_: (nn.LeakyReLU, ("negative_slope",)),
    _F.elu: (nn.ELU, ("alpha",)), _F.elu_: (nn.ELU, ("alpha",)),
    **{f: (nn.Softmax, _SOFTMAX_DIM) for f in (_F.softmax, torch.softmax,
                                               torch.Tensor.softmax)},
    **{f: (nn.LogSoftmax, _SOFTMAX_DIM) for f in (_F.log_softmax, torch.log_softmax,
                                                  torch.Tensor.log_softmax)},
    _F.softmin: (nn.Softmin, _SOFTMAX_DIM),
    **{f: (nn.PReLU, ()) for f in (torch.prelu, _F.prelu, torch.Tensor.prelu)},
    _F.softplus: (nn.Softplus, ("beta", "threshold")),
    _F.mish: (nn.Mish, ()), _F.hardsigmoid: (nn.Hardsigmoid, ()),
    _F.hardtanh: (nn.Hardtanh, ("min_val", "max_val")),
    _F.hardtanh_: (nn.Hardtanh, ("min_val", "max_val")),
    **{f: (nn.SELU, ()) for f in (_F.selu, torch.selu, torch.selu_)},
    **{f: (nn.CELU, ("alpha",)) for f in (_F.celu, torch.celu, torch.celu_)},
    _F.glu: (nn.GLU, ("dim",)), _F.logsigmoid: (nn.LogSigmoid, ()),
    _F.softsign: (nn.Softsign, ()), _F.tanhshrink: (nn.Tanhshrink, ()),
    **{f: (nn.Hardshrink, ("lambd",)) for f in (_F.hardshrink, torch.Tensor.hardshrink)},
    _F.softshrink: (nn.Softshrink, ("lambd",)),
    _F.threshold: (nn.Threshold, ("threshold", "value")),
    _F.threshold_: (nn.Threshold, ("threshold", "value")),
    _F.rrelu: (nn.RReLU, ("lower", "upper")), _F.rrelu_: (nn.RReLU, ("lower", "upper")),
    _F.interpolate: (nn.Upsample, ("size", "scale_factor", "mode", "align_corners",
                                   "recompute_scale_factor")),
    # pools (F.max_pool2d(x, 2) in a forward was free); with return_indices the output is
    # (values, indices): priced on the values, as the module is
    **{f: (cls, _MAX_POOL) for fs, cls in (
        ((_F.max_pool1d, _F.max_pool1d_with_indices, torch.max_pool1d), nn.MaxPool1d),
        ((_F.max_pool2d, _F.max_pool2d_with_indices, torch.max_pool2d), nn.MaxPool2d),
        ((_F.max_pool3d, _F.max_pool3d_with_indices, torch.max_pool3d), nn.MaxPool3d))
       for f in fs},
    **{f: (nn.AvgPool1d, _AVG_POOL[:-1]) for f in (_F.avg_pool1d, torch.avg_pool1d)},
    _F.avg_pool2d: (nn.AvgPool2d, _AVG_POOL), _F.avg_pool3d: (nn.AvgPool3d, _AVG_POOL),
    **{f: (cls, ("output_size",)) for fs, cls in (
        ((_F.adaptive_avg_pool1d, torch.adaptive_avg_pool1d), nn.AdaptiveAvgPool1d),
        ((_F.adaptive_avg_pool2d,), nn.AdaptiveAvgPool2d),
        ((_F.adaptive_avg_pool3d,), nn.AdaptiveAvgPool3d)) for f in fs},
    **{f: (cls, ("output_size", "return_indices")) for fs, cls in (
        ((_F.adaptive_max_pool1d, _F.adaptive_max_pool1d_with_indices), nn.AdaptiveMaxPool1d),
        ((_F.adaptive_max_pool2d, _F.adaptive_max_pool2d_with_indices), nn.AdaptiveMaxPool2d),
        ((_F.adaptive_max_pool3d, _F.adaptive_max_pool3d_with_indices), nn.AdaptiveMaxPool3d))
       for f in fs},
    **{f: (nn.PixelShuffle, ("upscale_factor",)) for f in (_F.pixel_shuffle,
                                                           torch.pixel_shuffle)},
    **{f: (nn.PixelUnshuffle, ("downscale_factor",)) for f in (_F.pixel_unshuffle,
                                                               torch.pixel_unshuffle)},
    # (these three were free as functions, or priced as the avg_pool inside them only)
    **{f: (cls, ("norm_type", "kernel_size", "stride", "ceil_mode"))
       for f, cls in ((_F.lp_pool1d, nn.LPPool1d), (_F.lp_pool2d, nn.LPPool2d),
                      (_F.lp_pool3d, nn.LPPool3d))},
    _F.local_response_norm: (nn.LocalResponseNorm, ("size", "alpha", "beta", "k")),
    **{f: (nn.ChannelShuffle, ("groups",)) for f in (_F.channel_shuffle, torch.channel_shuffle,
                                                     torch.native_channel_shuffle)},
}


# F.pad(x, pad, mode, value) in a forward: the padding layer it computes (``hwsim.layers.PADS``:
# a ``resample`` op, its input read and its larger output written, the traffic of a copy
# into the padded tensor; no arithmetic), by its mode and the dimensions it pads
# (len(pad) / 2).  It was free, while nn.ZeroPad2d doing the same was priced.  Constant
# padding of more than 3 dimensions has no layer: it is priced as ConstantPad3d with the
# call's padding (the same copy; ``hwsim.host_ops`` pads with the recorded padding).
_PAD_LAYERS = {"constant": "ConstantPad", "reflect": "ReflectionPad",
               "replicate": "ReplicationPad", "circular": "CircularPad"}
PAD_FUNCS = (_F.pad,)


def _pad_module(args, kwargs) -> nn.Module | None:
    """The padding layer an F.pad call computes; None where the call is none (a pad that is
    not whole numbers, an unknown mode: the call itself will say)."""
    c = {**dict(zip(("input", "pad", "mode", "value"), args)), **kwargs}
    pad, mode = c.get("pad"), c.get("mode") or "constant"
    if not isinstance(pad, (tuple, list, torch.Size)) or not pad or len(pad) % 2 \
            or not all(isinstance(p, int) and not isinstance(p, bool) for p in pad) \
            or mode not in _PAD_LAYERS:
        return None
    dims = min(len(pad) // 2, 3)
    cls = getattr(nn, f"{_PAD_LAYERS[mode]}{dims}d", None)
    if cls is None:   # (CircularPad: torch 2.1 on)
        return None
    try:
        if mode == "constant":
            value = c.get("value")
            return cls(tuple(pad), 0.0 if value is None else value)
        return cls(tuple(pad))
    except (TypeError, ValueError):
        return None


def functional_module(func, args, kwargs) -> nn.Module | None:
    """The module a functional call computes (``FUNCTIONAL``; F.pad: ``_pad_module``), with
    the call's settings; None when ``func`` is not one, its input is not a tensor, or it is
    no such module's work (an antialiased F.interpolate: nn.Upsample has no such setting)."""
    if func in PAD_FUNCS:
        return _pad_module(args, kwargs) if args and isinstance(args[0], torch.Tensor) \
            else None
    form = FUNCTIONAL.get(func)
    if form is None or not args or not isinstance(args[0], torch.Tensor):
        return None
    cls, names = form
    if cls is nn.PReLU:   # F.prelu(x, weight): the slopes are the call's tensor
        w = args[1] if len(args) > 1 else kwargs.get("weight")
        if not isinstance(w, torch.Tensor):
            return None
        act = nn.PReLU(num_parameters=w.numel())
        act.weight = nn.Parameter(w.detach().reshape(-1), requires_grad=False)
        return act
    if cls is nn.Upsample and (kwargs.get("antialias") or (len(args) > 6 and args[6])):
        return None
    settings = {n: v for n, v in zip(names, args[1:])}
    settings.update({n: kwargs[n] for n in names if n in kwargs})
    # a list of sizes or factors (F.interpolate(x, scale_factor=[2, 3])) as the tuple the
    # module takes (nn.Upsample refuses a list: the call was refused as unpriced)
    settings = {n: tuple(v) if isinstance(v, list) else v for n, v in settings.items()}
    try:
        return cls(**settings)
    except (TypeError, ValueError):   # settings no module takes: the call itself will say
        return None



# --- arithmetic a forward does on tensors (h182) ------------------------------------------------
# Element-wise arithmetic (``x * y``, ``x * gate`` broadcast over channels, ``x / 2``, ``1 - x``),
# reductions (``x.mean(dim)``, ``x.sum()``) and concatenations (``torch.cat``, ``torch.stack``)
# called in a module's own forward were free: only a tensor add of two operands of one shape
# (a residual add) was an op.  Each is priced here with the cost model of that add
# (``hwsim.workload``'s ``add`` ops): an ``eltwise`` op, one element op per output value
# (``elems``: accelerator ceil(elems / cols) vector cycles and ADD8_PJ x bits / 8 pJ each,
# SPRING ceil(elems / lanes) cycles, GPU 1 FLOP each), its input both tensor operands, each
# read once with its own values (a broadcast operand its own: a per-channel gate of C values;
# a number none: ``hwsim.op.make_op``'s ``also``; ``in_shape`` is the operand with the most
# values, the first on a tie) and its output written once: I + O values of DRAM or NVM
# traffic, x precision_bits / 8 bytes (the input was the larger operand alone, so every add
# and product of two tensors missed one operand's traffic, h190).  A reduction is the
# global average pool it computes: one add per value read (``elems`` = its input's values, as
# ``hwsim.layers.pool_window_reads`` counts an adaptive average pool's window sums).  A
# concatenation does no arithmetic: it copies its pieces into one tensor, priced as a padding
# layer's copy is (a ``resample`` op: its pieces read, I values, its output written, O = I).
ELEMENTWISE_KINDS = {
    **{f: "add" for f in (torch.add, torch.Tensor.add, torch.Tensor.add_, torch.Tensor.__add__,
                          torch.Tensor.__radd__, torch.Tensor.__iadd__)},
    **{f: "sub" for f in (torch.sub, torch.subtract, torch.rsub, torch.Tensor.sub,
                          torch.Tensor.sub_, torch.Tensor.subtract, torch.Tensor.__sub__,
                          torch.Tensor.__rsub__, torch.Tensor.__isub__)},
    **{f: "mul" for f in (torch.mul, torch.multiply, torch.Tensor.mul, torch.Tensor.mul_,
                          torch.Tensor.multiply, torch.Tensor.__mul__, torch.Tensor.__rmul__,
                          torch.Tensor.__imul__)},
    **{f: "div" for f in (torch.div, torch.divide, torch.true_divide, torch.Tensor.div,
                          torch.Tensor.div_, torch.Tensor.divide, torch.Tensor.true_divide,
                          torch.Tensor.__truediv__, torch.Tensor.__rtruediv__,
                          torch.Tensor.__rdiv__, torch.Tensor.__itruediv__)},
}
REDUCTION_KINDS = {torch.mean: "mean", torch.Tensor.mean: "mean", torch.sum: "sum",
                   torch.Tensor.sum: "sum"}
CONCATS = frozenset(f for f in (torch.cat, torch.concat, getattr(torch, "concatenate", None),
                                torch.stack) if f is not None)


def _binary_operands(args, kwargs) -> list:
    """The two operands of an element-wise call (``input``/``self`` and ``other``), tensors
    or numbers."""
    c = {**dict(zip(("input", "other"), args)), **kwargs}
    return [c.get("input", c.get("self")), c.get("other")]


def _split_operands(args, kwargs):
    """(the operand an element-wise call's op takes as its input: the tensor with the most
    values, the first on a tie; the other operand, a tensor or a number or None).  ``x * x``
    has ``x`` as both (it reads two operand streams)."""
    ops = _binary_operands(args, kwargs)
    ts = [t for t in ops if isinstance(t, torch.Tensor)]
    if not ts:
        return None, None
    x = max(ts, key=lambda t: t.numel())   # (max: the first on ties)
    at = next(i for i, t in enumerate(ops) if t is x)
    return x, ops[1 - at]


def arithmetic_operands(func, args, kwargs) -> list:
    """The tensors an arithmetic call (``ELEMENTWISE_KINDS``, ``REDUCTION_KINDS``) reads as its
    op's input, the op's ``in_shape`` first (``arithmetic_input``): an element-wise call's
    tensor operands (a number is none), a reduction's input; [] for any other call."""
    x = arithmetic_input(func, args, kwargs)
    if x is None:
        return []
    if func in ELEMENTWISE_KINDS:
        other = _split_operands(args, kwargs)[1]
        return [x, other] if isinstance(other, torch.Tensor) else [x]
    return [x]


def arithmetic_input(func, args, kwargs) -> torch.Tensor | None:
    """The operand an arithmetic call (``ELEMENTWISE_KINDS``, ``REDUCTION_KINDS``) reads as
    its op's input: a reduction's input, the tensor operand of an element-wise call with the
    most values (the first on a tie); None for any other call (a concatenation's input is
    its output's values, ``arithmetic_op``)."""
    if func in ELEMENTWISE_KINDS:
        return _split_operands(args, kwargs)[0]
    if func in REDUCTION_KINDS:
        x = args[0] if args else kwargs.get("input")
        return x if isinstance(x, torch.Tensor) else None
    return None


def _dims(dim, rank: int):
    """A reduction's ``dim`` argument as a tuple of non-negative dimensions (None: all)."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(sorted(d % max(rank, 1) for d in dims))


def arithmetic_op(name: str, func, args, kwargs, out) -> Op | None:
    """The op of an arithmetic call with output ``out`` (see the notes above): an element-wise
    ``eltwise`` op (its input both tensor operands; geometry: its kind and the other
    operand's shape, None for a number; ``x * x``: x's, it reads x twice), a
    reduction's ``eltwise`` op (its kind, dimensions and keepdim), a concatenation's
    ``resample`` op (``kind`` cat, the output dimension it joins along and each piece's
    extent there: a stack's pieces are 1 each); None for any other call, or one on
    something else than tensors (the call itself will say)."""
    if not isinstance(out, torch.Tensor):
        return None
    if func in ELEMENTWISE_KINDS:
        x, other = _split_operands(args, kwargs)
        if x is None:
            return None
        tensor = isinstance(other, torch.Tensor)
        shape = tuple(other.shape) if tensor else None
        op = make_op("eltwise", name, x.detach(), out.detach(), elems=out.numel(),
                     also=(other.detach(),) if tensor else ())
        return dataclasses.replace(op, geometry=(("kind", ELEMENTWISE_KINDS[func]),
                                                 ("other", shape)))
    if func in REDUCTION_KINDS:
        x = arithmetic_input(func, args, kwargs)
        if x is None:
            return None
        c = {**dict(zip(("input", "dim", "keepdim"), args)), **kwargs}
        op = make_op("eltwise", name, x.detach(), out.detach(), elems=x.numel())
        return dataclasses.replace(op, geometry=(
            ("kind", REDUCTION_KINDS[func]), ("dim", _dims(c.get("dim"), x.dim())),
            ("keepdim", bool(c.get("keepdim", False)))))
    if func in CONCATS:
        c = {**dict(zip(("tensors", "dim"), args)), **kwargs}
        pieces = c.get("tensors")
        if not isinstance(pieces, (list, tuple)) or not pieces \
                or not all(isinstance(t, torch.Tensor) for t in pieces):
            return None
        dim = c.get("dim", c.get("axis", 0)) % max(out.dim(), 1)
        sizes = ((1,) * len(pieces) if func is torch.stack
                 else tuple(int(t.shape[dim]) if t.dim() > dim else 0 for t in pieces))
        y = out.detach()
        op = make_op("resample", name, y, y)   # its pieces' values in, as many out
        return dataclasses.replace(op, geometry=(("kind", "cat"), ("dim", dim),
                                                 ("sizes", sizes)))
    return None
