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
  contiguous() that had to copy, and since h203 ``diag``/``diag_embed``/``diagflat``, F.unfold,
  F.one_hot, F.max_unpool, F.fold (an add a value read), F.grid_sample (an interpolation:
  4 ops an output bilinear, 16 bicubic), F.affine_grid (3 an output), ``block_diag``,
  ``cartesian_prod``, ``combinations`` and the ``*_copy`` functions (``expand_copy``,
  ``permute_copy``...), and since h219 ``copy.deepcopy`` of a tensor and a ``Tensor.to``
  that keeps dtype and device but copies (``memory_format=``, ``copy=True``; a cast stays
  free).  Each reads its source once (at most the values it writes: a
  gather reads what it picks; a repeat reads its input once) and its index tensors, and
  writes its output.  A call whose output shares its input's storage is a view
  (``x.reshape`` of a contiguous tensor, ``x[:, 0]``, ``x.contiguous()`` of a contiguous
  one): it moves no data and stays free, as do ``view``, ``permute``, ``transpose``,
  ``expand``, ``squeeze``, ``split``/``chunk``/``unbind`` (views, never recorded here).
- host data made a tensor in a forward (h209: it was free): ``torch.as_tensor``/``asarray``
  of a numpy array or a list, and since h219 ``torch.from_numpy``, ``frombuffer`` and
  ``from_dlpack`` of host data (no mode sees them: ``hwsim.unseen`` wraps them while it
  runs) and ``torch.from_file``: its values written to the device, ``FROM_HOST``.
  Since h227 also the legacy constructors (``torch.Tensor(ndarray)``, ``FloatTensor(list)``,
  ``x.new(list)``) and a ``from_numpy`` bound before extract (``from torch import
  from_numpy``): no mode sees them, ``hwsim.unseen`` answers the aten::lift_fresh every
  constructor of host values calls (``host_op``), and the module globals bound to
  frombuffer or from_dlpack are wrapped as torch's are.
- a copy whose source or output is sparse moves what it stores: its values and indices
  (``_sparse_copy_op``; it counted as a view and was free), and so does a layout
  conversion (``to_sparse``, ``to_dense``: all its source stores read, all its output
  stores written; a dense tensor's every value).
- writes into a tensor (``x[idx] = v``, ``x.copy_(v)``), scatters, fills, random draws,
  partial fills and ``unravel_index``: ``hwsim.scatters``, dispatched from here.
"""
from __future__ import annotations

import dataclasses

import torch

from hwsim.op import FP32_BYTES, Op, Refusal, make_op, source, tensor_forms, zeros_of
from hwsim.scatters import is_written, written_kind, written_op, written_reads

# concatenations: the dimension each joins its pieces along in its output (``_join_dim``)
_STACKS = {"hstack": None, "vstack": 0, "row_stack": 0, "dstack": 2, "column_stack": 1}
CONCATS = frozenset(f for f in (torch.cat, torch.concat, getattr(torch, "concatenate", None),
                                torch.stack, *(getattr(torch, n, None) for n in _STACKS))
                    if f is not None)
# layout conversions: they read all their source stores (``_sparse_copy_op``)
# (h219: and to_mkldnn, free before: no table listed it)
_CONVERSIONS = ("to_dense", "to_sparse", "to_sparse_coo", "to_sparse_csr", "to_sparse_csc",
                "to_sparse_bsr", "to_sparse_bsc", "to_mkldnn")
# calls that make a new tensor of their input's values (or a view: ``_is_view``, free); the
# source is their first argument, any other tensor argument an index they read
COPIES = {f: name for name in (
    "clone", "contiguous", "reshape", "flatten", "ravel", "repeat", "tile",
    "repeat_interleave", "flip", "fliplr", "flipud", "roll", "rot90", "index_select",
    "gather", "take", "take_along_dim", "masked_select", "narrow_copy", "tril", "triu",
    "__getitem__", *_CONVERSIONS,
    # (h203: these were free) a diagonal taken or embedded (the rest of its matrix zeros,
    # written), and the explicit copies of views
    "diag", "diag_embed", "diagflat", "alias_copy", "as_strided_copy", "detach_copy",
    "diagonal_copy", "expand_copy", "permute_copy", "select_copy", "slice_copy",
    "squeeze_copy", "t_copy", "transpose_copy", "unfold_copy", "unsqueeze_copy", "view_copy",
    "view_as_real_copy", "view_as_complex_copy",
    # pieces copied into a new tensor (the others read as a copy's further tensors)
    "block_diag", "cartesian_prod", "combinations",
    # (h219: these were free) copy.deepcopy of a tensor (a clone), and ``Tensor.to`` where
    # it keeps the dtype and device and still makes new storage (``memory_format=``,
    # ``copy=True``: as contiguous(memory_format=) and clone are); a cast stays free
    # (``_copy_op``)
    "__deepcopy__", "to",
    # (h227: free) a quantized tensor's integers copied out as a tensor of their own; a padded
    # batch of sequences packed (nn.utils.rnn.pack_padded_sequence: its values copied in time
    # order, its lengths read) and unpacked
    "int_repr", "_pack_padded_sequence", "_pad_packed_sequence",
    # (h227) transposes: views of a strided tensor (free), copies of a sparse one's values
    # and indices
    "t", "transpose", "permute", "swapaxes", "swapdims", "movedim", "moveaxis")
    for f in tensor_forms((name,), inplace=False)}
COPIES[torch.nn.functional.unfold] = "unfold"   # im2col: each window's values copied out
COPIES[torch.nn.functional.one_hot] = "one_hot"   # its indices read, its rows written
# (h203) an unpooling's values scattered into its zeroed output (its indices read); a fold
# (col2im) adds its windows' overlapping values; grid sampling interpolates each output from
# its input's neighbours (bilinear: 4 weighted values, bicubic 16, nearest 0) at a grid
# point read; an affine grid computes each point's two coordinates (3 multiply-adds each)
_F = torch.nn.functional
COPIES.update({_F.max_unpool1d: "max_unpool", _F.max_unpool2d: "max_unpool",
               _F.max_unpool3d: "max_unpool", _F.fold: "fold", _F.grid_sample: "grid_sample",
               _F.affine_grid: "affine_grid"})
_SAMPLE_OPS = {"bilinear": 4, "bicubic": 16, "nearest": 0}
# (h209: these were free) host data made a tensor in a forward (a numpy array, a list): its
# values copied to the device, written (as ``torch.tensor``); of a tensor, a copy where it
# converts (a dtype) and free where it returns it or a view of it
# (torch.from_numpy, frombuffer and from_dlpack no TorchFunctionMode sees: hwsim.unseen
# shows them to its own while it runs; torch.from_file, a file's values, it sees: all were
# free, h219)
FROM_HOST = {f: "from_host" for f in (
    torch.as_tensor, torch.from_numpy, getattr(torch, "asarray", None),
    getattr(torch, "frombuffer", None), getattr(torch, "from_dlpack", None),
    getattr(torch, "from_file", None),
    # (h227: free) the legacy x.new(list) / x.new(ndarray); torch.Tensor(ndarray) and the typed
    # legacy classes no mode sees: hwsim.unseen answers their aten::lift_fresh
    torch.Tensor.new) if f is not None}


def is_copy(func) -> bool:
    """Whether ``func`` moves values between tensors (this module's tables and
    ``hwsim.scatters``')."""
    return func in CONCATS or func in COPIES or func in FROM_HOST or is_written(func)


def copy_kind(func) -> str:
    """The kind a copy's op is named by: ``cat``, ``setitem``, ``copy_``, a scatter's name
    (``scatter_add``, ``index_put``), ``fill``, ``random`` or ``copy``."""
    if is_written(func):
        return written_kind(func)
    return "cat" if func in CONCATS else "copy"


def copy_reads(func, args, kwargs) -> list:
    """The tensors a write or scatter reads, measured for their zeros before the call (an
    in-place one overwrites its target): a write's value and indices, a scatter's indices
    and values (and its target, copied first, when not in place); [] for any other call (a
    concatenation's zeros are its output's; a copy does not change its source, measured by
    ``copy_op`` once it is known to be no view)."""
    return written_reads(func, args, kwargs)


def _index_tensors(func, args, kwargs) -> list:
    """The tensors a copy reads besides its source: its indices or mask (``x[idx]``'s key
    may be a tuple of them)."""
    rest = [*args[1:], *(v for k, v in kwargs.items() if k not in ("input", "self", "out"))]
    flat = [t for v in rest for t in (v if isinstance(v, (tuple, list)) else (v,))]
    return [t for t in flat if isinstance(t, torch.Tensor)]


def _stored(t: torch.Tensor) -> list:
    """The tensors holding ``t``'s stored values: ``t`` itself where it is strided, a sparse
    tensor's values and indices (COO: values and indices; CSR, CSC, BSR, BSC: values and
    their compressed and plain indices), an MKL-DNN tensor's values (all of them, in its
    blocked order: read as a dense copy, for their count and zeros)."""
    if t.layout == torch.strided:
        return [t]
    if t.layout == torch.sparse_coo:
        return [t._values(), t._indices()]
    if t.layout in (torch.sparse_csr, torch.sparse_bsr):
        return [t.values(), t.crow_indices(), t.col_indices()]
    if t.layout in (torch.sparse_csc, torch.sparse_bsc):
        return [t.values(), t.ccol_indices(), t.row_indices()]
    if t.layout == torch._mkldnn:
        return [t.to_dense()]
    raise Refusal(f"hwsim cannot price a copy of a {t.layout} tensor (known layouts: "
                    f"strided, sparse, mkldnn)")


def stored_address(t: torch.Tensor) -> int:
    """Where ``t``'s values start: its storage's (a sparse tensor's, that of its stored
    values), an MKL-DNN tensor's buffer (it has no storage: torch.ops.mkldnn.data_ptr)."""
    if t.layout == torch._mkldnn:
        return int(torch.ops.mkldnn.data_ptr(t))
    return _stored(t)[0].untyped_storage().data_ptr()


def _is_view(y: torch.Tensor, x: torch.Tensor) -> bool:
    """Whether ``y`` shares ``x``'s storage (a view: no value moved): a sparse tensor's, that
    of its stored values; an MKL-DNN tensor's, its buffer (a reshape of one is a view, its
    clone a copy).  A sparse tensor's copy counted as a view and was free (h203), and so did
    an MKL-DNN tensor's (no storage: h219); a layout hwsim cannot read is refused
    (``_stored``)."""
    return y is x or stored_address(y) == stored_address(x)


def _copy_op(name, func, args, kwargs, y) -> Op | None:
    x = source(args, kwargs)
    if x is None or _is_view(y, x):   # a view moves nothing: free
        return None
    if COPIES[func] == "to" and (y.dtype != x.dtype or y.device != x.device):
        return None   # a dtype or device cast: free (``hwsim.arithmetic``)
    # (``x.to(other)`` reads no value of ``other``, only its dtype and device)
    index = [] if COPIES[func] in ("to", "__deepcopy__") else _index_tensors(func, args, kwargs)
    if x.layout != torch.strided or y.layout != torch.strided:   # (sparse: its stored values
        return _sparse_copy_op(name, func, x, y, index)           # and indices)
    op = make_op("resample", name, x.detach(), y.detach(), also=tuple(t.detach() for t in index))
    # the source read once, at most the values written; its indices read
    reads = min(x.numel(), y.numel()) + sum(t.numel() for t in index)
    return dataclasses.replace(op, in_bytes=reads * FP32_BYTES,
                               elems=_copy_elems(COPIES[func], args, kwargs, x, y),
                               geometry=(("kind", "copy"), ("func", COPIES[func])))


def _copy_elems(kind: str, args, kwargs, x, y) -> int:
    """Element ops of a copy (see ``_SAMPLE_OPS``): a fold's adds (one a value it reads), a
    grid sample's interpolation, an affine grid's coordinates; 0 for any other."""
    if kind == "fold":
        return x.numel()
    if kind == "grid_sample":
        mode = {**dict(zip(("input", "grid", "mode"), args)), **kwargs}.get("mode", "bilinear")
        return _SAMPLE_OPS.get(mode, 4) * y.numel()
    return 3 * y.numel() if kind == "affine_grid" else 0


def _sparse_copy_op(name, func, x, y, index) -> Op:
    """A copy whose source or output is sparse (a clone of a sparse tensor): what it stores
    moves, its values and their indices (each index a value of traffic), read once (at
    most what is written) and written; its shapes are the dense ones (its samples).  The
    zeros measured are its stored values' (``_stored``)."""
    src, out = _stored(x.detach()), _stored(y.detach())
    stored = lambda ts: sum(t.numel() for t in ts)   # noqa: E731
    moved = stored(src) if COPIES[func] in _CONVERSIONS else min(stored(src), stored(out))
    reads = moved + sum(stored(_stored(t)) for t in index)
    return Op(type="resample", name=name, in_shape=tuple(x.shape), out_shape=tuple(y.shape),
              weight_shape=(), macs=0, weight_bytes=0, in_bytes=reads * FP32_BYTES,
              out_bytes=stored(out) * FP32_BYTES, act_sparsity=zeros_of(src[:1]),
              geometry=(("kind", "copy"), ("func", COPIES[func])))


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


def host_op(name: str, y: torch.Tensor) -> Op:
    """Host values made the tensor ``y``: its values written (copied from the host), nothing
    on the device read.  (No torch function runs here: ``hwsim.unseen._lifted`` calls it
    where the forward's function mode still runs.)"""
    return Op(type="resample", name=name, in_shape=tuple(y.shape), out_shape=tuple(y.shape),
              weight_shape=(), macs=0, weight_bytes=0, in_bytes=0,
              out_bytes=y.numel() * FP32_BYTES, act_sparsity=0.0,
              geometry=(("kind", "copy"), ("func", "from_host")))


def _from_host_op(name, func, args, kwargs, y) -> Op | None:
    """Host data made a tensor (``FROM_HOST``): from a tensor, a copy where it is no view
    (its values read, the output written); else the output's values written (``host_op``).
    ``x.new(data)`` reads its data (a tensor: an alias, free); ``x.new(sizes)`` writes
    nothing (an empty tensor, as torch.empty)."""
    if func is torch.Tensor.new:
        data = args[1:]
        if len(data) != 1 or isinstance(data[0], (int, torch.Size)) \
                or isinstance(data[0], torch.Tensor):
            return None
        x = data[0]
    else:
        x = args[0] if args else kwargs.get("data", kwargs.get(
            "obj", kwargs.get("ndarray", kwargs.get("buffer"))))
    if isinstance(x, torch.Tensor):
        if _is_view(y, x) or x.layout != torch.strided or y.layout != torch.strided:
            return None
        op = make_op("resample", name, x.detach(), y.detach())
        return dataclasses.replace(op, geometry=(("kind", "copy"), ("func", "from_host")))
    return host_op(name, y)


def copy_op(name: str, func, args, kwargs, outs: list) -> Op | None:
    """The ``resample`` op of a concatenation (``kind`` cat, the output dimension it joins
    along and each piece's extent there: a stack's pieces are 1 each), a copy's, write's,
    scatter's or fill's (``kind`` copy, ``func`` what it was); None for a view or a call on
    something else than tensors (the call itself will say)."""
    if is_written(func):
        return written_op(name, func, args, kwargs, outs)
    if not outs:
        return None
    y = outs[0]
    if func in FROM_HOST:
        return _from_host_op(name, func, args, kwargs, y)
    if func in COPIES:
        return _copy_op(name, func, args, kwargs, y)
    if func in CONCATS:
        return _cat_op(name, func, args, kwargs, y)
    return None
