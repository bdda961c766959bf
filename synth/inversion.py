"""DeepInversion and Adaptive DeepInversion (Yin et al., arXiv 1912.08795), written from the paper.

Random noise x is optimized into class-conditional images for a frozen teacher:

    min_x  L_CE(teacher(x), y) + R_prior(x) + a_f R_feature(x) [+ a_c R_compete(x)]   (paper Eq. 2/6)

* R_feature (Eq. 4): for every BatchNorm layer l, || mu_l(x) - running_mean_l ||_2 +
  || var_l(x) - running_var_l ||_2, the batch statistics of the layer's *input* over (N, H, W)
  with the biased variance; summed over layers, the first layer weighted ``first_bn_multiplier``.
* R_prior (DeepDream prior, Eq. 3): total variation (L1 and L2 forms) and the L2 norm of x.
* R_compete (ADI, Eq. 8): 1 - JS(p_teacher || p_student) at temperature T, pushing images to
  where the student disagrees with the teacher.

The BN statistics come from forward hooks registered once per ``synthesize`` call (not per
step).  Adam on the pixels with linear warm-up and cosine decay, random jitter (roll) and
flips each step, an optional low-resolution first phase, clipping to the data set's valid
normalized range, and the lowest-loss snapshot of each batch is kept.  A batch stops early
once the teacher classifies (almost) all of it as its targets and the loss has stopped
falling: the main speed lever against the reference's fixed 2k iterations.
"""
from __future__ import annotations

import dataclasses
import math
import time

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from synth.config import Config, check_choice, check_range, short_repr
from synth.device import pick_device
from synth.errors import UserError
from synth.models import batchnorm_layers
from synth.train import lr_factor


@dataclasses.dataclass(frozen=True)
class InversionConfig(Config):
    iterations: int = 2000            # maximum per batch (the paper's 2k)
    batch_size: int = 256
    lr: float = 0.1                   # Adam on pixels
    betas: tuple = (0.5, 0.9)
    warmup_iterations: int = 0
    schedule: str = "cosine"          # cosine | constant
    ce_weight: float = 1.0
    bn_weight: float = 1.0            # a_f, Eq. 2
    first_bn_multiplier: float = 10.0
    tv_l1_weight: float = 0.0
    tv_l2_weight: float = 1e-4
    l2_weight: float = 1e-5
    adi_weight: float = 0.0           # a_c, Eq. 8; used only when a student is given
    adi_temperature: float = 3.0      # ANCHORS: T = 3
    jitter: int = 2                   # pixels, random roll each step
    flip: bool = False
    lowres_iterations: int = 0        # first phase at 1/lowres_factor resolution
    lowres_factor: int = 2
    early_stop: bool = True
    check_every: int = 25             # host syncs happen only here
    min_iterations: int = 100
    stop_fidelity: float = 1.0        # fraction of the batch the teacher must assign to its target
    stop_tolerance: float = 0.02      # relative loss decrease per check window below which we stop
    device: str = "auto"

    def validate(self) -> None:
        check_range("iterations", self.iterations, 1, 1_000_000, integer=True)
        check_range("batch_size", self.batch_size, 1, 100_000, integer=True)
        check_range("lr", self.lr, 0, 10, low_open=True)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise UserError(f"betas must be two numbers in [0, 1), got {short_repr(self.betas)}")
        check_range("warmup_iterations", self.warmup_iterations, 0, self.iterations, integer=True)
        check_choice("schedule", self.schedule, ("cosine", "constant"))
        for name in ("ce_weight", "bn_weight", "first_bn_multiplier", "tv_l1_weight",
                     "tv_l2_weight", "l2_weight", "adi_weight"):
            check_range(name, getattr(self, name), 0, None)
        check_range("adi_temperature", self.adi_temperature, 0, None, low_open=True)
        check_range("jitter", self.jitter, 0, 1000, integer=True)
        check_range("lowres_iterations", self.lowres_iterations, 0, self.iterations, integer=True)
        check_range("lowres_factor", self.lowres_factor, 1, 16, integer=True)
        check_range("check_every", self.check_every, 1, None, integer=True)
        check_range("min_iterations", self.min_iterations, 0, None, integer=True)
        check_range("stop_fidelity", self.stop_fidelity, 0, 1)
        check_range("stop_tolerance", self.stop_tolerance, 0, 1)

    @classmethod
    def preset(cls, name: str, **overrides) -> "InversionConfig":
        """``mnist28`` (1x28x28), ``cifar32`` (3x32x32), ``imagenet224`` (3x224x224)."""
        if name not in PRESETS:
            raise UserError(f"unknown inversion preset {short_repr(name)}; known: {', '.join(PRESETS)}")
        return cls.from_dict({**PRESETS[name], **overrides})


PRESETS: dict[str, dict] = {
    # Digits are not mirror-symmetric: no flips.  Jitter +-2 px as at 32x32 (ANCHORS).
    "mnist28": dict(iterations=2000, batch_size=256, lr=0.1, jitter=2, flip=False,
                    bn_weight=1.0, first_bn_multiplier=10.0, tv_l2_weight=1e-4, l2_weight=1e-5),
    # CIFAR protocol of the paper: 2k iterations, batch 256, jitter 2, flips.
    "cifar32": dict(iterations=2000, batch_size=256, lr=0.1, jitter=2, flip=True,
                    bn_weight=1.0, first_bn_multiplier=10.0, tv_l2_weight=1e-4, l2_weight=1e-5),
    # ImageNet: jitter 30, flips, 2k iterations at 112 px then 1k at 224 (multi-resolution).
    "imagenet224": dict(iterations=3000, batch_size=64, lr=0.25, jitter=30, flip=True,
                        lowres_iterations=2000, lowres_factor=2, warmup_iterations=100,
                        bn_weight=0.01, first_bn_multiplier=10.0, tv_l1_weight=0.0,
                        tv_l2_weight=1e-4, l2_weight=1e-5, min_iterations=500),
}


@dataclasses.dataclass
class InversionResult:
    images: torch.Tensor              # (N, C, H, W), normalized like the teacher's data set
    labels: torch.Tensor              # (N,) target classes
    teacher_confidence: torch.Tensor  # (N,) teacher softmax probability of the target
    losses: torch.Tensor              # (N,) final per-image loss (CE + priors + ADI term)
    stats: dict                       # iterations, bn_loss_initial/final, fidelity, seconds...

    @property
    def fidelity(self) -> float:
        return float(self.stats["fidelity"])


# --------------------------------------------------------------------------- loss terms
def bn_statistics_gap(x: torch.Tensor, running_mean: torch.Tensor,
                      running_var: torch.Tensor) -> torch.Tensor:
    """Eq. 4 for one layer: ||mu - mu_run||_2 + ||var - var_run||_2, stats over all dims but 1."""
    dims = [0] + list(range(2, x.dim()))
    var, mean = torch.var_mean(x, dim=dims, unbiased=False)
    return (torch.linalg.vector_norm(mean - running_mean)
            + torch.linalg.vector_norm(var - running_var))


def total_variation(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image TV: (L1 form, L2 form) = mean |d| and mean d^2 over horizontal plus vertical
    neighbour differences d."""
    dh = x[..., :, 1:] - x[..., :, :-1]
    dv = x[..., 1:, :] - x[..., :-1, :]
    l1 = dh.abs().flatten(1).mean(1) + dv.abs().flatten(1).mean(1)
    l2 = dh.square().flatten(1).mean(1) + dv.square().flatten(1).mean(1)
    return l1, l2


def js_divergence(teacher_logits: torch.Tensor, student_logits: torch.Tensor,
                  temperature: float = 3.0, clamp: tuple[float, float] = (0.01, 0.99)) -> torch.Tensor:
    """Per-sample Jensen-Shannon divergence (nats, in [0, ln 2]) of the tempered softmaxes;
    probabilities are clamped to ``clamp`` (ANCHORS) and renormalized."""
    def probs(logits):
        p = F.softmax(logits / temperature, dim=1).clamp(*clamp)
        return p / p.sum(1, keepdim=True)
    p, q = probs(teacher_logits), probs(student_logits)
    m = 0.5 * (p + q)
    kl = lambda a: (a * (a.log() - m.log())).sum(1)  # noqa: E731
    return 0.5 * kl(p) + 0.5 * kl(q)


def competition_loss(teacher_logits, student_logits, temperature: float = 3.0) -> torch.Tensor:
    """ADI Eq. 8 per sample: 1 - JS; in [1 - ln 2, 1], lowest where teacher and student disagree."""
    return 1.0 - js_divergence(teacher_logits, student_logits, temperature)


class BNFeatureHooks:
    """Forward hooks on every BatchNorm layer, registered once; while ``active`` each forward
    appends that layer's Eq. 4 gap to ``gaps`` (autograd-connected)."""

    def __init__(self, model: nn.Module):
        self.layers = batchnorm_layers(model)
        self.gaps: list[torch.Tensor] = []
        self.active = False
        self._handles = [m.register_forward_hook(self._hook) for m in self.layers]

    def _hook(self, module, inputs, output):
        if self.active:
            self.gaps.append(bn_statistics_gap(inputs[0], module.running_mean, module.running_var))

    def loss(self, first_multiplier: float) -> torch.Tensor:
        """Sum over layers, the first multiplied; clears the collected gaps."""
        gaps, self.gaps = self.gaps, []
        return first_multiplier * gaps[0] + sum(gaps[1:], torch.zeros((), device=gaps[0].device))

    def remove(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []


class _Frozen:
    """Eval mode and no parameter gradients while synthesizing (restored afterwards): the
    backward pass then computes input gradients only."""

    def __init__(self, *models):
        self.models = [m for m in models if m is not None]

    def __enter__(self):
        self.saved = [(m.training, [p.requires_grad for p in m.parameters()]) for m in self.models]
        for m in self.models:
            m.eval()
            m.requires_grad_(False)

    def __exit__(self, *exc):
        for m, (training, flags) in zip(self.models, self.saved):
            m.train(training)
            for p, f in zip(m.parameters(), flags):
                p.requires_grad_(f)


# --------------------------------------------------------------------------- the objective
def _objective(teacher, student, hooks, x, labels, config: InversionConfig):
    """Total loss (scalar), per-image loss without the batch-level BN term, teacher logits, BN."""
    hooks.active = True
    logits = teacher(x)
    hooks.active = False
    bn = hooks.loss(config.first_bn_multiplier)
    per_image = config.ce_weight * F.cross_entropy(logits, labels, reduction="none")
    if config.tv_l1_weight or config.tv_l2_weight:
        tv1, tv2 = total_variation(x)
        per_image = per_image + config.tv_l1_weight * tv1 + config.tv_l2_weight * tv2
    if config.l2_weight:
        per_image = per_image + config.l2_weight * torch.linalg.vector_norm(x.flatten(1), dim=1)
    if student is not None and config.adi_weight:
        per_image = per_image + config.adi_weight * competition_loss(
            logits, student(x), config.adi_temperature)
    return per_image.mean() + config.bn_weight * bn, per_image, logits, bn


def _augment(x: torch.Tensor, jitter: int, flip: bool, gen: torch.Generator) -> torch.Tensor:
    """Random roll by up to +-jitter pixels and a random horizontal flip of the whole batch."""
    if jitter:
        ox, oy = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=gen))
        if ox or oy:
            x = torch.roll(x, shifts=(ox, oy), dims=(2, 3))
    if flip and bool(torch.rand((), generator=gen) < 0.5):
        x = torch.flip(x, dims=(3,))
    return x


def _initial_noise(n, shape, config, lo, hi, gen, device) -> torch.Tensor:
    """Gaussian noise in normalized units, clipped; at low resolution for a low-res phase."""
    c, h, w = shape
    f = config.lowres_factor if config.lowres_iterations else 1
    x = torch.randn((n, c, h // f, w // f), generator=gen).to(device)
    return torch.max(torch.min(x, hi), lo)


def _invert_batch(teacher, student, hooks, x0, labels, config, lo, hi, gen, bar=None):
    """Optimize one batch from noise ``x0``; returns (best images, stats)."""
    c, h, w = teacher.input_shape
    f = config.lowres_factor if config.lowres_iterations else 1
    x = x0.clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=config.lr, betas=tuple(config.betas), eps=1e-8)
    best_loss, best_x = math.inf, None
    last_check, fidelity, it = math.inf, 0.0, 0
    for it in range(config.iterations):
        if f > 1 and it == config.lowres_iterations:  # end of the low-resolution phase
            x = F.interpolate(x.detach(), size=(h, w), mode="nearest").requires_grad_(True)
            opt = torch.optim.Adam([x], lr=config.lr, betas=tuple(config.betas), eps=1e-8)
            f, best_loss, last_check = 1, math.inf, math.inf
        for g in opt.param_groups:
            g["lr"] = config.lr * lr_factor(it, config.iterations, config.warmup_iterations,
                                            config.schedule)
        full = F.interpolate(x, size=(h, w), mode="nearest") if f > 1 else x
        loss, _, logits, _ = _objective(teacher, student, hooks,
                                        _augment(full, config.jitter, config.flip, gen),
                                        labels, config)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():
            x.data = torch.max(torch.min(x.data, hi), lo)
        if bar is not None:
            bar.update(1)
        if (it + 1) % config.check_every == 0 or it + 1 == config.iterations:
            value = float(loss.detach())  # the only host sync, once per window
            fidelity = float((logits.argmax(1) == labels).float().mean())
            if f == 1 and value < best_loss:
                best_loss, best_x = value, x.detach().clone()
            converged = (last_check - value) < config.stop_tolerance * abs(last_check)
            last_check = value
            if (config.early_stop and f == 1 and it + 1 >= config.min_iterations
                    and fidelity >= config.stop_fidelity and converged):
                break
    if best_x is None:
        best_x = x.detach().clone()
    return best_x, {"iterations": it + 1}


@torch.no_grad()
def _evaluate(teacher, student, hooks, x, labels, config):
    """Clean (un-augmented) evaluation: per-image loss, confidence, BN loss."""
    _, per_image, logits, bn = _objective(teacher, student, hooks, x, labels, config)
    conf = F.softmax(logits, 1).gather(1, labels[:, None])[:, 0]
    return per_image, conf, logits.argmax(1) == labels, float(bn)


def synthesize(teacher: nn.Module, labels: torch.Tensor, config: InversionConfig | None = None, *,
               pixel_range: tuple[torch.Tensor, torch.Tensor], student: nn.Module | None = None,
               seed: int = 0, progress: bool = False) -> InversionResult:
    """Invert ``teacher`` into one image per entry of ``labels`` (batches of
    ``config.batch_size``).  ``pixel_range`` = (lo, hi) per channel in normalized units
    (``Dataset.pixel_range()``); ``student`` turns on the ADI competition term."""
    config = config or InversionConfig()
    if not batchnorm_layers(teacher):
        raise UserError("teacher has no BatchNorm layers: DeepInversion needs their running "
                        "statistics (train a model with bn=true)")
    if len(getattr(teacher, "input_shape", ())) != 3:
        raise UserError("teacher must be an image model with input_shape (C, H, W)")
    labels = torch.as_tensor(labels, dtype=torch.long).flatten()
    if len(labels) == 0:
        raise UserError("labels must contain at least one class index")
    if labels.min() < 0 or labels.max() >= teacher.num_classes:
        raise UserError(f"labels must be in [0, {teacher.num_classes}), got "
                        f"[{int(labels.min())}, {int(labels.max())}]")
    device = pick_device(config.device)
    lo, hi = (torch.as_tensor(t, dtype=torch.float32).reshape(-1, 1, 1).to(device)
              for t in pixel_range)
    gen = torch.Generator().manual_seed(int(seed))
    teacher.to(device)
    if student is not None:
        student.to(device)
    images, confs, losses, iters, bn0, bn1 = [], [], [], [], [], []
    start = time.perf_counter()
    hooks = BNFeatureHooks(teacher)
    bar = tqdm(total=0, desc="invert", disable=not progress, leave=False)
    try:
        with _Frozen(teacher, student):
            for b in range(0, len(labels), config.batch_size):
                y = labels[b:b + config.batch_size].to(device)
                bar.total += config.iterations
                bar.refresh()
                x0 = _initial_noise(len(y), teacher.input_shape, config, lo, hi, gen, device)
                noise = F.interpolate(x0, size=teacher.input_shape[1:], mode="nearest")
                bn0.append(_evaluate(teacher, student, hooks, noise, y, config)[3])
                x, st = _invert_batch(teacher, student, hooks, x0, y, config, lo, hi, gen, bar)
                bar.update(config.iterations - st["iterations"])
                per_image, conf, _, bn = _evaluate(teacher, student, hooks, x, y, config)
                images.append(x.cpu()), confs.append(conf.cpu()), losses.append(per_image.cpu())
                iters.append(st["iterations"]), bn1.append(bn)
    finally:
        hooks.remove()
        bar.close()
    seconds = time.perf_counter() - start
    images, conf = torch.cat(images), torch.cat(confs)
    with torch.no_grad(), _Frozen(teacher):
        pred = torch.cat([teacher(images[i:i + 1024].to(device)).argmax(1).cpu()
                          for i in range(0, len(images), 1024)])
    stats = {"batches": len(iters), "iterations": iters, "mean_iterations": sum(iters) / len(iters),
             "bn_loss_initial": sum(bn0) / len(bn0), "bn_loss_final": sum(bn1) / len(bn1),
             "fidelity": float((pred == labels).float().mean()),
             "seconds": round(seconds, 3), "images_per_second": len(labels) / max(seconds, 1e-9),
             "device": str(device)}
    return InversionResult(images, labels.clone(), conf, torch.cat(losses), stats)


def balanced_labels(num_images: int, num_classes: int, offset: int = 0) -> torch.Tensor:
    """``num_images`` class indices cycling through all classes (counts differ by at most 1)."""
    return (torch.arange(num_images) + offset) % num_classes


# The preset for an input's spatial size (last dimension), cifar32 for anything else.
PRESET_BY_SIZE = {28: "mnist28", 32: "cifar32", 224: "imagenet224"}


def preset_for_shape(input_shape) -> str:
    """The inversion preset for a model's ``input_shape`` (C, H, W): by its width."""
    return PRESET_BY_SIZE.get(tuple(input_shape)[-1], "cifar32")
