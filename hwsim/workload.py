"""Workload extraction: any PyTorch module + an input shape -> a list of operation records.

DESIGN contract "Workload": hwsim reads ``Op`` records (``hwsim.op``: type, shapes, MACs,
bytes, sparsity, and the GEMM ``(T x K) @ (K x N)`` x ``groups`` a systolic array runs) and
never needs the module again.

Extraction (``extract``) runs one forward pass with hooks on leaf modules, so it works the
same on a dense model, a masked model (``torch.nn.utils.parametrize`` on Linear/Conv: the hook
reads the effective ``module.weight``, mask applied) and a compacted one.  Each leaf call is
priced by ``hwsim.layers.op_from_module``: convolutions, Linear, pools, norms, activations,
resampling and embeddings there; an nn.MultiheadAttention (a TransformerEncoderLayer's too) as
its projections and per-head products in ``hwsim.attention`` (a subclass's own work around
them as any forward's: ``_own_attention``); torch's LSTM, GRU and RNN in
``hwsim.recurrent``.  What a forward does outside leaf modules is caught with a
``TorchFunctionMode`` (``hwsim.tracing.FunctionCatcher``): tensor additions (ResNet
shortcuts), activations, pools, resampling, padding, norms and lookups called as functions
(``F.relu(x)``: priced as the ``nn.ReLU`` module is, ``F.pad`` as the padding layer,
``F.layer_norm`` as nn.LayerNorm, ``hwsim.functional``), element-wise arithmetic and
functions (``x * y``, broadcast or with a number, ``-x``, ``x ** 2``, ``x.exp()``,
``torch.where``), reductions (means, sums, maxima, variances, norms) and sorts
(``hwsim.arithmetic``), concatenations, copies, scatters, fills and random draws (priced as
a tensor add is, ``hwsim.copies``; a view is free), F.scaled_dot_product_attention
(``hwsim.attention.sdpa_ops``) and products and convolutions (F.linear as nn.Linear, F.conv2d
as nn.Conv2d, x @ W of a Parameter as a Linear, x @ y and einsum of activations as
attention's products: ``hwsim.products``).  A leaf module of the user's own (no torch class
among its bases: ``own_layer``) is priced by what its forward calls, as a module with
children is, not as one layer.
Weight sparsity is the measured fraction of exact zeros in the effective weight; activation
sparsity is the measured fraction of zeros in the op's input for the given sample (real data
when ``inputs`` is passed, else a seeded Gaussian sample).

Recurrent layers (``synth.models.RecurrentLayer``: the ``lstm`` and ``hlstm`` families) call
their gate Linear layers once per time step: the T calls of one layer become one ``recurrent``
op (``hwsim.recurrent.merge_repeated``), the cell update one ``eltwise`` op.  A module called
at two places of a forward is two ops; only the per-step calls of a recurrent layer merge.

A layer with no cost model is refused in one line naming it (``KNOWN_LAYERS``): a leaf module
extract() has no op for and that is not free (``FREE``), a module with weights no op reads
(a product in its forward that reads them prices them), or a product, convolution or
other call in a module's own forward that no op prices (``UNPRICED_FUNCS``).  Priced
without it, the model would be cheaper than it is.  Before the forward pass runs, its work
is bounded on the meta device (``sample_work``: ``MAX_EXTRACT_MACS``,
``MAX_ACTIVATION_VALUES``).
"""
from __future__ import annotations

import dataclasses
import math
import uuid

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence
from torch.overrides import TorchFunctionMode

from hwsim.attention import MHA_FUNC, SDPA, attention_call_ops, mha_work, sdpa_ops, sdpa_work
from hwsim.layers import (CONVS, CONVT, FREE, INTERPOLATION_OPS, KNOWN_LAYERS,
                          LRN_OPS_PER_ELEMENT, NORM_OPS_PER_ELEMENT, NORMS, PRICED, QUANTIZED,
                          conv_padding_op, geometry, lp_pool_elems, op_from_module,
                          resample_elems)
from hwsim.meta_shapes import shape_on_meta
from hwsim.products import PRODUCT_FUNCS, product_macs, pruned_views, stored_tensors
from hwsim.op import (FP32_BYTES, GEMM_TYPES, OP_TYPES, Op, lookup_elems, make_op,
                      weight_id, zero_frac)
from hwsim.recurrent import (RNN_CELL_OPS, RNN_GATES, RNNS, cell_op, cut_steps,
                             merge_repeated, packed_rnn_ops, pad_steps, repeat_steps, rnn_macs,
                             rnn_on_meta)
from hwsim.tracing import (MAX_ACTIVATION_VALUES, FunctionCatcher, Refusal, mark_read,
                           own_code)
from synth.config import check_range, short_repr
from synth.errors import UserError
from synth.models import RecurrentLayer
from synth.models.registry import MAX_SAMPLE_MACS
from synth.modes import module_modes, restore_modes

# the workload's public names, here where every caller has found them (the op record and the
# layers' constants live in hwsim.op, hwsim.layers, hwsim.attention and hwsim.recurrent, the
# forward pass's function mode and its bound in hwsim.tracing)
__all__ = ["FP32_BYTES", "GEMM_TYPES", "INTERPOLATION_OPS", "KNOWN_LAYERS",
           "LRN_OPS_PER_ELEMENT", "MAX_ACTIVATION_VALUES", "MAX_BATCH_VALUES",
           "MAX_EXTRACT_MACS", "NORM_OPS_PER_ELEMENT", "OP_TYPES", "Op", "PRICING_SEED",
           "RNN_CELL_OPS", "RNN_GATES", "build_priced", "extract", "geometry", "lookup_elems",
           "lp_pool_elems", "merge_repeated", "resample_elems", "sample_work", "sdpa_ops",
           "stored_weights", "summary", "unique_weights"]

MAX_BATCH_VALUES = 1 << 26    # values in the random batch extract() runs (256 MB of fp32)
# The forward pass extract() runs is bounded by its work, not only its input: resnet18 on
# 3x224x224 is 27 G multiply-accumulates and 1e8 activation values a sample, and --batch 445
# (within MAX_BATCH_VALUES) ran for a quarter of an hour toward tens of GB (batch 32: 61 s,
# 3.8 GB here).  Counted on the meta device (shapes, no arithmetic) before it runs.
MAX_EXTRACT_MACS = MAX_SAMPLE_MACS   # ~1.1e12: a minute or two of one CPU (synth.models.build
                                    # bounds its fit check's samples by the same)
# (MAX_ACTIVATION_VALUES, the largest layer output of the batch: ``hwsim.tracing``'s, where the
# forward pass checks attention against it too)


def _own_attention(m: nn.Module) -> bool:
    """Whether ``m`` is a subclass of nn.MultiheadAttention with its own forward.  What that
    forward does besides its calls of F.multi_head_attention_forward (a projection, a norm,
    an MLP, an activation or add around the attention) is priced as outside any layer: its
    layers by their own hooks, its functional calls and adds by the function mode (a product
    refused as anywhere).  Inside the layer (extract()'s ``depth``), that work was free: a
    subclass with a Linear before and an MLP after its attention priced as the bare
    attention (1,680 MACs for 4,560).  The attention itself is still priced from its
    functional calls (``hwsim.attention.attention_ops``); nothing inside those is seen."""
    return isinstance(m, nn.MultiheadAttention) \
        and type(m).forward is not nn.MultiheadAttention.forward


def _place_calls(records: list, stepped: set | None, at: list, groups: list) -> None:
    """An attention layer's ops, call by call (``groups``), each call's at the order it ran
    (``at``: the function mode's count then, reserved for it) and in its own order after
    it, before whatever the forward did next; ``stepped`` (inside a recurrent layer's step)
    gets their orders too."""
    for order, ops in zip(at, groups):
        for j, op in enumerate(ops):
            records.append((order + j / len(ops), op))
            if stepped is not None:
                stepped.add(order + j / len(ops))


def _layer_input(args: tuple, kwargs: dict):
    """A layer call's input: its first argument, or its first keyword argument when it was
    called by keyword (lin(input=x) was left out of the price)."""
    return args[0] if args else next(iter((kwargs or {}).values()), None)


def _check_not_scripted(model: nn.Module) -> None:
    """A TorchScript module in the model (torch.jit.script or trace of one) is refused in one
    line: it runs its ops where no mode or hook of hwsim's sees them (a traced one was free,
    a scripted one failed registering hwsim's hooks with a traceback, h227)."""
    for n, m in model.named_modules():
        if isinstance(m, torch.jit.ScriptModule):
            raise UserError(f"hwsim cannot price {short_repr(n or type(m).__name__)} "
                            f"({type(m).__name__}): a TorchScript module runs its ops where "
                            f"hwsim does not see them (price the Python module it was made "
                            f"from)")


def _check_initialized(model: nn.Module) -> None:
    """A module whose parameters torch has not made yet (a lazy layer, nn.LazyLinear, before
    its first forward pass) is refused in one line naming it: its weights have no shape to
    price (it was a ValueError traceback, 'Attempted to use an uninitialized parameter',
    h320)."""
    from torch.nn.parameter import is_lazy
    for n, m in model.named_modules():
        if any(is_lazy(t) for t in (*m.parameters(recurse=False), *m.buffers(recurse=False))):
            raise UserError(f"hwsim cannot price {short_repr(n or type(m).__name__)} "
                            f"({type(m).__name__}): its parameters are not initialized yet "
                            f"(a lazy layer: run the model once on an input of its shape "
                            f"first, then price it)")


def _leaf(m: nn.Module) -> bool:
    """Whether extract() hooks ``m`` as one call (a module without children, its
    parametrizations aside; an attention's out_proj is no call of its own:
    F.multi_head_attention_forward reads its weight; a quantized Linear holds its packed
    weights as a child: ``QUANTIZED``)."""
    real_children = [n for n, _ in m.named_children() if n != "parametrizations"]
    return not real_children or isinstance(m, (nn.RNNBase, nn.MultiheadAttention, *QUANTIZED))


def own_layer(m: nn.Module) -> bool:
    """Whether leaf module ``m`` is a layer of the user's own (no class of torch's among its
    bases: a custom layer holding its weights and calling torch.matmul, einsum or F.conv2d
    on them), priced by what its forward calls outside any layer, as a module with children
    is (its products by ``hwsim.products``), not as one layer.  Such a leaf was refused as a
    layer with no cost model whatever it computed (h234).  A subclass of one of torch's
    layers (an nn.Linear with its own forward) is that layer, priced or refused as it is."""
    return not any(c.__module__.split(".")[0] == "torch"
                   for c in type(m).__mro__ if c not in (nn.Module, object))


def extract(model: nn.Module, input_shape, *, batch: int = 1, inputs: torch.Tensor | None = None,
            seed: int = 0) -> list[Op]:
    """The model's operations for one batch of ``batch`` samples of ``input_shape``.

    ``inputs`` (a real batch, e.g. validation images) makes activation sparsity a
    measurement on data; without it a seeded N(0, 1) batch is used."""
    input_shape = tuple(int(s) for s in input_shape)
    _check_not_scripted(model)
    _check_initialized(model)
    if inputs is None:
        if batch < 1:
            check_range("batch", batch, 1, None, integer=True)
        if batch * math.prod(input_shape) > MAX_BATCH_VALUES:
            raise UserError(f"batch {batch:,} of {input_shape} samples is "
                            f"{batch * math.prod(input_shape):,} input values; the limit is "
                            f"{MAX_BATCH_VALUES:,} (batch at most "
                            f"{MAX_BATCH_VALUES // math.prod(input_shape):,} here)")
        gen = torch.Generator().manual_seed(seed)
        inputs = torch.randn((batch,) + input_shape, generator=gen)
    elif tuple(inputs.shape[1:]) != input_shape:
        raise UserError(f"inputs have sample shape {tuple(inputs.shape[1:])}, expected {input_shape}")
    _check_work(model, input_shape, int(inputs.shape[0]))
    records: list[tuple[int, Op]] = []
    stepped: set[int] = set()   # the records of calls inside a recurrent layer's steps
    cuts: list = []   # the recurrent layers running: (first record, input, steps) if cut
    run = uuid.uuid4().hex[:12]   # this extract's: weight ids of two models never collide
    state = {"depth": 0, "order": 0, "adds": [], "acts": [], "cells": 0, "unpriced": {},
             "run": run, "inplace": {}, "hooks": 0,   # hooks: hwsim's own hooks running
             "mha": [],   # the attention layers running: (name, their functional calls,
                          # the order of each)
             "stored": stored_tensors(model), "read": set(),   # (``hwsim.products``)
             "stored_reads": {}, "derived": {},   # (``hwsim.tracing.mark_read``)
             "own_layers": []}   # modules of the user's own running (``own_layer``)
    names = {id(m): n or type(m).__name__ for n, m in model.named_modules()}
    hooks = []

    def pre(m, args, kwargs):
        # an in-place layer (nn.ReLU(inplace=True)) overwrites its input with its output:
        # its input's sparsity is measured before the call (it was the output's)
        x = _layer_input(args, kwargs)
        if state["depth"] == 0 and getattr(m, "inplace", False) is True \
                and isinstance(x, torch.Tensor):
            state["inplace"][id(m)] = zero_frac(x.detach())
        if isinstance(m, nn.MultiheadAttention):
            state["mha"].append((names.get(id(m), type(m).__name__), [], []))
        if not _own_attention(m):
            state["depth"] += 1

    def post(name):
        def hook(m, args, kwargs, out):
            if not _own_attention(m):
                state["depth"] -= 1
            seen = state["inplace"].pop(id(m), None)   # an in-place layer's input sparsity
            _, calls, at = state["mha"].pop() if isinstance(m, nn.MultiheadAttention) \
                else (None, (), ())
            x = _layer_input(args, kwargs)
            packed = isinstance(m, RNNS) and isinstance(x, PackedSequence)
            if state["depth"] == 0 and isinstance(m, PRICED) and x is not None \
                    and not isinstance(x, torch.Tensor) and not packed:
                state["unpriced"].setdefault(name, f"{type(m).__name__} on a "
                                                   f"{type(x).__name__}")   # was free
            if state["depth"] == 0 and (isinstance(x, torch.Tensor) or packed):
                state["depth"] += 1   # the op's own arithmetic (an attention's) is no layer's
                state["mha"].append((name, [], []))   # (nor its calls an outer attention's)
                try:
                    if _own_attention(m):   # each call's ops where it ran (``_own_attention``)
                        _place_calls(records, stepped if state["cells"] else None, at,
                                     attention_call_ops(name, m, list(calls), run))
                        return
                    if packed:   # sequences of several lengths (``packed_rnn_ops``)
                        op, pad = packed_rnn_ops(name, m, x, out), None
                    else:
                        op = op_from_module(name, m, x.detach(), out, args, kwargs, run,
                                            calls)
                        pad = conv_padding_op(name, m, x.detach())   # a reflect-padded
                        # conv's copy
                except UserError as e:   # a call no op can price (the model is fine)
                    raise Refusal(str(e)) from None
                finally:
                    state["depth"] -= 1
                    state["mha"].pop()
                if seen is not None and isinstance(op, Op):
                    op = dataclasses.replace(op, act_sparsity=seen)
                if isinstance(op, Op) and op.weight_shape:
                    op = dataclasses.replace(op, weight_id=weight_id(m, run))
                if pad is not None and isinstance(op, Op):   # the copy, then the conv
                    op = [pad if seen is None else dataclasses.replace(pad, act_sparsity=seen),
                          op]
                if op is None and not isinstance(m, FREE + PRICED):
                    state["unpriced"].setdefault(name, type(m).__name__)
                if op:   # (a Parameter passed to a layer: learned queries, read there)
                    mark_read(state, (*args, *kwargs.values()), at=state["order"])
                for one in ([op] if isinstance(op, Op) else op or []):
                    if state["cells"]:   # a step of a recurrent layer (``merge_repeated``)
                        stepped.add(state["order"])
                    records.append((state["order"], one))
                    state["order"] += 1
        return hook

    def unpriced(name):   # a layer with weights that no op record prices: its work is lost
        def hook(m, args, out):
            # (weights a product in its forward read are priced there: ``hwsim.products``)
            if any(id(p) not in state["read"] for p in m.parameters(recurse=False)
                   if p.dim() >= 2):
                state["unpriced"].setdefault(name, type(m).__name__)
        return hook

    def enter_own(name):   # a module of the user's own (``own_layer``): named in refusals
        def hook(m, args):
            state["own_layers"].append((name, type(m).__name__))
        return hook

    def leave_own(m, args, out):
        state["own_layers"].pop()

    def enter_cell(m, args):   # the cell's own sums are part of its eltwise op
        state["cells"] += 1
        cut = cut_steps(args) if state["depth"] == 0 else None   # (``STEPS_TRACED``)
        cuts.append((len(records), args[0], cut[1], cut[0][0].shape[1]) if cut else None)
        return cut[0] if cut else None

    def cell(name):
        def hook(m, args, out):
            state["cells"] -= 1
            cut = cuts.pop()
            if cut is not None:   # the steps not traced, counted (``repeat_steps``)
                start, x, steps, traced = cut
                records[start:] = repeat_steps(records, stepped, start, steps, traced)
                args, out = (x, *args[1:]), pad_steps(out, steps)
            if state["depth"] == 0 and args and isinstance(args[0], torch.Tensor):
                records.append((state["order"], cell_op(name, m, args[0].detach(), out)))
                state["order"] += 1
            return out if cut is not None else None
        return hook

    def own(hook):   # a hook's code is hwsim's: its errors are no fault of the model's
        def run(*args, **kwargs):   # (nor its arithmetic the model's work: ``hooks``)
            state["hooks"] += 1
            try:
                with own_code(state):
                    return hook(*args, **kwargs)
            finally:
                state["hooks"] -= 1
        return run

    for name, m in model.named_modules():
        if any(n.endswith("_orig") for n in m._parameters):   # (``pruned_views``: after
            hooks.append(m.register_forward_pre_hook(own(   # the prune's own pre-hook)
                lambda m, args: pruned_views(state["stored"], m))))
        if isinstance(m, RecurrentLayer):
            hooks.append(m.register_forward_pre_hook(own(enter_cell)))
            hooks.append(m.register_forward_hook(own(cell(name))))
        # a parametrized layer (e.g. a masked Linear) has a "parametrizations" child but is
        # still one op; the parametrization modules themselves are not ops.  The root is
        # hooked too when it is itself a layer (a bare nn.Conv2d), named by its class.
        is_leaf = _leaf(m)
        if ".parametrizations." in f".{name}.":
            continue
        if is_leaf and own_layer(m):   # priced by what its forward calls, as a parent's
            hooks.append(m.register_forward_pre_hook(own(enter_own(name or type(m).__name__))))
            hooks.append(m.register_forward_hook(own(leave_own), always_call=True))
        elif is_leaf:
            hooks.append(m.register_forward_pre_hook(own(pre), with_kwargs=True))
            hooks.append(m.register_forward_hook(own(post(name or type(m).__name__)),
                                                 with_kwargs=True))
        if not isinstance(m, PRICED + NORMS) and any(p.dim() >= 2
                                                       for p in m.parameters(recurse=False)):
            hooks.append(m.register_forward_hook(own(unpriced(name or type(m).__name__))))
    modes = module_modes(model)
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    model.eval()
    try:
        with torch.no_grad(), FunctionCatcher(state):
            model(inputs.to(device))
    except Refusal:   # pricing's own refusal, already one line
        raise
    except (RuntimeError, ValueError, TypeError) as e:   # an LSTM's wrong rank: ValueError
        if "internal" in state:   # raised in hwsim's own code (``own_code``): its traceback
            if state["internal"] is e:
                raise
            raise state["internal"]   # (the model's code made another of it)
        raise UserError(f"model {type(model).__name__} does not accept input shape "
                        f"{input_shape}: {(str(e).splitlines() or [type(e).__name__])[0]}"
                        ) from None
    finally:
        for h in hooks:
            h.remove()
        restore_modes(modes)
    if "internal" in state:   # a fault of hwsim's own the model's forward caught: the ops
        raise state["internal"]   # it failed to record are missing
    if state["unpriced"]:   # priced without them, the total was silently too small
        name, kind = next(iter(state["unpriced"].items()))
        raise UserError(f"hwsim cannot price layer {short_repr(name)} ({kind}): no cost model, "
                        f"and the model priced without it would be too cheap (known: "
                        f"{KNOWN_LAYERS})")
    records.extend(state["acts"])
    for i, (order, out, a, b, zeros) in enumerate(state["adds"]):
        op = make_op("eltwise", f"add{i}", a.detach(), out.detach(), elems=out.numel(),
                     also=(b.detach(),))
        records.append((order, dataclasses.replace(op, act_sparsity=zeros)))
    records = [(order, dataclasses.replace(op, stored_reads=tuple(
        state["stored_reads"][order].values())) if order in state["stored_reads"] else op)
        for order, op in records]   # the Parameters each read (``Op.stored_reads``)
    if not records:  # pricing it as free would be a wrong answer, not a cheap model
        raise UserError(f"{type(model).__name__} has no operation hwsim can price (known: "
                        f"{KNOWN_LAYERS})")
    return [op for _, op in sorted(merge_repeated(records, stepped), key=lambda r: r[0])]


def _on_meta(model: nn.Module) -> list:
    """Every parameter and buffer of ``model`` replaced by a meta tensor of its shape, in
    place (a tensor two layers share: one meta tensor for both); returns what undoes it
    (``_off_meta``).  torch.func.functional_call left a module registered under two names
    (one Linear applied at two places) on the meta device: the user's weights were gone
    and the model could not be priced ('Tensor.item() cannot be called on meta tensors')."""
    metas, undo = {}, []
    try:
        for m in model.modules():     # each module once, however many names it has
            for slots in (m._parameters, m._buffers):
                for n, t in list(slots.items()):
                    if t is None:
                        continue
                    if id(t) not in metas:
                        meta = t.detach().to("meta")
                        metas[id(t)] = (nn.Parameter(meta, t.requires_grad)
                                        if isinstance(t, nn.Parameter) else meta)
                    undo.append((slots, n, t))
                    slots[n] = metas[id(t)]
    except BaseException:   # a tensor with no meta form (a quantized buffer): the ones
        _off_meta(undo)     # replaced before it are given back (they stayed meta tensors,
        raise               # the model's weights gone, h219)
    return undo


def _off_meta(undo: list) -> None:
    for slots, n, t in reversed(undo):
        slots[n] = t


def sample_work(model: nn.Module, input_shape) -> tuple[int, int] | None:
    """(multiply-accumulates of Linear, Conv2d, Conv1d and attention layers, values of the
    largest layer output or attention weights) of one sample, from a forward pass on the
    meta device: shapes only, no arithmetic and no copy of the weights.  Convolutions,
    norms, ReLU, pools, Linear, adds and concatenations there are answered by their shape
    formulas (``hwsim.meta_shapes``: torch's kernels for them import sympy and
    torch._dynamo, seconds of every process that priced a model).  None where the
    model does not run on meta tensors.  Attention counts as a layer (nn.MultiheadAttention:
    its F.multi_head_attention_forward call) or as F.scaled_dot_product_attention called in
    a forward (``_SdpaCounter``: it was not counted, and a sequence of 16,500 tokens went on
    to make a 1 GiB score matrix several times over), and so does a product or convolution
    called outside any layer (``hwsim.products.product_macs``, its result a layer output:
    extract prices them since h234)."""
    work = [0, 0]
    inside = [0]   # MultiheadAttention calls running (their own SDPA is counted with them)
    layers = [0]   # leaf layers running (their own products are counted with them)

    cuts: list = []   # recurrent layers running on their first steps: (MACs before, steps)

    def enter(m, args):
        inside[0] += isinstance(m, nn.MultiheadAttention)
        layers[0] += _leaf(m) and not own_layer(m)

    def enter_cell(m, args):   # the steps beyond STEPS_TRACED counted, not run (as extract)
        cut = cut_steps(args)
        cuts.append((work[0], cut[1], cut[0][0].shape[1]) if cut else None)
        return cut[0] if cut else None

    def leave_cell(m, args, out):
        cut = cuts.pop()
        if cut is None:
            return None
        before, steps, traced = cut   # every traced step's MACs (the input Linear's too)
        work[0] = before + (work[0] - before) * steps // traced   # x T / traced
        return pad_steps(out, steps)

    def hook(m, args, kwargs, out):
        # the layer's input as extract() reads it: a layer called by keyword (lin(input=x))
        # counted no work here while extract() priced it
        x = _layer_input(args, kwargs)
        layers[0] -= _leaf(m) and not own_layer(m)
        if isinstance(m, RNNS) and isinstance(out, tuple) and out:
            out = out[0]   # torch's recurrent layer: (output, state), its output counted
        if isinstance(out, torch.Tensor):   # (a cut layer's output over all steps: its T)
            steps, traced = next((c[1:] for c in reversed(cuts) if c), (0, 0))
            whole = steps and out.dim() == 3 and out.shape[1] == traced
            work[1] = max(work[1], out.numel() * steps // traced if whole else out.numel())
        if isinstance(m, CONVS) and isinstance(out, torch.Tensor):
            work[0] += out.numel() * math.prod(m.weight.shape[1:])
        elif isinstance(m, CONVT) and isinstance(x, torch.Tensor):
            work[0] += x.numel() * math.prod(m.weight.shape[1:])
        elif isinstance(m, nn.Linear) and isinstance(x, torch.Tensor):
            work[0] += x.numel() // m.in_features * m.in_features * m.out_features
        elif isinstance(m, RNNS) and isinstance(x, (torch.Tensor, PackedSequence)):   # torch's
            work[0] += rnn_macs(m, x)   # LSTM, GRU, RNN and cells: they were 0 here
        elif isinstance(m, nn.MultiheadAttention):   # its work: its functional call's
            inside[0] -= 1                              # (_SdpaCounter)

    _check_not_scripted(model)   # (its hooks cannot be registered: those before it leaked)
    hooks = [m.register_forward_hook(hook, with_kwargs=True) for m in model.modules()]
    hooks += [m.register_forward_pre_hook(enter) for m in model.modules()]
    for m in model.modules():
        if isinstance(m, RecurrentLayer):
            hooks += [m.register_forward_pre_hook(enter_cell),
                      m.register_forward_hook(leave_cell)]
    modes = module_modes(model)
    model.eval()
    undo: list = []
    rnns = _rnns_on_meta(model)
    try:
        undo = _on_meta(model)   # (inside: a model that cannot go to the meta device has
        with torch.no_grad(), _SdpaCounter(work, inside, layers):   # no bound, its hooks
                                                                    # removed)
            model(torch.empty((1, *input_shape), device="meta"))
    except Exception:   # data-dependent code (.item() on a value): no bound, as before
        return None
    finally:
        _off_meta(undo)
        for h in hooks:
            h.remove()
        restore_modes(modes)
        _rnns_off_meta(rnns)
    return work[0], work[1]


def _rnns_on_meta(model: nn.Module) -> list:
    """Each torch recurrent layer or cell of ``model`` answering a meta input by its output
    shapes (``hwsim.recurrent.rnn_on_meta``; any other call as before), in place; returns
    what undoes it (``_rnns_off_meta``).  torch's meta kernel ran the layer step by step
    through Python: ``sample_work`` took 68 s on an LSTM(1, 512, num_layers=2) over 3,000
    steps whose real forward pass took 3 s (h320)."""
    undo = []
    torch_forwards = {c.forward for c in RNNS}
    for m in model.modules():   # (a subclass's own forward runs as it is: its other work)
        if not isinstance(m, RNNS) or type(m).forward not in torch_forwards:
            continue
        own = m.__dict__.get("forward")
        forward = m.forward

        def on_meta(input, hx=None, m=m, forward=forward):
            out = rnn_on_meta(m, input, hx)
            return forward(input, hx) if out is None else out
        m.forward = on_meta
        undo.append((m, own))
    return undo


def _rnns_off_meta(undo: list) -> None:
    for m, own in undo:
        if own is None:
            del m.forward
        else:
            m.forward = own


class _SdpaCounter(TorchFunctionMode):
    """Adds each F.scaled_dot_product_attention call made outside a MultiheadAttention
    (``inside``) to ``work`` (``sdpa_work``: MACs, and its attention weights as a layer
    output), and each F.multi_head_attention_forward call (``mha_work``: a
    MultiheadAttention's, on the arguments it ran on; a subclass's call that did not bind to
    the parent's arguments was left out of the bound).  A call ``shape_on_meta`` answers
    returns its meta tensor without running torch's kernel.  A product or convolution
    called outside any leaf layer (``layers``) adds its MACs (``product_macs``) and its
    result as a layer output."""

    def __init__(self, work: list, inside: list, layers: list):
        super().__init__()
        self.work, self.inside, self.layers = work, inside, layers

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if (func is SDPA and not self.inside[0]) or func is MHA_FUNC:
            macs, weights = (sdpa_work if func is SDPA else mha_work)(args, kwargs)
            self.work[0] += macs
            self.work[1] = max(self.work[1], weights)
        out = shape_on_meta(func, args, kwargs)   # (torch's kernel imports sympy)
        out = func(*args, **kwargs) if out is None else out
        if func in PRODUCT_FUNCS and not self.layers[0] and isinstance(out, torch.Tensor):
            self.work[0] += product_macs(func, args, kwargs, out)
            self.work[1] = max(self.work[1], out.numel())
        return out


def _check_work(model: nn.Module, input_shape: tuple, batch: int) -> None:
    """A one-line error when extract()'s forward pass of ``batch`` samples would exceed
    MAX_EXTRACT_MACS or MAX_ACTIVATION_VALUES (``sample_work``)."""
    work = sample_work(model, input_shape)
    if work is None:
        return
    macs, largest = work
    for what, per, limit in (("multiply-accumulates", macs, MAX_EXTRACT_MACS),
                             ("values in its largest layer output", largest,
                              MAX_ACTIVATION_VALUES)):
        if per and batch * per > limit:
            if per > limit:   # no batch fits ('batch at most 0 here')
                raise UserError(f"one sample of {input_shape} runs {per:,} {what}; the limit "
                                f"is {limit:,} (a smaller input shape)")
            raise UserError(f"pricing a batch of {batch:,} samples of {input_shape} runs "
                            f"{batch * per:,} {what}; the limit is {limit:,} (batch at most "
                            f"{limit // per:,} here, or a smaller input shape)")


def unique_weights(ops: list[Op]) -> list[Op]:
    """The ops whose weights the model stores, each stored tensor once: of ops that read the
    same Parameter (``Op.weight_id``: a language model's decoder tied to its embedding) the
    first.  The model's weight bytes are these ops' (both ops still read the tensor: their
    prices keep the reads)."""
    seen: set = set()
    out = []
    for o in ops:
        if o.weight_id and o.weight_id in seen:
            continue
        seen.add(o.weight_id)
        out.append(o)
    return out


def stored_weights(ops: list[Op]) -> list[tuple[int, float]]:
    """(bytes, zero fraction) of each weight tensor the model stores, once: the ops'
    weights (``unique_weights``) and the Parameters they read otherwise (``Op.stored_reads``:
    a position embedding added, a class token concatenated, learned queries), each of
    those where no op reads it, or a slice of it, as its weight.  The model's weights are
    all its Parameters an op reads, whatever op: such Parameters were priced as input
    reads and left out of its weight bytes (h322)."""
    own = unique_weights(ops)
    out = [(o.weight_bytes, o.weight_sparsity) for o in own]
    seen = {":".join(o.weight_id.split(":")[:2]) for o in own if o.weight_id}
    for o in ops:
        for rid, elems, zeros in o.stored_reads:
            if rid not in seen:
                seen.add(rid)
                out.append((int(elems) * FP32_BYTES, float(zeros)))
    return out


def summary(ops: list[Op]) -> dict:
    """Totals over a workload: MACs, weight and activation bytes, nonzero weights; a weight
    tensor two ops read (tied) counts once (it counted twice in weight_bytes), a Parameter
    an op reads as an input counts too (``stored_weights``)."""
    stored = stored_weights(ops)
    return {"ops": len(ops), "macs": sum(o.macs for o in ops),
            "weight_bytes": sum(n for n, _ in stored),
            "activation_bytes": sum(o.activation_bytes for o in ops),
            "nonzero_weights": int(sum(n // FP32_BYTES * (1 - z) for n, z in stored))}


# The seed a spec's model (not a checkpoint) is built from before it is priced: activation
# sparsity, and with it SPRING's zero-skipping, follows the initial weights, so two builds of
# the same spec from different random states priced differently (a SPRING op 7.085e-05 vs
# 7.065e-05 mJ between two runs of one command).
PRICING_SEED = 0


def build_priced(spec, input_shape, num_classes: int) -> nn.Module:
    """The model hwsim prices for ``spec`` (a variant name or spec dict): built from
    ``PRICING_SEED``, the caller's random stream left where it was.  Every place that prices
    a spec (the CLI, the search's cost model, the hwsim actor pool) builds it here, so each
    prices the same weights."""
    from synth.models import build
    # build() runs the model on two zero samples to check that it fits: bounded here first,
    # on its meta-device shell, as extract() bounds its own pass (resnet18 on 3x2000x2000,
    # 2.2e12 multiply-accumulates a sample, ran in build for over a minute, toward hours,
    # before extract() could refuse it)
    shell = build(spec, input_shape, num_classes, meta=True)
    _check_work(shell, tuple(int(s) for s in input_shape), 1)
    with torch.random.fork_rng():
        torch.manual_seed(PRICING_SEED)
        return build(spec, input_shape, num_classes)
