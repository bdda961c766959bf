"""Masked Linear/Conv1d/Conv2d layers and the connection-level moves of grow-and-prune.

A prunable layer (``synth.models.prunable_layers``) is masked by a ``torch.nn.utils.parametrize``
parametrization: the effective weight is ``original * mask`` with ``mask`` a bool buffer, so
``layer.weight`` is the masked weight, ``state_dict`` carries ``...parametrizations.weight.original``
and ``...parametrizations.weight.0.mask`` (the keys ``attach_masks`` recreates on load), and a
gradient step never revives a pruned connection (d/d original = d/d weight * mask = 0).

Moves (NeST, Dai et al. 2019; SCANN, Hassantabar et al. 2019):
- connection growth: dL/dW of *dormant* connections, summed over a few batches, equals
  sum_batches mean_b(x_src * delta_dst) (NeST Eq. 1); the largest |G| are activated and start at
  ``w = -init_scale * G`` (one gradient step from zero, NeST Sec. 3.1);
- neuron growth: a dormant hidden unit bridges the input/output pair (m, n) with the largest
  |G_mn| = |sum mean_b(x_m * delta_n)| across two Linear layers; its weights are
  ``sqrt(beta |G|)`` in and ``-sign(G) sqrt(beta |G|)`` out, so that through the ReLU the new path
  adds ``-beta G x_m`` to output n (NeST Sec. 3.2, birth strength beta);
- connection pruning: remove the active connections with the smallest score (magnitude, or the
  layer-adaptive LAMP score of Lee et al. 2021), exactly k of them;
- regrowth (prune-and-regrow, RigL, Evci et al. 2020): within a layer, activate the dormant
  connections with the largest |G| again, as many as asked, so the topology keeps adapting;
- dead weights: connections into a hidden unit that nothing reads, and connections out of an
  input feature that is constant on the training data (a dead pixel, a unit with no inputs)
  whose contribution w * c is folded into the bias, are removed without changing the function.
"""
from __future__ import annotations

import contextlib
import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from synth.choices import CRITERIA
from synth.config import short_repr
from synth.device import module_device
from synth.errors import UserError
from synth.models import prunable_layers, round_units
from synth.modes import in_mode, module_modes, restore_modes


class Mask(nn.Module):
    """Parametrization ``weight = original * mask``; optionally sums dL/dweight (incl. dormant)."""

    def __init__(self, mask: torch.Tensor):
        super().__init__()
        self.register_buffer("mask", mask.detach().clone().bool())
        self.grad_sum: torch.Tensor | None = None   # set by accumulate_gradients; not saved

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        out = w * self.mask
        if self.grad_sum is not None and out.requires_grad:
            out.register_hook(self._accumulate)
        return out

    def _accumulate(self, grad: torch.Tensor) -> None:
        self.grad_sum += grad.detach()


def _mask_module(layer: nn.Module) -> Mask | None:
    if not parametrize.is_parametrized(layer, "weight"):
        return None
    for p in layer.parametrizations.weight:
        if isinstance(p, Mask):
            return p
    return None


def masked_layers(model: nn.Module) -> list[tuple[str, nn.Module, Mask]]:
    """(name, layer, Mask) for every masked prunable layer, in registration order."""
    out = []
    for name, layer in prunable_layers(model):
        m = _mask_module(layer)
        if m is not None:
            out.append((name, layer, m))
    return out


def original_weight(layer: nn.Module) -> torch.Tensor:
    """The trainable tensor behind a masked layer's weight (the weight itself when unmasked)."""
    if parametrize.is_parametrized(layer, "weight"):
        return layer.parametrizations.weight.original
    return layer.weight


def attach_masks(model: nn.Module, masks: dict[str, torch.Tensor] | None = None) -> nn.Module:
    """Mask every prunable layer (in place; returns ``model``).  ``masks`` maps layer names (as in
    ``prunable_layers``) to bool tensors of the weight's shape; missing layers get all-ones.
    Re-attaching to a masked model replaces its masks."""
    masks = dict(masks or {})
    layers = dict(prunable_layers(model))
    unknown = sorted(set(masks) - set(layers))
    if unknown:
        raise UserError(f"mask for unknown layer {short_repr(unknown[0])}; prunable layers: "
                        f"{', '.join(layers)}")
    for name, layer in layers.items():
        shape = original_weight(layer).shape
        mask = masks.get(name)
        if mask is None:
            mask = torch.ones(shape, dtype=torch.bool)
        if tuple(mask.shape) != tuple(shape):
            raise UserError(f"mask for layer {short_repr(name)} has shape {tuple(mask.shape)}, "
                            f"weight has {tuple(shape)}")
        existing = _mask_module(layer)
        if existing is not None:
            existing.mask.copy_(mask.to(existing.mask.device).bool())
        else:
            device = original_weight(layer).device
            parametrize.register_parametrization(layer, "weight", Mask(mask.to(device)))
    return model


def frozen_layers(model: nn.Module) -> list[str]:
    """The prunable layers whose weight does not train (``requires_grad`` False: a
    sub-module the user froze).  Grow-and-prune neither prunes nor grows them: nothing
    retrains around a frozen layer, and its function was changed (h324: 6 of a frozen
    backbone's 72 weights zeroed by two magnitude steps)."""
    return [name for name, layer in prunable_layers(model)
            if not original_weight(layer).requires_grad]


def nonzero_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """Masks of the nonzero weights: re-masks a compacted or ``torch.nn.utils.prune``d model."""
    return {name: (layer.weight != 0).detach().cpu() for name, layer in prunable_layers(model)}


def masks_of(model: nn.Module) -> dict[str, torch.Tensor]:
    """``{layer name: bool mask}`` (CPU copies) for ``save_checkpoint(masks=...)``."""
    return {name: m.mask.detach().cpu().clone() for name, _, m in masked_layers(model)}


def module_hooks(model: nn.Module) -> dict[str, tuple[list, list]]:
    """Each submodule's forward pre-hooks and forward hooks, by name (those that have any): a
    fixed-point model's rounding (``synth.quant.attach_inference``) lives there, and a model
    rebuilt from its spec (an export's plain copy, a worker's copy) must carry them."""
    return {name: (list(m._forward_pre_hooks.values()), list(m._forward_hooks.values()))
            for name, m in model.named_modules() if m._forward_pre_hooks or m._forward_hooks}


def add_hooks(model: nn.Module, hooks: dict[str, tuple[list, list]]) -> nn.Module:
    """``module_hooks``' record registered on ``model`` (same submodule names); ``model``."""
    modules = dict(model.named_modules())
    for name, (pre, post) in hooks.items():
        for hook in pre:
            modules[name].register_forward_pre_hook(hook)
        for hook in post:
            modules[name].register_forward_hook(hook)
    return model


def plain_state(model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(state dict, masks) of a model that may be masked, as CPU copies: the state dict of
    the unmasked model (``<layer>.weight`` holds a masked layer's effective weight, no
    parametrization keys) and ``{layer name: mask}`` (empty for an unmasked model).  For
    surgery that builds another model from the weights (channel removal, a larger head)
    and then masks it again with ``attach_masks``."""
    state = {k: v.detach().clone().cpu() for k, v in model.state_dict().items()
             if ".parametrizations." not in k}
    masks = {}
    with torch.no_grad():
        for name, layer, m in masked_layers(model):
            state[f"{name}.weight"] = layer.weight.detach().clone().cpu()
            masks[name] = m.mask.detach().clone().cpu()
    return state, masks


def sparsity(model: nn.Module) -> dict:
    """Per-layer fraction of zero weights (after masks) and the total over all prunable layers."""
    out, zeros, total = {}, 0, 0
    with torch.no_grad():
        for name, layer in prunable_layers(model):
            w = layer.weight
            z = int((w == 0).sum())
            out[name] = z / w.numel()
            zeros, total = zeros + z, total + w.numel()
    out["total"] = zeros / max(1, total)
    return out


def connections(model: nn.Module) -> int:
    """Nonzero weights of the prunable layers (biases not counted)."""
    with torch.no_grad():
        return sum(int((layer.weight != 0).sum()) for _, layer in prunable_layers(model))


def sparse_flops(model: nn.Module, input_shape) -> int:
    """Multiply-accumulates per sample that touch a nonzero weight (Linear: nnz per row, e.g.
    per step of a recurrent layer; Conv1d/Conv2d: nnz x output positions, steps or pixels)."""
    return _layer_flops(model, input_shape, lambda m: int((m.weight != 0).sum()))


def active_flops(model: nn.Module, input_shape) -> int:
    """Multiply-accumulates per sample over the connections that train: a masked layer's
    active ones (its mask; a live weight that happens to be 0 included), every weight of an
    unmasked layer.  What a training step pays per sample and pass: an unmasked model's
    zeros (a pruned model with its masks removed, whose pruned weights start at 0) train
    like any weight, and ``sparse_flops`` counted them as absent."""
    def count(m):
        mask = _mask_module(m)
        return int(mask.mask.sum()) if mask is not None else m.weight.numel()
    return _layer_flops(model, input_shape, count)


def _layer_flops(model: nn.Module, input_shape, weights: Callable[[nn.Module], int]) -> int:
    """Sum over the prunable layers of ``weights(layer)`` x the rows (Linear) or output
    positions (Conv) it is applied to, for one zero sample of ``input_shape`` in eval mode."""
    macs, hooks = 0, []

    def hook(m, inp, out):   # Linear: once per row (all T steps of a (1, T, in) input)
        nonlocal macs
        macs += weights(m) * (out[0][0].numel() if isinstance(m, nn.modules.conv._ConvNd)
                              else inp[0].numel() // m.in_features)

    for _, layer in prunable_layers(model):
        hooks.append(layer.register_forward_hook(hook))
    modes = module_modes(model)
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros((1,) + tuple(input_shape), device=module_device(model)))
    finally:
        restore_modes(modes)
        for h in hooks:
            h.remove()
    return macs


def random_masks(model: nn.Module, density: float, seed: int,
                 unit_fraction: float = 1.0) -> dict[str, torch.Tensor]:
    """A sparse seed architecture: each weight kept with probability ``density`` (at least one
    connection per live output unit); only ``unit_fraction`` of each hidden layer's units are
    live, the others are dormant (no input, no output) for neuron growth to fill (NeST seed);
    in a model that declares its ``bridge_pairs`` (an H-LSTM's gates), the hidden units of
    those pairs (``dormant_pair_units``)."""
    if unit_fraction < 1.0 and callable(getattr(model, "bridge_pairs", None)):
        pairs = model.bridge_pairs()
        if not pairs:    # an LSTM: every gate is one Linear layer
            name = getattr(model, "spec", {}).get("family", type(model).__name__)
            raise UserError(f"seed_units < 1 (got {unit_fraction}) needs hidden units between "
                            f"two layers; {name} has none (its gates are single layers): use "
                            f"seed_density only")
        return dormant_pair_units(random_masks(model, density, seed), pairs, unit_fraction,
                                  seed + 1)
    gen = torch.Generator().manual_seed(seed)
    layers = prunable_layers(model)
    masks, live_prev = {}, None
    for i, (name, layer) in enumerate(layers):
        shape = original_weight(layer).shape
        rows = (torch.rand(shape, generator=gen) < density).reshape(shape[0], -1)
        live = torch.ones(shape[0], dtype=torch.bool)
        if i < len(layers) - 1 and unit_fraction < 1.0:
            live[:] = False
            live[torch.randperm(shape[0], generator=gen)[:round_units(unit_fraction * shape[0])]] = True
        if live_prev is not None and not live_prev.all():  # inputs from dormant units stay off
            view = rows.view(shape[0], len(live_prev), -1)
            view[:, ~live_prev] = False
        rows[~live] = False
        empty = live & ~rows.any(1)
        for unit in empty.nonzero().squeeze(1).tolist():
            allowed = torch.ones(rows.shape[1], dtype=torch.bool)
            if live_prev is not None and not live_prev.all():
                allowed = allowed.view(len(live_prev), -1)
                allowed[~live_prev] = False
                allowed = allowed.flatten()
            choices = allowed.nonzero().squeeze(1)
            rows[unit, choices[torch.randint(len(choices), (1,), generator=gen)]] = True
        masks[name] = rows.reshape(shape)
        live_prev = live
    return masks


def dormant_pair_units(masks: dict[str, torch.Tensor], pairs: list[tuple[str, str]],
                       unit_fraction: float, seed: int) -> dict[str, torch.Tensor]:
    """``masks`` (changed in place, and returned) with only ``unit_fraction`` of the hidden
    units of every declared bridge pair A -> B live (a recurrent model's ``bridge_pairs``,
    e.g. an H-LSTM gate's hid -> out, which ``random_masks``' chain of consecutive layers
    does not describe): a dormant unit loses its row in A and its column in B, and every
    output of B and live unit keeps at least one connection (NeST seed, Sec. 3.2)."""
    gen = torch.Generator().manual_seed(seed)
    for a, b in pairs:
        hid, out = masks[a], masks[b]          # (units, inputs), (outputs, units)
        live = torch.zeros(hid.shape[0], dtype=torch.bool)
        live[torch.randperm(len(live), generator=gen)[:round_units(unit_fraction
                                                                   * len(live))]] = True
        hid[~live] = False
        out[:, ~live] = False
        units = live.nonzero().squeeze(1)
        for n in (~out.any(1)).nonzero().squeeze(1).tolist():     # an output with no input
            out[n, units[torch.randint(len(units), (1,), generator=gen)]] = True
        for u in (live & ~out.any(0)).nonzero().squeeze(1).tolist():   # a unit nothing reads
            out[torch.randint(out.shape[0], (1,), generator=gen), u] = True
    return masks


@contextlib.contextmanager
def _reading_in_training_mode(model: nn.Module):
    """``model`` in training mode (``synth.modes.in_mode``) for passes that only read it:
    BatchNorm normalizes by the batch's statistics, as NeST's gradients are taken, but the
    running mean/variance and ``num_batches_tracked`` a training forward updates (any
    buffer but the masks) are put back afterwards, bit for bit, also when the pass raises.
    (They moved: one gradient pass changed a BN model's eval outputs by 0.06, and with
    ``retrain_epochs=0`` the measured accuracy.)"""
    saved = []
    for module in model.modules():
        if isinstance(module, Mask):   # the masks: read, never written by a forward
            continue
        for name, buf in module.named_buffers(recurse=False):
            saved.append((module, name, buf, buf.detach().clone()))
    try:
        with in_mode(model, True):
            yield model
    finally:
        with torch.no_grad():
            for module, name, buf, kept in saved:
                buf.copy_(kept)
                if getattr(module, name) is not buf:   # a module that rebinds its buffer
                    setattr(module, name, buf)


def _batches(x: torch.Tensor, y: torch.Tensor, batches: int, batch_size: int, seed: int):
    """``batches`` mini-batches of ``min(batch_size, len(y))`` samples each: consecutive
    slices of one random order, repeated as often as needed.  (Slicing the order from
    ``i * batch_size % len(y)`` gave short batches once it wrapped -- a batch of one sample,
    which BatchNorm refuses in training mode, when 57 samples met a batch size of 64.)"""
    if not len(y):
        raise UserError("gradients need at least one training sample, got none")
    gen = torch.Generator().manual_seed(seed)
    size = min(batch_size, len(y))
    order = torch.randperm(len(y), generator=gen)
    order = order.repeat(-(-batches * size // len(y)))   # ceil: enough for every batch
    for i in range(batches):
        idx = order[i * size:(i + 1) * size]
        yield x[idx], y[idx]


def accumulate_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batches: int = 10,
                         batch_size: int = 64, seed: int = 0,
                         loss_fn: Callable | None = None) -> dict[str, torch.Tensor]:
    """Sum over ``batches`` mini-batches of dL/dweight for every masked layer, dormant entries
    included (NeST Eq. 1), in training mode (BatchNorm on batch statistics).  Weights and
    buffers (BatchNorm's running statistics) are not changed.  Returns ``{layer name: G}``."""
    layers = masked_layers(model)
    if not layers:
        raise UserError("accumulate_gradients needs a masked model (call attach_masks first)")
    device = next(model.parameters()).device
    loss_fn = loss_fn or (lambda m, xb, yb: F.cross_entropy(m(xb), yb))
    for _, layer, m in layers:
        m.grad_sum = torch.zeros(original_weight(layer).shape, device=device)
    try:
        with _reading_in_training_mode(model):
            for xb, yb in _batches(x, y, batches, batch_size, seed):
                model.zero_grad(set_to_none=True)
                loss_fn(model, xb.to(device), yb.to(device)).backward()
        return {name: m.grad_sum.clone() for name, _, m in layers}
    finally:
        model.zero_grad(set_to_none=True)
        for _, _, m in layers:
            m.grad_sum = None


@torch.no_grad()
def replay_draws(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batches: int = 10,
                 batch_size: int = 64, seed: int = 0, loss_fn: Callable | None = None) -> None:
    """The forward passes of ``accumulate_gradients`` / ``bridge_gradients`` with the same
    arguments, in training mode but without gradients (buffers restored after, as theirs
    are): they make the same random draws
    (dropout, a loss's own augmentation), so a caller that skips a gradient it would not
    use (a bridge with no dormant unit to grow) leaves the random stream where computing
    it would have, and what follows is unchanged.  A forward without autograd is about a
    fifth of the cost of a forward and backward of an H-LSTM."""
    device = next(model.parameters()).device
    loss_fn = loss_fn or (lambda m, xb, yb: F.cross_entropy(m(xb), yb))
    with _reading_in_training_mode(model):
        for xb, yb in _batches(x, y, batches, batch_size, seed):
            loss_fn(model, xb.to(device), yb.to(device))


def _top(score: torch.Tensor, k: int, largest: bool = True) -> torch.Tensor:
    """Indices of the ``k`` largest (``largest=False``: smallest) scores, best first, equal
    scores in index order.  ``torch.topk``'s choice among equal scores is its kernel's
    (neither the lowest indices nor the same on another device): ties are common -- zero
    gradients of connections into a dead unit, weights on a fixed-point grid -- and they
    chose which connections grew or were pruned."""
    return torch.sort(score, descending=largest, stable=True).indices[:k]


@torch.no_grad()
def grow_connections(model: nn.Module, grads: dict[str, torch.Tensor], ratio: float,
                     init_scale: float = 0.1) -> int:
    """Activate, per layer, the ``round(ratio * active)`` dormant connections with the largest
    |G| (those above the matching percentile of dormant |G|), of those with a nonzero |G|
    (fewer where fewer have one); new weights are ``-init_scale * G``.  Returns the number
    grown."""
    if not 0 < ratio:
        raise UserError(f"growth ratio must be > 0, got {ratio}")
    grown = 0
    for name, layer, m in masked_layers(model):
        if name not in grads:
            continue
        g = grads[name].to(m.mask.device)
        # only a connection the loss has a gradient on is grown: one of G = 0 (into a unit
        # dead on the batches) is no choice of the gradient, and would start at
        # -init_scale * 0 = 0 (h328: a dead Conv1d net 'grew' 36 such, by index, and its
        # row said 36 grown where no weight had changed)
        dormant = ~m.mask & (g != 0)
        k = min(int(dormant.sum()), int(round(ratio * int(m.mask.sum()))))
        if k <= 0:
            continue
        score = torch.where(dormant, g.abs(), torch.full_like(g, -1.0)).flatten()
        idx = _top(score, k)
        m.mask.view(-1)[idx] = True
        original_weight(layer).view(-1)[idx] = -init_scale * g.flatten()[idx]
        grown += k
    return grown


@torch.no_grad()
def regrow_connections(model: nn.Module, grads: dict[str, torch.Tensor],
                       counts: dict[str, int], init_scale: float = 0.1) -> int:
    """Activate, in each layer of ``counts``, that many dormant connections with the largest
    |G| (RigL's regrowth; the just-pruned ones compete too), of those with a nonzero |G|
    (fewer where fewer have one); new weights are
    ``-init_scale * G`` as in ``grow_connections``.  Returns the number grown."""
    grown = 0
    for name, layer, m in masked_layers(model):
        if name not in grads:
            continue
        g = grads[name].to(m.mask.device)
        dormant = ~m.mask & (g != 0)   # as grow_connections: a gradient's choice only
        k = min(int(counts.get(name, 0)), int(dormant.sum()))
        if k <= 0:
            continue
        score = torch.where(dormant, g.abs(), torch.full_like(g, -1.0)).flatten()
        idx = _top(score, k)
        m.mask.view(-1)[idx] = True
        original_weight(layer).view(-1)[idx] = -init_scale * g.flatten()[idx]
        grown += k
    return grown


def _layer_inputs(model: nn.Module, x: torch.Tensor, names: list[str],
                  batch_size: int = 1024) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per-feature (min, max) over ``x`` of the input of each named Linear layer (eval mode),
    over every row it reads: an LSTM's ``ih`` takes (N, T, in) at once, whose min over the
    batch alone was per step, (T, in), and failed to index the (out, in) weight."""
    named = dict(prunable_layers(model))
    stats: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def hook(name):
        def fn(m, inp, out):
            rows = inp[0].reshape(-1, inp[0].shape[-1])
            lo, hi = rows.amin(0), rows.amax(0)
            if name in stats:
                lo, hi = torch.minimum(lo, stats[name][0]), torch.maximum(hi, stats[name][1])
            stats[name] = (lo, hi)
        return fn

    hooks = [named[n].register_forward_hook(hook(n)) for n in names]
    modes = module_modes(model)
    model.eval()
    device = next(model.parameters()).device
    try:
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                model(x[i:i + batch_size].to(device))
    finally:
        restore_modes(modes)
        for h in hooks:
            h.remove()
    return stats


@torch.no_grad()
def remove_dead(model: nn.Module, x: torch.Tensor | None = None) -> int:
    """Remove weights that do not change the function; returns how many.

    1. Into a hidden unit of a Linear pair A -> B (``linear_pairs``) that has no outgoing
       connection in B: A's row is unused (exact, whatever lies between A and B).
    2. Out of an input feature of a Linear layer that is constant on ``x`` (the training inputs;
       e.g. an always-black pixel, or a ReLU unit with no inputs left): the column's
       contribution ``w * c`` goes into the layer's bias and the column is masked.  Exact on
       ``x``; skipped for models with batch norm (train and eval statistics differ) and for
       layers without a bias.
    3. Into a cell unit of a recurrent layer (``lstm``, ``hlstm``) whose h_t cannot reach
       the output (``synth.compact_recurrent.dead_cells``, the units compaction removes):
       its gate rows (LSTM: of ``ih`` and ``hh``; H-LSTM: of each gate's ``out``) are unused
       (exact).  Left in, a masked model counted them as connections and MACs that its
       compacted copy has not (an H-LSTM's 111 connections for the same function's 96).
    Repeated until nothing changes, since each rule can feed the other."""
    named = {n: (layer, m) for n, layer, m in masked_layers(model)}
    fold = x is not None and not any(isinstance(mod, nn.modules.batchnorm._BatchNorm)
                                     for mod in model.modules())
    linear = [n for n, (layer, _) in named.items()
              if isinstance(layer, nn.Linear) and layer.bias is not None]
    removed = 0
    while True:
        before = removed
        for a, b in linear_pairs(model):
            (la, ma), (_, mb) = named[a], named[b]
            unused = ~mb.mask.any(0) & ma.mask.any(1)
            if unused.any():
                removed += int(ma.mask[unused].sum())
                ma.mask[unused] = False
                original_weight(la)[unused] = 0.0
        removed += _remove_dead_cells(model, named)
        if fold:
            stats = _layer_inputs(model, x, linear)
            for name in linear:
                layer, m = named[name]
                lo, hi = stats[name]
                const = (lo == hi) & m.mask.any(0)
                if const.any():
                    w = original_weight(layer)
                    layer.bias += (w[:, const] * m.mask[:, const] * lo[const]).sum(1)
                    removed += int(m.mask[:, const].sum())
                    m.mask[:, const] = False
                    w[:, const] = 0.0
        if removed == before:
            return removed


def _remove_dead_cells(model: nn.Module, named: dict) -> int:
    """``remove_dead``'s rule 3: mask the gate rows of recurrent cell units that cannot reach
    the output; how many connections."""
    if getattr(model, "spec", {}).get("family") not in ("lstm", "hlstm"):
        return 0
    from synth.compact_recurrent import GATES, dead_cells
    removed = 0
    for k, dead in enumerate(dead_cells(model)):
        units = dead.nonzero().squeeze(1)
        if not len(units):
            continue
        h = len(dead)
        prefix = f"rnn.layers.{k}."
        if prefix + "hh" in named or prefix + "ih" in named:   # rows j, H+j, 2H+j, 3H+j
            parts = [(prefix + n, torch.cat([units + q * h for q in range(4)]))
                     for n in ("ih", "hh")]
        else:
            parts = [(f"{prefix}gates.{g}.out", units) for g in GATES]
        for name, rows in parts:
            if name not in named:
                continue
            layer, m = named[name]
            removed += int(m.mask[rows].sum())
            m.mask[rows] = False
            original_weight(layer)[rows] = 0.0
    return removed


def _scores(w: torch.Tensor, criterion: str) -> torch.Tensor:
    """Pruning score per weight: |w| (magnitude) or LAMP w^2 / sum_{|v| >= |w|} v^2."""
    if criterion != "lamp":
        return w.abs()
    flat = (w * w).flatten()
    order = torch.argsort(flat)
    sorted_sq = flat[order]
    tail = torch.flip(torch.cumsum(torch.flip(sorted_sq, [0]), 0), [0])   # sum over j >= i
    score = torch.empty_like(flat)
    score[order] = sorted_sq / tail.clamp_min(1e-30)
    return score.view_as(w)


@torch.no_grad()
def prune_connections(model: nn.Module, fraction: float, criterion: str = "magnitude",
                      layers: list[str] | None = None) -> int:
    """Remove exactly ``round(fraction * active)`` active connections with the smallest score.

    ``criterion``: "magnitude" (one global |w| threshold), "layerwise" (the same fraction in every
    layer) or "lamp" (global threshold on LAMP scores, which sets per-layer rates).  Pruned
    weights are zeroed so that a later growth step starts them from its own initialization."""
    if not 0 <= fraction < 1:
        raise UserError(f"prune fraction must be in [0, 1), got {fraction}")
    if criterion not in CRITERIA:
        raise UserError(f"pruning criterion must be {', '.join(CRITERIA)}, got {short_repr(criterion)}")
    chosen = [(n, l, m) for n, l, m in masked_layers(model) if layers is None or n in layers]
    if not chosen:
        raise UserError("prune_connections needs a masked model (call attach_masks first)")

    def remove(layer, m, flat_idx):
        m.mask.view(-1)[flat_idx] = False
        original_weight(layer).view(-1)[flat_idx] = 0.0

    if criterion == "layerwise":
        removed = 0
        for _, layer, m in chosen:
            active = m.mask.flatten().nonzero().squeeze(1)
            k = int(round(fraction * len(active)))
            if k:
                w = original_weight(layer).flatten()[active]
                remove(layer, m, active[_top(w.abs(), k, largest=False)])
                removed += k
        return removed
    scores, owners = [], []
    for i, (_, layer, m) in enumerate(chosen):
        active = m.mask.flatten().nonzero().squeeze(1)
        w = original_weight(layer).flatten()[active]
        scores.append(_scores(w, criterion))
        owners.append((i, active))
    allscores = torch.cat(scores)
    k = int(round(fraction * len(allscores)))
    if k == 0:
        return 0
    smallest = _top(allscores, k, largest=False)
    offset = 0
    for (i, active), s in zip(owners, scores):
        sel = smallest[(smallest >= offset) & (smallest < offset + len(s))] - offset
        if len(sel):
            remove(chosen[i][1], chosen[i][2], active[sel])
        offset += len(s)
    return k


def linear_pairs(model: nn.Module) -> list[tuple[str, str]]:
    """Consecutive masked Linear layers A -> B (in registration order) joined by a plain ReLU
    path, where a hidden unit of A can bridge A's inputs and B's outputs.  A model whose
    layers do not form such a chain (a recurrent cell: h_t is read by the next step too)
    declares its pairs with a ``bridge_pairs()`` method (H-LSTM: each gate's hid -> out)."""
    layers = masked_layers(model)
    declared = getattr(model, "bridge_pairs", None)
    if callable(declared):
        names = {n for n, _, _ in layers}
        return [(a, b) for a, b in declared() if a in names and b in names]
    return [(a[0], b[0]) for a, b in zip(layers, layers[1:])
            if isinstance(a[1], nn.Linear) and isinstance(b[1], nn.Linear)
            and a[1].out_features == b[1].in_features]


def bridge_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor, pair: tuple[str, str], *,
                     batches: int = 10, batch_size: int = 64, seed: int = 0,
                     loss_fn: Callable | None = None) -> torch.Tensor:
    """G_mn = sum over batches of mean_b(x_m * delta_n): input m of layer A, pre-activation
    gradient at output n of layer B (NeST Sec. 3.2).  Shape (B.out, A.in).  A layer called
    once per step (a recurrent gate) sums x_m(t) * delta_n(t) over its steps t: the
    gradient of a bridge whose weights are shared across time.  Training mode (BatchNorm on
    batch statistics); weights and buffers are not changed."""
    named = dict(prunable_layers(model))
    a, b = named[pair[0]], named[pair[1]]
    device = next(model.parameters()).device
    loss_fn = loss_fn or (lambda m, xb, yb: F.cross_entropy(m(xb), yb))
    xs: list[torch.Tensor] = []
    ds: list[torch.Tensor] = []
    g = torch.zeros(b.out_features, a.in_features, device=device)
    h1 = a.register_forward_hook(lambda m, inp, out: xs.append(inp[0].detach()))
    h2 = b.register_full_backward_hook(lambda m, gin, gout: ds.append(gout[0].detach()))
    try:
        with _reading_in_training_mode(model):
            for xb, yb in _batches(x, y, batches, batch_size, seed):
                model.zero_grad(set_to_none=True)
                xs.clear()
                ds.clear()
                loss_fn(model, xb.to(device), yb.to(device)).backward()
                for xt, dt in zip(xs, reversed(ds)):   # backward visits the calls in reverse
                    # the loss is a batch mean: delta carries 1/B
                    g += dt.reshape(-1, dt.shape[-1]).t() @ xt.reshape(-1, xt.shape[-1])
    finally:
        h1.remove()
        h2.remove()
        model.zero_grad(set_to_none=True)
    return g


def dormant_units(model: nn.Module, pair: tuple[str, str]) -> torch.Tensor:
    """Hidden units of pair A -> B with no incoming and no outgoing connection."""
    masks = {n: m.mask for n, _, m in masked_layers(model)}
    return (~masks[pair[0]].any(1) & ~masks[pair[1]].any(0)).nonzero().squeeze(1)


@torch.no_grad()
def grow_neurons(model: nn.Module, bridge: torch.Tensor, pair: tuple[str, str], count: int,
                 birth_strength: float = 0.1) -> int:
    """Give up to ``count`` dormant units of ``pair`` one bridge each, for the (n, m) pairs with
    the largest |G_mn| (one unit per pair, best first).  Returns the number grown."""
    if count < 0 or birth_strength <= 0:
        raise UserError(f"neuron growth needs count >= 0 and birth_strength > 0, got "
                        f"{count}, {birth_strength}")
    free = dormant_units(model, pair)
    k = min(count, len(free))
    if k == 0:
        return 0
    named = {n: (layer, m) for n, layer, m in masked_layers(model)}
    (a, ma), (b, mb) = named[pair[0]], named[pair[1]]
    top = _top(bridge.abs().flatten(), k)
    for unit, flat in zip(free[:k].tolist(), top.tolist()):
        n, m_in = divmod(flat, bridge.shape[1])
        g = float(bridge[n, m_in])
        mag = math.sqrt(birth_strength * abs(g))
        ma.mask[unit, m_in] = True
        mb.mask[n, unit] = True
        original_weight(a)[unit, m_in] = mag
        original_weight(b)[n, unit] = -math.copysign(mag, g)
        if a.bias is not None:
            a.bias[unit] = 0.0
    return k
