"""The model registry and the interface every family shares.

A *spec* is a JSON-able dict ``{"family": name, ...hyperparameters}``; a *variant* is a
name for a spec (``lenet5_bn``, ``resnet18``) in the timm style.  ``resolve_spec`` turns a
variant name, a JSON string or a dict into a complete spec (defaults filled), and
``build`` makes the module.  Every model is a ``SpecModel``: it carries its spec and
exposes its BatchNorm layers and its prunable (Linear/Conv2d) layers the same way.
"""
from __future__ import annotations

import copy
import json
from typing import Any, Callable

import torch
from torch import nn

from synth.errors import UserError

_FAMILIES: dict[str, tuple[Callable[..., nn.Module], dict, str]] = {}
_VARIANTS: dict[str, dict] = {}


class SpecModel(nn.Module):
    """Base of all families: remembers its spec, input shape and class count."""

    def __init__(self, spec: dict, input_shape: tuple[int, ...], num_classes: int):
        super().__init__()
        self.spec = copy.deepcopy(spec)
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_classes = int(num_classes)

    def batchnorm_layers(self) -> list[nn.modules.batchnorm._BatchNorm]:
        return batchnorm_layers(self)

    def prunable_layers(self) -> list[tuple[str, nn.Module]]:
        return prunable_layers(self)


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """BatchNorm layers in forward (registration) order."""
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(qualified name, module) for every Linear and Conv2d, in registration order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


_RANKS: dict[str, int] = {}     # family -> the input rank it takes (absent: any)
RANK_NAMES = {1: "feature vectors (features,)", 2: "sequences (channels, steps)",
              3: "images (channels, height, width)"}


def register_family(name: str, defaults: dict, description: str, input_rank: int | None = None):
    """Decorator for ``fn(spec, input_shape, num_classes) -> SpecModel``; ``input_rank`` (if
    given) is the number of sample dimensions the family takes (2: sequences, 3: images)."""
    def wrap(fn):
        _FAMILIES[name] = (fn, dict(defaults), description)
        if input_rank is not None:
            _RANKS[name] = int(input_rank)
        return fn
    return wrap


def check_input_rank(family: str, input_shape: tuple) -> None:
    """One-line error when a family meets data of the wrong kind (a sequence set given to an
    image model, or the reverse)."""
    rank = _RANKS.get(family)
    if rank is not None and len(input_shape) != rank:
        got = RANK_NAMES.get(len(input_shape), f"{len(input_shape)}-d samples")
        raise UserError(f"model family {family!r} takes {RANK_NAMES[rank]}; the data has input "
                        f"shape {tuple(input_shape)} ({got})")


def register_variant(name: str, spec: dict) -> None:
    _VARIANTS[name] = dict(spec)


def list_families() -> dict[str, str]:
    return {k: v[2] for k, v in _FAMILIES.items()}


def list_variants() -> dict[str, dict]:
    return {k: resolve_spec(v) for k, v in _VARIANTS.items()}


def resolve_spec(spec: Any) -> dict:
    """A variant name, a JSON object string, or a dict -> a complete spec dict."""
    if isinstance(spec, str):
        text = spec.strip()
        if text.startswith("{"):
            try:
                spec = json.loads(text)
            except json.JSONDecodeError as e:
                raise UserError(f"model spec is not valid JSON: {e.msg} at column {e.colno}") from None
        elif text in _VARIANTS:
            spec = _VARIANTS[text]
        else:
            raise UserError(f"unknown model {text!r}; variants: {', '.join(sorted(_VARIANTS))}; "
                            f"or give a JSON spec like '{{\"family\": \"mlp\", \"hidden\": [64]}}'")
    if not isinstance(spec, dict) or "family" not in spec:
        raise UserError(f"model spec must be a dict with a 'family' key, got {spec!r}")
    family = spec["family"]
    if family not in _FAMILIES:
        raise UserError(f"unknown model family {family!r}; known: {', '.join(sorted(_FAMILIES))}")
    defaults = _FAMILIES[family][1]
    unknown = sorted(set(spec) - set(defaults) - {"family"})
    if unknown:
        raise UserError(f"unknown key {unknown[0]!r} in {family} spec; known: "
                        f"{', '.join(sorted(defaults))}")
    full = {"family": family, **copy.deepcopy(defaults)}
    full.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in spec.items()})
    return full


def build(spec: Any, input_shape, num_classes: int) -> SpecModel:
    """Build the module for ``spec`` (variant name, JSON string or dict)."""
    full = resolve_spec(spec)
    input_shape = tuple(int(s) for s in input_shape)
    check_input_rank(full["family"], input_shape)
    if int(num_classes) < 2:
        raise UserError(f"num_classes must be >= 2, got {num_classes}")
    try:  # shape check: a spec that does not fit the input fails here, by name
        model = _FAMILIES[full["family"]][0](full, input_shape, int(num_classes))
        model.eval()
        with torch.no_grad():
            model(torch.zeros((2,) + input_shape))
        model.train()
    except (RuntimeError, ValueError) as e:  # conv larger than its input, BN on one value
        raise UserError(f"model spec {json.dumps(full)} does not fit input shape "
                        f"{input_shape}: {str(e).splitlines()[0]}") from None
    return model


def count_parameters(model: nn.Module, nonzero: bool = False) -> int:
    """Trainable parameters; with ``nonzero`` only entries that are not exactly zero
    (after masks, for masked layers that expose an effective ``weight``)."""
    if not nonzero:
        return sum(p.numel() for p in model.parameters())
    from torch.nn.utils import parametrize
    total = 0
    for m in model.modules():
        for name in ("weight", "bias"):
            if m._parameters.get(name) is not None or parametrize.is_parametrized(m, name):
                total += int((getattr(m, name) != 0).sum())
    return total


def count_flops(model: nn.Module, input_shape) -> int:
    """Multiply-accumulates of Linear and Conv2d layers for one sample (dense count); a
    Linear called once per step of a recurrent layer counts once per step."""
    macs = 0
    hooks = []

    def conv_hook(m, inp, out):
        nonlocal macs
        k = m.weight.shape[1] * m.weight.shape[2] * m.weight.shape[3]
        macs += int(out[0].numel() * k)

    def lin_hook(m, inp, out):   # once per row: (1, T, in) inputs (all steps of a sequence)
        nonlocal macs
        macs += int(inp[0].numel() // m.in_features) * m.in_features * m.out_features

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros((1,) + tuple(input_shape)))
    finally:
        model.train(was)
        for h in hooks:
            h.remove()
    return macs
