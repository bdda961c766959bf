"""Per-operation latency/energy lookup tables and the Chameleon-style predictor.

Chameleon (Dai et al., CVPR 2019) predicts a network's latency as the sum of per-operator
latencies looked up in a table measured once per device.  Tables here are keyed by
``Op.key()`` (type, shapes and geometry, not the layer name) and built three ways:

- ``accel``: from the analytical accelerator model (``hwsim.accel``),
- ``spring``: from the SPRING simulator (``hwsim.spring``),
- ``cpu``: by timing each operator alone on the host CPU with PyTorch (median of repeats),
  the layer's own op (``Op.geometry``: pooling kind, dilation, stride, padding, groups, bias,
  activation), at a stated torch thread count.  A host timing depends on the threads (one
  3x32x32 conv: 24 ms at 2 threads, 0.09 ms at 1 on a loaded machine), the torch build and
  the CPU, so the table records them (``Table.conditions``, ``hwsim.latency.host_identity``)
  and ``predict`` warns in one line when it is used under others.

``predict(table, ops)`` sums the entries; ``load_table`` reads a table back from the report
``table_report`` makes (``nnsynth hwsim table --json``); ``width_sweep`` times Linear and
LSTM layers over a range of widths on the host CPU to show where latency is not monotone in
layer size (the "hysteresis" of the symbiotic-training paper, arXiv 1901.10997).  The cost
functions stay pure; only the ``cpu`` builder measures, and it touches no files.
"""
from __future__ import annotations

import ast
import logging
import statistics
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from synth.config import short_repr
from synth.errors import UserError
from hwsim import accel as accel_mod
from hwsim import spring as spring_mod
from hwsim.latency import condition_mismatch, host_identity, torch_threads
from hwsim.op import Op
from hwsim.recurrent import RNN_GATES

log = logging.getLogger(__name__)

DEVICES = ("cpu", "accel", "spring")
MAX_SWEEP_WIDTH = 4096     # an LSTM(4096, 4096) holds 134 M weights (537 MB); width 10^6 asked 4 TB
MAX_SWEEP_WIDTHS = 1000    # widths timed in one sweep
MAX_REPEATS = 10_000       # timings per operator or width
SHORT_KEY_LENGTH = 9       # Op.key() before it held the op's geometry


class Table(dict):
    """Op key -> {type, latency_ms, energy_mj}, with how the rows were made: ``device``, for
    ``cpu`` the measurement ``conditions`` (``host_identity`` at the thread count timed;
    None: unknown, a table saved before they were recorded), for ``accel`` and ``spring`` the
    ``config`` that priced them (its ``to_dict``; None: a table saved before it was
    recorded).  ``short_keys``: its keys lack ``Op.geometry`` (a table saved before ops had
    it); lookups then drop it."""

    def __init__(self, rows=(), *, device: str | None = None, conditions: dict | None = None,
                 short_keys: bool = False, config: dict | None = None):
        super().__init__(rows)
        self.device, self.conditions, self.short_keys = device, conditions, short_keys
        self.config = config
        self.warned: set = set()

    def warn_once(self, message: str | None) -> None:
        """Log ``message`` (if any) as a warning, once per table."""
        if message and message not in self.warned:
            self.warned.add(message)
            log.warning(message)

    def row(self, op: Op) -> dict | None:
        key = op.key()
        row = self.get(key)
        return self.get(key[:-1]) if row is None and self.short_keys else row


# the config class of each model device: a table records the one that priced it
_CONFIGS = {"accel": accel_mod.AcceleratorConfig, "spring": spring_mod.SpringConfig}


def _device_config(device: str, config):
    """``config`` (None: the default) as ``device``'s config class; another class is a
    one-line error (a SpringConfig given for accel was an AttributeError deep in the model)."""
    cls = _CONFIGS[device]
    if config is None:
        return cls()
    if isinstance(config, dict):
        return cls.from_dict(config, where=device)
    if not isinstance(config, cls):
        raise UserError(f"a {device} table is priced with a {cls.__name__}, got "
                        f"{type(config).__name__}")
    return config


def _model_table(ops: Sequence[Op], device: str, config) -> dict:
    table = {}
    for op in ops:
        key = op.key()
        if key in table:
            continue
        if device == "accel":
            r = accel_mod.evaluate([op], config)
        else:
            r = spring_mod.evaluate([op], config, "inference")
        table[key] = {"type": op.type, "latency_ms": r["latency_ms"], "energy_mj": r["energy_mj"]}
    return table


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
    return lambda: conv(F.pad(x, pad, mode=mode), w, b, stride, 0, dilation, op.groups)


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


def _eltwise(op: Op, g: dict, x, gen: torch.Generator):
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


def _resample(op: Op, g: dict, x):
    """An Upsample (``F.interpolate`` with the layer's size or scale factor, mode, corner
    alignment and scale recomputation), PixelShuffle or PixelUnshuffle, as recorded."""
    kind = g.get("kind")
    if kind == "PixelShuffle":
        return lambda: F.pixel_shuffle(x, g["upscale_factor"])
    if kind == "PixelUnshuffle":
        return lambda: F.pixel_unshuffle(x, g["downscale_factor"])
    if kind == "ChannelShuffle":
        return lambda: F.channel_shuffle(x, g["groups"])
    if kind == "Upsample":
        return lambda: F.interpolate(x, g.get("size"), g.get("scale_factor"), g["mode"],
                                     g.get("align_corners"),
                                     recompute_scale_factor=g.get("recompute_scale_factor"))
    # no recorded geometry (an op made by hand): nearest to the output's size
    return lambda: F.interpolate(x, size=tuple(op.out_shape[2:]))


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
    """A LayerNorm, GroupNorm, InstanceNorm or LocalResponseNorm as the layer computes it,
    statistics included, with its recorded shape, groups, window, eps and affine parameters
    (drawn after the input: weight, then bias)."""
    kind, eps = g.get("kind"), g.get("eps", 1e-5)
    if kind == "LocalResponseNorm":
        return lambda: F.local_response_norm(x, g["size"], g["alpha"], g["beta"], g["k"])
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


def time_callable(fn, repeats: int = 20, warmup: int = 3) -> dict:
    """Median and interquartile spread of ``fn``'s wall time, milliseconds."""
    from synth.timing import wall_times_ms
    if not 1 <= repeats <= MAX_REPEATS:
        raise UserError(f"repeats must be in [1, {MAX_REPEATS:,}], got {repeats:,}")
    times = wall_times_ms(fn, repeats, warmup)
    q = statistics.quantiles(times, n=4) if len(times) >= 4 else [min(times), 0, max(times)]
    return {"median_ms": statistics.median(times), "q1_ms": q[0], "q3_ms": q[2]}


def _cpu_table(ops: Sequence[Op], repeats: int, seed: int, threads: int | None) -> Table:
    gen = torch.Generator().manual_seed(seed)
    rows = {}
    with torch_threads(threads) as used:
        for op in ops:
            key = op.key()
            if key not in rows:
                t = time_callable(op_callable(op, gen), repeats)
                rows[key] = {"type": op.type, "latency_ms": t["median_ms"], "energy_mj": None}
        conditions = host_identity(used)
    return Table(rows, device="cpu", conditions=conditions)


def build_table(ops: Sequence[Op], device: str = "accel", config=None, *, repeats: int = 20,
                seed: int = 0, threads: int | None = None) -> Table:
    """Op key -> {type, latency_ms, energy_mj} for the unique ops in ``ops``.  ``cpu`` times
    them with ``threads`` torch threads (None: the current setting), which the table records
    with the torch build and the CPU; the caller's thread count is given back after."""
    if device not in DEVICES:
        raise UserError(f"device must be one of {', '.join(DEVICES)}, got {short_repr(device)}")
    if device == "cpu":
        return _cpu_table(ops, repeats, seed, threads)
    config = _device_config(device, config)
    return Table(_model_table(ops, device, config), device=device, config=config.to_dict())


def config_mismatch(table: "Table", config) -> str | None:
    """Why an ``accel``/``spring`` table cannot price ops under ``config`` (it was built for
    another configuration: its rows are that one's latencies and energies), or None (also
    for a table saved before tables recorded their configuration: ``predict`` warns)."""
    if table.device not in _CONFIGS or config is None:
        return None
    given = _device_config(table.device, config).to_dict()
    if table.config is None:
        return None
    diff = [k for k in given if table.config.get(k) != given[k]]
    if not diff:
        return None
    k = diff[0]
    more = f" (and {len(diff) - 1} more field{'s' * (len(diff) > 2)})" if len(diff) > 1 else ""
    return (f"this {table.device} table was built for {k}={short_repr(table.config.get(k))}, "
            f"not {short_repr(given[k])}{more}: its rows price that configuration; build a "
            f"table for this one (nnsynth hwsim table --device {table.device})")


def predict(table: dict, ops: Sequence[Op], *, threads: int | None = None,
            config=None) -> dict:
    """Sum the table over a network's ops (Chameleon); missing ops are listed, not guessed.
    ``energy_mj`` is None when a row has no energy (the ``cpu`` table measures time only: its
    total energy was reported as 0.0 mJ); both are None when no op is in the table.  A
    ``cpu`` Table used under other conditions than it was measured at (``threads``: the
    torch threads the prediction is for, default the current setting; this machine's CPU
    and torch) logs one warning line, once per table.  ``config``: the AcceleratorConfig or
    SpringConfig the prediction is for; an ``accel``/``spring`` Table built for another is a
    one-line UserError (its rows price the configuration it was built with)."""
    if isinstance(table, Table) and config is not None:
        message = config_mismatch(table, config)
        if message:
            raise UserError(message)
        if table.device in _CONFIGS and table.config is None:
            table.warn_once(f"this {table.device} table does not record the configuration it "
                            f"was built for (saved before tables recorded it): its rows may "
                            f"price another one")
    if isinstance(table, Table) and table.device == "cpu":
        table.warn_once(condition_mismatch(table.conditions, threads))
    lookup = table.row if isinstance(table, Table) else (lambda op: table.get(op.key()))
    lat, energy, missing = 0.0, 0.0, []
    for op in ops:
        row = lookup(op)
        if row is None:
            missing.append(op.name)
            continue
        lat += row["latency_ms"]
        energy = None if energy is None or row["energy_mj"] is None else energy + row["energy_mj"]
    if ops and len(missing) == len(ops):   # no row of the table is one of these ops: it was
        lat = energy = None                  # '0 ms, 0 mJ' (a table of another model's layers)
    return {"latency_ms": lat, "energy_mj": energy, "missing": missing}


def _number(value, where: str, none: bool = False) -> float | None:
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 <= value < float("inf"):
        raise UserError(f"{where} must be a finite number >= 0, got {short_repr(value)}")
    return float(value)


def load_table(report: dict, where: str = "latency table") -> Table:
    """The Table in ``report`` (``table_report``'s dict, ``nnsynth hwsim table --json``).  A
    report written before measurement conditions (and op geometry) were recorded loads too:
    its conditions are unknown (``predict`` warns) and lookups drop the geometry."""
    if not isinstance(report, dict) or not isinstance(report.get("rows"), list):
        raise UserError(f"{where} must be the JSON object 'hwsim table --json' writes "
                        f"(with rows)")
    device = report.get("device")
    if device not in DEVICES:
        raise UserError(f"{where} device must be one of {', '.join(DEVICES)}, got "
                        f"{short_repr(device)}")
    conditions = report.get("conditions")
    if conditions is not None and not isinstance(conditions, dict):
        raise UserError(f"{where} conditions must be a mapping, got {short_repr(conditions)}")
    config = report.get("config")
    if config is not None:
        if device not in _CONFIGS:
            raise UserError(f"{where} has a config, but a {device} table is measured, not "
                            f"priced with one")
        config = _CONFIGS[device].from_dict(config, where=f"{where} config").to_dict()
    rows, lengths = {}, set()
    for i, row in enumerate(report["rows"]):
        at = f"{where} rows[{i}]"
        try:
            key = ast.literal_eval(row["key"])
            hash(key)
        except (TypeError, KeyError, ValueError, SyntaxError, MemoryError, RecursionError):
            raise UserError(f"{at} has no op key 'hwsim table' wrote") from None
        if not isinstance(key, tuple) or not key:
            raise UserError(f"{at} has no op key 'hwsim table' wrote")
        lengths.add(len(key))
        rows[key] = {"type": row.get("type", key[0]),
                     "latency_ms": _number(row.get("latency_ms"), f"{at} latency_ms"),
                     "energy_mj": _number(row.get("energy_mj"), f"{at} energy_mj", none=True)}
    return Table(rows, device=device, conditions=conditions if device == "cpu" else None,
                 short_keys=SHORT_KEY_LENGTH in lengths, config=config)


def width_sweep(kind: str, widths: Sequence[int], *, batch: int = 32, seq_len: int = 16,
                repeats: int = 30, seed: int = 0, threads: int | None = None) -> list[dict]:
    """Host-CPU latency of one Linear(w, w) or LSTM(w, w) layer per width, with a flag where
    a wider layer is faster than the previous width beyond the measurement spread."""
    if kind not in ("linear", "lstm"):
        raise UserError(f"kind must be linear or lstm, got {short_repr(kind)}")
    if len(widths) > MAX_SWEEP_WIDTHS or any(not 1 <= w <= MAX_SWEEP_WIDTH for w in widths):
        raise UserError(f"widths must be at most {MAX_SWEEP_WIDTHS:,} values in [1, "
                        f"{MAX_SWEEP_WIDTH:,}], got {len(widths):,} from {widths[0]} to {widths[-1]}")
    gen = torch.Generator().manual_seed(seed)
    rows = []
    with torch_threads(threads):
        for w in widths:
            rows.append(_sweep_row(kind, w, batch, seq_len, repeats, gen))
    for prev, row in zip(rows, rows[1:]):
        # non-monotone: the wider layer's q3 is below the narrower layer's q1 (no overlap)
        row["faster_than_narrower"] = bool(row["q3_ms"] < prev["q1_ms"])
    if rows:
        rows[0]["faster_than_narrower"] = False
    return rows


def _sweep_row(kind: str, w: int, batch: int, seq_len: int, repeats: int,
               gen: torch.Generator) -> dict:
    if kind == "linear":
        x, wt = torch.randn(batch, w, generator=gen), torch.randn(w, w, generator=gen)
        fn = lambda: F.linear(x, wt)
        macs = batch * w * w
    else:
        lstm = nn.LSTM(w, w)
        x = torch.randn(seq_len, batch, w, generator=gen)
        fn = lambda: lstm(x)
        macs = seq_len * batch * 4 * w * 2 * w
    t = time_callable(fn, repeats)
    return {"kind": kind, "width": int(w), "macs": macs, **t}


def parse_widths(text: str) -> range:
    """``--widths start:stop:step`` (stop included) as a range of layer widths."""
    try:
        start, stop, step = (int(v) for v in text.split(":"))
    except ValueError:
        raise UserError(f"--widths must be start:stop:step, got {short_repr(text)}") from None
    if not (0 < start <= stop and step > 0):
        raise UserError(f"--widths needs 0 < start <= stop and step > 0, got {short_repr(text)}")
    return range(start, stop + 1, step)


def _measured_at(conditions: dict) -> str:
    n = conditions.get("threads")
    return (f"{n} torch thread{'s' if n != 1 else ''}, torch {conditions.get('torch')}, "
            f"CPU {conditions.get('cpu') or 'unknown'}")


def sweep_report(kind: str, rows: list[dict], conditions: dict | None = None
                 ) -> tuple[dict, str]:
    """``width_sweep``'s rows as the result dict and its human-readable table; ``conditions``
    (``host_identity`` of the threads it ran with) are recorded and printed when given."""
    inv = [r["width"] for r in rows if r["faster_than_narrower"]]
    human = [f"measured with {_measured_at(conditions)}"] if conditions else []
    human += [f"{'width':>6}{'median ms':>12}{'q1':>10}{'q3':>10}  faster than narrower"]
    human += [f"{r['width']:>6}{r['median_ms']:>12.4g}{r['q1_ms']:>10.4g}{r['q3_ms']:>10.4g}  "
              f"{'yes' if r['faster_than_narrower'] else ''}" for r in rows]
    human.append(f"non-monotone at widths: {inv or 'none'}")
    out = {"kind": kind, "rows": rows, "non_monotone_widths": inv}
    if conditions:
        out["conditions"] = conditions
    return out, "\n".join(human)


def table_report(name: str, device: str, table: dict, pred: dict,
                 precision: str | None = None) -> tuple[dict, str]:
    """A per-op table and its predicted total as the result dict and human-readable lines.
    Figures print with four significant digits: a SPRING op of 4e-6 ms is not '0.0000'.
    ``precision`` (SPRING's fixed point, ``"4.16"``) is recorded and printed when given, and
    so are a host table's measurement conditions (``load_table`` reads the dict back)."""
    rows = [{"key": repr(k), **v} for k, v in table.items()]
    conditions = getattr(table, "conditions", None)
    at = f" at {precision} fixed point" if precision else ""
    at += f" ({_measured_at(conditions)})" if conditions else ""
    total = ("no prediction (none of its ops is in the table)" if pred["latency_ms"] is None
             else f"predicted total {pred['latency_ms']:.4g} ms"
             + (f", {pred['energy_mj']:.4g} mJ" if pred["energy_mj"] is not None else ""))
    human = [f"{len(rows)} unique ops of {name} on {device}{at}; {total}"]
    human += [f"  {r['type']:<10}{r['latency_ms']:>12.4g} ms"
              + (f"{r['energy_mj']:>12.4g} mJ" if r["energy_mj"] is not None else "")
              for r in rows]
    if pred.get("missing"):   # a saved table (--table) need not hold every op of the model
        human.append(f"not in the table, not counted: {len(pred['missing'])} ops "
                     f"({', '.join(map(str, pred['missing'][:10]))}"
                     f"{', ...' if len(pred['missing']) > 10 else ''})")
    out = {"device": device, "model": name, "rows": rows, "prediction": pred}
    if precision:
        out["spring_precision"] = precision
    if conditions:
        out["conditions"] = conditions
    config = getattr(table, "config", None)
    if config is not None:
        out["config"] = config
    return out, "\n".join(human)

