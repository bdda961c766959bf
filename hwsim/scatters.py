"""Values a forward writes into tensors without copying them from one source, as extraction
records them (``hwsim.copies`` dispatches here): writes into a tensor, scatters, fills,
ranges, random draws, partial fills and ``unravel_index``.  Each is a ``resample`` op (see
``hwsim.copies``): the values it reads and writes, and no arithmetic but a scatter's
accumulation, a range's or a draw's (``elems``).

- writes (kind ``copy``, since h193): an assignment ``x[idx] = v`` and ``x.copy_(v)`` write
  their values into the tensor, against their target (its shape: its samples).
- scatters (kind ``copy``, since h196: they were free): ``scatter``, ``scatter_add``,
  ``scatter_reduce``, ``index_add``, ``index_copy``, ``index_fill`` and ``index_put``, in
  place or not.  A scatter writes w values (``_scattered``: one per index of a scatter, the
  source's values of an index_add or index_copy, the chosen slices of an index_fill, the
  indexed region of an index_put) and reads its index tensors and the source values it
  writes (at most w; a number none).  In place that is all it writes (O = w); otherwise it
  copies its target first: its values read and all of the output written.  One that
  accumulates (scatter_add, scatter_reduce, index_add, scatter's ``reduce``, index_put's
  ``accumulate``) adds each value into its target: one element op per value (``elems`` =
  w), in place reading the w target values it adds to.  Since h203 (they were free) also
  ``masked_scatter`` (w: its mask's true values, the mask read), ``put`` (w: its indices;
  ``accumulate`` adds), ``index_reduce`` (w: its source's values, one reduce each) and the
  ``select_scatter``, ``slice_scatter`` and ``diagonal_scatter`` that write a src (w: its
  values, no index read) into a copy of their input.
- fills (kind ``copy``, func ``fill``, since h196): ``zeros_like``, ``ones_like``,
  ``full_like``, ``new_zeros``/``new_ones``/``new_full``, ``torch.fill``, ``fill_`` and
  ``zero_``, and since h203 the factories ``torch.zeros``, ``ones``, ``full``, ``eye`` and
  ``torch.tensor``/``new_tensor`` called in a forward: a constant written to every value of
  the output, nothing read (a tensor fill value: its value); ``arange``, ``linspace`` and
  ``triu_indices``/``tril_indices`` compute each value from its index too (one op a
  value, ``logspace`` and the window functions two, ``kaiser_window`` three).  ``empty_like``, ``new_empty`` and
  ``torch.empty`` write nothing: free.
- random draws (kind ``random``, since h203: they were free): ``rand``/``randn``/``randint``
  and their ``*_like``, ``randperm``, ``normal``, ``bernoulli``, ``multinomial``, the
  in-place ``uniform_``, ``normal_``..., and a dropout called with training=True
  (``F.dropout``'s default): every value drawn and written, the generator's element ops a
  value (``RANDOM``), the tensors the draw reads (probabilities, means, a dropout's input).
- (h209: they were free) in-place partial fills (``fill_diagonal_``, ``tril_``, ``triu_``:
  the values they set written, nothing read, against their target: ``PART_FILLS``) and
  ``unravel_index`` (two ops a coordinate, ``UNRAVEL``).
"""
from __future__ import annotations

import dataclasses
import math

import torch

from hwsim.op import FP32_BYTES, Op, make_op, source, tensor_forms, zeros_of

_T = torch.Tensor


# calls that write values into an existing tensor: ``x[idx] = v``, ``x.copy_(v)``
WRITES = {_T.__setitem__: "setitem", _T.copy_: "copy_"}
# scatters: each one's arguments after its target, in order
_SCATTER_ARGS = {
    "scatter": ("dim", "index", "src", "reduce"), "scatter_add": ("dim", "index", "src"),
    "scatter_reduce": ("dim", "index", "src", "reduce", "include_self"),
    "index_add": ("dim", "index", "source", "alpha"),
    "index_copy": ("dim", "index", "source"), "index_fill": ("dim", "index", "value"),
    "index_put": ("indices", "values", "accumulate"),
    # (h203: these were free) a masked scatter writes the source's first values where its
    # mask is true; put writes at flat indices; index_reduce reduces (prod, mean, amax,
    # amin) the source's values into the indexed slices; the select, slice and diagonal
    # scatters write their src into a copy of their input
    "masked_scatter": ("mask", "source"), "put": ("index", "source", "accumulate"),
    "index_reduce": ("dim", "index", "source", "reduce", "include_self"),
    "select_scatter": ("src", "dim", "index"),
    "slice_scatter": ("src", "dim", "start", "end", "step"),
    "diagonal_scatter": ("src", "offset", "dim1", "dim2"),
}
SCATTERS = {f: name for name in _SCATTER_ARGS for f in tensor_forms((name,))}
_ACCUMULATE = ("scatter_add", "scatter_reduce", "index_add", "index_reduce")
# scatters that write a whole tensor (their ``src``) and read no index tensor
_EMBEDS = ("select_scatter", "slice_scatter", "diagonal_scatter")
# the ``func`` of the copies recorded against their target, whose values read and written
# are counts of what they select there (a mask's, an index's), not a multiple of its samples
TARGETED = frozenset(WRITES.values()) | frozenset(_SCATTER_ARGS) \
    | frozenset(("fill_diagonal", "tril_", "triu_"))
# fills: a constant written to a new tensor of an input's shape (or the input itself)
# (h203: and the factories torch.zeros, ones, full and eye a forward calls: they were free);
# the ranges compute each value from its index too: element ops per value (``RANGES``)
RANGES = {torch.arange: 1, torch.linspace: 1, torch.logspace: 2, torch.triu_indices: 1,
          torch.tril_indices: 1, torch.range: 1,
          # windows: a cosine of the index and a multiply-add (kaiser: a Bessel i0 too)
          torch.hann_window: 2, torch.hamming_window: 2, torch.blackman_window: 2,
          torch.bartlett_window: 2, torch.kaiser_window: 3}
# (and a constant made in the forward, torch.tensor([...]): its values written)
FILLS = {f: "fill" for f in (*tensor_forms(("zeros_like", "ones_like", "full_like",
                                            "new_zeros", "new_ones", "new_full", "fill",
                                            "zero", "zeros", "ones", "full", "eye", "tensor",
                                            "scalar_tensor", "new_tensor")), *RANGES,
                             torch.nn.init.constant_)}   # (h227: a mode sees it as one call)
# random draws (kind ``random``, h203: they were free): the generator's work, element ops per
# value drawn (``_random_op``), by the distribution drawn from
_F = torch.nn.functional
_INIT = torch.nn.init
_DRAWS = (
    # (h227: and the torch.nn.init draws a mode sees, as one call: refused since d816169's
    # watch, free before)
    ("uniform", 1, (torch.rand, torch.rand_like, _T.uniform_, torch.randint,
                    torch.randint_like, _T.random_, _INIT.uniform_, _INIT.kaiming_uniform_)),
    # a permutation: a draw and a swap a value (Fisher-Yates)
    ("uniform", 2, (torch.randperm,)),
    # a uniform draw and its transform (Box-Muller; -log u; tan; log; a compare with p)
    ("normal", 2, (torch.randn, torch.randn_like, torch.normal, _T.normal_, _INIT.normal_)),
    ("log_normal", 3, (_T.log_normal_,)),
    ("bernoulli", 2, (torch.bernoulli, _T.bernoulli, _T.bernoulli_)),
    ("exponential", 2, (_T.exponential_, _T.cauchy_, _T.geometric_, torch.poisson)),
    ("multinomial", 1, (torch.multinomial, _T.multinomial)),
    # dropout called with training=True (F.dropout's default): a mask drawn (bernoulli's
    # two) and applied (a multiply; alpha dropout's affine: two)
    ("dropout", 3, (_F.dropout, _F.dropout1d, _F.dropout2d, _F.dropout3d, torch.dropout,
                    torch.feature_dropout, torch.dropout_, torch.feature_dropout_,
                    torch.native_dropout)),
    ("dropout", 4, (_F.alpha_dropout, _F.feature_alpha_dropout, torch.alpha_dropout,
                    torch.feature_alpha_dropout, torch.alpha_dropout_,
                    torch.feature_alpha_dropout_)),
    ("binomial", 2, (torch.binomial,)),
    # Gumbel noise (a draw, two logs) added to the logits, then their softmax: 4
    ("gumbel", 4, (_F.gumbel_softmax,)),
)
RANDOM = {f: (draw, ops) for draw, ops, fs in _DRAWS for f in fs}
# (h209: these were free, their output their target's storage: taken for views) in-place
# fills of part of a tensor: the diagonal (``fill_diagonal_``) or the triangle a ``tril_`` /
# ``triu_`` zeroes; the values set written (``_part_written``), nothing read
PART_FILLS = {_T.fill_diagonal_: "fill_diagonal", _T.tril_: "tril_", _T.triu_: "triu_"}
# (h209: it was free) flat indices made coordinates: a floor-divide and a remainder a
# coordinate of each index, every coordinate written
UNRAVEL = {torch.unravel_index: "unravel_index"} if hasattr(torch, "unravel_index") else {}


def is_written(func) -> bool:
    """Whether ``func`` is one of this module's calls (a write, scatter, fill, random draw,
    partial fill or ``unravel_index``)."""
    return func in WRITES or func in SCATTERS or func in FILLS or func in RANDOM \
        or func in PART_FILLS or func in UNRAVEL


def written_kind(func) -> str:
    """The kind such a call's op is named by: ``setitem``, ``copy_``, a scatter's name
    (``scatter_add``, ``index_put``), ``fill``, a partial fill's name, ``random`` or
    ``copy`` (``unravel_index``)."""
    for table in (WRITES, SCATTERS, FILLS, PART_FILLS):
        if func in table:
            return table[func]
    return "random" if func in RANDOM else "copy"


def written_reads(func, args, kwargs) -> list:
    """The tensors a write or scatter reads, measured for their zeros before the call (an
    in-place one overwrites its target): a write's value and indices, a scatter's indices
    and values (and its target, copied first, when not in place); [] for any other call (a
    concatenation's zeros are its output's; a copy does not change its source, measured by
    ``copy_op`` once it is known to be no view)."""
    if func in WRITES:
        return _write_reads(func, args, kwargs)
    if func in SCATTERS:
        c = _scatter_call(func, args, kwargs)
        reads = [*c["index"], *([c["values"]] if isinstance(c["values"], torch.Tensor) else [])]
        if not _in_place(func) and isinstance(c["self"], torch.Tensor):
            reads.insert(0, c["self"])
        return reads
    return []


def _written(func, args, kwargs):
    """(the value tensor a write reads or None for a number, its target tensor, key)."""
    if func is _T.copy_:
        c = {**dict(zip(("self", "src"), args)), **kwargs}
        return c.get("src"), c.get("self"), None
    c = dict(zip(("self", "key", "value"), args))
    return c.get("value"), c.get("self"), c.get("key")


def _write_reads(func, args, kwargs) -> list:
    """The tensors a write reads: its value (a number is none) and its key's index or mask
    tensors (``x[mask] = 0`` reads the mask)."""
    value, _, key = _written(func, args, kwargs)
    keys = key if isinstance(key, (tuple, list)) else (key,)
    return [t for t in (value, *keys) if isinstance(t, torch.Tensor)]


def _scatter_call(func, args, kwargs) -> dict:
    """A scatter's arguments by name: ``self`` its target, ``values`` what it writes (a
    tensor or a number: src, source, values or value), ``index`` its index tensors (a list)."""
    name = SCATTERS[func]
    c = {**dict(zip(("self",) + _SCATTER_ARGS[name], args)), **kwargs}
    c.setdefault("self", c.get("input"))
    c["values"] = next((c[k] for k in ("src", "source", "values", "value") if k in c), None)
    index = (c.get("indices") if name == "index_put" else [c.get("mask")]
             if name == "masked_scatter" else [c.get("index")])
    c["index"] = [t for t in (index if isinstance(index, (tuple, list)) else ())
                  if isinstance(t, torch.Tensor)]
    return c


def _scattered(name: str, c: dict) -> int | None:
    """Values a scatter writes into its target (see the notes above); None where its
    arguments are not such (the call itself will say)."""
    target, values = c["self"], c["values"]
    if not isinstance(target, torch.Tensor):
        return None
    if name == "index_put":   # its indexed region (a None index: the whole dimension)
        return math.prod(_region(name, c, 0)) if isinstance(c.get("indices"), (tuple, list)) \
            else None
    if name in _EMBEDS:   # its src, written whole
        return values.numel() if isinstance(values, torch.Tensor) else None
    if not c["index"]:
        return None
    if name == "masked_scatter":   # one source value for each true value of its mask (as
        try:                       # broadcast over the target)
            return int(torch.broadcast_to(c["index"][0], target.shape).count_nonzero())
        except RuntimeError:
            return None
    if name.startswith("scatter") or name == "put":
        return c["index"][0].numel()
    if name in ("index_add", "index_copy", "index_reduce"):
        return values.numel() if isinstance(values, torch.Tensor) else None
    dim = c.get("dim")   # index_fill: every value of the chosen slices
    if target.dim() == 0 or not isinstance(dim, int):
        return c["index"][0].numel()
    return target.numel() // max(target.shape[dim], 1) * c["index"][0].numel()


def _accumulates(name: str, c: dict) -> bool:
    return name in _ACCUMULATE or (name == "scatter" and c.get("reduce") is not None) \
        or (name in ("index_put", "put") and bool(c.get("accumulate")))


def _in_place(func) -> bool:
    return getattr(func, "__name__", "").endswith("_")


def _write_op(name, func, args, kwargs) -> Op | None:
    """A write's ``resample`` op, of its target's shape (``in_shape`` and ``out_shape``: its
    samples, as an in-place scatter's): its value's values read (a number: none) and its
    key's indices, the region it writes (``out_bytes``).  (Its input shape was its value's,
    () for a number, and its output's the region's, a mask's selection flat: it covered no
    batch, and SPRING ran every batch of a model with ``x[mask] = 0`` whole, h200.)"""
    value, target, key = _written(func, args, kwargs)
    if not isinstance(target, torch.Tensor):
        return None
    region = target if func is _T.copy_ else target[key]   # (hwsim's: not recorded)
    reads = _write_reads(func, args, kwargs)
    op = make_op("resample", name, target.detach(), target.detach())
    return dataclasses.replace(
        op, in_bytes=sum(t.numel() for t in reads) * FP32_BYTES,
        out_bytes=region.numel() * FP32_BYTES,
        act_sparsity=zeros_of([t.detach() for t in reads]),
        geometry=(("kind", "copy"), ("func", WRITES[func]),
                  *_broadcast(value, tuple(region.shape))))


def _broadcast(value, written: tuple) -> tuple:
    """A write's or scatter's geometry item ``broadcast``: the values of its value tensor
    where that is broadcast over the region it writes (of shape ``written``) without a
    leading dimension of its own (fewer dimensions, or a leading 1: a 0-d value, a row of
    C values), read once whatever the target's samples (``hwsim.op.batch_shared_elems``);
    none for a number or a value of its own per written value (or per leading index)."""
    n = value.numel() if isinstance(value, torch.Tensor) else 0
    shared = 0 < n < math.prod(written) and (value.dim() < len(written) or value.shape[0] == 1)
    return (("broadcast", n),) if shared else ()


def _scatter_op(name, func, args, kwargs, y) -> Op | None:
    """A scatter's ``resample`` op: in place, its w written values (``out_bytes``) of its
    target's shape (``out_shape``: its samples); otherwise a copy of its target first."""
    kind = SCATTERS[func]
    c = _scatter_call(func, args, kwargs)
    w = _scattered(kind, c)
    if w is None:
        return None
    target, values = c["self"], c["values"]
    picked = min(values.numel(), w) if isinstance(values, torch.Tensor) else 0
    reads = sum(t.numel() for t in c["index"]) + picked     # indices, values written
    adds = w if _accumulates(kind, c) else 0                 # one element op per value added
    if _in_place(func):
        reads, written = reads + adds, w                     # (the values it adds into)
    else:
        reads, written = reads + target.numel(), y.numel()   # its target copied first
    op = make_op("resample", name, target.detach(), y.detach())
    return dataclasses.replace(op, in_bytes=reads * FP32_BYTES, out_bytes=written * FP32_BYTES,
                               elems=adds, geometry=(("kind", "copy"), ("func", kind),
                                                     *_broadcast(values, _region(kind, c, w))))


def _region(name: str, c: dict, w: int) -> tuple:
    """The shape of what a scatter writes: an index_put's indexed region, any other's w
    values (its value broadcasts only as a 0-d tensor there)."""
    idx = c.get("indices")
    if name == "index_put" and isinstance(idx, (tuple, list)):
        return tuple(c["self"][tuple(slice(None) if i is None else i for i in idx)].shape)
    return (w,)


def _fill_op(name, func, args, kwargs, y) -> Op | None:
    """A fill: every value of its output written, a tensor fill value read (a number: none);
    its input's shape is its output's (its samples), nothing read from it."""
    value = next((v for v in (*args[1:], *kwargs.values()) if isinstance(v, torch.Tensor)
                  and v.dim() == 0), None)
    op = make_op("resample", name, y.detach(), y.detach())
    return dataclasses.replace(op, in_bytes=(value.numel() if value is not None else 0)
                               * FP32_BYTES, elems=RANGES.get(func, 0) * y.numel(),
                               geometry=(("kind", "copy"), ("func", "fill")))


def _random_op(name, func, args, kwargs, y) -> Op | None:
    """Random draws: every value of the output drawn (its distribution's element ops a
    value, ``RANDOM``) and written; the tensors the draw reads (bernoulli's probabilities,
    normal's means and deviations, multinomial's, a dropout's input), not a ``*_like``'s
    input nor an in-place draw's target (only their shape).  Multinomial sums each row of
    its K probabilities (K ops) and finds each sample among them by a binary search (a
    draw and ceil(log2 K) comparisons).  A dropout with training=False is the identity:
    free."""
    draw, per = RANDOM[func]
    c = {**dict(zip(("input", "p", "training"), args)), **kwargs}
    if draw == "dropout" and not c.get("training", True):
        return None
    skip = 1 if _in_place(func) or getattr(func, "__name__", "").endswith("_like") else 0
    rest = [*args[skip:], *(v for k, v in kwargs.items() if k != "out")]
    reads = [t for v in rest for t in (v if isinstance(v, (tuple, list)) else (v,))
             if isinstance(t, torch.Tensor) and t is not y]   # (an in-place draw's target
    elems = per * y.numel()                                  # passed by keyword: nn.init's)
    if draw == "multinomial" and reads:
        k = reads[0].shape[-1] if reads[0].dim() else 1
        elems = reads[0].numel() + y.numel() * (1 + math.ceil(math.log2(max(k, 1))))
    op = make_op("resample", name, y.detach(), y.detach())
    return dataclasses.replace(op, in_bytes=sum(t.numel() for t in reads) * FP32_BYTES,
                               elems=elems, act_sparsity=zeros_of([t.detach() for t in reads]),
                               geometry=(("kind", "copy"), ("func", "random"),
                                         ("draw", draw)))


def _from_diagonal(m: int, n: int, d: int) -> int:
    """Values (i, j) of an m x n matrix with j - i >= d."""
    return sum(max(0, n - max(0, i + d)) for i in range(m))


def _part_written(kind: str, x: torch.Tensor, args, kwargs) -> int:
    """Values an in-place partial fill (``PART_FILLS``) sets in ``x``: a ``tril_(k)`` the
    j - i > k of each matrix, a ``triu_(k)`` the j - i < k; a ``fill_diagonal_`` its
    min(rows, cols) diagonal (all dimensions' equal size for more than 2), with ``wrap`` a
    tall matrix's diagonal again every cols + 1 rows (torch's fill_diagonal_)."""
    if kind == "fill_diagonal":
        c = {**dict(zip(("self", "fill_value", "wrap"), args)), **kwargs}
        if x.dim() < 2:
            return 0
        h, w = x.shape[0], x.shape[1]
        size = min(h, w)
        if c.get("wrap") and x.dim() == 2 and h > w + 1:
            return -(-x.numel() // (w + 1))
        return size
    if x.dim() < 2:
        return 0
    k = {**dict(zip(("self", "diagonal"), args)), **kwargs}.get("diagonal", 0)
    m, n = x.shape[-2], x.shape[-1]
    per = _from_diagonal(m, n, k + 1) if kind == "tril_" else m * n - _from_diagonal(m, n, k)
    return per * (x.numel() // max(m * n, 1))


def _part_fill_op(name, func, args, kwargs) -> Op | None:
    """A partial fill's ``resample`` op against its target (its shape, its samples): the
    values it sets written (``out_bytes``), nothing read."""
    x = source(args, kwargs)
    if x is None:
        return None
    kind = PART_FILLS[func]
    op = make_op("resample", name, x.detach(), x.detach())
    return dataclasses.replace(op, in_bytes=0, act_sparsity=0.0,
                               out_bytes=_part_written(kind, x, args, kwargs) * FP32_BYTES,
                               geometry=(("kind", "copy"), ("func", kind)))


def _unravel_op(name, args, kwargs, outs) -> Op | None:
    """``unravel_index``: its indices read, each index's coordinates (one a dimension of its
    shape) computed, a floor-divide and a remainder each, and written."""
    x = source(args, kwargs)
    if x is None or not outs:
        return None
    op = make_op("resample", name, x.detach(), outs[0].detach())
    coords = sum(t.numel() for t in outs)
    return dataclasses.replace(op, out_bytes=coords * FP32_BYTES, elems=2 * coords,
                               geometry=(("kind", "copy"), ("func", "unravel_index"),
                                         ("dims", len(outs))))


def written_op(name: str, func, args, kwargs, outs: list) -> Op | None:
    """The ``resample`` op of a write, scatter, fill, random draw, partial fill or
    ``unravel_index`` (``kind`` copy, ``func`` what it was); None for a call on something
    else than tensors (the call itself will say)."""
    if func in WRITES:
        return _write_op(name, func, args, kwargs)
    if func in PART_FILLS:
        return _part_fill_op(name, func, args, kwargs)
    if func in UNRAVEL:
        return _unravel_op(name, args, kwargs, outs)
    if not outs:
        return None
    y = outs[0]
    if func in SCATTERS:
        return _scatter_op(name, func, args, kwargs, y)
    if func in FILLS:
        return _fill_op(name, func, args, kwargs, y)
    if func in RANDOM:
        return _random_op(name, func, args, kwargs, y)
    return None
