"""How one operation runs alone on the host CPU: ``op_callable(op, gen)`` is a zero-argument
function that computes ``op`` with PyTorch on random tensors of its shapes, as its layer does.

A host-CPU latency table (``hwsim.tables.build_table(ops, "cpu")``) times these functions.  Each
op runs as the layer's own op, read from its recorded ``Op.geometry``: the kind of pooling,
activation, norm or resampling, a convolution's stride, padding (its mode too), dilation,
groups and bias, a recurrent layer's module and directions, an embedding's bag mode.  An op
made by hand records no geometry; it runs as it always did (a convolution's stride and
padding inferred from its heights, max pooling, a ReLU, nearest resampling).  Tensors are drawn
from the caller's generator in a fixed order (input, then the layer's parameters), so a
layer given the same tensors returns the same output.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from synth.config import short_repr
from synth.errors import UserError
from hwsim.arithmetic import SORT_FUNCS
from hwsim.op import Op
from hwsim.pointwise import PAIRED_FUNCS, POINTWISE_FUNCS
from hwsim.recurrent import RNN_GATES


def _conv_geometry(op: Op) -> tuple[int, int]:
    """(stride, padding) that map the op's input H to its output H with its kernel, for an op
    that records no geometry (made by hand, not by ``extract``):
    s = max(1, round(H / Ho)), p = ceil(((Ho - 1) s + R - H) / 2)."""
    h, ho, r = op.in_shape[2], op.out_shape[2], op.weight_shape[2]
    s = max(1, round(h / ho))
    return s, max(0, -(-((ho - 1) * s + r - h) // 2))


def _pair(v, n: int = 2) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,) * n


def _conv(op: Op, g: dict, x, w, b):
    """A Conv1d, Conv2d or Conv3d (a weight of 3, 4 or 5 dimensions), or the transposed one
    (``kind`` ConvTranspose1d/2d/3d), with the layer's geometry."""
    nd = len(op.weight_shape) - 2                     # spatial dimensions: 1, 2 or 3
    if str(g.get("kind", "")).startswith("ConvTranspose"):   # zero padding only (nn's rule)
        convt = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]
        return lambda: convt(x, w, b, _pair(g["stride"], nd), _pair(g["padding"], nd),
                             _pair(g["output_padding"], nd), op.groups,
                             _pair(g["dilation"], nd))
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    if not g:                       # no recorded geometry: inferred from the heights
        s, p = _conv_geometry(op)
        return lambda: conv(x, w, b, stride=s, padding=p, groups=op.groups)
    stride, dilation, padding = _pair(g["stride"], nd), _pair(g["dilation"], nd), g["padding"]
    mode = g.get("padding_mode", "zeros")
    if mode == "zeros":
        return lambda: conv(x, w, b, stride, padding, dilation, op.groups)
    if isinstance(padding, str):    # 'same' (stride 1) or 'valid', as nn.Conv2d pads
        k = _pair(g["kernel_size"], nd)
        total = [0 if padding == "valid" else d * (n - 1) for d, n in zip(dilation, k)]
        pad = [p for t in reversed(total) for p in (t // 2, t - t // 2)]
    else:
        pad = [p for p in reversed(_pair(padding, nd)) for _ in (0, 1)]
    # the padded copy is an op of its own (``hwsim.layers.conv_padding_op``, timed as its
    # padding layer): made beforehand, the conv of padding 0 timed on it
    padded = F.pad(x, pad, mode=mode)
    return lambda: conv(padded, w, b, stride, 0, dilation, op.groups)


def _pool(op: Op, g: dict, x):
    kind = g.get("kind")
    max_pool = {"MaxPool1d": F.max_pool1d, "MaxPool2d": F.max_pool2d, "MaxPool3d": F.max_pool3d}
    if kind in max_pool:
        return lambda: max_pool[kind](x, g["kernel_size"], g["stride"], g["padding"],
                                      g["dilation"], g["ceil_mode"])
    avg_pool = {"AvgPool1d": F.avg_pool1d, "AvgPool2d": F.avg_pool2d, "AvgPool3d": F.avg_pool3d}
    if kind in avg_pool:   # avg_pool1d has no divisor_override
        extra = () if kind == "AvgPool1d" else (g.get("divisor_override"),)
        return lambda: avg_pool[kind](x, g["kernel_size"], g["stride"], g["padding"],
                                      g["ceil_mode"], g["count_include_pad"], *extra)
    lp_pool = {"LPPool1d": F.lp_pool1d, "LPPool2d": F.lp_pool2d, "LPPool3d": F.lp_pool3d}
    if kind in lp_pool:   # a power-average pool (stride None: the kernel's, nn's default)
        return lambda: lp_pool[kind](x, g["norm_type"], g["kernel_size"], g.get("stride"),
                                     g["ceil_mode"])
    adaptive = {"AdaptiveAvgPool2d": F.adaptive_avg_pool2d,
                "AdaptiveMaxPool2d": F.adaptive_max_pool2d,
                "AdaptiveAvgPool1d": F.adaptive_avg_pool1d,
                "AdaptiveMaxPool1d": F.adaptive_max_pool1d,
                "AdaptiveAvgPool3d": F.adaptive_avg_pool3d,
                "AdaptiveMaxPool3d": F.adaptive_max_pool3d}
    if kind in adaptive:
        size = tuple(op.out_shape[2:])
        return lambda: adaptive[kind](x, size)
    # no recorded geometry (an op made by hand): the kind is unknown, as it always was
    if len(op.out_shape) == 4 and op.out_shape[2] > 1:
        k = max(1, op.in_shape[2] // op.out_shape[2])
        return lambda: F.max_pool2d(x, k)
    return lambda: F.adaptive_avg_pool2d(x, 1)


# an activation module's functional form, with its recorded settings (nn's defaults)
_ACTIVATIONS = {
    "ReLU": lambda x, g: F.relu(x),
    "ReLU6": lambda x, g: F.hardtanh(x, g.get("min_val", 0.0), g.get("max_val", 6.0)),
    "GELU": lambda x, g: F.gelu(x, approximate=g.get("approximate", "none")),
    "SiLU": lambda x, g: F.silu(x),
    "Sigmoid": lambda x, g: torch.sigmoid(x),
    "Tanh": lambda x, g: torch.tanh(x),
    "Hardswish": lambda x, g: F.hardswish(x),
    "LeakyReLU": lambda x, g: F.leaky_relu(x, g.get("negative_slope", 0.01)),
    "ELU": lambda x, g: F.elu(x, g.get("alpha", 1.0)),
    "Softmax": lambda x, g: F.softmax(x, g.get("dim")),
    "LogSoftmax": lambda x, g: F.log_softmax(x, g.get("dim")),
    "Softmin": lambda x, g: F.softmin(x, g.get("dim")),
    "Softmax2d": lambda x, g: F.softmax(x, -3),
    "Softplus": lambda x, g: F.softplus(x, g.get("beta", 1.0), g.get("threshold", 20.0)),
    "Mish": lambda x, g: F.mish(x),
    "Hardsigmoid": lambda x, g: F.hardsigmoid(x),
    "Hardtanh": lambda x, g: F.hardtanh(x, g.get("min_val", -1.0), g.get("max_val", 1.0)),
    "SELU": lambda x, g: F.selu(x),
    "CELU": lambda x, g: F.celu(x, g.get("alpha", 1.0)),
    "GLU": lambda x, g: F.glu(x, g.get("dim", -1)),
    "LogSigmoid": lambda x, g: F.logsigmoid(x),
    "Softsign": lambda x, g: F.softsign(x),
    "Tanhshrink": lambda x, g: F.tanhshrink(x),
    "Hardshrink": lambda x, g: F.hardshrink(x, g.get("lambd", 0.5)),
    "Softshrink": lambda x, g: F.softshrink(x, g.get("lambd", 0.5)),
    "Threshold": lambda x, g: F.threshold(x, g["threshold"], g["value"]),
    "RReLU": lambda x, g: F.rrelu(x, g.get("lower", 1 / 8), g.get("upper", 1 / 3), False),
    "Dropout": lambda x, g: x,      # inference: the identity
    "HeadMean": lambda x, g: x.mean(1),   # an attention's weights averaged over its heads
}


# element-wise arithmetic a forward does outside its layers (``hwsim.arithmetic``): the
# recorded kind's function on the op's input and the other operand (a tensor of its recorded
# shape, drawn after the input, or a number)
_BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}


def _dim(g: dict, one: bool = False):
    """A recorded reduction's dimensions (None: all); ``one``: the first (functions that
    take one dimension)."""
    d = g.get("dim")
    return d if d is None or not one else d[0]


def _over(fn, one: bool = False):
    """A reduction over the recorded dimensions with keepdim; over all of them where none
    was given (``fn(x)``)."""
    return lambda x, g: fn(x) if g.get("dim") is None else fn(x, _dim(g, one),
                                                                g.get("keepdim", False))


# a reduction's function by its recorded kind (``hwsim.arithmetic.REDUCTION_KINDS``)
_REDUCTIONS = {
    **{k: _over(getattr(torch, k)) for k in ("mean", "sum", "nansum", "nanmean", "amax",
                                              "amin", "logsumexp", "all", "any")},
    **{k: _over(getattr(torch, k), one=True) for k in ("max", "min", "prod")},
    "aminmax": lambda x, g: torch.aminmax(x, dim=_dim(g, True), keepdim=g.get("keepdim", False)),
    "nonzero": lambda x, g: torch.nonzero(x),
    "bincount": lambda x, g: torch.bincount(x.abs().long().flatten()),
    "histc": lambda x, g: torch.histc(x),
    "trace": lambda x, g: torch.trace(x.reshape(x.shape[0], -1)),
    **{k: (lambda x, g, f=getattr(torch, k): f(x, _dim(g, True), g.get("keepdim", False)))
       for k in ("argmax", "argmin")},
    **{k: (lambda x, g, f=getattr(torch, k): f(x, _dim(g), keepdim=g.get("keepdim", False)))
       for k in ("var", "std", "var_mean", "std_mean")},
    "count_nonzero": lambda x, g: torch.count_nonzero(x, _dim(g)),
    **{k: (lambda x, g, f=getattr(torch, k): f(x, _dim(g, True)))
       for k in ("cumsum", "cumprod", "logcumsumexp", "cummax", "cummin")},
    **{k: (lambda x, g: torch.linalg.vector_norm(
        x, 2 if g.get("p") in (None, "fro") or isinstance(g.get("p"), str) else g["p"],
        _dim(g), g.get("keepdim", False)))
       for k in ("norm", "vector_norm")},
    "normalize": lambda x, g: F.normalize(x, g.get("p", 2), _dim(g, True)),
}


def _argument(d, gen: torch.Generator):
    """One recorded argument of a pointwise call (``hwsim.arithmetic._describe``): a tensor
    of its shape and class drawn from ``gen``, a dtype, or the value."""
    if d[0] == "tensor":
        t = torch.randn(d[1], generator=gen)
        if d[2] == "quantized":   # (8-bit, a scale of 1/16)
            return torch.quantize_per_tensor(t, 1 / 16, 128, torch.quint8)
        return t > 0 if d[2] == "bool" else (t * 4).to(torch.int64) if d[2] == "int" else t
    if d[0] == "dtype":
        return getattr(torch, d[1])
    return d[1]


def _loss_inputs(kind: str, args: list, gen: torch.Generator) -> None:
    """Drawn arguments of a loss made valid for it, in place: class targets in range (of the
    input's classes), probabilities in [0, 1], a Gaussian's variances positive."""
    if kind in ("cross_entropy", "nll_loss", "multi_margin_loss") and len(args) > 1 \
            and isinstance(args[1], torch.Tensor) and not args[1].is_floating_point():
        classes = args[0].shape[1] if args[0].dim() > 1 else args[0].shape[0]
        args[1] = torch.randint(0, max(classes, 1), args[1].shape, generator=gen)
    elif kind == "binary_cross_entropy":
        args[:2] = [torch.rand(a.shape, generator=gen) for a in args[:2]]
    elif kind == "gaussian_nll_loss" and len(args) > 2:
        args[2] = args[2].abs() + 0.1
    elif kind == "quantize_per_channel" and len(args) > 2:   # positive scales, small zero
        args[1], args[2] = args[1].abs() + 0.01, args[2].abs() % 64   # points


def _eltwise(op: Op, g: dict, x, gen: torch.Generator):
    kind = g.get("kind")
    if "args" in g:   # a pointwise function, loss or sort (``hwsim.arithmetic``): its
        # function (torch.<kind>) on the call's arguments, its tensors drawn after the input
        fn = POINTWISE_FUNCS.get(kind) or PAIRED_FUNCS.get(kind) or SORT_FUNCS[kind]
        args = [_argument(d, gen) for d in g["args"]]
        if kind in ("quantile", "nanquantile") and len(args) > 1 \
                and isinstance(args[1], torch.Tensor):   # its q: fractions in [0, 1]
            args[1] = torch.rand(args[1].shape, generator=gen)
        kwargs = {k: _argument(d, gen) for k, d in g.get("kwargs", ())}
        _loss_inputs(kind, args, gen)
        return lambda: fn(*args, **kwargs)
    if kind in _BINARY:
        fn = _BINARY[kind]
        other = torch.randn(g["other"], generator=gen) if g.get("other") is not None else 0.5
        return lambda: fn(x, other)
    if kind in _REDUCTIONS:   # over the recorded dimensions (None: all)
        fn = _REDUCTIONS[kind]
        if kind in ("all", "any", "count_nonzero"):
            x = x > 0
        return lambda: fn(x, g)
    if g.get("kind") == "PReLU":    # its slopes (the op's weight), drawn after the input
        w = torch.rand(op.weight_shape, generator=gen)
        return lambda: F.prelu(x, w)
    if g.get("kind") == "Softmax" and g.get("masked"):   # an attention's: a mask added first
        mask = torch.randn(op.in_shape, generator=gen)
        return lambda: F.softmax(x + mask, g["dim"])
    fn = _ACTIVATIONS.get(g.get("kind"))
    if fn is not None:
        return lambda: fn(x, g)
    # a residual add, or an op recorded without geometry (made by hand): as before
    return (lambda: x + x) if op.name.startswith("add") else (lambda: F.relu(x))


# a padding layer's kind (its class name) -> F.pad's mode
_PAD_MODES = (("ZeroPad", "constant"), ("ConstantPad", "constant"), ("ReflectionPad", "reflect"),
              ("ReplicationPad", "replicate"), ("CircularPad", "circular"))


def _resample(op: Op, g: dict, x):
    """An Upsample (``F.interpolate`` with the layer's size or scale factor, mode, corner
    alignment and scale recomputation), PixelShuffle or PixelUnshuffle, or a padding layer
    (``F.pad`` with its padding, mode and value), as recorded."""
    kind = g.get("kind")
    if kind == "copy":   # a copy (``hwsim.copies``): its input's values (at most the
        return _copy(op, g, x)   # output's) copied into a tensor of the output's values
    if kind == "cat":   # a concatenation (``hwsim.functional``): its pieces, cut from the
        pieces = list(x.split(list(g["sizes"]), g["dim"]))   # input beforehand, copied into
        return lambda: torch.cat(pieces, g["dim"])          # one tensor
    if kind == "PixelShuffle":
        return lambda: F.pixel_shuffle(x, g["upscale_factor"])
    if kind == "PixelUnshuffle":
        return lambda: F.pixel_unshuffle(x, g["downscale_factor"])
    if kind == "ChannelShuffle":
        return lambda: F.channel_shuffle(x, g["groups"])
    pad_mode = next((mode for prefix, mode in _PAD_MODES if str(kind).startswith(prefix)), None)
    if pad_mode is not None:   # a padding layer (hwsim.layers.PADS)
        return lambda: F.pad(x, g["padding"], pad_mode,
                             g.get("value") if pad_mode == "constant" else None)
    if kind == "Upsample":
        return lambda: F.interpolate(x, g.get("size"), g.get("scale_factor"), g["mode"],
                                     g.get("align_corners"),
                                     recompute_scale_factor=g.get("recompute_scale_factor"))
    # no recorded geometry (an op made by hand): nearest to the output's size
    return lambda: F.interpolate(x, size=tuple(op.out_shape[2:]))


def _copy(op: Op, g: dict, x):
    """A copy's traffic: the output's values (``out_elems``: an in-place scatter's written
    ones) written from the input's, each input value read once (a repeat writes its input
    several times; a gather or a write reads what it writes); a number written
    (``x[mask] = 0``, no input) or a fill (``zeros_like``) a fill, a range (``arange``) the
    values of its indices, random draws (``randn``, a dropout's mask) the generator's.  A scatter that
    accumulates then adds its ``elems`` values into the output (index_add_)."""
    out = torch.empty(max(op.out_elems, 1))
    if g.get("func") == "random":   # random draws: the generator's (a dropout's mask)
        if g.get("draw") in ("normal", "log_normal"):
            return lambda: out.normal_()
        return lambda: out.uniform_()
    if g.get("func") == "fill" and op.elems:   # a range: each value from its index
        return lambda: torch.arange(out.numel(), out=out)
    if op.in_bytes == 0 or g.get("func") == "fill":
        return lambda: out.fill_(0.5)
    src = x.reshape(-1)
    if src.numel() >= out.numel():
        move = lambda: out.copy_(src[:out.numel()])   # noqa: E731
    else:
        reps = -(-out.numel() // max(src.numel(), 1))
        tiles = torch.empty(reps, src.numel())
        move = lambda: tiles.copy_(src.expand(reps, -1))   # noqa: E731
    if not op.elems:
        return move
    at, ones = torch.arange(op.elems) % out.numel(), torch.ones(op.elems)
    return lambda: (move(), out.index_add_(0, at, ones))


def _batchnorm(op: Op, g: dict, x, gen: torch.Generator):
    """Evaluation-mode BatchNorm as the layer computes it: (x - mean) / sqrt(var + eps), then
    the affine scale and shift; a layer without running statistics normalizes by the batch's
    own.  Drawn after the input: weight, bias (affine), running mean, running variance."""
    c = op.in_shape[1]
    w = torch.randn(c, generator=gen) if g.get("affine", True) else None
    b = torch.randn(c, generator=gen) if w is not None else None
    stats = g.get("track_running_stats", True)
    mean = torch.randn(c, generator=gen) if stats else None
    var = torch.rand(c, generator=gen) + 0.5 if stats else None
    eps = g.get("eps", 1e-5)
    return lambda: F.batch_norm(x, mean, var, w, b, training=not stats, eps=eps)


def _norm(op: Op, g: dict, x, gen: torch.Generator):
    """A LayerNorm, RMSNorm, GroupNorm, InstanceNorm or LocalResponseNorm as the layer
    computes it, statistics included, with its recorded shape, groups, window, eps and affine
    parameters (drawn after the input: weight, then bias)."""
    kind, eps = g.get("kind"), g.get("eps", 1e-5)
    if kind == "LocalResponseNorm":
        return lambda: F.local_response_norm(x, g["size"], g["alpha"], g["beta"], g["k"])
    if kind == "RMSNorm":   # eps None: torch's default, the dtype's machine epsilon
        shape = tuple(g["normalized_shape"])
        w = torch.randn(shape, generator=gen) if g.get("elementwise_affine", True) else None
        return lambda: F.rms_norm(x, shape, w, g.get("eps"))
    if kind == "LayerNorm":
        shape = tuple(g["normalized_shape"])
        w = torch.randn(shape, generator=gen) if g.get("elementwise_affine", True) else None
        b = torch.randn(shape, generator=gen) if w is not None else None
        return lambda: F.layer_norm(x, shape, w, b, eps)
    c = op.in_shape[1]
    w = torch.randn(c, generator=gen) if g.get("affine", True) else None
    b = torch.randn(c, generator=gen) if w is not None else None
    if kind == "GroupNorm":
        return lambda: F.group_norm(x, g["num_groups"], w, b, eps)
    if kind is None or not kind.startswith("InstanceNorm"):
        raise UserError(f"cannot time a norm op of kind {short_repr(kind)}")
    stats = g.get("track_running_stats", False)   # evaluation mode: the stored ones
    mean = torch.randn(c, generator=gen) if stats else None
    var = torch.rand(c, generator=gen) + 0.5 if stats else None
    return lambda: F.instance_norm(x, mean, var, w, b, use_input_stats=not stats, eps=eps)


# a recurrent op's module by its recorded kind, and its gates (the GEMM's N = gates x hidden)
_RECURRENT = {cls.__name__: (cls, gates) for cls, gates in RNN_GATES.items()}


def _lstm(op: Op, g: dict, x, gen: torch.Generator):
    """One layer (both directions) of an ``nn.LSTM``, ``nn.GRU`` or ``nn.RNN``, or one step of
    their cells, with the layer's bias, layout (and an RNN's nonlinearity), on ``x`` of the
    op's input shape; its parameters are drawn after the input in the module's order.  An op
    recorded without geometry (made by hand) is timed as before: a one-direction biased LSTM
    over (steps, batch, inputs)."""
    batch, k, n = op.gemm
    cls, gates = _RECURRENT.get(g.get("kind"), (nn.LSTM, 4))
    hidden = n // gates
    fed_back = g.get("proj_size", hidden)          # h's size: an LSTM's projection, or H
    extra = {"nonlinearity": g["nonlinearity"]} if "nonlinearity" in g else {}
    if "proj_size" in g:      # its ``NAME.proj`` op is timed here, inside the LSTM
        extra["proj_size"] = g["proj_size"]
    if g.get("kind", "").endswith("Cell"):
        layer = cls(k - hidden, hidden, bias=g["bias"], **extra)
    elif g:
        layer = cls(k - fed_back, hidden, bias=g["bias"], bidirectional=g["bidirectional"],
                    batch_first=g["batch_first"], **extra)
    else:
        layer = nn.LSTM(k - hidden, hidden)
        x = torch.randn((op.groups, batch, k - hidden), generator=gen)
    with torch.no_grad():
        for p in layer.parameters():
            p.copy_(torch.randn(p.shape, generator=gen))
    layer.eval()

    def run():
        with torch.no_grad():
            return layer(x)
    return run


def _cell(op: Op, g: dict, gen: torch.Generator):
    """A recurrent cell's element-wise work over its steps (``synth.models.RecurrentLayer``;
    the gate GEMMs are ops of their own): per step, ReLU over the H-LSTM gate networks'
    hidden units (``relu`` of them), then i, f, o = sigmoid, g = tanh of the 4H
    pre-activations (gate order i, f, g, o), c_t = f c_{t-1} + i g, h_t = o tanh(c_t).
    Drawn after the layer's input: the pre-activations (batch, steps, 4H), c_0 (batch, H),
    the ReLU inputs (batch, steps, relu).  Returns the (batch, steps, H) outputs and the last c."""
    batch, steps = op.in_shape[0], op.in_shape[1]
    hidden = g["hidden"]
    z = torch.randn((batch, steps, 4 * hidden), generator=gen)
    c0 = torch.randn((batch, hidden), generator=gen)
    u = torch.randn((batch, steps, g["relu"]), generator=gen) if g["relu"] else None

    def run():
        c, outs = c0, []
        for t in range(steps):
            if u is not None:     # the gate networks' hidden units (their GEMMs: own ops)
                F.relu(u[:, t])
            i, f, gg, o = z[:, t].chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
            outs.append(torch.sigmoid(o) * torch.tanh(c))
        return torch.stack(outs, 1), c
    return run


def _embedding(op: Op, g: dict, gen: torch.Generator):
    """A table lookup as its layer computes it: ``F.embedding`` of the op's index shape into a
    table of its weight shape, or for an EmbeddingBag (``mode`` in its geometry)
    ``F.embedding_bag`` with its reduction, and per-sample weights where the call had them.
    A bag of 1-d indices (with offsets) has ``out_shape[0]`` bags of about equal size (its
    offsets are not recorded).  Drawn from ``gen``: the indices (uniform over the table's
    rows), the table, the per-sample weights."""
    rows = op.weight_shape[0]
    idx = torch.randint(0, rows, op.in_shape, generator=gen)
    w = torch.randn(op.weight_shape, generator=gen)
    if "mode" not in g:
        return lambda: F.embedding(idx, w)
    psw = torch.randn(op.in_shape, generator=gen) if g.get("per_sample_weights") else None
    offsets = None
    if len(op.in_shape) == 1:
        bags = op.out_shape[0]
        offsets = torch.arange(bags) * op.in_shape[0] // max(bags, 1)
        idx = idx.flatten()
    return lambda: F.embedding_bag(idx, w, offsets, mode=g["mode"], per_sample_weights=psw)


def _matmul(op: Op, x):
    """A product of two activations (an attention's Q K^T or A V): ``groups`` GEMMs
    (T x K) @ (K x N), its two operands the op's input (``x``: the elements of both, first
    operand first), as torch.bmm; a product with ``elems`` (Q K^T) scales its first operand
    first (the 1/sqrt(d) of scaled dot-product attention)."""
    (t, k, n), g = op.gemm, op.groups
    x = x.reshape(-1)   # (batch, a sample's values of both operands)
    a, b = x[:g * t * k].view(g, t, k), x[g * t * k:g * t * k + g * k * n].view(g, k, n)
    if op.elems:
        return lambda: torch.bmm(a * 0.5, b)
    return lambda: torch.bmm(a, b)


def op_callable(op: Op, gen: torch.Generator):
    """A zero-argument function that runs ``op`` alone with random tensors of its shapes: the
    layer's own op, by its recorded ``geometry`` (type, kernel, stride, padding, dilation,
    groups, bias, pooling or activation kind).  Tensors are drawn from ``gen`` in the order
    input, weight, bias (a layer given these returns the same output); an embedding's input
    is indices into its table (``_embedding``)."""
    rand = lambda shape: torch.randn(shape, generator=gen)
    g = dict(op.geometry)
    if op.type == "embedding":   # its input is indices: drawn as such (it was refused)
        return _embedding(op, g, gen)
    x = rand(op.in_shape)
    if op.type == "matmul":
        return _matmul(op, x)
    if op.type in ("conv", "depthwise"):
        w = rand(op.weight_shape)
        # out channels: a transposed conv's weight is Cin x Cout/groups x kernel
        out_ch = (op.weight_shape[1] * op.groups
                  if str(g.get("kind", "")).startswith("ConvTranspose") else op.weight_shape[0])
        b = rand((out_ch,)) if g.get("bias") else None
        return _conv(op, g, x, w, b)
    if op.type in ("linear", "recurrent"):
        w = rand(op.weight_shape)
        b = rand((op.weight_shape[0],)) if g.get("bias") else None
        if op.type == "linear":
            return lambda: F.linear(x, w, b)
        if g.get("kind") == "projection":   # an LSTM's proj_size: timed with its LSTM op
            return lambda: None
        # the per-step GEMM, `groups` steps one after another
        return lambda: [F.linear(x, w, b) for _ in range(op.groups)]
    if op.type == "pool":
        return _pool(op, g, x)
    if op.type == "batchnorm":
        return _batchnorm(op, g, x, gen)
    if op.type == "norm":
        return _norm(op, g, x, gen)
    if op.type == "eltwise":
        if g.get("kind") == "cell":
            return _cell(op, g, gen)
        return _eltwise(op, g, x, gen)
    if op.type == "resample":
        return _resample(op, g, x)
    if op.type in ("lstm", "gru", "rnn"):
        return _lstm(op, g, x, gen)
    raise UserError(f"cannot time op type {short_repr(op.type)}")
