"""Recurrent layers as hwsim prices them.

synth's ``RecurrentLayer`` (the ``lstm`` and ``hlstm`` families) calls its gate Linear layers
once per time step.  The T calls of one layer are one op of type ``recurrent``
(``merge_repeated``): the per-step GEMM ``(batch x K) @ (K x N)`` repeated ``groups = T``
times one after another (h_t feeds step t+1), MACs = T x batch x K x N (x density where
sparse hardware skips zeros); an input projection applied to all steps at once stays one
``linear`` op with T x batch rows; the cell update (``synth.models.lstm.CELL_OPS`` = 9 element
operations per unit and step) is one ``eltwise`` op (``cell_op``).  torch's own ``nn.LSTM``,
``nn.GRU`` and ``nn.RNN`` (and their cells) are one ``lstm`` / ``gru`` / ``rnn`` op per layer,
their cell work in ``elems`` (``rnn_ops``).
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence

from hwsim.op import FP32_BYTES, Op, make_op, pruned_original, zero_frac
from synth.models import RecurrentLayer
from synth.models.lstm import CELL_OPS

# recurrent layers of torch.nn: gates per step (the N of the gate GEMM is gates x hidden) and
# element-wise operations per hidden unit, step and direction after the gate GEMM, counted as
# the 'norm' op counts its own (one operation per value; a sigmoid or tanh is one):
# LSTM (Hochreiter & Schmidhuber 1997; torch.nn.LSTM's equations): i, f, o = sigmoid (3),
#   g = tanh (1), c' = f*c + i*g (2 products, 1 sum), h' = o*tanh(c') (1 tanh, 1 product): 9
# GRU (Cho et al. 2014; torch.nn.GRU's equations): r, z = sigmoid (2), r*(W_hn h + b_hn) (1),
#   + (W_in x + b_in) (1), n = tanh (1), h' = n + z*(h - n) (1 difference, 1 product, 1 sum): 8
#   (the n gate's two halves are separate GEMM outputs: MACs 3H x (I + H) all the same)
# RNN (Elman): h' = tanh or relu of the gate sum: 1
RNN_GATES = {nn.LSTM: 4, nn.LSTMCell: 4, nn.GRU: 3, nn.GRUCell: 3, nn.RNN: 1, nn.RNNCell: 1}
RNN_CELL_OPS = {nn.LSTM: CELL_OPS, nn.LSTMCell: CELL_OPS, nn.GRU: 8, nn.GRUCell: 8,
                nn.RNN: 1, nn.RNNCell: 1}
_RNN_TYPE = {4: "lstm", 3: "gru", 1: "rnn"}   # the op type of each (its GEMM and its cell)
RNNS = tuple(RNN_GATES)


def rnn_ops(name: str, m: nn.Module, x: torch.Tensor, y) -> list[Op]:
    """An LSTM, GRU or RNN layer (or cell): per step, layer and direction, the gates
    W_ih x + W_hh h (gates*H x (I+H) MACs), then ``RNN_CELL_OPS`` element-wise operations per
    hidden unit (``elems``: priced on the accelerator's vector unit and SPRING's lanes after
    the GEMM, step t+1 waiting for h_t).  Expressed as GEMMs with T = batch, K = I + H,
    N = gates*H, one per step and direction.  A stacked layer is one op per layer (``name.l1``,
    ...; the first keeps ``name``): layer 0 reduces over I + H, the others over H * dirs + H,
    and one op with the mean K is not the same work on an array (ceil(K / rows) folds: 2-layer
    I=4, H=32 on 16x16 ws was 18,036 cycles for SCALE-Sim's 15,780).  Layers after the first
    read the output sequence's shape and sparsity (the hidden sequence between layers is not
    hooked).  An LSTM with ``proj_size`` P carries h of P values (K = I + P) and projects each
    step's H values to P: one more per-step GEMM (batch x H) @ (H x P), a ``recurrent`` op
    ``NAME.proj``."""
    out = y[0] if isinstance(y, tuple) else y
    kind = next(c for c in type(m).__mro__ if c in RNN_GATES)
    gates, cell_ops = RNN_GATES[kind], RNN_CELL_OPS[kind]
    hidden = m.hidden_size
    proj = getattr(m, "proj_size", 0) or hidden      # the size of h fed back
    layers = getattr(m, "num_layers", 1)
    dirs = 2 if getattr(m, "bidirectional", False) else 1
    cell = not isinstance(m, nn.RNNBase)
    # rows per step = batch; steps run one after another (h_t feeds step t+1), so each step
    # of each direction is its own GEMM: groups = steps * dirs
    batch, steps = _batch_steps(m, x)
    # what the shapes do not say (a host table times the layer's own op: hwsim.host_ops)
    geo = (("kind", kind.__name__),
           ("bias", bool(m.bias)), ("bidirectional", dirs == 2),
           ("batch_first", bool(getattr(m, "batch_first", False))))
    if kind in (nn.RNN, nn.RNNCell):
        geo += (("nonlinearity", m.nonlinearity),)
    if proj != hidden:
        geo += (("proj_size", proj),)
    ops = []
    for layer in range(layers):
        suffix = "" if cell else f"_l{layer}"
        params = {n: p for n, p in _weights(m).items()
                  if cell or n.endswith(suffix) or n.endswith(suffix + "_reverse")}
        w_all = torch.cat([w.flatten() for n, w in params.items()
                           if not n.startswith("weight_hr")])
        k = (m.input_size if layer == 0 else proj * dirs) + proj
        lname = name if layer == 0 else f"{name}.l{layer}"
        op = make_op(_RNN_TYPE[gates], lname, x if layer == 0 else out, out,
                     macs=batch * steps * dirs * gates * hidden * k,
                     gemm=(batch, k, gates * hidden), groups=steps * dirs,
                     elems=batch * steps * dirs * cell_ops * hidden)
        ops.append(dataclasses.replace(op, weight_shape=(w_all.numel(),),
                                       weight_bytes=w_all.numel() * FP32_BYTES,
                                       weight_sparsity=zero_frac(w_all), geometry=geo))
        if proj != hidden:   # h_t = W_hr (o * tanh(c_t)), every step and direction
            w_hr = [w for n, w in params.items() if n.startswith("weight_hr")]
            per_step = out.new_zeros((batch, hidden)), out.new_zeros((batch, proj))
            p_op = make_op("recurrent", f"{lname}.proj", *per_step, w_hr[0],
                           macs=batch * steps * dirs * hidden * proj,
                           gemm=(batch, hidden, proj), groups=steps * dirs)
            w_cat = torch.cat([w.flatten() for w in w_hr])
            ops.append(dataclasses.replace(
                p_op, weight_bytes=w_cat.numel() * FP32_BYTES,   # both directions' W_hr
                in_bytes=steps * dirs * batch * hidden * FP32_BYTES,
                out_bytes=steps * dirs * batch * proj * FP32_BYTES,
                weight_sparsity=zero_frac(w_cat), act_sparsity=0.0,
                geometry=(("kind", "projection"), ("bias", False))))
    return ops


def _batch_steps(m: nn.Module, x: torch.Tensor) -> tuple[int, int]:
    """(samples, time steps) of a torch recurrent layer's or cell's input ``x``: (N, T, I)
    batch_first, (T, N, I) not, (T, I) unbatched; a cell's (N, I) or (I,) one step."""
    if not isinstance(m, nn.RNNBase):
        return (x.shape[0] if x.dim() > 1 else 1), 1
    if x.dim() == 3:
        return (x.shape[0], x.shape[1]) if m.batch_first else (x.shape[1], x.shape[0])
    return 1, x.shape[0]


def rnn_macs(m: nn.Module, x: torch.Tensor) -> int:
    """The multiply-accumulates ``rnn_ops`` prices torch's LSTM, GRU or RNN layer (or cell)
    ``m`` at on input ``x``, from the shapes alone (a meta tensor will do): per step, layer
    and direction gates x H x (I + P) (layers after the first: I = P x directions), and an
    LSTM with ``proj_size`` P its H x P projection.  ``hwsim.workload.sample_work`` bounds
    extract's forward pass by it (a torch RNN's work was 0 there: no bound)."""
    kind = next(c for c in type(m).__mro__ if c in RNN_GATES)
    batch, steps = ((int(x.batch_sizes.sum()), 1) if isinstance(x, PackedSequence)
                    else _batch_steps(m, x))   # (a packed input: its rows, every step's)
    hidden = m.hidden_size
    proj = getattr(m, "proj_size", 0) or hidden
    dirs = 2 if getattr(m, "bidirectional", False) else 1
    per_step = sum(RNN_GATES[kind] * hidden * ((m.input_size if layer == 0 else proj * dirs)
                                               + proj)
                   + (hidden * proj if proj != hidden else 0)
                   for layer in range(getattr(m, "num_layers", 1)))
    return int(batch * steps * dirs * per_step)


def packed_rnn_ops(name: str, m: nn.Module, x: PackedSequence, y) -> list[Op]:
    """``rnn_ops`` of torch's LSTM, GRU or RNN layer on a PackedSequence ``x`` (sequences of
    several lengths, ``pack_padded_sequence``): step t's GEMM has one row per sequence
    still running (``batch_sizes[t]``), so MACs, cell work and activation bytes are those of
    the padded batch times rows / (batch x steps), exactly; each step's GEMM is priced at the
    first step's rows (the most: the array's folds, an upper bound), and the activations'
    zeros are the packed values' (the padding is none of them).  It was refused ('LSTM on a
    PackedSequence', h320)."""
    from torch.nn.utils.rnn import pad_packed_sequence
    out = y[0] if isinstance(y, tuple) else y
    xp, _ = pad_packed_sequence(x, batch_first=m.batch_first)
    yp, _ = pad_packed_sequence(out, batch_first=m.batch_first)
    rows, padded = int(x.batch_sizes.sum()), xp.shape[0] * xp.shape[1]
    scale = lambda v: v * rows // padded   # noqa: E731 (every count has batch x steps)
    ops = []
    for op in rnn_ops(name, m, xp, (yp,)):
        zeros = op.act_sparsity if op.type == "recurrent" else zero_frac(
            (x if op.name == name else out).data)
        ops.append(dataclasses.replace(
            op, macs=scale(op.macs), elems=scale(op.elems), in_bytes=scale(op.in_bytes),
            out_bytes=scale(op.out_bytes), act_sparsity=zeros,
            geometry=op.geometry + (("packed", True),)))
    return ops


def rnn_on_meta(m: nn.Module, x, hx=None):
    """What torch's recurrent layer or cell ``m`` returns for meta input ``x``, by shape
    (torch.nn.LSTM's, GRU's, RNN's and their cells' documented outputs), or None where torch
    must answer (not a meta tensor of a rank it takes and of ``input_size`` features: its own
    error).  torch's meta kernel of an LSTM runs every step through Python's meta
    registrations: 6.5 s for 100 steps of an LSTM(1, 64, num_layers=2), 27 s for 1,000, in
    ``hwsim.workload.sample_work`` before every extract of such a model (h320)."""
    if not isinstance(x, torch.Tensor) or x.device.type != "meta" \
            or x.shape[-1:] != (m.input_size,):
        return None
    hidden = m.hidden_size
    new = lambda *shape: x.new_empty(shape)
    if not isinstance(m, nn.RNNBase):   # a cell: one step, (N, I) or (I,)
        if x.dim() not in (1, 2):
            return None
        lead = tuple(x.shape[:-1])
        return (new(*lead, hidden), new(*lead, hidden)) if isinstance(m, nn.LSTMCell) \
            else new(*lead, hidden)
    if x.dim() not in (2, 3):
        return None
    proj = getattr(m, "proj_size", 0) or hidden
    dirs = 2 if m.bidirectional else 1
    states = dirs * m.num_layers
    batch = () if x.dim() == 2 else (x.shape[0] if m.batch_first else x.shape[1],)
    out = new(*x.shape[:-1], dirs * proj)
    h = new(states, *batch, proj)
    return (out, (h, new(states, *batch, hidden))) if isinstance(m, nn.LSTM) else (out, h)


def _weights(m: nn.Module) -> dict[str, torch.Tensor]:
    """A recurrent layer's weight matrices by name (``weight_ih_l0``, ``weight_hr_l1_reverse``,
    a cell's ``weight_hh``...), as its forward reads them: under a parametrization (a mask,
    ``torch.nn.utils.parametrize``) the effective tensor.  Read by the parameters' names, a
    parametrized layer's were ``parametrizations.weight_ih_l0.original``: its masked matrices
    were left out, and one with every matrix parametrized had none (``torch.cat`` of an empty
    list: the model was refused though it runs).  Pruned with ``torch.nn.utils.prune``
    (the Parameter ``NAME_orig``, a ``NAME_mask`` buffer, the masked ``NAME`` an attribute
    its forward pre-hook sets), the masked one: ``weight_ih_l0_orig`` was no layer's name,
    so the pruned matrix was left out of the op (its weights and zeros) and a layer with
    both matrices pruned was a ValueError traceback out of extract() (h320)."""
    names = dict.fromkeys(_unpruned(m, n.removeprefix("parametrizations.").split(".original")[0])
                          for n, _ in m.named_parameters())
    return {n: getattr(m, n).detach() for n in names if n.startswith("weight")}


def _unpruned(m: nn.Module, name: str) -> str:
    """The attribute a layer's forward reads for its Parameter ``name``: ``NAME`` for
    ``torch.nn.utils.prune``'s ``NAME_orig`` (its mask ``NAME_mask`` a buffer of the layer),
    else ``name``."""
    base = name.removesuffix("_orig")
    return base if base != name and pruned_original(m, base) is not None else name


def merge_repeated(records: list[tuple[int, Op]], stepped: set[int]
                   ) -> list[tuple[int, Op]]:
    """The calls of one Linear (or element-wise module) inside a recurrent layer, one per
    step, become one op: a ``recurrent`` GEMM repeated ``groups`` = steps times (MACs and
    activation bytes summed, activation sparsity averaged over the steps).  ``stepped``: the
    orders of the records made inside a recurrent layer's steps; only those merge.  A module
    called at several places of a forward (a Linear applied to two inputs, a ReLU module
    used twice) is an op per call: merged, the calls were one GEMM of the first call's
    rows repeated (a Linear on 1 then 40 rows: 2 x 1 row's cycles), its weights read once
    (SPRING: 0.0047 for 0.0070 mJ), one kernel launch on the GPU."""
    by_name: dict[str, list[tuple[int, Op]]] = {}
    out = []
    for order, op in records:
        if order in stepped:
            by_name.setdefault(op.name, []).append((order, op))
        else:
            out.append((order, op))
    for calls in by_name.values():
        order, first = calls[0]
        if len(calls) == 1 or first.type not in ("linear", "eltwise"):
            out.extend(calls)
            continue
        ops = [op for _, op in calls]
        n = len(ops)
        merged = dataclasses.replace(
            first, macs=sum(o.macs for o in ops), in_bytes=sum(o.in_bytes for o in ops),
            out_bytes=sum(o.out_bytes for o in ops), elems=sum(o.elems for o in ops),
            act_sparsity=sum(o.act_sparsity for o in ops) / n)
        if first.type == "linear":
            merged = dataclasses.replace(merged, type="recurrent", groups=n)
        else:   # element-wise: one op over all steps' elements
            merged = dataclasses.replace(merged, in_shape=(n,) + first.in_shape,
                                         out_shape=(n,) + first.out_shape)
        out.append((order, merged))
    return out


def cell_op(name: str, m: RecurrentLayer, x: torch.Tensor, y) -> Op:
    """Element-wise work of a recurrent cell over all steps: batch x T x cell_elems.  Its
    geometry says it is a cell and how many gate-network ReLU units (H-LSTM) it applies per
    step besides the LSTM cell update (``CELL_OPS`` x H)."""
    out = y[0] if isinstance(y, tuple) else y
    op = make_op("eltwise", f"{name}.cell", x, out, elems=x.shape[0] * x.shape[1] * m.cell_elems)
    relu = max(0, m.cell_elems - CELL_OPS * m.hidden_size)
    return dataclasses.replace(op, geometry=(("kind", "cell"), ("hidden", m.hidden_size),
                                             ("relu", relu)))


# Steps of a recurrent layer (``synth.models.RecurrentLayer``: one Python call per step)
# that extract() and sample_work() run; a longer sequence runs its first STEPS_TRACED steps
# and the rest is counted by ``scaled_steps`` / ``repeat_steps``: every step calls the same
# Linear layers on the same shapes (the GEMM (batch x K) @ (K x N), the cell's
# ``cell_elems``), so MACs, bytes, GEMMs and element-wise work are the traced steps' times
# T / STEPS_TRACED, exactly.  Traced step by step, pricing lstm32 on 1 x 10,000 took 59 s and
# 1 x 100,000 did not end (h303).  What the traced steps cannot say for the rest is the
# values: a per-step op's activation sparsity (SPRING's zero-skipping) for the steps beyond
# is the traced steps' (the first, on the zero state, aside), the ops after the layer read
# its output with the last traced step repeated (``pad_steps``).  Up to STEPS_TRACED steps
# everything is as it was (the accelerator, a dense array, reads no sparsity: its figures
# are exact at any length).  256 steps: a second or two of hooks for an H-LSTM.
STEPS_TRACED = 256


def traced_steps_note(ops) -> str | None:
    """The line for a SPRING price of a workload whose recurrent layer ran more steps than
    were traced (``STEPS_TRACED``): its counts are exact, the activation sparsity of the
    steps beyond is the traced steps' (SPRING skips zeros, so its figures rest on it); None
    where every step was traced."""
    steps = max((op.in_shape[1] for op in ops if dict(op.geometry).get("kind") == "cell"
                 and len(op.in_shape) == 3), default=0)
    if steps <= STEPS_TRACED:
        return None
    return (f"a recurrent layer runs {steps:,} steps; the first {STEPS_TRACED} were traced: "
            f"SPRING's MACs and bytes count every step, the activation sparsity it skips on "
            f"the other {steps - STEPS_TRACED:,} is the traced steps' mean, an estimate")


def cut_steps(args: tuple) -> tuple[tuple, int] | None:
    """A recurrent layer's call arguments with its input ``(N, T, I)`` cut to its first
    STEPS_TRACED steps, and T; None where there is nothing to cut."""
    x = args[0] if args else None
    if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[1] <= STEPS_TRACED:
        return None
    return (x[:, :STEPS_TRACED], *args[1:]), int(x.shape[1])


def pad_steps(out, steps: int):
    """A cut layer's output ``(y, state)`` with y ``(N, STEPS_TRACED, H)`` as ``steps`` steps
    (the last traced step repeated): the shapes the whole sequence gives."""
    y, rest = (out[0], out[1:]) if isinstance(out, tuple) else (out, ())
    if not isinstance(y, torch.Tensor) or y.dim() != 3 or not 0 < y.shape[1] < steps:
        return out
    more = y[:, -1:].expand(y.shape[0], steps - y.shape[1], *y.shape[2:])
    y = torch.cat([y, more], dim=1)
    return (y, *rest) if isinstance(out, tuple) else y


def scaled_steps(op: Op, steps: int, traced: int) -> Op:
    """An op a cut layer ran once over its STEPS_TRACED steps (its input Linear on
    ``(N, traced, I)``) as over ``steps``: every count has the steps as a factor."""
    def scale(v: int) -> int:
        return v * steps // traced

    def shape(s: tuple) -> tuple:
        return (s[0], steps, *s[2:]) if len(s) >= 2 and s[1] == traced else s
    return dataclasses.replace(
        op, in_shape=shape(op.in_shape), out_shape=shape(op.out_shape), macs=scale(op.macs),
        in_bytes=scale(op.in_bytes), out_bytes=scale(op.out_bytes), elems=scale(op.elems),
        gemm=(scale(op.gemm[0]), *op.gemm[1:]) if op.gemm[0] else op.gemm)


def repeat_steps(records: list, stepped: set, start: int, steps: int, traced: int) -> list:
    """The records of a cut layer's call (``records[start:]``) as ``steps`` steps: each
    per-step op (one called at every traced step, ``stepped``) repeated for the steps not
    traced (``merge_repeated`` sums them: groups = steps), the ops run once over all steps
    ``scaled_steps``."""
    calls: dict[str, int] = {}
    for order, op in records[start:]:
        if order in stepped:
            calls[op.name] = calls.get(op.name, 0) + 1
    out, seen = [], {}
    for order, op in records[start:]:
        if calls.get(op.name, 0) > 1:   # called every step (``merge_repeated``)
            seen.setdefault(op.name, []).append((order, op))
            out.append((order, op))
        else:
            out.append((order, scaled_steps(op, steps, traced)))
    for name, ops in seen.items():   # the traced steps after the first (whose input is the
        n, later = calls[name], ops[1:]   # zero state) in turn: their mean sparsity
        out.extend(later[i % len(later)] for i in range(n * steps // traced - n))
    return out
