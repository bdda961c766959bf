"""Data a forward moves between tensors outside its layers, as extraction records it
(``hwsim.arithmetic`` dispatches here): concatenations and stacks, copies, writes into a
tensor, scatters and fills.  Each is a ``resample`` op: the values it reads (I) and writes
(O), I + O values of DRAM or NVM traffic at every backend's precision, and no arithmetic but
a scatter's accumulation (``elems``).

- concatenations (kind ``cat``): ``torch.cat``, ``stack`` and since h196 ``hstack``,
  ``vstack``/``row_stack``, ``dstack`` and ``column_stack`` (they were free): a copy of the
  pieces into one tensor, as a padding layer's copy: I = O values read and written.
- copies (kind ``copy``, since h193): a clone, a repeat or tile, a flip or roll, a gather
  (index_select, advanced indexing ``x[idx]``, masked_select), and a reshape, flatten or
  contiguous() that had to copy; an assignment ``x[idx] = v`` and ``x.copy_(v)`` write their
  values into the tensor.  Each reads its source once (at most the values it writes: a
  gather reads what it picks; a repeat reads its input once) and its index tensors, and
  writes its output.  A call whose output shares its input's storage is a view
  (``x.reshape`` of a contiguous tensor, ``x[:, 0]``, ``x.contiguous()`` of a contiguous
  one): it moves no data and stays free, as do ``view``, ``permute``, ``transpose``,
  ``expand``, ``squeeze``, ``split``/``chunk``/``unbind`` (views, never recorded here).
- scatters (kind ``copy``, since h196: they were free): ``scatter``, ``scatter_add``,
  ``scatter_reduce``, ``index_add``, ``index_copy``, ``index_fill`` and ``index_put``, in
  place or not.  A scatter writes w values (``_scattered``: one per index of a scatter, the
  source's values of an index_add or index_copy, the chosen slices of an index_fill, the
  indexed region of an index_put) and reads its index tensors and the source values it
  writes (at most w; a number none).  In place that is all it writes (O = w); otherwise it
  copies its target first: its values read and all of the output written.  One that
  accumulates (scatter_add, scatter_reduce, index_add, scatter's ``reduce``, index_put's
  ``accumulate``) adds each value into its target: one element op per value (``elems`` =
  w), in place reading the w target values it adds to.
- fills (kind ``copy``, func ``fill``, since h196): ``zeros_like``, ``ones_like``,
  ``full_like``, ``new_zeros``/``new_ones``/``new_full``, ``torch.fill``, ``fill_`` and
  ``zero_``: a constant written to every value of the output, nothing read (a tensor fill
  value: its value).  ``empty_like`` and ``new_empty`` write nothing: free.
"""
from __future__ import annotations

import dataclasses
import math

import torch

from hwsim.op import FP32_BYTES, Op, make_op, zeros_of

_T = torch.Tensor


def tensor_forms(names, owners=(torch, _T), inplace: bool = True) -> list:
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


# concatenations: the dimension each joins its pieces along in its output (``_join_dim``)
_STACKS = {"hstack": None, "vstack": 0, "row_stack": 0, "dstack": 2, "column_stack": 1}
CONCATS = frozenset(f for f in (torch.cat, torch.concat, getattr(torch, "concatenate", None),
                                torch.stack, *(getattr(torch, n, None) for n in _STACKS))
                    if f is not None)
# calls that make a new tensor of their input's values (or a view: ``_is_view``, free); the
# source is their first argument, any other tensor argument an index they read
COPIES = {f: name for name in (
    "clone", "contiguous", "reshape", "flatten", "ravel", "repeat", "tile",
    "repeat_interleave", "flip", "fliplr", "flipud", "roll", "rot90", "index_select",
    "gather", "take", "take_along_dim", "masked_select", "narrow_copy", "tril", "triu",
    "__getitem__") for f in tensor_forms((name,), inplace=False)}
# calls that write values into an existing tensor: ``x[idx] = v``, ``x.copy_(v)``
WRITES = {_T.__setitem__: "setitem", _T.copy_: "copy_"}
# scatters: each one's arguments after its target, in order
_SCATTER_ARGS = {
    "scatter": ("dim", "index", "src", "reduce"), "scatter_add": ("dim", "index", "src"),
    "scatter_reduce": ("dim", "index", "src", "reduce", "include_self"),
    "index_add": ("dim", "index", "source", "alpha"),
    "index_copy": ("dim", "index", "source"), "index_fill": ("dim", "index", "value"),
    "index_put": ("indices", "values", "accumulate"),
}
SCATTERS = {f: name for name in _SCATTER_ARGS for f in tensor_forms((name,))}
_ACCUMULATE = ("scatter_add", "scatter_reduce", "index_add")
# the ``func`` of the copies recorded against their target, whose values read and written
# are counts of what they select there (a mask's, an index's), not a multiple of its samples
TARGETED = frozenset(WRITES.values()) | frozenset(_SCATTER_ARGS)
# fills: a constant written to a new tensor of an input's shape (or the input itself)
FILLS = {f: "fill" for f in tensor_forms(("zeros_like", "ones_like", "full_like", "new_zeros",
                                          "new_ones", "new_full", "fill", "zero"))}


def is_copy(func) -> bool:
    """Whether ``func`` moves values between tensors (this module's tables)."""
    return func in CONCATS or func in COPIES or func in WRITES or func in SCATTERS \
        or func in FILLS


def copy_kind(func) -> str:
    """The kind a copy's op is named by: ``cat``, ``setitem``, ``copy_``, a scatter's name
    (``scatter_add``, ``index_put``), ``fill`` or ``copy``."""
    for table in (WRITES, SCATTERS, FILLS):
        if func in table:
            return table[func]
    return "cat" if func in CONCATS else "copy"


def source(args, kwargs):
    """A call's first tensor argument (``input``/``self``): a copy's source."""
    x = args[0] if args else kwargs.get("input", kwargs.get("self"))
    return x if isinstance(x, torch.Tensor) else None


def _index_tensors(func, args, kwargs) -> list:
    """The tensors a copy reads besides its source: its indices or mask (``x[idx]``'s key
    may be a tuple of them)."""
    rest = [*args[1:], *(v for k, v in kwargs.items() if k not in ("input", "self", "out"))]
    flat = [t for v in rest for t in (v if isinstance(v, (tuple, list)) else (v,))]
    return [t for t in flat if isinstance(t, torch.Tensor)]


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
    index = c.get("indices") if name == "index_put" else [c.get("index")]
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
    if not c["index"]:
        return None
    if name.startswith("scatter"):
        return c["index"][0].numel()
    if name in ("index_add", "index_copy"):
        return values.numel() if isinstance(values, torch.Tensor) else None
    dim = c.get("dim")   # index_fill: every value of the chosen slices
    if target.dim() == 0 or not isinstance(dim, int):
        return c["index"][0].numel()
    return target.numel() // max(target.shape[dim], 1) * c["index"][0].numel()


def _accumulates(name: str, c: dict) -> bool:
    return name in _ACCUMULATE or (name == "scatter" and c.get("reduce") is not None) \
        or (name == "index_put" and bool(c.get("accumulate")))


def copy_reads(func, args, kwargs) -> list:
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


def _in_place(func) -> bool:
    return getattr(func, "__name__", "").endswith("_")


def _is_view(y: torch.Tensor, x: torch.Tensor) -> bool:
    """Whether ``y`` shares ``x``'s storage (a view: no value moved).  A tensor without
    storage to compare (sparse, empty) counts as a view."""
    try:
        return y.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):
        return True


def _copy_op(name, func, args, kwargs, y) -> Op | None:
    x = source(args, kwargs)
    if x is None or _is_view(y, x):   # a view moves nothing: free
        return None
    index = _index_tensors(func, args, kwargs)
    op = make_op("resample", name, x.detach(), y.detach(), also=tuple(t.detach() for t in index))
    # the source read once, at most the values written; its indices read
    reads = min(x.numel(), y.numel()) + sum(t.numel() for t in index)
    return dataclasses.replace(op, in_bytes=reads * FP32_BYTES,
                               geometry=(("kind", "copy"), ("func", COPIES[func])))


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
                               * FP32_BYTES, geometry=(("kind", "copy"), ("func", "fill")))


def _join_dim(func, y: torch.Tensor, c: dict) -> int:
    """The output dimension a concatenation joins its pieces along: its ``dim`` (a stack's
    new one), or a stack function's own (hstack: 0 of 1-d pieces, else 1)."""
    name = getattr(func, "__name__", "")
    if name in _STACKS:
        return (0 if y.dim() == 1 else 1) if _STACKS[name] is None else _STACKS[name]
    return c.get("dim", c.get("axis", 0)) % max(y.dim(), 1)


def _cat_op(name, func, args, kwargs, y) -> Op | None:
    c = {**dict(zip(("tensors", "dim"), args)), **kwargs}
    pieces = c.get("tensors")
    if not isinstance(pieces, (list, tuple)) or not pieces \
            or not all(isinstance(t, torch.Tensor) for t in pieces):
        return None
    dim = _join_dim(func, y, c)
    # each piece's extent along it: its values over the output's per unit of that dimension
    # (a stacked piece 1; a 1-d piece of a vstack one row)
    per = y.numel() // y.shape[dim] if y.dim() and y.shape[dim] else 0
    sizes = tuple(t.numel() // per if per else 0 for t in pieces)
    y = y.detach()
    op = make_op("resample", name, y, y)   # its pieces' values in, as many out
    return dataclasses.replace(op, geometry=(("kind", "cat"), ("dim", dim), ("sizes", sizes)))


def copy_op(name: str, func, args, kwargs, outs: list) -> Op | None:
    """The ``resample`` op of a concatenation (``kind`` cat, the output dimension it joins
    along and each piece's extent there: a stack's pieces are 1 each), a copy's, write's,
    scatter's or fill's (``kind`` copy, ``func`` what it was); None for a view or a call on
    something else than tensors (the call itself will say)."""
    if func in WRITES:
        return _write_op(name, func, args, kwargs)
    if not outs:
        return None
    y = outs[0]
    if func in SCATTERS:
        return _scatter_op(name, func, args, kwargs, y)
    if func in FILLS:
        return _fill_op(name, func, args, kwargs, y)
    if func in COPIES:
        return _copy_op(name, func, args, kwargs, y)
    if func in CONCATS:
        return _cat_op(name, func, args, kwargs, y)
    return None
