"""Fixed-point training with stochastic rounding, at SPRING's precision (plain PyTorch).

SPRING (Yu & Jha, arXiv 1909.00557) trains in 20-bit fixed point -- 4 integer bits (sign
included) and 16 fraction bits -- and rounds stochastically (Gupta et al., "Deep learning
with limited numerical precision", ICML 2015):

    Q(x) = clip(floor(x * 2^f + u) / 2^f, -2^(i-1), 2^(i-1) - 2^-f),   u ~ U[0, 1)

so E[Q(x)] = x inside the range: an update or gradient smaller than one step 2^-f survives
on average, where round-to-nearest (u = 0.5) would drop it to zero.

``FixedPointTraining(config).attach(model)`` quantizes, for every Linear/Conv1d/Conv2d:
activations (layer outputs) in the forward pass, activation gradients in the backward pass
(straight-through the rounding, but zero where the forward saturated: without that, a
layer pushed past the +-2^(i-1) range keeps being pushed and training collapses), weight gradients before the optimizer step; the optimizer
state (SGD's momentum buffer, Adam's moments) after every step of any optimizer over the
model's parameters (``optimizer_state``, on by default: a fixed-point trainer such as SPRING
stores everything in fixed point); and ``after_step(model)`` rounds the stored weights back
to the grid after every step (pass it to ``synth.train.fit``).  Because the stored weight w
is already on the grid, Q(w - lr*v) = w + Q(-lr*v): the weight update itself is applied on
the grid, so a per-weight update under half a step (2^-17 at 16 fraction bits) vanishes
under round-to-nearest and survives in expectation under stochastic rounding -- which is
what small or decayed (cosine) learning rates produce.

Stochastic rounding is a training device: it keeps sub-step updates alive in expectation.
Every forward pass outside training -- a module in eval mode under ``FixedPointTraining``
(the validation that picks the best epoch, the test accuracy ``nnsynth train`` reports),
``attach_inference`` (``nnsynth eval``) and the ONNX export -- rounds the layer outputs to
nearest (``INFERENCE_ROUNDING``): deterministic, the same on every call and in every batch
layout, and the function the deployed model computes.

Gradients sit on the same grid (``gradient_scaling="fixed"``) or carry a per-tensor
power-of-two scale (``"per_tensor"``: dynamic fixed point), which keeps the mean-reduced
gradients of large batches from underflowing the 2^-f step; ``state_scaling`` makes the
same choice for the optimizer state (Adam needs ``"per_tensor"``).
"""
from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn
from torch.optim.optimizer import register_optimizer_step_post_hook

from synth.choices import ROUNDINGS, SCALINGS
from synth.config import (Config, check_choice, check_range, check_seed, short_repr,
                          value_error)
from synth.errors import ConfigError
from synth.models.registry import PRUNABLE   # Linear, Conv1d, Conv2d: the layers rounded



# float32 holds every integer of magnitude below 2^24 exactly: x * 2^frac_bits of a signed
# (int_bits, frac_bits) value needs int_bits - 1 + frac_bits bits, plus one below the point
# for the stochastic draw u of floor(x * 2^f + u).  At 8.24, 100.3 * 2^24 + u == 100.3 * 2^24
# in float32: no rounding was applied at all, and the format's 2^-24 step was not kept.
MAX_BITS = 24

# the rounding of every forward pass outside training (see the module docstring)
INFERENCE_ROUNDING = "nearest"


@dataclasses.dataclass(frozen=True)
class QuantConfig(Config):
    int_bits: int = 4            # integer bits including sign (SPRING: 4)
    frac_bits: int = 16          # fraction bits (SPRING: 16)
    rounding: str = "stochastic"  # stochastic | nearest
    weights: bool = True
    activations: bool = True
    gradients: bool = True
    optimizer_state: bool = True  # momentum buffer / Adam moments stored in fixed point
    # fixed: gradients on the same 2^-frac_bits grid as the weights.  per_tensor: each
    # gradient tensor gets its own power-of-two scale (dynamic fixed point, Courbariaux et
    # al. 2014; the loss scaling of mixed-precision training), so the mean-reduced
    # gradients of large batches do not underflow the grid.
    gradient_scaling: str = "fixed"
    # the same choice for the optimizer state; Adam needs per_tensor: its second moment
    # (~ g^2, often 1e-8) underflows any fixed grid and the update m / sqrt(v) explodes
    state_scaling: str = "fixed"
    seed: int = 0

    def validate(self) -> None:
        check_range("int_bits", self.int_bits, 1, 32, integer=True)
        check_range("frac_bits", self.frac_bits, 0, 32, integer=True)
        if self.int_bits + self.frac_bits > MAX_BITS:
            raise ConfigError(f"fixed point {self.format} has {self.bits} bits; at most "
                              f"{MAX_BITS} (int_bits + frac_bits): the values are simulated in "
                              f"float32, whose 24-bit significand cannot hold more, so a wider "
                              f"format would run as plain float32 (no rounding applied)")
        if grid_range(self.int_bits, self.frac_bits)[1] <= 0:
            # 1.0, the sign bit alone: every output and weight rounds to -1 or 0, and the
            # per-tensor scale that fits a gradient under a top value of 0 is 0 (NaN)
            raise ConfigError(f"fixed point {self.format} holds only -1 and 0 (the sign bit "
                              f"and no other): no positive value; give at least 2 bits, "
                              f"e.g. 2.0 or 1.1")
        check_choice("rounding", self.rounding, ROUNDINGS)
        check_choice("gradient_scaling", self.gradient_scaling, SCALINGS)
        check_choice("state_scaling", self.state_scaling, SCALINGS)
        check_seed("seed", self.seed)

    @property
    def bits(self) -> int:
        return self.int_bits + self.frac_bits

    @property
    def format(self) -> str:
        """``"4.16"``: integer bits . fraction bits (the inverse of ``from_format``)."""
        return f"{self.int_bits}.{self.frac_bits}"

    @classmethod
    def from_format(cls, text: str, **fields) -> "QuantConfig":
        """``"4.16"`` (integer bits incl. sign . fraction bits) plus any other field."""
        parts = str(text).split(".")
        # ASCII digits only: str.isdigit() holds for '²' and '①', which int() refuses (a
        # traceback for --fixed-point ².3)
        if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts):
            # field: the CLI tells it by --fixed-point
            raise value_error("fixed-point format", text, "must be INT.FRAC bits such as 4.16 "
                              "(SPRING)", field="fixed_point")
        return cls(int_bits=int(parts[0]), frac_bits=int(parts[1]), **fields)


def grid_range(int_bits: int, frac_bits: int) -> tuple[float, float]:
    """The representable interval [lo, hi] of a signed (int_bits, frac_bits) fixed point."""
    return -2.0 ** (int_bits - 1), 2.0 ** (int_bits - 1) - 2.0 ** -frac_bits


def quantize(x: torch.Tensor, int_bits: int = 4, frac_bits: int = 16, rounding: str = "stochastic",
             generator: torch.Generator | None = None) -> torch.Tensor:
    """x on the fixed-point grid of step 2^-frac_bits, saturated to the signed range."""
    scale = float(2 ** frac_bits)
    lo, hi = grid_range(int_bits, frac_bits)
    y = x * scale
    if rounding == "stochastic":
        u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        # floor(y + u) with the sum taken exactly: y = n + r (both exact in floating point),
        # up one step when u >= 1 - r.  The float sum y + u rounds to y's precision, which at
        # a few bits below the point made an on-grid value (r = 0) step up: at 8.16, 100.0
        # became 100 + 2^-16 one time in four, and every weight drifted up as after_step
        # rounded it again after each optimizer step
        n = torch.floor(y)
        y = n + (u >= 1 - (y - n)).to(y.dtype)
    elif rounding == "nearest":
        y = torch.floor(y + 0.5)
    else:
        raise ValueError(f"rounding must be one of {', '.join(ROUNDINGS)}, got {short_repr(rounding)}")
    return torch.clamp(y / scale, lo, hi)


def quantize_per_tensor(x: torch.Tensor, int_bits: int = 4, frac_bits: int = 16,
                        rounding: str = "stochastic",
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """Dynamic fixed point: x * 2^e on the (int_bits, frac_bits) grid, divided back by 2^e,
    with the integer e chosen per tensor so that max|x| * 2^e just fits the signed range
    (e > 0 adds fraction bits to a small tensor, e < 0 removes them from a large one).
    The scale stays a device tensor (no host sync: this runs on every gradient); an all-zero
    or non-finite tensor keeps e = 0."""
    top = grid_range(int_bits, frac_bits)[1]
    if top <= 0:   # 1.0: no scale fits max|x| under 0 (it was 0, and every entry NaN)
        raise ValueError(f"fixed point {int_bits}.{frac_bits} holds no positive value: "
                         f"nothing to scale a tensor onto")
    if not x.numel():
        return quantize(x, int_bits, frac_bits, rounding, generator)
    amax = x.detach().abs().amax().double()
    # at most the largest power of two x's dtype holds: a gradient of max |g| ~1e-39 asked
    # for 2^136, inf in float32, and 0 * inf made every zero entry NaN
    most = math.floor(math.log2(torch.finfo(x.dtype).max))   # 127 for float32
    shift = torch.exp2(torch.clamp(torch.floor(torch.log2(top / amax)), max=most))
    shift = torch.where((amax > 0) & torch.isfinite(amax), shift, torch.ones_like(shift))
    shift = shift.to(x.dtype)
    return quantize(x * shift, int_bits, frac_bits, rounding, generator) / shift


class _QuantAct(torch.autograd.Function):
    """Forward: quantize the activation (``rounding``; None: the config's).  Backward: pass
    the gradient straight through the rounding but not through the saturation (zero where
    the forward clipped to the range, as a hard-tanh would), then quantize it."""

    @staticmethod
    def forward(ctx, x, q, rounding):
        ctx.q = q
        if not q.config.activations:
            ctx.save_for_backward(None)
            return x
        lo, hi = grid_range(q.config.int_bits, q.config.frac_bits)
        ctx.save_for_backward((x >= lo) & (x <= hi))
        return q._q(x, rounding)

    @staticmethod
    def backward(ctx, grad):
        q, (inside,) = ctx.q, ctx.saved_tensors
        if inside is not None:
            grad = grad * inside
        return (q._q_grad(grad) if q.config.gradients else grad), None, None


class FixedPointTraining:
    """Hooks that make a model train in fixed point (see module docstring).  A layer in eval
    mode rounds its output to nearest whatever ``config.rounding``: validation and test see
    the deterministic function the deployed model computes."""

    def __init__(self, config: QuantConfig | None = None):
        self.config = config or QuantConfig()
        self._gens: dict[str, torch.Generator] = {}
        self._handles: list = []

    def _gen(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self._gens:
            self._gens[key] = torch.Generator(device=device).manual_seed(self.config.seed)
        return self._gens[key]

    def _q(self, x: torch.Tensor, rounding: str | None = None) -> torch.Tensor:
        c = self.config
        return quantize(x, c.int_bits, c.frac_bits, rounding or c.rounding, self._gen(x.device))

    def _q_scaled(self, x: torch.Tensor, scaling: str) -> torch.Tensor:
        c = self.config
        if scaling == "per_tensor":
            return quantize_per_tensor(x, c.int_bits, c.frac_bits, c.rounding, self._gen(x.device))
        return self._q(x)

    def _q_grad(self, g: torch.Tensor) -> torch.Tensor:
        return self._q_scaled(g, self.config.gradient_scaling)

    def attach(self, model: nn.Module) -> nn.Module:
        """Quantize the weights now, hook every Linear/Conv1d/Conv2d and
        (``optimizer_state``) every optimizer step over the model's parameters; returns the
        model."""
        for m in model.modules():
            if isinstance(m, PRUNABLE):
                self._handles.append(m.register_forward_hook(
                    lambda mod, args, out: _QuantAct.apply(
                        out, self, None if mod.training else INFERENCE_ROUNDING)))
                if self.config.gradients:
                    for p in m.parameters():
                        self._handles.append(p.register_hook(self._q_grad))
        if self.config.optimizer_state:
            owned = {id(p) for p in model.parameters()}
            self._handles.append(register_optimizer_step_post_hook(
                lambda opt, args, kwargs: self.quantize_state(opt, owned)))
        self.after_step(model)
        return model

    @torch.no_grad()
    def quantize_state(self, optimizer: torch.optim.Optimizer, owned: set[int]) -> None:
        """Round the optimizer's per-parameter tensors (momentum, moments; not the step
        count) for the parameters in ``owned`` (ids) onto the fixed-point grid.  Runs after
        every ``optimizer.step()``; optimizers over other parameters are left alone."""
        for group in optimizer.param_groups:
            for p in group["params"]:
                if id(p) not in owned:
                    continue
                for key, v in optimizer.state.get(p, {}).items():
                    if key != "step" and torch.is_tensor(v) and v.is_floating_point():
                        v.copy_(self._q_scaled(v, self.config.state_scaling))

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



CHECKPOINT_KEY = "quant_config"   # where `nnsynth train --fixed-point` stores its QuantConfig


def checkpoint_extra(config: QuantConfig | None) -> dict:
    """The checkpoint ``extra`` entry for a fixed-point training (empty for fp32)."""
    return {CHECKPOINT_KEY: config.to_dict()} if config is not None else {}


def checkpoint_quant(model: nn.Module) -> QuantConfig | None:
    """The QuantConfig a loaded checkpoint was trained in, or None (fp32, or no checkpoint)."""
    info = getattr(model, "checkpoint_info", None) or {}
    stored = info.get("extra", {}).get(CHECKPOINT_KEY)
    return QuantConfig.from_dict(stored) if stored else None


def refuse_fixed_point(model: nn.Module, what: str) -> None:
    """One-line UserError when ``model`` is a checkpoint trained in fixed point: ``what``
    (pruning, class-incremental training, ...) runs it in float32, where a network trained
    with saturating, rounded outputs scores otherwise (a 2.4 MLP on digits: 0.65 against
    about 0.84 in its fixed point), and the model it writes would be float32 without a
    word.  Unlike ``attach_inference`` this works on any model (None: nothing to refuse)."""
    quant = checkpoint_quant(model)
    if quant is not None:
        from synth.errors import UserError
        raise UserError(f"the model was trained in fixed point {quant.format} (nnsynth train "
                        f"--fixed-point); {what} runs in float32, where it computes another "
                        f"function: give a float32 checkpoint")


def attach_inference(model: nn.Module, config: QuantConfig,
                     rounding: str = INFERENCE_ROUNDING) -> FixedPointTraining:
    """Run ``model`` forward in ``config``'s fixed point: weights rounded onto the grid once,
    every Linear/Conv1d/Conv2d output rounded by forward hooks of plain tensor ops (mul,
    floor, clamp), so that a traced ONNX export carries the rounding too.  Returns the hooks
    (``detach()`` removes them).  A model trained with saturating outputs can depend on them:
    evaluated in fp32 instead, a LeNet-5 trained at 4.6 fell from 70.9 % to 10 % on mnist5k.

    ``rounding`` is round-to-nearest by default, whatever the training used: the ONNX export
    rounds so, and a stochastically rounded evaluation is one random draw (mlp_small at 2.4,
    5 epochs on digits: 0.7389, then 0.7361 on the same attached model, 0.7306-0.7417 over
    ten seeds, against 0.7417 to nearest).  ``"stochastic"`` draws from a generator seeded with
    ``config.seed`` at each attach: the same numbers for the same inputs in the same batches,
    other numbers on a second pass."""
    hooks = FixedPointTraining(config.replace(rounding=rounding, gradients=False,
                                              optimizer_state=False))
    for m in model.modules():   # outputs rounded only where the training rounded them
        if config.activations and isinstance(m, PRUNABLE):
            hooks._handles.append(m.register_forward_hook(lambda mod, args, out: hooks._q(out)))
    hooks.after_step(model)
    return hooks
