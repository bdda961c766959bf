"""Fixed-point training with stochastic rounding, at SPRING's precision (plain PyTorch).

SPRING (Yu & Jha, arXiv 1909.00557) trains in 20-bit fixed point -- 4 integer bits (sign
included) and 16 fraction bits -- and rounds stochastically (Gupta et al., "Deep learning
with limited numerical precision", ICML 2015):

    Q(x) = clip(floor(x * 2^f + u) / 2^f, -2^(i-1), 2^(i-1) - 2^-f),   u ~ U[0, 1)

so E[Q(x)] = x inside the range: an update or gradient smaller than one step 2^-f survives
on average, where round-to-nearest (u = 0.5) would drop it to zero.

``FixedPointTraining(config).attach(model)`` quantizes, for every Linear/Conv2d:
activations (layer outputs) in the forward pass, activation gradients in the backward pass
(straight-through otherwise), weight gradients before the optimizer step; and
``after_step(model)`` rounds the stored weights back to the grid after every step (pass it
to ``synth.train.fit``).  Optimizer state (momentum) stays in fp32, as an accumulator.
"""
from __future__ import annotations

import dataclasses

import torch
from torch import nn

from synth.config import Config, check_choice, check_range

ROUNDINGS = ("stochastic", "nearest")


@dataclasses.dataclass(frozen=True)
class QuantConfig(Config):
    int_bits: int = 4            # integer bits including sign (SPRING: 4)
    frac_bits: int = 16          # fraction bits (SPRING: 16)
    rounding: str = "stochastic"  # stochastic | nearest
    weights: bool = True
    activations: bool = True
    gradients: bool = True
    seed: int = 0

    def validate(self) -> None:
        check_range("int_bits", self.int_bits, 1, 32, integer=True)
        check_range("frac_bits", self.frac_bits, 0, 32, integer=True)
        check_choice("rounding", self.rounding, ROUNDINGS)
        check_range("seed", self.seed, 0, None, integer=True)

    @property
    def bits(self) -> int:
        return self.int_bits + self.frac_bits


def quantize(x: torch.Tensor, int_bits: int = 4, frac_bits: int = 16, rounding: str = "stochastic",
             generator: torch.Generator | None = None) -> torch.Tensor:
    """x on the fixed-point grid of step 2^-frac_bits, saturated to the signed range."""
    scale = float(2 ** frac_bits)
    lo, hi = -float(2 ** (int_bits - 1)), float(2 ** (int_bits - 1)) - 1.0 / scale
    y = x * scale
    if rounding == "stochastic":
        u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        y = torch.floor(y + u)
    elif rounding == "nearest":
        y = torch.floor(y + 0.5)
    else:
        raise ValueError(f"rounding must be one of {', '.join(ROUNDINGS)}, got {rounding!r}")
    return torch.clamp(y / scale, lo, hi)


class _QuantAct(torch.autograd.Function):
    """Forward: quantize the activation.  Backward: quantize the incoming gradient
    (straight-through estimator for the rounding itself)."""

    @staticmethod
    def forward(ctx, x, q):
        ctx.q = q
        return q._q(x) if q.config.activations else x

    @staticmethod
    def backward(ctx, grad):
        q = ctx.q
        return (q._q(grad) if q.config.gradients else grad), None


class FixedPointTraining:
    """Hooks that make a model train in fixed point (see module docstring)."""

    def __init__(self, config: QuantConfig | None = None):
        self.config = config or QuantConfig()
        self._gens: dict[str, torch.Generator] = {}
        self._handles: list = []

    def _gen(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self._gens:
            self._gens[key] = torch.Generator(device=device).manual_seed(self.config.seed)
        return self._gens[key]

    def _q(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        return quantize(x, c.int_bits, c.frac_bits, c.rounding, self._gen(x.device))

    def attach(self, model: nn.Module) -> nn.Module:
        """Quantize the weights now and hook every Linear/Conv2d; returns the model."""
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                self._handles.append(m.register_forward_hook(
                    lambda mod, args, out: _QuantAct.apply(out, self)))
                if self.config.gradients:
                    for p in m.parameters():
                        self._handles.append(p.register_hook(self._q))
        self.after_step(model)
        return model

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    @torch.no_grad()
    def after_step(self, model: nn.Module) -> None:
        """Round the stored weights (all parameters) back onto the fixed-point grid."""
        if not self.config.weights:
            return
        for p in model.parameters():
            p.copy_(self._q(p))
