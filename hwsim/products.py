"""Products and convolutions a forward calls itself (h234), priced as the work they are with
the op kinds and code of the layer that does the same work.  They were refused ('cannot price
layer matmul()'), though a user's attention block or custom layer written with matmul or
einsum is ordinary PyTorch.

- ``F.linear(x, W, b)`` is the nn.Linear of that W and b; ``F.conv1d/2d/3d`` and
  ``F.conv_transpose1d/2d/3d`` the nn.Conv*/ConvTranspose* of the call's weight, bias,
  stride, padding, output_padding, dilation and groups (``hwsim.layers.op_from_module`` on a
  twin layer holding the call's tensors: the same op, geometry and weight zeros).
- ``x @ W`` (torch.matmul, mm, mv, Tensor.__matmul__...), ``W`` a stored tensor of the model
  (a Parameter or buffer, or a view of one: ``W.t()``, ``W.T``, a slice) of 2 dimensions: the
  nn.Linear of weight W^T without bias (``W @ x``: of weight W, over x's second-to-last
  dimension).  ``torch.addmm(b, x, W)`` with a 1-d ``b`` of W's columns (and beta = alpha =
  1): the nn.Linear with bias b.
- a product of two activations (neither operand stored, or a stored one with batch
  dimensions... refused, see below): attention's ``matmul`` op (``hwsim.attention.product_op``):
  the operands' leading dimensions broadcast to G GEMMs (T x K) @ (K x N), G T K N MACs, both
  operands read as inputs (a broadcast one as often as it is used, as
  F.scaled_dot_product_attention's are), no weight bytes; the first leading dimension the
  batch.  ``torch.bmm``, ``torch.dot`` (one GEMM 1 x K x 1), ``torch.mv`` likewise.
- ``torch.baddbmm(c, a, b)`` and any other ``addmm``: the product, then an ``eltwise`` add of
  ``c`` as ``hwsim.arithmetic`` prices ``+`` (one more op per output value for a beta or alpha
  other than 1; beta = 0 adds nothing).
- (h242) ``torch.addmv(b, M, v)``: ``M @ v`` then the add (``b + W v`` of a stored W with
  beta = alpha = 1: the Linear of W with bias b, as F.linear); ``torch.addbmm(c, a, b)``: the
  einsum 'bij,bjk->ik' (the batch's products summed as they accumulate, K = batch x inner)
  then the add; ``torch.addr(c, u, v)``: torch.outer's ``eltwise`` product (one multiply an
  output value, as ``hwsim.arithmetic`` prices outer: K = 1) then the add; ``torch.inner``
  the einsum over both operands' last dimension (a 0-d operand: the multiply it is);
  ``torch.tensordot`` the einsum over the dimensions ``dims`` names; ``torch.vdot`` as dot;
  ``torch.linalg.multi_dot`` and ``torch.chain_matmul`` each product of the chain in the order
  torch evaluates it (``chain_order``), each priced as its ``a @ b`` (a stored matrix a
  Linear's weight, an intermediate product an activation).
- ``torch.einsum`` of two operands: the contraction it performs, its indices classed as batch
  (both operands and the output), contracted (both operands, not the output) and free (one
  operand and the output): G = batch, T = the first operand's free, K = contracted, N = the
  second's free sizes multiplied, MACs = the product of all index sizes; a stored operand
  without batch indices is a Linear's weight as above, else a ``matmul`` op of two
  activations, batch the output's first index where that is a batch index.

A product's stored operand is the Parameter or buffer holding the bytes it reads
(``stored_of``: two stored tensors on one storage stay two).

Refused in one line (``ProductWork.reason``; the call stays unpriced): F.bilinear (three
operands; nn.Bilinear has no cost model), a chain of one matrix, an einsum of one or of
three or more operands, a repeated index in an operand (a diagonal), an index summed in one
operand only, an index broadcast from size 1, the sublist form; a stored operand with batch
dimensions or batch indices (no layer computes it); a sparse, quantized or nested operand; an
``addmm`` whose bias no Linear takes with weights of its own... (priced as product + add).
"""
from __future__ import annotations

import dataclasses
import math
import string
from typing import NamedTuple

import torch
from torch import nn

from hwsim.arithmetic import arithmetic_op
from hwsim.attention import product_op
from hwsim.layers import op_from_module
from hwsim.op import Op, pruned_original

_F = torch.nn.functional
_T = torch.Tensor

# the layer a functional product computes: its class and the call's argument names after
# (input, weight, bias)
_CONV_ARGS = ("stride", "padding", "dilation", "groups")
_CONVT_ARGS = ("stride", "padding", "output_padding", "groups", "dilation")
LAYER_FUNCS = {
    _F.linear: (nn.Linear, ()),
    _F.conv1d: (nn.Conv1d, _CONV_ARGS), _F.conv2d: (nn.Conv2d, _CONV_ARGS),
    _F.conv3d: (nn.Conv3d, _CONV_ARGS),
    _F.conv_transpose1d: (nn.ConvTranspose1d, _CONVT_ARGS),
    _F.conv_transpose2d: (nn.ConvTranspose2d, _CONVT_ARGS),
    _F.conv_transpose3d: (nn.ConvTranspose3d, _CONVT_ARGS),
}
# products of two operands: the names of the first and second (the order torch computes
# them in: Tensor.__rmatmul__(self, other) is other @ self)
_FIRST, _SECOND = ("input", "self"), ("other", "mat2", "vec", "tensor")
MATMULS = {f: ("first", "second") for f in (
    torch.matmul, _T.matmul, _T.__matmul__, torch.linalg.matmul, torch.mm, _T.mm, torch.bmm,
    _T.bmm, torch.mv, _T.mv, torch.dot, _T.dot, torch.vdot, _T.vdot)}
MATMULS[_T.__rmatmul__] = ("second", "first")
# a product plus a scaled input: (input, first, second) by position, beta and alpha keywords;
# the product each computes (h242: addmv, addbmm, addr)
_MATMUL, _ADDBMM, _OUTER = "matmul", "bij,bjk->ik", "outer"
ADDMMS = {torch.addmm: _MATMUL, _T.addmm: _MATMUL, torch.baddbmm: _MATMUL,
          _T.baddbmm: _MATMUL, torch.addmv: _MATMUL, _T.addmv: _MATMUL,
          torch.addbmm: _ADDBMM, _T.addbmm: _ADDBMM, torch.addr: _OUTER, _T.addr: _OUTER}
_ADD_FIRST = ("first", "mat1", "batch1", "mat", "vec1")
_ADD_SECOND = ("second", "mat2", "batch2", "vec", "vec2")
# contractions written as an einsum of two operands (h242): inner (the last dimensions),
# tensordot (the dimensions given)
CONTRACTIONS = (torch.inner, _T.inner, torch.tensordot)
# chains of 2-d products, evaluated in torch's order (``chain_order``)
CHAINS = (torch.linalg.multi_dot, torch.chain_matmul)
# products hwsim has no sound price for, refused with the reason (they were refused as
# having no cost model, without one)
REFUSED = {_F.bilinear: "x1^T A x2 of three operands (nn.Bilinear has no cost model either)"}
PRODUCT_FUNCS = frozenset((*LAYER_FUNCS, *MATMULS, *ADDMMS, *CONTRACTIONS, *CHAINS, *REFUSED,
                           torch.einsum))


class ProductWork(NamedTuple):
    """The ops of a product call, or why it has none (``reason``: a phrase for the refusal);
    ``read``: the model's stored tensors it read (``stored_of``), by id."""
    ops: list | None
    reason: str = ""
    read: tuple = ()


def storage_address(t) -> int | None:
    """The address of the storage under tensor ``t`` (a view shares its base's), or None
    where ``t`` has none to compare: not a dense tensor, a meta, quantized or empty one, or
    a tensor whose storage torch will not expose (a wrapper subclass raises RuntimeError or
    NotImplementedError there): such an operand is no stored weight, an activation."""
    if not isinstance(t, torch.Tensor) or t.layout != torch.strided or t.is_meta \
            or t.is_quantized or not t.numel():
        return None
    try:
        return t.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):
        return None


def _span(t: torch.Tensor) -> tuple:
    """The bytes of its storage tensor ``t`` reaches: (first, one past the last)."""
    size = t.element_size()
    lo = hi = t.storage_offset()
    for n, st in zip(t.shape, t.stride()):
        if n > 1:
            lo, hi = (lo + (n - 1) * st, hi) if st < 0 else (lo, hi + (n - 1) * st)
    return lo * size, (hi + 1) * size


def stored_tensors(model: nn.Module) -> dict:
    """The model's Parameters and buffers by the address of their storage, each with the
    bytes of it that it holds (``_span``): a view of one, ``W.t()`` or ``W[:8]``, is found by
    its storage and those bytes (``stored_of``), and two tensors that share one storage
    (halves of one flat tensor) stay two."""
    found: dict = {}
    for t in (*model.parameters(), *model.buffers()):
        address = storage_address(t)
        if address is not None:
            found.setdefault(address, []).append((_span(t), t))
    for m in model.modules():
        pruned_views(found, m)
    return found


def pruned_views(stored: dict, m: nn.Module) -> None:
    """Module ``m``'s weights pruned with ``torch.nn.utils.prune`` in ``stored``
    (``stored_tensors``): its masked ``NAME`` (a tensor its forward pre-hook makes anew
    from the Parameter ``NAME_orig`` and the buffer ``NAME_mask`` before each forward) as
    ``NAME_orig``, the one of the forward before forgotten.  A layer of the user's own
    calling ``F.linear(x, self.weight)`` on a pruned weight read no stored tensor: it was
    refused as a layer with no cost model (``NAME_orig`` never read), h322."""
    for name in [n.removesuffix("_orig") for n in m._parameters if n.endswith("_orig")]:
        orig, masked = pruned_original(m, name), getattr(m, name, None)
        if orig is None or not isinstance(masked, torch.Tensor):
            continue
        own = storage_address(orig)
        for address, held in stored.items():   # the masked tensor of the last forward
            if address != own:
                held[:] = [(span, p) for span, p in held if p is not orig]
        address = storage_address(masked)
        if address is not None and address != own:
            stored.setdefault(address, []).append((_span(masked), orig))


def stored_of(t, stored: dict):
    """The stored tensor (``stored_tensors``) ``t`` is or is a view of: of those on its
    storage, the one of fewest bytes that holds all ``t`` reads (the first such registered);
    None for another.  (By the storage alone, x @ a.t() with a buffer ``a`` and a Linear's
    weight that are halves of one flat tensor was priced as that weight, stored once: the
    model's weight bytes were 128 too few, h242.)"""
    address = storage_address(t)
    if address is None:
        return None
    lo, hi = _span(t)
    best = None
    for (plo, phi), p in stored.get(address, ()):
        if plo <= lo and hi <= phi and (best is None or phi - plo < best[0]):
            best = (phi - plo, p)
    return None if best is None else best[1]


def _weight_id(t: torch.Tensor, p: torch.Tensor, run: str) -> str:
    """The weight id (``hwsim.op.Op.weight_id``) of operand ``t``, a view of stored ``p``:
    ``p``'s as a layer's (``hwsim.op.weight_id``) where it is all of it, else its slice's."""
    if t.numel() == p.numel():
        return f"{run}:{id(p)}"
    return f"{run}:{id(p)}:{t.storage_offset()}:{tuple(t.shape)}:{t.stride()}"


def _dense(*ts) -> str:
    """Why operands ``ts`` cannot be priced ('' when they can): a sparse, quantized or
    nested one."""
    for t in ts:
        if not isinstance(t, torch.Tensor):
            return f"an operand that is a {type(t).__name__}, not a tensor"
        if t.layout != torch.strided or t.is_quantized or t.is_nested:
            return f"an operand of layout {t.layout} (a sparse, quantized or nested tensor)"
    return ""


def _layer_op(name: str, twin: nn.Module, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
              stored: dict, run: str) -> ProductWork:
    """The op of layer ``twin`` (holding the call's weight ``w``) on ``x`` with output ``y``,
    as extract() records that layer's call (its weight id the stored tensor's)."""
    op = op_from_module(name, twin, x.detach(), y.detach())
    p = stored_of(w, stored)
    if p is not None:
        op = dataclasses.replace(op, weight_id=_weight_id(w, p, run))
    # (a stored input is read too, as the layer's input: W1 @ W2 read W1, h242)
    read = tuple(id(q) for q in (p, stored_of(x, stored)) if q is not None)
    return ProductWork([op], read=read)


def _linear_twin(w: torch.Tensor, bias: bool) -> nn.Linear:
    """nn.Linear of weight ``w`` (out x in), with a bias or not (its values are not read)."""
    twin = nn.Linear(w.shape[1], w.shape[0], bias=bias, device="meta")
    twin.weight = nn.Parameter(w.detach(), requires_grad=False)
    return twin


def _layer_call(name, func, args, kwargs, y, stored, run) -> ProductWork:
    """F.linear / F.conv* / F.conv_transpose* as the layer of the call's settings."""
    cls, names = LAYER_FUNCS[func]
    c = {**dict(zip(("input", "weight", "bias") + names, args)), **kwargs}
    x, w, b = c.get("input"), c.get("weight"), c.get("bias")
    why = _dense(x, w) or _dense(*([b] if b is not None else []))
    if why:
        return ProductWork(None, why)
    if cls is nn.Linear:
        if w.dim() != 2:
            return ProductWork(None, f"a weight of shape {tuple(w.shape)} (a Linear's is 2-d)")
        return _layer_op(name, _linear_twin(w, b is not None), x, y, w, stored, run)
    settings = {n: tuple(v) if isinstance(v, list) else v for n, v in c.items() if n in names}
    groups = settings.get("groups", 1)
    transposed = cls.__name__.startswith("ConvTranspose")
    cin, cout = (w.shape[0], w.shape[1] * groups) if transposed \
        else (w.shape[1] * groups, w.shape[0])
    try:
        twin = cls(cin, cout, tuple(w.shape[2:]), bias=b is not None, device="meta",
                   **settings)
    except (TypeError, ValueError, RuntimeError) as e:
        return ProductWork(None, f"settings no {cls.__name__} takes ({e})")
    twin.weight = nn.Parameter(w.detach(), requires_grad=False)
    return _layer_op(name, twin, x, y, w, stored, run)


def _operands(func, args, kwargs):
    """(first, second) operand of a ``MATMULS`` call, in the order torch multiplies them."""
    c = dict(zip(MATMULS[func], args))
    for k, v in kwargs.items():
        if k in _FIRST:
            c.setdefault("first", v)
        elif k in _SECOND:
            c.setdefault("second", v)
    return c.get("first"), c.get("second")


def _activation_product(name: str, a: torch.Tensor, b: torch.Tensor, tag: str) -> Op:
    """a @ b of two activations as attention's ``matmul`` op (torch.matmul's rules: a 1-d
    first operand a row, a 1-d second a column; the leading dimensions broadcast, the first
    the batch)."""
    a2 = a.detach().unsqueeze(0) if a.dim() == 1 else a.detach()
    b2 = b.detach().unsqueeze(-1) if b.dim() == 1 else b.detach()
    lead = tuple(torch.broadcast_shapes(a2.shape[:-2], b2.shape[:-2]))
    t, k, n = a2.shape[-2], a2.shape[-1], b2.shape[-1]
    g = math.prod(lead)
    # (expanded views: a broadcast operand read once per GEMM, as sdpa_ops reads it)
    a3, b3 = a2.expand(*lead, t, k), b2.expand(*lead, k, n)
    return product_op(name, tag, a3, b3, (g, t, k, n), lead[0] if lead and lead[0] else 1)


def _matmul(name, a, b, y, stored, run) -> ProductWork:
    """a @ b: a Linear where one operand is a stored 2-d tensor, else two activations."""
    why = _dense(a, b)
    if why:
        return ProductWork(None, why)
    pa, pb = stored_of(a, stored), stored_of(b, stored)
    if pb is not None and b.dim() == 2:      # x @ W: Linear of weight W^T
        return _layer_op(name, _linear_twin(b.t(), False), a, y, b, stored, run)
    if pa is not None and a.dim() == 2 and b.dim() >= 1:   # W @ x: Linear of weight W
        return _layer_op(name, _linear_twin(a, False), b, y, a, stored, run)
    for t, p in ((a, pa), (b, pb)):
        if p is not None and t.dim() > 2:
            return ProductWork(None, f"a stored operand of shape {tuple(t.shape)} (batch "
                                     f"dimensions: no layer computes it)")
    read = tuple(id(p) for p in (pa, pb) if p is not None)
    return ProductWork([_activation_product(name, a, b, "matmul")], read=read)


def _addmm(name, func, args, kwargs, y, stored, run) -> ProductWork:
    """addmm / baddbmm / addmv / addbmm / addr: beta x input + alpha x (a . b), the product
    (``ADDMMS``) priced as its own call is (``a @ b``; addbmm's as the einsum
    'bij,bjk->ik', the batch's products summed as they are made; addr's as torch.outer),
    then the add.  ``x W + b`` (addmm) and ``b + W v`` (addmv) of a stored W, with beta =
    alpha = 1, are the Linear with bias b, as F.linear is."""
    c = {**dict(zip(("input", "first", "second"), args)), **kwargs}
    x = c.get("input", c.get("self"))
    a = next((c[k] for k in _ADD_FIRST if k in c), None)
    b = next((c[k] for k in _ADD_SECOND if k in c), None)
    beta, alpha = c.get("beta", 1), c.get("alpha", 1)
    why = _dense(x, a, b)
    if why or not all(isinstance(v, (int, float)) for v in (beta, alpha)):
        return ProductWork(None, why or "a beta or alpha that is not a number")
    if func in (torch.addmm, _T.addmm) and beta == 1 and alpha == 1 and x.dim() == 1 \
            and b.dim() == 2 and x.shape[0] == b.shape[1] and stored_of(b, stored) is not None:
        # x W + b: the Linear of weight W^T and bias b
        return _layer_op(name, _linear_twin(b.t(), True), a, y, b, stored, run)
    if func in (torch.addmv, _T.addmv) and beta == 1 and alpha == 1 and x.dim() == 1 \
            and a.dim() == 2 and x.shape[0] == a.shape[0] and stored_of(a, stored) is not None:
        # W v + b: the Linear of weight W and bias b (F.linear(v, W, b))
        return _layer_op(name, _linear_twin(a, True), b, y, a, stored, run)
    form, a0, b0 = ADDMMS[func], a.detach(), b.detach()
    if form == _OUTER:
        prod = torch.outer(a0, b0)
        op = arithmetic_op(f"{name}.product", torch.outer, (a0, b0), {}, prod)
        work = ProductWork([op]) if op is not None else ProductWork(None, "no outer product")
    elif form == _ADDBMM:
        prod = torch.einsum(form, a0, b0)
        work = _einsum(f"{name}.product", (form, a, b), {}, prod, stored, run)
    else:
        prod = torch.matmul(a0, b0)
        work = _matmul(f"{name}.product", a, b, prod, stored, run)
    if work.ops is None or (beta == 0 and alpha == 1):
        return work
    if beta == 0:   # alpha x (a . b) alone: one multiply per output value
        scale = arithmetic_op(f"{name}.scale", torch.mul, (prod, alpha), {}, y.detach())
        return ProductWork(work.ops + [scale], read=work.read)
    add = arithmetic_op(f"{name}.add", torch.add, (prod, x.detach()), {}, y.detach())
    scale = (beta != 1) + (alpha != 1)   # one multiply per output value for each
    add = dataclasses.replace(add, elems=add.elems * (1 + scale))
    return ProductWork(work.ops + [add], read=work.read)


# --- einsum ------------------------------------------------------------------------------------
def _einsum_terms(eq: str, operands) -> tuple[list[str], str] | str:
    """(input terms, output term) of equation ``eq`` on ``operands``, its ellipses written as
    letters of their own (right-aligned, as they broadcast); a str: why it cannot be read."""
    eq = eq.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    spare = [ch for ch in string.ascii_letters if ch not in eq]
    longest = max((t.dim() - len(term.replace("...", "")) for term, t in zip(terms, operands)
                   if "..." in term), default=0)
    if longest > len(spare):
        return "an ellipsis of more dimensions than spare letters"
    ell = "".join(spare[:longest])
    out_terms = []
    for term, t in zip(terms, operands):
        if "..." in term:
            n = t.dim() - len(term.replace("...", ""))
            term = term.replace("...", ell[longest - n:] if n > 0 else "")
        out_terms.append(term)
    if arrow:
        out = rhs.replace("...", ell)
    else:   # implicit: the ellipsis, then the indices that appear once, in order
        once = sorted(ch for ch in set("".join(out_terms)) if "".join(out_terms).count(ch) == 1
                      and ch not in ell)
        out = ell + "".join(once)
    return out_terms, out


def _einsum(name, args, kwargs, y, stored, run) -> ProductWork:
    """torch.einsum of two operands as the contraction it performs (see the notes above)."""
    eq, operands = (args[0] if args else kwargs.get("equation")), list(args[1:])
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = list(operands[0])
    if not isinstance(eq, str):
        return ProductWork(None, "the sublist form (give the equation as a string)")
    if len(operands) != 2 or len(eq.partition("->")[0].split(",")) != 2:
        return ProductWork(None, f"a contraction of {len(operands)} operand(s) (two are priced)")
    a, b = operands
    why = _dense(a, b)
    if why:
        return ProductWork(None, why)
    parsed = _einsum_terms(eq, operands)
    if isinstance(parsed, str):
        return ProductWork(None, parsed)
    (ta, tb), out = parsed
    if len(ta) != a.dim() or len(tb) != b.dim():
        return ProductWork(None, "terms that do not match the operands' dimensions")
    if len(set(ta)) < len(ta) or len(set(tb)) < len(tb):
        return ProductWork(None, "an index repeated in one operand (a diagonal)")
    sizes: dict = {}
    for term, t in ((ta, a), (tb, b)):
        for ch, n in zip(term, t.shape):
            if sizes.setdefault(ch, n) != n:
                return ProductWork(None, f"index {ch!r} of sizes {sizes[ch]} and {n} "
                                         f"(broadcast)")
    if any(ch not in ta and ch not in tb for ch in out):
        return ProductWork(None, "an output index no operand has")
    summed = [ch for ch in (*ta, *tb) if ch not in out and ((ch in ta) != (ch in tb))]
    if summed:
        return ProductWork(None, f"index {summed[0]!r} summed in one operand only")
    batch = [ch for ch in ta if ch in tb and ch in out]
    contracted = [ch for ch in ta if ch in tb and ch not in out]
    left = [ch for ch in ta if ch not in tb]
    right = [ch for ch in tb if ch not in ta]
    size = lambda chs: math.prod(sizes[ch] for ch in chs)   # noqa: E731
    g, t, k, n = size(batch), size(left), size(contracted), size(right)
    pa, pb = stored_of(a, stored), stored_of(b, stored)
    if (pa is not None or pb is not None) and batch:
        return ProductWork(None, "a stored operand with batch indices (no layer computes it)")
    if pb is not None:   # x . W: the Linear of W as an (N x K) matrix
        w = b.detach().permute(*[tb.index(ch) for ch in right + contracted]).reshape(n, k)
        return _layer_op(name, _linear_twin(w, False), a, y, b, stored, run)
    if pa is not None:   # W . x: the Linear of W as a (T x K) matrix on x
        w = a.detach().permute(*[ta.index(ch) for ch in left + contracted]).reshape(t, k)
        return _layer_op(name, _linear_twin(w, False), b, y, a, stored, run)
    samples = sizes[out[0]] if out and out[0] in batch else 1
    return ProductWork([product_op(name, "matmul", a.detach(), b.detach(), (g, t, k, n),
                                   samples)])


# --- inner, tensordot, multi_dot (h242) -------------------------------------------------------
def _contraction(func, args, kwargs) -> tuple | str:
    """(equation, a, b): the two-operand einsum a ``CONTRACTIONS`` call computes, torch.inner
    the last dimensions of a and b, tensordot the dimensions ``dims`` names (an int n: a's
    last n with b's first n), the output a's other dimensions then b's; a str: why there is
    none ('mul': inner of a 0-d operand, a product of each value)."""
    c = {**dict(zip(("first", "second"), args)), **kwargs}
    a = c.get("first", c.get("input", c.get("self", c.get("a"))))
    b = c.get("second", c.get("other", c.get("b")))
    why = _dense(a, b)
    if why:
        return why
    if func is torch.tensordot:
        dims = c.get("dims", 2)
        if isinstance(dims, torch.Tensor):
            dims = dims.tolist()
        if isinstance(dims, int) and not isinstance(dims, bool):
            dims_a, dims_b = list(range(a.dim() - dims, a.dim())), list(range(dims))
        elif isinstance(dims, (list, tuple)) and len(dims) == 2:
            dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
        else:
            return f"dims {dims!r} (an int or two lists of dimensions)"
    elif a.dim() == 0 or b.dim() == 0:
        return "mul"
    else:
        dims_a, dims_b = [a.dim() - 1], [b.dim() - 1]
    letters = string.ascii_letters
    if a.dim() + b.dim() > len(letters) or len(dims_a) != len(dims_b):
        return f"dims {dims_a} and {dims_b} of operands of {a.dim()} and {b.dim()} dimensions"
    try:
        dims_a = [d % a.dim() for d in dims_a]
        dims_b = [d % b.dim() for d in dims_b]
    except (TypeError, ZeroDivisionError):
        return f"dims {dims_a} and {dims_b} of operands of {a.dim()} and {b.dim()} dimensions"
    ta = letters[:a.dim()]
    tb = list(letters[a.dim():a.dim() + b.dim()])
    for da, db in zip(dims_a, dims_b):
        tb[db] = ta[da]
    tb = "".join(tb)
    out = "".join(ch for ch in ta if ch not in tb) + "".join(ch for ch in tb if ch not in ta)
    return f"{ta},{tb}->{out}", a, b


def _contract(name, func, args, kwargs, y, stored, run) -> ProductWork:
    """torch.inner / tensordot as the einsum of two operands they compute (``_contraction``,
    priced by ``_einsum``: a stored operand without batch indices a Linear's weight); inner
    of a 0-d operand as the multiply it is (``hwsim.arithmetic``)."""
    form = _contraction(func, args, kwargs)
    if form == "mul":
        c = {**dict(zip(("first", "second"), args)), **kwargs}
        a = c.get("first", c.get("input", c.get("self")))
        b = c.get("second", c.get("other"))
        op = arithmetic_op(name, torch.mul, (a.detach(), b.detach()), {}, y.detach())
        return ProductWork([op]) if op is not None else ProductWork(None, "no product")
    if isinstance(form, str):
        return ProductWork(None, form)
    return _einsum(name, form, {}, y, stored, run)


def chain_order(shapes: list) -> tuple | int:
    """The order torch.linalg.multi_dot (and chain_matmul) multiplies 2-d matrices of
    ``shapes`` in: an index, or a pair (left, right) of such orders.  Two: one product;
    three: (A B) C unless its cost a c (b + d) exceeds A (B C)'s b d (a + c); four or more:
    the matrix chain order of least p_i p_k+1 p_j+1 cost, the first split of least cost
    (ATen's matrix_chain_order: CLRS 15.2)."""
    n = len(shapes)
    if n == 1:
        return 0
    if n == 2:
        return 0, 1
    if n == 3:
        a, b, c, d = shapes[0][0], shapes[1][0], shapes[2][0], shapes[2][1]
        return (0, (1, 2)) if a * c * (b + d) > b * d * (a + c) else ((0, 1), 2)
    p = [sh[0] for sh in shapes] + [shapes[-1][1]]
    m = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for span in range(1, n):
        for i in range(n - span):
            j = i + span
            m[i][j] = None
            for k in range(i, j):
                q = m[i][k] + m[k + 1][j] + p[i] * p[k + 1] * p[j + 1]
                if m[i][j] is None or q < m[i][j]:
                    m[i][j], split[i][j] = q, k

    def order(i, j):
        return i if i == j else (order(i, split[i][j]), order(split[i][j] + 1, j))
    return order(0, n - 1)


def _chain_operands(func, args, kwargs) -> list | str:
    """The matrices of a ``CHAINS`` call (multi_dot's list, chain_matmul's arguments), or
    why they cannot be priced: not 2-d (the first and last of multi_dot may be 1-d: a row
    and a column)."""
    if func is torch.linalg.multi_dot:
        mats = args[0] if args else kwargs.get("tensors")
    else:
        mats = args
    mats = list(mats) if isinstance(mats, (list, tuple)) else []
    why = _dense(*mats) if mats else "no matrices"
    if why:
        return why
    if len(mats) < 2:
        return f"a chain of {len(mats)} matrix (a copy: write .clone())"
    for i, t in enumerate(mats):
        if t.dim() != 2 and not (t.dim() == 1 and i in (0, len(mats) - 1)):
            return f"an operand of {t.dim()} dimensions in a chain of matrices"
    return mats


def _shape2(t: torch.Tensor, i: int, n: int) -> tuple:
    """Operand ``i`` of ``n`` in a chain as the matrix multi_dot takes it for (a 1-d first a
    row, a 1-d last a column)."""
    if t.dim() == 2:
        return tuple(t.shape)
    return (1, t.shape[0]) if i == 0 else (t.shape[0], 1)


def _chain(name, func, args, kwargs, y, stored, run) -> ProductWork:
    """multi_dot / chain_matmul: each product of the chain, in torch's order
    (``chain_order``), priced as that ``a @ b`` is (``_matmul``: a stored matrix a Linear's
    weight, an intermediate product an activation), its result computed for the next."""
    mats = _chain_operands(func, args, kwargs)
    if isinstance(mats, str):
        return ProductWork(None, mats)
    tree = chain_order([_shape2(t, i, len(mats)) for i, t in enumerate(mats)])
    ops, read = [], []

    def run_order(node):   # (the operand, a tensor of the chain's or a product's value)
        if isinstance(node, int):
            return mats[node], None
        (a, wa), (b, wb) = run_order(node[0]), run_order(node[1])
        if wa or wb:
            return None, wa or wb
        prod = torch.matmul(a.detach(), b.detach())
        work = _matmul(f"{name}.{len(ops)}", a, b, prod, stored, run)
        if work.ops is None:
            return None, work.reason
        ops.extend(work.ops)
        read.extend(work.read)
        return prod, None
    _, why = run_order(tree)
    return ProductWork(None, why) if why else ProductWork(ops, read=tuple(read))


def _chain_macs(mats: list) -> int:
    """The MACs of a chain's products in torch's order (``chain_order``)."""
    shapes = [_shape2(t, i, len(mats)) for i, t in enumerate(mats)]
    total = [0]

    def walk(node):   # the (rows, columns) of the node's product
        if isinstance(node, int):
            return shapes[node]
        (r, k), (_, c) = walk(node[0]), walk(node[1])
        total[0] += r * k * c
        return r, c
    walk(chain_order(shapes))
    return total[0]


def product_macs(func, args, kwargs, out) -> int:
    """Multiply-accumulates of a ``PRODUCT_FUNCS`` call with result ``out``, from the shapes
    alone (meta tensors too: ``hwsim.workload.sample_work``'s bound, before the forward pass
    runs): a convolution's output values x its weight's values per filter (a transposed one's
    input values), a product's output values x its reduction (K), an einsum of two operands
    the product of its index sizes; 0 where the call does not say (it is refused or fails
    when it runs)."""
    if not isinstance(out, torch.Tensor):
        return 0
    try:
        if func in LAYER_FUNCS:
            cls, names = LAYER_FUNCS[func]
            c = {**dict(zip(("input", "weight", "bias") + names, args)), **kwargs}
            x, w = c["input"], c["weight"]
            per = math.prod(w.shape[1:])
            return (x.numel() if cls.__name__.startswith("ConvTranspose") else out.numel()) * per
        if func in MATMULS:
            a, _ = _operands(func, args, kwargs)
            return out.numel() * a.shape[-1]
        if func in ADDMMS:
            c = {**dict(zip(("input", "first", "second"), args)), **kwargs}
            a = next((c[k] for k in _ADD_FIRST if k in c), None)
            form = ADDMMS[func]
            return out.numel() * (1 if form == _OUTER else a.shape[0] * a.shape[-1]
                                  if form == _ADDBMM else a.shape[-1])
        if func in CHAINS:
            mats = _chain_operands(func, args, kwargs)
            return 0 if isinstance(mats, str) else _chain_macs(mats)
        if func in REFUSED:
            return 0
        if func in CONTRACTIONS:
            form = _contraction(func, args, kwargs)
            if isinstance(form, str):
                return 0
            args = form
        eq, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
        parsed = _einsum_terms(eq, operands) if isinstance(eq, str) and len(operands) == 2 \
            else None
        if not isinstance(parsed, tuple):
            return 0
        (ta, tb), _ = parsed
        sizes = {ch: n for term, t in zip((ta, tb), operands) for ch, n in zip(term, t.shape)}
        return math.prod(sizes.values())
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return 0


def product_work(name: str, func, args, kwargs, out, stored: dict, run: str) -> ProductWork:
    """The ops of a ``PRODUCT_FUNCS`` call with result ``out`` in a forward (see the notes
    above); ``stored``: the model's stored tensors (``stored_tensors``), ``run``: the
    extract's (weight ids)."""
    if not isinstance(out, torch.Tensor):
        return ProductWork(None, "a result that is not one tensor")
    if func in LAYER_FUNCS:
        return _layer_call(name, func, args, kwargs, out, stored, run)
    if func in MATMULS:
        a, b = _operands(func, args, kwargs)
        return _matmul(name, a, b, out, stored, run)
    if func in ADDMMS:
        return _addmm(name, func, args, kwargs, out, stored, run)
    if func in CONTRACTIONS:
        return _contract(name, func, args, kwargs, out, stored, run)
    if func in CHAINS:
        return _chain(name, func, args, kwargs, out, stored, run)
    if func in REFUSED:
        return ProductWork(None, REFUSED[func])
    return _einsum(name, args, kwargs, out, stored, run)
