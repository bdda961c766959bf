"""The operation record hwsim prices (DESIGN contract "Workload"): ``Op``, its types, and the
helpers that fill one in from a call's tensors (and read a call: ``tensor_forms``,
``source``).  ``hwsim.workload`` extracts the records from a module; the hardware models
(``accel``, ``spring``, ``gpu``, ``tables``) read only these.

Every op is also expressed as a GEMM ``(T x K) @ (K x N)`` repeated ``groups`` times, the form
a systolic array executes (SCALE-Sim, Samajdar et al. 2018, Sec. III: T = output pixels,
K = R*S*C, N = filters).
"""
from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np
import torch
from torch import nn

from synth.config import plain_number, short_repr
from synth.errors import UserError

class Refusal(UserError):
    """A refusal of extract()'s own, raised inside the forward pass: told as it is (any other
    error of hwsim's code there keeps its traceback, ``hwsim.tracing.own_code``; the model's is
    told as 'model M does not accept input shape').  (Here since h219, so that the modules
    the tracer calls can raise it; ``hwsim.tracing`` re-exports it.)"""


FP32_BYTES = 4  # bytes per element of the model as stored (float32)

OP_TYPES = ("conv", "depthwise", "linear", "pool", "batchnorm", "norm", "eltwise", "lstm",
            "gru", "rnn", "recurrent", "embedding", "resample", "matmul")
# ops that run as GEMMs on an array
GEMM_TYPES = ("conv", "depthwise", "linear", "lstm", "gru", "rnn", "recurrent", "matmul")
# a ``matmul`` op is a product of two activations (attention's Q K^T and A V,
# ``hwsim.attention``): ``groups`` = batch x heads GEMMs (T x K) @ (K x N), one per sample and
# head, and no weights: both operands are inputs the op reads (``in_bytes``; ``in_shape`` is
# (batch, both operands' elements of one sample), ``out_shape`` (batch, heads, T, N)),
# ``weight_bytes`` 0 (the model stores no K or V), its act_sparsity the zeros of both operands
# together.  Its batch is in its groups, not its rows (``BATCH_IN_GROUPS``)
BATCH_IN_GROUPS = ("matmul",)


@dataclasses.dataclass(frozen=True)
class Op:
    """One operation for one batch.  Bytes are at fp32 (the model's storage precision);
    hardware models rescale by element counts to their own precision."""
    type: str                      # one of OP_TYPES
    name: str                      # module path, e.g. "layers.0.conv1"
    in_shape: tuple                # input activation shape, batch first
    out_shape: tuple               # output activation shape, batch first
    weight_shape: tuple            # () for ops without weights
    macs: int                      # multiply-accumulates (dense count), whole batch
    weight_bytes: int              # weight elements * 4 B
    in_bytes: int                  # input activation elements * 4 B (every tensor operand
                                   # the op reads: an element-wise op's two, ``make_op``)
    out_bytes: int                 # output activation elements * 4 B
    weight_sparsity: float = 0.0   # fraction of weights that are exactly zero, [0, 1]
    act_sparsity: float = 0.0      # fraction of input activations that are zero, [0, 1]
    gemm: tuple = (0, 0, 0)        # (T, K, N) per group: T output pixels, K reduction, N filters
    groups: int = 1                # independent GEMMs (depthwise: channels)
    elems: int = 0                 # element-wise work (pool/bn/eltwise/lstm gates), elements
    geometry: tuple = ()           # the layer's own settings, (name, value) pairs: kernel,
                                   # stride, padding, dilation, bias, pool/activation kind
    # which stored weight tensor the op reads: ops of one extract() that read the same
    # Parameter (a decoder tied to its embedding) have the same id, and the model stores it
    # once (``unique_weights``); '' for an op's own weights (counted always).  Not part of
    # the work (``key``) nor of equality: two extracts of one model give equal ops.
    weight_id: str = dataclasses.field(default="", compare=False)
    # the model's Parameters the op reads other than as its weight (a position embedding
    # added, a class token concatenated, learned queries passed to an attention layer): an
    # (id as ``weight_id``'s, elements, zero fraction) each, the whole Parameter.  The model
    # stores them: its weights (``hwsim.workload.stored_weights``) count each once, where no
    # op reads it as its weight (h322: they were priced as input reads and left out of the
    # model's weight bytes).  Not part of the work (``key``): the op reads them in in_bytes.
    stored_reads: tuple = dataclasses.field(default=(), compare=False)

    def __post_init__(self) -> None:
        """A record made by hand (the Workload contract: a list of op records) is checked as
        extract()'s are made: a known type, counts >= 0, zero fractions in [0, 1].  (An
        act_sparsity of 1.5 priced negative MACs on SPRING, NaN priced 'nan ms', a type
        'bogus' was priced as an element-wise op, h219.)  NumPy numbers in its counts, shapes
        and fractions become Python's: int32 counts wrapped when summed (two ops of
        2,147,395,600 MACs were -176,096 MACs in a report, h310), and a list (JSON's) a tuple;
        each size of its shapes is a count as its counts are."""
        for field in ("macs", "weight_bytes", "in_bytes", "out_bytes", "elems", "groups",
                      "weight_sparsity", "act_sparsity", "in_shape", "out_shape",
                      "weight_shape", "gemm"):
            v = getattr(self, field)
            if isinstance(v, list):   # a record read from JSON: its shapes are lists
                v = tuple(v)
                object.__setattr__(self, field, v)
            if isinstance(v, tuple):
                if any(type(x).__module__ == "numpy" for x in v):
                    object.__setattr__(self, field, tuple(map(plain_number, v)))
            elif plain_number(v) is not v:
                object.__setattr__(self, field, plain_number(v))
        if isinstance(self.geometry, list):   # JSON's pairs: tuples, as extract gives them
            object.__setattr__(self, "geometry", _tuples(self.geometry))
        if self.type not in OP_TYPES:
            raise UserError(f"op {self.name!r}: type must be one of {', '.join(OP_TYPES)}, "
                            f"got {self.type!r}")
        for field in ("macs", "weight_bytes", "in_bytes", "out_bytes", "elems", "groups"):
            _check_count(self, field, getattr(self, field))
        if not isinstance(self.gemm, tuple) or len(self.gemm) != 3:
            raise UserError(f"op {self.name!r}: gemm must be (T, K, N), got "
                            f"{short_repr(self.gemm)}")
        for v in self.gemm:
            _check_count(self, "gemm", v)
        for field in ("in_shape", "out_shape", "weight_shape"):   # sizes, counted as well:
            # ('a', 4) was a TypeError traceback when priced, (10**400, 4) an OverflowError
            shape = getattr(self, field)
            if not isinstance(shape, tuple):
                raise UserError(f"op {self.name!r}: {field} must be a tuple of sizes, got "
                                f"{short_repr(shape)}")
            for v in shape:
                _check_count(self, field, v)
        for field in ("weight_sparsity", "act_sparsity"):
            v = getattr(self, field)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= v <= 1:
                raise UserError(f"op {self.name!r}: {field} must be a fraction in [0, 1], "
                                f"got {v!r}")

    @property
    def activation_bytes(self) -> int:
        return self.in_bytes + self.out_bytes

    @property
    def weight_elems(self) -> int:
        return self.weight_bytes // FP32_BYTES

    @property
    def in_elems(self) -> int:
        return self.in_bytes // FP32_BYTES

    @property
    def out_elems(self) -> int:
        return self.out_bytes // FP32_BYTES

    def key(self) -> tuple:
        """Hashable identity of the work (the name excluded): equal keys cost the same.  Its
        last element is the op's traffic and MACs, (macs, weight_bytes, in_bytes, out_bytes):
        the shapes do not fix them for every op (a masked write ``x[mask] = v`` writes what
        its mask selects into a target of one shape; a write reads its value and indices or
        none), and two writes of 2 and of 40 values had one key, so ``hwsim.price_layers``'
        memo and a table priced one as the other (h219).  A table saved before holds keys
        without it (``hwsim.tables.Table.key_lengths``)."""
        return (self.type, self.in_shape, self.out_shape, self.weight_shape, self.gemm,
                self.groups, self.elems, round(self.weight_sparsity, 4),
                round(self.act_sparsity, 4), self.geometry,
                (self.macs, self.weight_bytes, self.in_bytes, self.out_bytes))


def _tuples(value):
    """``value`` with every list in it (at any depth) a tuple."""
    return tuple(map(_tuples, value)) if isinstance(value, (list, tuple)) else value


# the largest count an op record holds (values, bytes, MACs, a GEMM's sides): int64's, as
# torch counts elements.  A hand-made record's 10**400 MACs was an OverflowError traceback
# when priced (float() of it), and counts near a float's limit priced as inf; the products
# the models form of counts this size (a GEMM's T x K x N, 2^189) stay far below it (h310)
MAX_COUNT = 2 ** 63 - 1


def _check_count(op: Op, field: str, v) -> None:
    """``op``'s ``field`` is a number in [0, MAX_COUNT] (a count of values, bytes or MACs)."""
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= v <= MAX_COUNT:
        raise UserError(f"op {op.name!r}: {field} must be a count >= 0 and <= 2^63 - 1, "
                        f"got {short_repr(v)}")


# element-wise work of a NORMS layer per element (``hwsim.layers``): its statistics (a sum
# and a sum of squares), then normalize and scale as one multiply-add (a BatchNorm's one; an
# InstanceNorm with running statistics uses them at inference: that one only)
NORM_OPS_PER_ELEMENT = 3


def forward_elems(op: Op, mode: str) -> int:
    """Element ops of ``op``'s forward pass in ``mode`` (``inference`` or ``training``): its
    ``elems``, but in training a norm that keeps running statistics (a BatchNorm, an
    InstanceNorm with track_running_stats: geometry ``track_running_stats`` true, one op per
    element, ``hwsim.layers.module_op``) computes its batch's own statistics first, a sum and
    a sum of squares, as a LayerNorm does: NORM_OPS_PER_ELEMENT per element.  Ops are
    extracted in evaluation mode, where such a layer normalizes by its stored statistics;
    a training step normalizes by the batch's (torch's _BatchNorm.forward, and
    F.instance_norm's use_input_stats, in training).  (Training was priced at the stored
    statistics' one op per element, x 3 for the backward passes, h200.)  A forward that
    calls F.batch_norm(training=False) with running statistics in training too is priced
    so as well: the record does not tell it from a layer's call."""
    if mode == "training" and op.type in ("batchnorm", "norm") \
            and dict(op.geometry).get("track_running_stats"):
        return NORM_OPS_PER_ELEMENT * op.elems
    return op.elems


def backward_passes(ops):
    """(data, weights), 0/1 arrays of shape (L,): whether each op runs a backward-data pass
    (dX: every op but an embedding, whose input is indices with no gradient) and a
    backward-weight pass (dW: an op with weights, or a product of two activations, a
    ``matmul``, whose dB = A^T dY is its second backward GEMM).  An op without weights (an
    activation, a pool, a residual add, a recurrent cell's update) has no dW pass.  A norm
    with a scale and shift (geometry ``affine`` or ``elementwise_affine`` true) has one,
    their gradients' sums over dY x x_hat and dY, though its record holds no weights (its
    C scale and shift values are not priced as weights)."""
    data = np.array([o.type != "embedding" for o in ops], dtype=np.float64)
    weights = np.array([o.weight_elems > 0 or o.type == "matmul" or _affine_norm(o)
                        for o in ops], dtype=np.float64)
    return data, weights


def _affine_norm(op: Op) -> bool:
    """Whether ``op`` is a norm with a learned scale and shift (``backward_passes``)."""
    g = dict(op.geometry)
    return op.type in ("batchnorm", "norm") and bool(g.get("affine", g.get("elementwise_affine")))


def numel(shape) -> int:
    return int(math.prod(shape)) if shape else 0


def _nonzeros(t: torch.Tensor) -> int:
    """Nonzero values of ``t``; of a sparse tensor its stored values' (the rest are zeros:
    torch.count_nonzero has no sparse kernel, and a forward's ``s * 2`` on a sparse tensor
    failed extract as an error of hwsim's own, h203); of a meta tensor (no values: torch's
    nested tensors make some in a forward) all of them (it failed extract, h219); of a
    quantized tensor its dequantized values' (torch has no count for them: a clone of one
    failed extract as an error of hwsim's own, h219)."""
    if t.is_meta:
        return t.numel()
    if t.is_quantized:   # (no count_nonzero kernel: its values, dequantized; h219)
        t = t.dequantize()
    if t.layout == torch.sparse_coo:
        return int(torch.count_nonzero(t._values()))
    if t.layout in (torch.sparse_csr, torch.sparse_csc, torch.sparse_bsr, torch.sparse_bsc):
        return int(torch.count_nonzero(t.values()))
    return int(torch.count_nonzero(t))


def zero_frac(t: torch.Tensor) -> float:
    return 1.0 - _nonzeros(t) / t.numel() if t.numel() else 0.0


def zeros_of(tensors) -> float:
    """Fraction of zeros among all the values of ``tensors`` together, [0, 1] (the zeros of
    an op's input when it reads several operands)."""
    values = sum(t.numel() for t in tensors)
    return 1.0 - sum(_nonzeros(t) for t in tensors) / values if values else 0.0


def tensor_forms(names, owners=(torch, torch.Tensor), inplace: bool = True) -> list:
    """The callables a forward may call for each of ``names``: ``torch.NAME``,
    ``Tensor.NAME`` and (``inplace``) their in-place ``NAME_``, where they exist."""
    out = []
    for name in names:
        for owner in owners:
            for n in (name, name + "_") if inplace else (name,):
                f = getattr(owner, n, None)
                if f is not None and f not in out:
                    out.append(f)
    return out


def source(args, kwargs):
    """A call's first tensor argument (``input``/``self``): a copy's source."""
    x = args[0] if args else kwargs.get("input", kwargs.get("self"))
    return x if isinstance(x, torch.Tensor) else None


def make_op(type_, name, x, y, weight=None, macs=0, gemm=(0, 0, 0), groups=1, elems=0,
            also=()) -> Op:
    """The op of a call on input ``x`` with output ``y``.  ``also``: the other tensor
    operands it reads (an element-wise op's second operand: a residual add's shortcut, a
    broadcast gate of its own C values; a number is none).  Their values count in the op's
    input (``in_bytes`` = values x FP32_BYTES; a hardware model moves in_elems x
    precision_bits / 8 bytes) and their zeros in ``act_sparsity``; ``in_shape`` stays
    ``x``'s, the op's geometry and its samples (``hwsim.accel.op_samples``).  (An add read
    its first operand only: a ResNet shortcut's DRAM/NVM traffic and SRAM energy left out
    the shortcut tensor, h190.)"""
    wshape = tuple(weight.shape) if weight is not None else ()
    reads = (x, *also)
    return Op(type=type_, name=name, in_shape=tuple(x.shape), out_shape=tuple(y.shape),
              weight_shape=wshape, macs=int(macs), weight_bytes=numel(wshape) * FP32_BYTES,
              in_bytes=sum(t.numel() for t in reads) * FP32_BYTES,
              out_bytes=y.numel() * FP32_BYTES,
              weight_sparsity=zero_frac(weight) if weight is not None else 0.0,
              act_sparsity=zeros_of(reads), gemm=tuple(int(g) for g in gemm),
              groups=int(groups), elems=int(elems))


def batch_shared_elems(op: Op) -> int:
    """Values of an element-wise op's input read once whatever its samples: its other
    operand (``geometry``'s ``other``, ``hwsim.functional.arithmetic_op``) where that is
    broadcast over the batch, i.e. has fewer dimensions than the op's input or a leading 1
    against its batch of more (a per-channel scale of (C, 1, 1), a position table of
    (1, T, D)).  A run on n of the op's S samples reads n / S of the rest and all of these
    (``hwsim.spring``'s chunks; ``hwsim.accel.op_samples``).  0 for any other op (a residual
    add's operands are of one shape, batch first).  A pointwise op of ``hwsim.arithmetic``
    (its geometry's ``args``: ``torch.where(c, x, bias)``, ``torch.clamp(x, lo, hi)``) counts
    each tensor argument so broadcast (its input, batch first, is none).  A write or
    scatter's value broadcast over what it writes (``x[mask] = torch.tensor(0.)``, a 0-d
    ``index_put_`` value: ``hwsim.copies``) is its geometry's ``broadcast`` values."""
    if not op.in_shape or op.in_shape[0] <= 1:
        return 0
    if op.type == "resample":
        return int(dict(op.geometry).get("broadcast", 0))
    g = dict(op.geometry) if op.type == "eltwise" else {}
    if "args" in g:   # ("tensor", shape, class) for each tensor argument
        shapes = [d[1] for d in (*g["args"], *(d for _, d in g.get("kwargs", ())))
                  if isinstance(d, tuple) and d and d[0] == "tensor"]
    else:
        shapes = [g.get("other")] if isinstance(g.get("other"), tuple) else []
    return sum(numel(s) if s else 1 for s in shapes   # (a 0-d tensor: one value)
               if len(s) < len(op.in_shape) or (s and s[0] == 1))


def weight_id(m: nn.Module, run: str, attr: str = "weight") -> str:
    """The identity of the Parameter a layer's ``weight`` (or ``attr``) is (under a
    parametrization such as a mask, its original; pruned with ``torch.nn.utils.prune``, its
    ``NAME_orig``: the masked ``NAME`` is a new tensor every forward, so one pruned
    Parameter two layers share, a decoder tied to its embedding, was stored twice, h322):
    ``run`` (one extract) and the tensor's id, '' when it has none."""
    from torch.nn.utils import parametrize
    p = (getattr(m.parametrizations, attr).original if parametrize.is_parametrized(m, attr)
         else pruned_original(m, attr))
    p = getattr(m, attr, None) if p is None else p
    return f"{run}:{id(p)}" if isinstance(p, torch.Tensor) else ""


def pruned_original(m: nn.Module, attr: str):
    """The Parameter ``NAME_orig`` that ``torch.nn.utils.prune`` keeps for a pruned layer's
    ``attr`` (its masked ``attr`` an attribute the layer's forward pre-hook recomputes from
    it and the buffer ``NAME_mask``), None where ``attr`` is not pruned so."""
    orig = m._parameters.get(f"{attr}_orig")
    return orig if orig is not None and f"{attr}_mask" in m._buffers else None


def lookup_elems(indices, embedding_dim):
    """Table values an ``embedding`` op reads: one row of ``embedding_dim`` per index
    (numbers or numpy arrays alike)."""
    return indices * embedding_dim
