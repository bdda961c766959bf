"""Compaction: a masked model becomes a smaller dense model of the same spec family.

The answer to the standing complaint about ``torch.nn.utils.prune``: masks do not make a model
smaller or faster.  ``compact(model)`` removes every hidden neuron / filter that provably does not
change the output and rebuilds the network with the smaller widths (``synth.models.build``):
- a unit with no outgoing connection contributes nothing: removed;
- a unit with no incoming connection outputs a constant c = relu(bn(bias)) (eval mode); when
  c == 0 it is removed, otherwise c is folded into the next layer (its bias, or the running mean
  of the BatchNorm that follows a bias-free layer) and removed; for a next Conv1d/Conv2d this is
  exact only without padding, so with padding such a unit is kept.
Removal repeats until nothing changes (removing a unit can empty the units before it).  The
remaining zeros are exported per layer in CSR form by ``export_csr``.

Families: mlp, lenet5, convnet and convnet1d (a chain of Linear/Conv1d/Conv2d with per-unit
ops in between); lstm and hlstm through ``synth.compact_recurrent`` (dead gate and cell units).
ResNet is not supported: a residual sum ties the widths of the layers it joins.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from synth.config import short_repr
from synth.errors import UserError
from synth.models import build, not_built, prunable_layers

_PER_UNIT = (nn.ReLU, nn.MaxPool1d, nn.MaxPool2d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
             nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.Flatten, nn.Identity,
             nn.Dropout)   # map a constant channel to the same constant
_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d)   # the chain's layers, units = output channels


FAMILIES = ("mlp", "lenet5", "convnet", "convnet1d", "lstm", "hlstm")   # what compact() takes
# why a family is not among them (the rest: no chain of layers compaction can rebuild)
_REFUSED = {"resnet": "residual sums tie layer widths"}


def check_compactable(family: str, hint: str = "") -> None:
    """Refuse a family ``compact`` cannot rebuild, before any work is spent on the model
    (``hint``: how to do without, appended to the one-line error)."""
    if family not in FAMILIES:
        why = _REFUSED.get(family, "compaction rebuilds only these layer chains")
        raise UserError(f"compaction supports the {', '.join(FAMILIES)} families, not "
                        f"{short_repr(family)} ({why}){hint}")


def _sequence(model: nn.Module) -> list[nn.Module]:
    family = getattr(model, "spec", {}).get("family")
    if family == "mlp":
        return list(model.net)
    if family in ("lenet5", "convnet", "convnet1d"):
        return list(model.features) + list(model.classifier)
    check_compactable(family)
    raise UserError(f"compaction: no layer chain for the {short_repr(family)} family")


def _chain(model: nn.Module) -> list[dict]:
    """One entry per prunable layer: the layer and the BatchNorm after it (if any)."""
    chain: list[dict] = []
    for m in _sequence(model):
        if isinstance(m, _LAYERS):
            chain.append({"layer": m, "bn": None})
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            if not chain or chain[-1]["bn"] is not None:
                raise UserError("compaction: BatchNorm without a preceding Linear/Conv")
            chain[-1]["bn"] = m
        elif not isinstance(m, _PER_UNIT):
            raise UserError(f"compaction: unsupported module {type(m).__name__} in the chain")
    return chain


def _state(entry: dict) -> dict:
    """Plain tensors of one chain entry (effective, i.e. masked, weight)."""
    layer, bn = entry["layer"], entry["bn"]
    st = {"weight": layer.weight.detach().clone(),
          "bias": None if layer.bias is None else layer.bias.detach().clone()}
    if bn is not None:
        st["bn"] = {k: v.detach().clone() for k, v in bn.state_dict().items()
                    if k != "num_batches_tracked"}
        st["eps"] = bn.eps
    return st


def _constant(st: dict) -> torch.Tensor:
    """Per-unit output of a unit with no inputs: relu(bn(bias)), eval mode."""
    c = st["bias"] if st["bias"] is not None else torch.zeros(st["weight"].shape[0],
                                                               device=st["weight"].device)
    if "bn" in st:
        b = st["bn"]
        c = (c - b["running_mean"]) / torch.sqrt(b["running_var"] + st["eps"]) * b["weight"] + b["bias"]
    return torch.relu(c)


def _columns(w_next: torch.Tensor, units: int) -> torch.Tensor:
    """Next weight viewed as (out, unit, k): k = spatial taps (conv) or flattened positions."""
    return w_next.reshape(w_next.shape[0], units, -1)


def _select(st: dict, keep: torch.Tensor) -> None:
    st["weight"] = st["weight"][keep]
    if st["bias"] is not None:
        st["bias"] = st["bias"][keep]
    if "bn" in st:
        st["bn"] = {k: v[keep] for k, v in st["bn"].items()}


def compact_if_supported(model: nn.Module) -> nn.Module:
    """``compact(model)`` for the families it takes (``FAMILIES``); a model of another family
    (a resnet: a residual sum ties the widths it joins) is returned as it is, pruned by its
    masks, so a search or a pipeline that grows and prunes one keeps it instead of failing
    after the training."""
    if getattr(model, "spec", {}).get("family") in FAMILIES:
        return compact(model)
    return model


@torch.no_grad()
def compact(model: nn.Module) -> nn.Module:
    """A new dense model (same family, smaller widths, eval mode) computing the same function as
    ``model`` in eval mode; pruned connections stay as zeros (see ``export_csr``)."""
    reason = not_built(model, "compaction", FAMILIES)
    if reason:
        raise UserError(reason)
    if getattr(model, "spec", {}).get("family") in ("lstm", "hlstm"):
        from synth.compact_recurrent import compact_recurrent
        return compact_recurrent(model)
    chain = _chain(model)
    states = [_state(e) for e in chain]
    changed = True
    while changed:
        changed = False
        for i in range(len(states) - 1):
            cur, nxt = states[i], states[i + 1]
            units = cur["weight"].shape[0]
            cols = _columns(nxt["weight"], units)
            out_dead = ~(cols != 0).any(2).any(0)
            in_dead = ~(cur["weight"].reshape(units, -1) != 0).any(1)
            const = _constant(cur)
            layer_next = chain[i + 1]["layer"]
            foldable = isinstance(layer_next, nn.Linear) or all(p == 0 for p in layer_next.padding)
            target = "bias" if nxt["bias"] is not None else ("bn" if "bn" in nxt else None)
            fold = in_dead & ~out_dead & (const != 0) & foldable & (target is not None)
            remove = out_dead | (in_dead & (const == 0)) | fold
            if remove.all():
                remove[0] = fold[0] = False   # keep one unit so that the layer exists
            if fold.any():   # sum_k W_next[o, j, k] * c_j moves into the bias or the BN mean
                delta = (cols[:, fold] * const[fold].view(1, -1, 1)).sum((1, 2))
                if target == "bias":
                    nxt["bias"] += delta
                else:
                    nxt["bn"]["running_mean"] -= delta
            if remove.any():
                keep = (~remove).nonzero().squeeze(1)
                _select(cur, keep)
                sel = cols[:, keep]
                nxt["weight"] = (sel.reshape(sel.shape[0], -1) if nxt["weight"].dim() == 2 else
                                 sel.reshape(sel.shape[0], len(keep), *nxt["weight"].shape[2:]))
                changed = True
    widths = [st["weight"].shape[0] for st in states[:-1]]
    spec = copy.deepcopy(model.spec)
    n_conv = sum(not isinstance(e["layer"], nn.Linear) for e in chain)
    if spec["family"] == "mlp":
        spec["hidden"] = widths
    elif spec["family"] == "lenet5":
        spec["channels"], spec["hidden"] = widths[:2], widths[2:]
    else:   # convnet, convnet1d: one width per conv (kernels and strides keep their lengths)
        spec["widths"], spec["hidden"] = widths[:n_conv], widths[n_conv:]
    new = build(spec, model.input_shape, model.num_classes)
    for entry, st in zip(_chain(new), states):
        entry["layer"].weight.copy_(st["weight"])
        if st["bias"] is not None:
            entry["layer"].bias.copy_(st["bias"])
        if entry["bn"] is not None:
            entry["bn"].load_state_dict(st["bn"], strict=False)
    return new.eval()


@torch.no_grad()
def export_csr(model: nn.Module) -> dict:
    """Per prunable layer, the weight as CSR over (out, in * kh * kw): ``crow_indices``,
    ``col_indices``, ``values`` (plain tensors, checkpoint-safe), shape, nnz and density."""
    out = {}
    for name, layer in prunable_layers(model):
        w = layer.weight.detach().cpu()
        csr = w.reshape(w.shape[0], -1).to_sparse_csr()
        out[name] = {"shape": list(w.shape), "crow_indices": csr.crow_indices().clone(),
                     "col_indices": csr.col_indices().clone(), "values": csr.values().clone(),
                     "nnz": int(csr.values().numel()), "density": csr.values().numel() / w.numel()}
    return out


def csr_forward_linear(entry: dict, x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """y = x W^T + b with W from one ``export_csr`` entry of a Linear layer (sparse matmul)."""
    w = torch.sparse_csr_tensor(entry["crow_indices"], entry["col_indices"], entry["values"],
                                size=(entry["shape"][0], entry["shape"][1]))
    y = (w @ x.t()).t()
    return y if bias is None else y + bias
