"""Arithmetic a forward does on tensors outside its layers, as extraction records it
(``hwsim.workload``'s function mode; the activations, pools and padding called as functions
are ``hwsim.functional``'s): element-wise functions, reductions and sorts; concatenations,
copies, scatters and fills are ``hwsim.copies``', dispatched from here.

Each is an op with the cost model of a residual add (``hwsim.workload``'s ``add`` ops), the
unit every backend already prices:

- element-wise (``eltwise`` op): one element op per output value (``elems``: accelerator
  ceil(elems / cols) vector cycles at ADD8_PJ x bits / 8 pJ each, SPRING ceil(elems / lanes)
  cycles, GPU 1 FLOP each); every tensor operand read once with its own values (a broadcast
  operand its own: a per-channel gate of C values; a number none: ``hwsim.op.make_op``'s
  ``also``; ``in_shape`` is the operand with the most values, the first on a tie) and the
  output written once: I + O values of DRAM or NVM traffic, x precision_bits / 8 bytes.
  The four of h182 (``+ - * /``, ``ELEMENTWISE_KINDS``) and, since h193, every other
  element-wise function (``POINTWISE``): negation, abs, powers and squares, exp and log,
  roots, trigonometric and error functions, rounding, clamps, comparisons and logical ops,
  maximum/minimum, remainders, ``torch.where`` and ``masked_fill`` (a select: one op per
  value), each one op per value as an activation module is (a sigmoid or GELU is one);
  ``addcmul``, ``addcdiv`` and ``lerp`` do a product and a multiply-add: two.  They were
  free (a forward's ``-x``, ``x ** 2``, ``x.exp()``, ``torch.maximum(a, b)``).  Since h203
  also heaviside, deg2rad, nextafter, polygamma, frexp, torch.special's erfcx, ndtr, i1,
  entr... (one), ``ldexp``, ``logaddexp`` and ``isclose`` (two), ``torch.outer`` and
  ``kron`` (a multiply per output value, both operands read), ``diff`` (one subtract an
  output), ``cross`` (two), ``bucketize``/``searchsorted`` (a binary search: ceil(log2(n +
  1)) compares an output among n boundaries; ``isin`` among its test values), bit shifts,
  gcd/lcm, igamma, isneginf/isposinf/isreal, angle, torch.special's Bessel and Airy
  functions and zeta, ``vander`` (one), ``mvlgamma`` (p log-gammas), ``renorm`` (three),
  fake quantization (four), ``complex`` (one), ``polar`` (two).
- losses and distances (``eltwise`` op, since h203: they were free): ``F.mse_loss``,
  ``l1_loss``, ``smooth_l1_loss``, ``huber_loss``, ``soft_margin_loss``, ``kl_div``,
  ``hinge_embedding_loss``, ``binary_cross_entropy(_with_logits)``, ``cross_entropy``,
  the margin, Poisson, Gaussian and triplet losses, ``cosine_similarity``,
  ``pairwise_distance``, ``torch.dist``, the trapezoid rule and ``torch.gradient`` (one
  dimension's differences): element ops per value of their largest operand
  (``PAIRED``; ``nll_loss`` one a target), every operand read, the output written.
- reductions (``eltwise`` op): element ops per value read (``REDUCTIONS``): a sum, mean,
  max/min (their arg forms too), product, all/any, count, cumulative sum or product: one, as
  a global average pool's adds (``x.mean((2, 3))`` prices as AdaptiveAvgPool2d(1)); a
  variance or standard deviation: two (a sum and a sum of squares, a norm layer's statistics,
  ``hwsim.layers.NORM_OPS_PER_ELEMENT``); a 2-norm: one (a sum of squares, a multiply-add),
  any other p-norm two (|x|^p, an add); logsumexp two (exp, add); F.normalize its norm's and
  one divide per value; ``aminmax``, ``bincount`` and ``histc`` two, ``nonzero`` and
  ``argwhere`` one, ``trace`` one a diagonal value, ``torch.linalg.norm`` and
  ``matrix_norm`` as ``norm`` (a spectral or nuclear norm too: a lower bound) (h203).  Every output written (a max over a
  dimension: its values and its indices).  Only mean and sum were priced (h182).
- sorts (``eltwise`` op, since h196: they were free): ``sort``, ``argsort``, ``msort``,
  ``median``/``nanmedian``, ``kthvalue``, ``quantile``/``nanquantile`` sort each row of n
  values along their dimension (all values: one row, where none is given): n log2 n
  comparisons a row, the standard count of a comparison sort (log2 n! ~ n log2 n
  comparisons, met by merge sort and heap sort: Knuth, TAOCP vol. 3, 5.3.1), one element op
  each; a selection (median, kthvalue) is priced as the sort a vector unit runs for it, an
  upper bound of quickselect's ~3.4 n.  ``topk`` keeps the k largest in a heap: log2 k
  comparisons a value.  At least one a value (a row of one, k = 1: a max's).  A quantile
  also interpolates each of its outputs between two sorted values, two ops (as ``lerp``).
  Since h203 (they were free): ``mode`` sorts each row and counts its runs, ``unique``
  sorts all its values (or its slices along ``dim``) and keeps one of each run: n log2 n +
  n; ``unique_consecutive`` compares each value with the one before it: n.
  Every output written (a sort's values and indices).
- concatenations, copies, writes, scatters, fills and random draws (``resample`` ops):
  ``hwsim.copies``.
  A dtype or device cast (``.to``, ``.float()``) stays free: the hardware models price every
  value at their own precision, and extract's own ``inputs.to(device)`` runs inside the
  mode.
"""
from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from hwsim.copies import copy_kind, copy_op, copy_reads, is_copy
from hwsim.op import FP32_BYTES, Op, make_op, source, tensor_forms
from hwsim.pointwise import (PAIRED, POINTWISE, POINTWISE_FUNCS, POLYNOMIALS, REFLECTED,
                             polynomial_ops)

_T = torch.Tensor


# --- element-wise -------------------------------------------------------------------------------
# the four of h182: two operands (``input``/``self`` and ``other``), geometry (("kind", k),
# ("other", its shape or None for a number)); host_ops replays torch.<kind>(x, other)
ELEMENTWISE_KINDS = {
    **{f: "add" for f in (torch.add, _T.add, _T.add_, _T.__add__, _T.__radd__, _T.__iadd__)},
    **{f: "sub" for f in (torch.sub, torch.subtract, torch.rsub, _T.sub, _T.sub_, _T.subtract,
                          _T.subtract_, _T.__sub__, _T.__rsub__, _T.__isub__)},
    **{f: "mul" for f in (torch.mul, torch.multiply, _T.mul, _T.mul_, _T.multiply,
                          _T.multiply_, _T.__mul__, _T.__rmul__, _T.__imul__)},
    **{f: "div" for f in (torch.div, torch.divide, torch.true_divide, _T.div, _T.div_,
                          _T.divide, _T.divide_, _T.true_divide, _T.true_divide_, _T.__div__,
                          _T.__truediv__, _T.__rtruediv__, _T.__rdiv__, _T.__itruediv__)},
}   # (the in-place subtract_, multiply_, divide_ and true_divide_ were free until h203)

# every other element-wise function (``hwsim.pointwise``: POINTWISE, its kinds' functions
# POINTWISE_FUNCS, the reflected operators REFLECTED), and losses and distances (PAIRED)

_TENSOR_WHERE = _T.where   # x.where(cond, y): torch.where(cond, x, y)


def _canonical(func, args, kwargs) -> tuple[list, dict]:
    """A pointwise call's arguments in the order its kind's torch function takes them."""
    args = list(args)
    if func in REFLECTED and len(args) >= 2:
        args[0], args[1] = args[1], args[0]
    elif func is _TENSOR_WHERE and len(args) >= 2:
        args[0], args[1] = args[1], args[0]
    return args, {k: v for k, v in kwargs.items() if k != "out"}


def _tensor_class(t: torch.Tensor) -> str:
    if t.is_quantized:   # (a dequantize's input, h227)
        return "quantized"
    return "bool" if t.dtype == torch.bool else (
        "float" if t.is_floating_point() or t.is_complex() else "int")


def _describe(v):
    """One argument of a pointwise call as its geometry holds it: a tensor as ("tensor",
    shape, class), a dtype as ("dtype", name), anything else as ("value", v) where it is a
    number, a string, a bool or None (else None: not replayed)."""
    if isinstance(v, torch.Tensor):
        return ("tensor", tuple(v.shape), _tensor_class(v))
    if isinstance(v, torch.dtype):
        return ("dtype", str(v).removeprefix("torch."))
    if v is None or isinstance(v, (bool, int, float, str)):
        return ("value", v)
    return None


def _two_tensor_max(func, args, kwargs) -> bool:
    """``torch.max(a, b)`` / ``a.min(b)``: the element-wise maximum or minimum (not a
    reduction over a dimension)."""
    other = args[1] if len(args) > 1 else kwargs.get("other")
    return func in _MAX_MIN and isinstance(other, torch.Tensor)


# --- reductions ---------------------------------------------------------------------------------
# (kind, element ops per value read, argument names after the input, the names computing it)
# a norm's ops depend on its p (``_norm_ops``: None here)
_REDUCTIONS = (
    ("mean", 1, ("dim", "keepdim"), ("mean",)), ("sum", 1, ("dim", "keepdim"), ("sum",)),
    ("nansum", 1, ("dim", "keepdim"), ("nansum",)),
    ("nanmean", 1, ("dim", "keepdim"), ("nanmean",)),
    ("amax", 1, ("dim", "keepdim"), ("amax",)), ("amin", 1, ("dim", "keepdim"), ("amin",)),
    ("max", 1, ("dim", "keepdim"), ("max",)), ("min", 1, ("dim", "keepdim"), ("min",)),
    ("argmax", 1, ("dim", "keepdim"), ("argmax",)),
    ("argmin", 1, ("dim", "keepdim"), ("argmin",)),
    ("prod", 1, ("dim", "keepdim"), ("prod",)),
    ("all", 1, ("dim", "keepdim"), ("all",)), ("any", 1, ("dim", "keepdim"), ("any",)),
    ("count_nonzero", 1, ("dim",), ("count_nonzero",)),
    ("var", 2, ("dim", "unbiased", "keepdim"), ("var",)),
    ("std", 2, ("dim", "unbiased", "keepdim"), ("std",)),
    ("var_mean", 2, ("dim", "unbiased", "keepdim"), ("var_mean",)),
    ("std_mean", 2, ("dim", "unbiased", "keepdim"), ("std_mean",)),
    ("logsumexp", 2, ("dim", "keepdim"), ("logsumexp",)),
    ("norm", None, ("p", "dim", "keepdim"), ("norm",)),
    ("cumsum", 1, ("dim",), ("cumsum",)), ("cumprod", 1, ("dim",), ("cumprod",)),
    ("logcumsumexp", 2, ("dim",), ("logcumsumexp",)),
    ("cummax", 1, ("dim",), ("cummax",)), ("cummin", 1, ("dim",), ("cummin",)),
    # (h203: these were free) a max and a min in one pass: two compares a value; the
    # nonzero values' indices (a compare a value, the indices written); a histogram's or
    # count's bin found and added to (two)
    ("aminmax", 2, ("dim", "keepdim"), ("aminmax",)),
    ("nonzero", 1, (), ("nonzero", "argwhere")),
    ("bincount", 2, ("weights", "minlength"), ("bincount",)),
    ("histc", 2, ("bins", "min", "max"), ("histc",)),
    ("trace", 1, (), ("trace",)),   # the diagonal's n values added (``_reduction_op``)
)
REDUCTION_KINDS = {f: kind for kind, _, _, names in _REDUCTIONS
                   for f in tensor_forms(names, inplace=False)}
# (h203: these were free) in-place scans; torch.histogram as histc
REDUCTION_KINDS.update({_T.cumsum_: "cumsum", _T.cumprod_: "cumprod", torch.histogram: "histc",
                        _T.histogram: "histc"})
REDUCTION_KINDS[torch.linalg.vector_norm] = "vector_norm"
# (h209: it was free) a sum to a broadcastable size: a sum over the dimensions it reduces
REDUCTION_KINDS[_T.sum_to_size] = "sum"
REDUCTION_KINDS[torch.special.logsumexp] = "logsumexp"
# (h203) a vector or Frobenius norm (a spectral or nuclear matrix norm, an SVD, is priced as
# that: a lower bound)
REDUCTION_KINDS[torch.linalg.norm] = REDUCTION_KINDS[torch.linalg.matrix_norm] = "norm"
REDUCTION_KINDS[nn.functional.normalize] = "normalize"
_REDUCTION_OPS = {kind: ops for kind, ops, _, _ in _REDUCTIONS}
_REDUCTION_ARGS = {kind: names for kind, _, names, _ in _REDUCTIONS}
_REDUCTION_ARGS.update({"vector_norm": ("ord", "dim", "keepdim"), "normalize": ("p", "dim")})
_MAX_MIN = frozenset(tensor_forms(("max", "min"), inplace=False))
_SCANS = ("cumsum", "cumprod", "logcumsumexp", "cummax", "cummin")


def _norm_ops(p) -> int:
    """Element ops per value read of a p-norm: a 2-norm's sum of squares is one multiply-add
    a value (a norm layer's statistics count it so); any other p an |x|^p and an add."""
    return 1 if p in (None, 2, 2.0, "fro") else 2


# --- sorts -------------------------------------------------------------------------------------
# (kind, argument names after the input) of each sort; its comparisons: ``_sort_ops``
_SORTS = (("sort", ("dim", "descending")), ("argsort", ("dim", "descending")),
          ("msort", ()), ("topk", ("k", "dim", "largest", "sorted")),
          ("kthvalue", ("k", "dim", "keepdim")), ("median", ("dim", "keepdim")),
          ("nanmedian", ("dim", "keepdim")), ("quantile", ("q", "dim", "keepdim")),
          ("nanquantile", ("q", "dim", "keepdim")),
          # (h203: these were free) a mode sorts each row, then counts its runs (n more
          # compares); unique sorts all the values (or the slices along ``dim``) and keeps
          # one of each run; unique_consecutive compares each value with the one before
          ("mode", ("dim", "keepdim")),
          ("unique", ("sorted", "return_inverse", "return_counts", "dim")),
          ("unique_consecutive", ("return_inverse", "return_counts", "dim")))
SORT_KINDS = {f: kind for kind, _ in _SORTS for f in tensor_forms((kind,), inplace=False)}
_SORT_ARGS = dict(_SORTS)
# the function host_ops replays for each kind
SORT_FUNCS = {kind: getattr(torch, kind) for kind, _ in _SORTS}
# a sort along the last dimension where the call gives none; a median or quantile without
# one sorts all the values (one row); msort sorts along the first
_LAST_BY_DEFAULT = ("sort", "argsort", "topk", "kthvalue", "mode")


def _sort_ops(kind: str, c: dict, x: torch.Tensor, outs: list) -> int:
    """Element ops of a sort (see the notes above) of ``x`` with arguments ``c``."""
    dim = c.get("dim", -1 if kind in _LAST_BY_DEFAULT else 0 if kind == "msort" else None)
    n = x.numel() if dim is None or x.dim() == 0 else x.shape[dim]
    rows = x.numel() // n if n else 0
    m = c.get("k", 1) if kind == "topk" else n   # the heap's size, or the row's
    per = max(1.0, math.log2(m)) if isinstance(m, int) and m > 0 else 1.0
    if kind == "unique_consecutive":
        per = 1.0
    elif kind in ("mode", "unique"):   # its runs counted after the sort
        per += 1
    lerp = 2 * outs[0].numel() if kind in ("quantile", "nanquantile") else 0
    return math.ceil(rows * n * per) + lerp


def is_arithmetic(func) -> bool:
    """Whether ``func`` is arithmetic or a copy a forward may do on tensors outside its
    layers (this module's tables)."""
    return (func in ELEMENTWISE_KINDS or func in POINTWISE or func in REDUCTION_KINDS
            or func in SORT_KINDS or func in PAIRED or is_copy(func))


def arithmetic_kind(func, args, kwargs) -> str:
    """The kind an arithmetic call's op is named by: ``mul``, ``exp``, ``maximum``, ``mean``,
    ``sort``; a copy's (``hwsim.copies.copy_kind``): ``cat``, ``copy``, ``setitem``..."""
    if _two_tensor_max(func, args, kwargs):
        return "maximum" if REDUCTION_KINDS[func] == "max" else "minimum"
    for table in (ELEMENTWISE_KINDS, REDUCTION_KINDS, SORT_KINDS):
        if func in table:
            return table[func]
    if func in POINTWISE or func in PAIRED:
        return (POINTWISE.get(func) or PAIRED[func])[0]
    return copy_kind(func)


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


def _pointwise_tensors(func, args, kwargs) -> list:
    """The tensor operands of a pointwise call, in its canonical order (``out=`` is none)."""
    a, kw = _canonical(func, args, kwargs)
    return [v for v in (*a, *kw.values()) if isinstance(v, torch.Tensor)]


def arithmetic_operands(func, args, kwargs) -> list:
    """The tensors an arithmetic call reads as its op's input, measured for their zeros
    before the call (an in-place one overwrites them): an element-wise call's tensor
    operands (a number is none), a reduction's or sort's input, a write's or scatter's
    reads (``hwsim.copies.copy_reads``); [] for a concatenation (its zeros are its
    output's), a copy (it does not change its source: measured by ``arithmetic_op``, once
    it is known to be no view) or any other call."""
    if func in ELEMENTWISE_KINDS:
        x, other = _split_operands(args, kwargs)
        return [] if x is None else [x, other] if isinstance(other, torch.Tensor) else [x]
    if func in POINTWISE or func in PAIRED or _two_tensor_max(func, args, kwargs):
        return _pointwise_tensors(func, args, kwargs)
    if func in REDUCTION_KINDS or func in SORT_KINDS:
        x = source(args, kwargs)
        return [] if x is None else [x]
    return copy_reads(func, args, kwargs)


def _dims(dim, rank: int):
    """A reduction's ``dim`` argument as a tuple of non-negative dimensions (None: all; an
    empty tuple is all too, as torch.amax reads it)."""
    if dim is None or isinstance(dim, bool):   # (var(x, True): that is ``unbiased``)
        return None
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(sorted(d % max(rank, 1) for d in dims)) or None


def _tensors(out) -> list:
    """The tensors a call returned (a max over a dimension: values and indices)."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, tuple):
        return [t for t in out if isinstance(t, torch.Tensor)]
    return []


def _reduction_op(name, func, args, kwargs, outs) -> Op | None:
    x = source(args, kwargs)
    if x is None:
        return None
    kind = REDUCTION_KINDS[func]
    c = {**dict(zip(("input",) + _REDUCTION_ARGS[kind], args)), **kwargs}
    if func is _T.sum_to_size:   # the dimensions its size reduces (the leading ones it lacks)
        if outs[0] is x or tuple(outs[0].shape) == tuple(x.shape):
            return None   # (the input itself: nothing summed)
        size = tuple(outs[0].shape)
        lead = x.dim() - len(size)
        c = {"dim": tuple(range(lead)) + tuple(d + lead for d, n in enumerate(size)
                                               if n == 1 and x.shape[d + lead] != 1),
             "keepdim": lead == 0}
    geometry = [("kind", kind)]
    p = c.get("ord", c.get("p"))
    if kind in ("norm", "vector_norm", "normalize"):
        p = 2 if p is None else p
        per = _norm_ops(p) + (kind == "normalize")          # normalize: and a divide a value
        geometry.append(("p", p if isinstance(p, (int, float, str)) else None))
    else:
        per = _REDUCTION_OPS[kind]
    dim = c.get("dim", 1 if kind == "normalize" else None)
    geometry += [("dim", _dims(dim, x.dim())), ("keepdim", bool(c.get("keepdim", False)))]
    read = min(x.shape, default=1) if kind == "trace" else x.numel()
    op = make_op("eltwise", name, x.detach(), outs[0].detach(), elems=per * read)
    if kind == "trace":
        op = dataclasses.replace(op, in_bytes=read * FP32_BYTES)
    return dataclasses.replace(op, out_bytes=sum(t.numel() for t in outs) * FP32_BYTES,
                               geometry=tuple(geometry))


def _pointwise_op(name, func, args, kwargs, y) -> Op | None:
    a, kw = _canonical(func, args, kwargs)
    ts = [v for v in (*a, *kw.values()) if isinstance(v, torch.Tensor)]
    if not ts:
        return None
    x = max(ts, key=lambda t: t.numel())   # (the first on ties)
    kind, per = ((arithmetic_kind(func, args, kwargs), 1) if _two_tensor_max(func, args, kwargs)
                 else POINTWISE.get(func) or PAIRED[func])
    if kind in ("maximum", "minimum"):   # torch.max(a, b): replayed as torch.maximum(a, b)
        a, kw = a[:2], {}
    if kind in ("bucketize", "searchsorted", "isin"):   # a binary search among boundaries
        c = {**dict(zip({"bucketize": ("input", "boundaries"), "isin": ("elements",
                         "test_elements")}.get(kind, ("sorted_sequence", "input")), a)), **kw}
        b = c.get("boundaries", c.get("sorted_sequence", c.get("test_elements")))
        n = (b.shape[-1] if kind != "isin" else b.numel()) \
            if isinstance(b, torch.Tensor) and b.dim() else 1
        per = max(1, math.ceil(math.log2(n + 1)))
    if kind in POLYNOMIALS:   # its degree's recurrence (``polynomial_ops``): a tensor n
        n = {**dict(zip(("input", "n"), a)), **kw}.get("n")   # each value's own
        ns = n.detach().reshape(-1).tolist() if isinstance(n, torch.Tensor) else [n]
        per = sum(polynomial_ops(kind, int(v)) for v in ns) / max(len(ns), 1)
    if kind == "mvlgamma":   # its p log-gammas
        p = {**dict(zip(("input", "p"), a)), **kw}.get("p")
        per = p if isinstance(p, int) and p > 0 else 1
    others = [t for t in ts if t is not x] + [x] * (sum(t is x for t in ts) - 1)
    # one op set per output value; a loss's or distance's per value of its largest operand
    # (nll_loss's per target: its second operand)
    work = x.numel() if func in PAIRED else y.numel()
    if kind == "nll_loss" and len(ts) > 1:
        work = ts[1].numel()
    op = make_op("eltwise", name, x.detach(), y.detach(), elems=per * work,
                 also=tuple(t.detach() for t in others))
    described = {k: _describe(v) for k, v in kw.items()}
    return dataclasses.replace(op, geometry=(
        ("kind", kind), ("args", tuple(_describe(v) for v in a)),
        ("kwargs", tuple((k, d) for k, d in described.items() if d is not None))))


def _sort_op(name, func, args, kwargs, outs) -> Op | None:
    """A sort's ``eltwise`` op: its comparisons (``_sort_ops``), its input read (a quantile's
    q tensor too), every output written; geometry its kind and its arguments as a pointwise
    call's (host_ops replays torch.<kind> on them)."""
    x = source(args, kwargs)
    if x is None:
        return None
    kind = SORT_KINDS[func]
    c = {**dict(zip(("input",) + _SORT_ARGS[kind], args)), **kwargs}
    if isinstance(c.get("dim"), int) and x.dim():
        c["dim"] %= x.dim()
    q = c.get("q")
    op = make_op("eltwise", name, x.detach(), outs[0].detach(),
                 elems=_sort_ops(kind, c, x, outs),
                 also=(q.detach(),) if isinstance(q, torch.Tensor) else ())
    described = {k: _describe(v) for k, v in kwargs.items() if k != "out"}
    return dataclasses.replace(op, out_bytes=sum(t.numel() for t in outs) * FP32_BYTES,
                               geometry=(("kind", kind),
                                         ("args", tuple(_describe(v) for v in args)),
                                         ("kwargs", tuple((k, d) for k, d in described.items()
                                                          if d is not None))))


def arithmetic_op(name: str, func, args, kwargs, out) -> Op | None:
    """The op of an arithmetic call with output ``out`` (see the notes above): an element-wise
    ``eltwise`` op (the four of h182: geometry their kind and the other operand's shape,
    None for a number, ``x * x``: x's, it reads x twice; the others their kind and
    arguments), a reduction's ``eltwise`` op (its kind, dimensions and keepdim; a norm's
    p), a sort's (its kind and arguments), a concatenation's, copy's, write's, scatter's or
    fill's ``resample`` op (``hwsim.copies.copy_op``); None for any other call, a view, or
    one on something else than tensors (the call itself will say)."""
    outs = _tensors(out)
    if is_copy(func):
        return copy_op(name, func, args, kwargs, outs)
    if not outs:
        return None
    y = outs[0]
    if func in ELEMENTWISE_KINDS:
        x, other = _split_operands(args, kwargs)
        if x is None:
            return None
        tensor = isinstance(other, torch.Tensor)
        shape = tuple(other.shape) if tensor else None
        op = make_op("eltwise", name, x.detach(), y.detach(), elems=y.numel(),
                     also=(other.detach(),) if tensor else ())
        return dataclasses.replace(op, geometry=(("kind", ELEMENTWISE_KINDS[func]),
                                                 ("other", shape)))
    if func in POINTWISE or func in PAIRED or _two_tensor_max(func, args, kwargs):
        return _pointwise_op(name, func, args, kwargs, y)
    if func in REDUCTION_KINDS:
        return _reduction_op(name, func, args, kwargs, outs)
    if func in SORT_KINDS:
        return _sort_op(name, func, args, kwargs, outs)
    return None


# every pointwise kind host_ops can replay is a torch function
assert all(callable(f) for f in POINTWISE_FUNCS.values())
assert not (set(POINTWISE) & set(ELEMENTWISE_KINDS)) and not (set(POINTWISE) & set(REDUCTION_KINDS))
assert not (set(PAIRED) & (set(POINTWISE) | set(REDUCTION_KINDS) | set(SORT_KINDS)))
assert not (set(SORT_KINDS) & (set(POINTWISE) | set(REDUCTION_KINDS))) \
    and not any(is_copy(f) for f in (*SORT_KINDS, *POINTWISE, *REDUCTION_KINDS))
