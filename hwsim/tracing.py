"""What a forward does outside its layers, as ``hwsim.workload.extract`` sees it: a
``TorchFunctionMode`` (``FunctionCatcher``) that records residual adds, functions priced as the
module they compute (``hwsim.functional``: ``F.relu``, ``F.max_pool2d``, ``F.pad``,
``F.layer_norm``, ``F.embedding_bag``...), arithmetic, sorts and copies (``hwsim.arithmetic``,
``hwsim.copies``), F.scaled_dot_product_attention (``hwsim.attention.sdpa_ops``) and
products and convolutions (F.linear, F.conv2d, x @ y, einsum: ``hwsim.products``, h234), and
refuses those no op records (``UNPRICED_FUNCS``), naming the layer of the user's own whose
forward called one (``unpriced_call``).  Arithmetic that
torch's own modules do is not the model's (``_by_torch_module``).  The work hwsim's own code
does inside the forward pass is told from the model's (``own_code``): its errors keep their
traceback, the model's are told in one line; a refusal of its own is ``Refusal``.

Since h227 nothing a forward computes outside its layers goes free unseen: an operator of
torch.ops is priced as the torch function it is (``torch_form``) or refused; a call that
makes new values (or writes in place) and records nothing is refused as having no cost
model (``FunctionCatcher._watched``, ``FREE_CALLS`` the casts and empties that cost
nothing); host values made a tensor by any constructor, under any name, are a copy to the
device (aten::lift_fresh: ``hwsim.unseen``); TorchScript functions (``hwsim.unseen``) and
torch.func transforms (``_check_not_transformed``) are refused.
"""
from __future__ import annotations

import dataclasses
import os
import sys
import weakref

import torch
from torch.overrides import TorchFunctionMode

from hwsim.arithmetic import (arithmetic_kind, arithmetic_op, arithmetic_operands,
                              is_arithmetic)
from hwsim.attention import MHA_FUNC, SDPA, mha_work, sdpa_ops, sdpa_work
from hwsim.copies import stored_address
from hwsim.functional import UNPRICED_FUNCS, functional_module, module_call
from hwsim.layers import op_from_module
from hwsim.op import Op, Refusal, tensor_forms, zero_frac, zeros_of
from hwsim.products import (LAYER_FUNCS, PRODUCT_FUNCS, product_work, storage_address,
                             stored_of)
from hwsim.unseen import begin, end, own_code
from synth.config import short_repr

MAX_ACTIVATION_VALUES = 1 << 28     # the largest layer output of the batch (1 GiB of fp32)


class FunctionCatcher(TorchFunctionMode):
    """Records tensor additions that happen outside leaf modules (residual adds), and
    functional activations, resampling and norms there (``functional_module``), element-wise
    arithmetic, reductions, sorts, losses, concatenations, copies, scatters, fills and random
    draws (``hwsim.arithmetic``), and attention (F.scaled_dot_product_attention:
    ``sdpa_ops``).  Its own work before and after the call
    it passes on (``_call_user``) is hwsim's (``own_code``)."""

    def __init__(self, state):
        super().__init__()
        self.state = state
        state.setdefault("calls", 0)   # calls passed on and running (``_lifted``)
        state.setdefault("own", 0)     # hwsim's own code running (``own_code``)

    def __enter__(self):
        begin(self.state)   # (hwsim.unseen: what no mode sees, shown to this one)
        try:
            return super().__enter__()
        except BaseException:
            end()
            raise

    def __exit__(self, *exc):
        try:
            return super().__exit__(*exc)
        finally:
            end()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        called = func
        with own_code(self.state):
            func = torch_form(func)   # an op of torch.ops called: the torch function it is
            _check_not_nested(func, (*args, *kwargs.values()))
            _check_not_transformed(func, (*args, *kwargs.values()))
            watch = self._watched(func)
            act, sparsity, arith = self._before(func, args, kwargs)
            before = self._records()
        self.state["calls"] += 1
        try:
            out = _call_user(called, args, kwargs)
        finally:
            self.state["calls"] -= 1
        with own_code(self.state):
            _check_not_nested(func, (out,), made=True)
            self._after(func, args, kwargs, act, sparsity, out)
            if arith:
                self._arithmetic(func, args, kwargs, sparsity, out)
            after = self._records()
            if after[3] != before[3] and after[2] == before[2]:   # priced, nothing refused
                mark_read(self.state, (*args, *kwargs.values()), at=before[3],
                          out=out if arith else None)   # (a product's result: no weight)
            if watch is not None and watch == after \
                    and (_in_place(func) or _new_values(out, (*args, *kwargs.values()))):
                self.state["unpriced"].setdefault(*unpriced_call(self.state, func))
        return out

    def _watched(self, func):
        """What the forward's own call of ``func`` outside a layer has recorded so far
        (``_records``), where it must record something if it makes new values (None: a
        call inside a layer, a hook's or torch's own modules', or one of ``FREE_CALLS``).
        A torch function no table of hwsim's holds was free whatever it computed
        (torch._softmax, torch._addmm_activation, torch._convolution,
        _scaled_dot_product_flash_attention_for_cpu, torch._C._nn.hardtanh...: h227):
        one that makes a tensor of new values and records nothing is refused as having no
        cost model."""
        if self.state["depth"] or self.state["cells"] or self.state["hooks"] \
                or func in FREE_CALLS or (func is MHA_FUNC and self.state["mha"]) \
                or getattr(func, "__name__", "") == "__get__" \
                or (_by_torch_module() and (is_arithmetic(func) or func in UNPRICED_FUNCS)):
            # (an attribute read, x.grad or x.T: no values made; a torch module's own
            # arithmetic, not the model's: ``_by_torch_module``; a call of no table there,
            # a fused kernel, is watched)
            return None
        return self._records()

    def _records(self) -> tuple:
        s = self.state
        return len(s["acts"]), len(s["adds"]), len(s["unpriced"]), s["order"]

    def _before(self, func, args, kwargs):
        """The module a functional call computes (``functional_module``) and its input's
        sparsity, measured before the call (an in-place one overwrites its input), or
        whether it is arithmetic to price (``_arithmetic``) and its input's sparsity (the
        zeros of the tensors it reads: both operands of an element-wise call), a residual
        add's the same (both operands); the attention bounds, checked before the call
        runs."""
        top = self.state["depth"] == 0 and not self.state["cells"]
        if isinstance(func, _OPS) and top and not self.state["hooks"]:
            # (an op of torch.ops no torch function is: a custom op, torchvision's, a
            # quantized kernel, a torch module's too: torch.ao's dynamic quantized Linear
            # calls quantized.linear_dynamic; each was free, h227)
            self.state["unpriced"].setdefault(f"torch.ops.{func}()", "called outside a layer")
        act = functional_module(func, args, kwargs) if top else None
        if func is SDPA and top:
            _check_sdpa(args, kwargs)
        if func is MHA_FUNC:   # before it runs (a model off the meta device is not bounded)
            _check_mha(self.state["mha"][-1][0] if self.state["mha"] else None, args, kwargs)
        # (not a hook's own arithmetic, ``own``; a residual add is recorded as it was)
        add = top and _residual_add(func, args)
        arith = top and not self.state["hooks"] and is_arithmetic(func) and not add \
            and not _by_torch_module()
        if act is not None:
            return act, zero_frac(args[0].detach()), arith
        reads = args[:2] if add else arithmetic_operands(func, args, kwargs) if arith else []
        return act, (zeros_of([t.detach() for t in reads]) if reads else None), arith

    def _arithmetic(self, func, args, kwargs, sparsity, out) -> None:
        """An element-wise, reduction, concatenation or copy call outside a layer as its op
        (``hwsim.arithmetic.arithmetic_op``: priced as a tensor add is), its input's sparsity
        measured before the call (an in-place ``x *= y`` overwrites it)."""
        kind = arithmetic_kind(func, args, kwargs)
        op = arithmetic_op(f"{kind}#{len(self.state['acts'])}", func, args, kwargs, out)
        if op is None:
            return
        if sparsity is not None:
            op = dataclasses.replace(op, act_sparsity=sparsity)
        self.state["acts"].append((self.state["order"], op))
        self.state["order"] += 1

    def _product(self, func, args, kwargs, out) -> bool:
        """A product or convolution called outside a layer as the ops of the work it is
        (``hwsim.products.product_work``: F.linear as nn.Linear, x @ W as a Linear, x @ y as
        attention's product of two activations, einsum's contraction); False where it has
        none (refused, with the reason)."""
        s = self.state
        name = f"{getattr(func, '__name__', 'product')}#{len(s['acts'])}"
        work = product_work(name, func, args, kwargs, out, s["stored"], s["run"])
        s["read"].update(work.read)
        if work.ops is None:
            what = (f"einsum({args[0]!r})" if func is torch.einsum and args
                    and isinstance(args[0], str) else None)
            s["unpriced"].setdefault(*unpriced_call(s, func, work.reason, what))
            return True
        for op in work.ops:
            if op.weight_shape and not op.weight_id and func in LAYER_FUNCS:
                op = _derived_weight(s, op, args[1] if len(args) > 1 else kwargs.get("weight"))
            s["acts"].append((s["order"], op))
            s["order"] += 1
        return True

    def _after(self, func, args, kwargs, act, sparsity, out) -> None:
        if func is MHA_FUNC and self.state["mha"]:   # the attention layer running: its call
            self.state["mha"][-1][1].append((args, kwargs, out))
            self.state["mha"][-1][2].append(self.state["order"])   # where it ran
            self.state["order"] += 1
        if func is SDPA and self.state["depth"] == 0 and not self.state["cells"]:
            name = f"{func.__name__}#{len(self.state['acts'])}"
            for op in sdpa_ops(name, args, kwargs):
                self.state["acts"].append((self.state["order"], op))
                self.state["order"] += 1
        y = out[0] if isinstance(out, tuple) and out else out   # a pool's (values, indices)
        if act is not None and isinstance(y, torch.Tensor):
            # the module's op on the call's input (its shape: an in-place form overwrote
            # only its values) and output, the sparsity measured before the call
            name = f"{getattr(func, '__name__', 'activation')}#{len(self.state['acts'])}"
            # (an F.embedding_bag's per_sample_weights as the module's call would have them)
            op = op_from_module(name, act, args[0].detach(), y.detach(), (),
                                module_call(func, args, kwargs))
            op = dataclasses.replace(op, act_sparsity=(
                op.act_sparsity if op.type == "embedding" else sparsity))   # (indices: 0)
            if op.weight_shape:   # F.prelu's slopes: the Parameter the caller passed
                w = args[1] if len(args) > 1 else kwargs["weight"]
                op = dataclasses.replace(op, weight_id=f"{self.state['run']}:{id(w)}")
            self.state["acts"].append((self.state["order"], op))
            self.state["order"] += 1
        priced = False
        if func in PRODUCT_FUNCS and self.state["depth"] == 0 and not self.state["cells"] \
                and not self.state["hooks"]:
            priced = self._product(func, args, kwargs, out)
        if self.state["depth"] == 0 and not self.state["cells"] and func in UNPRICED_FUNCS \
                and act is None and not priced and not (func is MHA_FUNC and self.state["mha"]):
            # (an attention layer's own call, ``_own_attention``: priced as its layer)
            self.state["unpriced"].setdefault(*unpriced_call(self.state, func))
        if self.state["depth"] == 0 and not self.state["cells"] and _residual_add(func, args):
            # (its operands' zeros measured before the call: ``out += identity`` overwrites
            # the first, and a later in-place ReLU the sum)
            self.state["adds"].append((self.state["order"], out, args[0], args[1], sparsity))
            self.state["order"] += 1


_OPS = (torch._ops.OpOverload, torch._ops.OpOverloadPacket)


def mark_read(state: dict, values, at: int | None = None, out=None) -> None:
    """The model's stored tensors (``state["stored"]``) that ``values`` (a priced call's
    operands; a list or tuple of tensors, a cat's, one level down) are or are views of, as
    read (``state["read"]``): a module's own Parameter that a priced op reads (a learned
    position embedding added to its input, a class token concatenated to it, learned
    queries passed to an attention layer) is priced there.  Only a product's operands were
    marked, so a ViT's position embedding (a Parameter of 2 dimensions that no product
    reads) was refused as a layer with no cost model (h320).

    ``at``: the order of the call's first record, whose op keeps the Parameters read
    (``state["stored_reads"]``, ``hwsim.op.Op.stored_reads``: the model's weights count
    them, h322); ``out``: an element-wise call's result, which is then made of the
    Parameter it read, or that its operands were made of (``state["derived"]``,
    ``_derived_weight``: ``F.linear(x, self.weight * self.mask)`` reads ``weight`` as its
    weight, stored once)."""
    origins = []
    for v in values:
        for t in (v if isinstance(v, (list, tuple)) else (v,)):
            if isinstance(t, torch.Tensor):
                p = stored_of(t, state["stored"])
                if p is not None:
                    state["read"].add(id(p))
                    if isinstance(p, torch.nn.Parameter) and p.dim() >= 2 and at is not None:
                        # (a weight as a layer's: a bias, a 1-d scale not, as a layer's
                        # bias and a norm's are not)
                        rid = f"{state['run']}:{id(p)}"
                        state["stored_reads"].setdefault(at, {})[rid] = (
                            rid, p.numel(), zero_frac(p.detach()))
                        origins.append(p)
                elif (made := _made_of(state, t)) is not None:
                    origins.append(made)
    if origins and out is not None:
        p = max(origins, key=lambda q: q.numel())   # (weight * mask of a Parameter mask)
        for t in (out if isinstance(out, (list, tuple)) else (out,)):
            address = storage_address(t) if isinstance(t, torch.Tensor) else None
            if address is not None:
                state["derived"][address] = (weakref.ref(t), p)


def _made_of(state: dict, t):
    """The Parameter tensor ``t`` was made of by the priced calls (``mark_read``'s ``out``),
    or a view of such a tensor is; None for another."""
    held = state["derived"].get(storage_address(t))
    return held[1] if held is not None and held[0]() is not None else None


def _derived_weight(state: dict, op: Op, w):
    """A layer call's ``op`` whose weight ``w`` is no stored tensor but made of a
    Parameter (``F.linear(x, self.weight * self.mask)``, a user's own masking) with that
    Parameter's weight id: the model stores the Parameter once, which the call that made
    ``w`` read (``Op.stored_reads``: counted twice, that and the op's weight, h322)."""
    p = _made_of(state, w) if isinstance(w, torch.Tensor) else None
    return op if p is None else dataclasses.replace(op, weight_id=f"{state['run']}:{id(p)}")


def unpriced_call(state: dict, func, reason: str = "", what: str | None = None) -> tuple:
    """(name, kind) of a call outside a layer that has no cost model, for extract()'s
    refusal ('hwsim cannot price layer NAME (KIND)'): the call (``what``, else 'FUNC()') and
    'called outside a layer', or inside a module of the user's own that extract() prices by
    its forward's calls (``state["own_layers"]``, ``hwsim.workload``) that module, its class
    and the call; ``reason`` why (a product's: ``hwsim.products.ProductWork``)."""
    call = what or f"{getattr(func, '__name__', func)}()"
    why = f": {reason}" if reason else ""
    if state.get("own_layers"):
        name, kind = state["own_layers"][-1]
        return name, f"{kind}, whose forward calls {call}{why}"
    return call, f"called outside a layer{why}"


def torch_form(func):
    """The torch function an operator of ``torch.ops.aten`` called in a forward is (aten.mm,
    aten.mm.default: torch.mm; aten.add_: Tensor.add_; aten.linear: F.linear's
    torch._C._nn.linear), priced as that function is; ``func`` itself for any other
    call.  A mode sees them with the operator as its function, which no table of hwsim's
    held: ``torch.ops.aten.mm(x, w)``, ``torch.ops.aten.exp(x)`` in a forward were free
    (h227).  An operator of another namespace, or an aten one no torch function is, stays
    itself: ``FunctionCatcher`` refuses it outside a layer."""
    if not isinstance(func, _OPS):
        return func
    packet = func.overloadpacket if isinstance(func, torch._ops.OpOverload) else func
    namespace, _, name = str(getattr(packet, "_qualified_op_name", "")).partition("::")
    if namespace != "aten":
        return func
    for owner in (torch, torch._C._nn, torch.Tensor):
        form = getattr(owner, name, None)
        if callable(form) and not isinstance(form, type):
            return form
    return func


# calls that make new tensors and cost nothing by hwsim's rules (``FunctionCatcher._watched``):
# casts (``hwsim.arithmetic``: a dtype or device cast is free), uninitialised tensors
# (torch.empty: nothing written), and what hands the host values (numpy, tolist)
FREE_CALLS = frozenset(tensor_forms((
    "float", "double", "half", "bfloat16", "int", "long", "short", "char", "byte", "bool",
    "cfloat", "cdouble", "to", "type", "type_as", "cpu", "cuda", "pin_memory", "empty",
    "empty_like", "new_empty", "empty_strided", "new_empty_strided", "new", "detach",
    "numpy", "tolist", "item"), inplace=False))


# in-place calls that change a tensor's metadata (its shape, strides, name, gradient flag),
# not its values
_METADATA = frozenset(("detach_", "requires_grad_", "resize_", "resize_as_", "share_memory_",
                       "squeeze_", "unsqueeze_", "t_", "transpose_", "swapdims_", "swapaxes_",
                       "as_strided_", "set_", "rename_", "refine_names_", "conj_physical_",
                       "retain_grad_"))


def _in_place(func) -> bool:
    """Whether ``func`` writes its result into its input by torch's naming (``relu_``,
    torch._C._nn.silu_: it makes no new storage to tell it by), its metadata's aside."""
    name = getattr(func, "__name__", "")
    return name.endswith("_") and not name.endswith("__") and name not in _METADATA


_KNOWN_LAYOUTS = (torch.strided, torch.sparse_coo, torch.sparse_csr, torch.sparse_csc,
                  torch.sparse_bsr, torch.sparse_bsc, torch._mkldnn)


def _new_values(out, inputs) -> bool:
    """Whether ``out`` holds a tensor of values in storage none of ``inputs`` has (a view or
    the input itself: no); a sparse tensor's are its stored values' (torch.sparse.softmax,
    torch.sparse.sum were free), an MKL-DNN tensor's its buffer (``hwsim.copies``)."""
    def storages(values):
        found = set()
        for v in values:
            for t in (v if isinstance(v, (tuple, list)) else (v,)):
                if isinstance(t, torch.Tensor) and t.numel() and not t.is_meta \
                        and not t.is_nested and t.layout in _KNOWN_LAYOUTS:
                    found.add(stored_address(t))
        return found - {0}
    made = storages(out if isinstance(out, (tuple, list)) else (out,))
    return bool(made - storages(inputs))


def _check_not_transformed(func, values) -> None:
    """A tensor of a torch.func transform (torch.vmap's batched tensor, torch.func.grad's)
    among a call's arguments is refused in one line: its calls show one sample's shapes (a
    vmap over the batch would be priced for one sample) and a transform's own work (grad's
    backward pass) no mode sees; hwsim's own measures of one failed extract with its
    traceback (vmap: '.item() on a Tensor', h227)."""
    flat = [t for v in values for t in (v if isinstance(v, (tuple, list)) else (v,))]
    if any(isinstance(t, torch.Tensor) and torch._C._functorch.is_functorch_wrapped_tensor(t)
           for t in flat):
        raise Refusal(f"hwsim cannot price {getattr(func, '__name__', 'a call')}() inside a "
                      f"torch.func transform (vmap, grad, jacrev...): its calls show one "
                      f"sample's shapes and no mode sees the transform's own work")


def _check_not_nested(func, values, made: bool = False) -> None:
    """A nested tensor (torch.nested) among a call's arguments or results (``made``) is
    refused in one line: no op records its ragged shapes (a copy of one failed extract as an
    error of hwsim's own, h219)."""
    flat = [t for v in values for t in (v if isinstance(v, (tuple, list)) else (v,))]
    if any(isinstance(t, torch.Tensor) and t.is_nested for t in flat):
        raise Refusal(f"hwsim cannot price {getattr(func, '__name__', 'a call')}() "
                      f"{'making' if made else 'on'} a nested tensor (torch.nested): no op "
                      f"records ragged shapes")


_ADDS = (torch.add, torch.Tensor.add, torch.Tensor.__add__, torch.Tensor.__iadd__,
         torch.Tensor.add_)


def _residual_add(func, args) -> bool:
    """A tensor add of two operands of one shape (a ResNet shortcut): an ``add`` op of its
    own, its input both operands (``make_op``'s ``also``: 2 x the output's values read; it
    was the first operand alone, h190), its ``in_shape`` the first's."""
    return (func in _ADDS and len(args) >= 2
            and all(isinstance(a, torch.Tensor) for a in args[:2])
            and args[0].shape == args[1].shape)


_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_TORCH_MODULES_DIR = os.path.join(_TORCH_DIR, "nn", "modules") + os.sep


def _by_torch_module() -> bool:
    """Whether the torch function being called (from ``FunctionCatcher._before``) is called by
    the code of one of torch's own modules rather than by the model's: the frames between
    the call and the nearest frame outside torch include one of torch.nn.modules (a
    subclass of nn.MultiheadAttention whose super().forward makes its boolean mask a float
    one with masked_fill; nn.TransformerEncoder checking whether a mask is causal with
    triu, eq and all).  That is the layer's machinery, not the model's arithmetic: a plain
    nn.MultiheadAttention (a leaf) does it unrecorded, and its mask's cost is in its softmax
    op.  A torch function the model calls directly (``x.exp()``), or through torch's Python
    wrappers (F.normalize, ``2 ** x``: torch.overrides, torch._tensor), is the model's.
    The adds and activations torch's modules compute (a TransformerEncoderLayer's residual
    adds, its F.relu) are recorded as before (``_residual_add``, ``functional_module``)."""
    frame = sys._getframe(3)   # (_before, __torch_function__, then the caller)
    while frame is not None and frame.f_code.co_filename.startswith(_TORCH_DIR):
        if frame.f_code.co_filename.startswith(_TORCH_MODULES_DIR):
            return True
        frame = frame.f_back
    return False


def _check_sdpa(args, kwargs) -> None:
    """Before an F.scaled_dot_product_attention call runs: its attention weights (``sdpa_ops``
    makes them) within MAX_ACTIVATION_VALUES, else one line.  (``sample_work`` bounds them
    before the forward pass; this holds where the model does not run on the meta device.)"""
    try:
        weights = sdpa_work(args, kwargs)[1]
    except (RuntimeError, TypeError, KeyError, AttributeError):   # the call itself will say
        return
    if weights > MAX_ACTIVATION_VALUES:
        q = args[0] if args else kwargs.get("query")
        raise Refusal(f"pricing scaled_dot_product_attention on query {tuple(q.shape)} "
                       f"makes {weights:,} attention weights; the limit is "
                       f"{MAX_ACTIVATION_VALUES:,} (a smaller batch or sequence)")


def _check_mha(name: str | None, args, kwargs) -> None:
    """Before an attention layer's F.multi_head_attention_forward call runs: its attention
    weights (torch makes them, and ``attention_ops`` again, per head) within
    MAX_ACTIVATION_VALUES, else one line naming the layer.  ``sample_work`` bounds them
    before the forward pass; this holds where the model does not run on the meta device
    (a sequence of 100,000 tokens went on to allocate a 40 GB score matrix)."""
    try:
        weights = mha_work(args, kwargs)[1]
    except (RuntimeError, TypeError, KeyError, AttributeError, IndexError):   # the call will say
        return
    if weights > MAX_ACTIVATION_VALUES:
        c = dict(zip(("query", "key"), args), **kwargs)
        where = f"layer {short_repr(name)}" if name is not None else "multi_head_attention_forward"
        raise Refusal(f"pricing {where} on query {tuple(c['query'].shape)} and key "
                       f"{tuple(c['key'].shape)} (sequence first) makes {weights:,} attention "
                       f"weights; the limit is {MAX_ACTIVATION_VALUES:,} (a smaller batch or "
                       f"sequence)")


def _call_user(func, args, kwargs):
    """The call ``FunctionCatcher`` passes on: the model's own, unless hwsim's own code made it
    (a torch function a hook calls: ``own_code`` tells that one's error as hwsim's)."""
    return func(*args, **kwargs)
