"""Amortized DeepInversion: a generator trained with the DeepInversion losses, then sampled.

DeepInversion (``synth.inversion``) optimizes every batch of inputs from noise, hundreds of
teacher forward/backward passes per batch.  The generator line of work (Fang et al., "Up to
100x faster data-free knowledge distillation", AAAI 2022; Chen et al.'s DAFL; Luo et al.'s
KEGNET) instead trains a small conditional generator G(z, y) once with the same objective,

    min_G  E_{z, y} [ L_CE(teacher(G(z, y)), y) + R_prior(G(z, y)) ]
           + a_f R_feature({G(z_i, y_i)}_i) [+ a_c R_compete]        (DeepInversion Eq. 2/6)

with R_feature the BatchNorm statistics gap of Eq. 4 over a generated batch (it is what makes
the generator produce *varied* inputs: one image per class cannot match the data's per-channel
variances).  ``train_generator`` is that training (the warm-up); ``sample`` then makes the
inputs.  ``adi_weight`` with a given student adds Eq. 8's competition term as in ``synthesize``.

Generator: the label is one-hot and concatenated to a Gaussian latent z.  Images (C, H, W): a
linear layer to ``2 * width`` channels at a quarter of the resolution, ``depth`` (upsample,
3x3 conv, BatchNorm, LeakyReLU 0.2) stages at (H/2, W/2) and (H, W), a 3x3 conv to C channels
at (H, W); feature vectors (F,): a two-layer MLP; sequences (C, L): the same MLP, C*L
outputs reshaped (``sequence_generator="mlp"``, the default: no notion of neighbouring
steps), or with ``sequence_generator="conv1d"`` the image generator's layers over time -- a
linear layer to ``2 * width`` channels of L0 = ceil(L / 4) steps, the ``depth`` (x2 nearest
upsampling, Conv1d of 3 steps, BatchNorm, LeakyReLU 0.2) stages at 2 L0 and 4 L0, a Conv1d
to C channels at 4 L0, of which the centre L steps are kept (L need not be a power of two:
29 steps come from 8).  The temporal one is not the default: in a screen of 2 synthesis x
2 student seeds (benchmarks/results/inversion_any_hard.md, h133) it beat the MLP on the BN
MLPs of japanesevowels (+7.6 pt) and basicmotions (+23.4) but lost on scp1's (-5.6) and on
``convnet1d_small/basicmotions`` (-12.5), and tied on ``convnet1d_small/japanesevowels``.
The output is squashed into the data set's valid normalized range per channel (or
feature): ``lo + (hi - lo) * sigmoid(out)``, so no clipping is needed.  Adam on the generator's weights with cosine decay; the teacher is frozen.

Sampling, as Fast DFKD does it (``adapt_steps`` > 0, the default): every batch starts from the
meta-learned generator, and a copy of it is adapted together with the batch's own latents z
for ``adapt_steps`` Adam steps on the objective above; the copy's gradients, summed over the
steps (first-order MAML), update the shared generator, so each batch starts nearer to a good
one.  The BN term matches the batch's statistics blended with the exponential average of the
batches before it (``bn_momentum``, Fast DFKD's 0.9): the set as a whole, not each batch,
has to match the data's statistics.  A given student can be trained alongside on the memory
bank of all batches (``kd_steps``) and push later batches to where it disagrees with the
teacher (``adi_weight`` from batch ``adi_after``).  The batch kept is the adapted generator's
output after the last step (``adapt_select="last"``; Fast DFKD keeps the batch of the step with
the lowest objective, ``"loss"``, which on the mnist5k LeNet-5 left the fidelity at 0.85
because the jittered objective is noisy from step to step).
With ``early_stop`` (the default from ``settings_for``) each batch then meets the per-pixel
path's stopping rule: after ``adapt_steps`` the teacher must assign all but
``allowed_misses(n)`` of the batch's clean output to its targets (63 of 64 at stop_fidelity
0.99, min_fidelity 0.95); the missed inputs are re-drawn first (fresh latents for them alone,
``adapt_redraws`` tries, forward passes only), then the batch is adapted on, checked every
``adapt_check_every`` steps, up to ``adapt_max_steps``.  Without it one draw of three ended at
0.945 (14 misses of 256); with it the three draws were 0.984-0.988
(benchmarks/results/amortized_stoprule.md).

Iteration cap: ``AmortizedConfig.from_inversion`` bounds the warm-up's steps, each batch's
adaptation (with its extension) and each batch's refinement by the settings' ``iterations``
(``--iterations``: the per-pixel path's cap per batch), except a phase the ``amortized``
settings set themselves; ``stats["iteration_cap"]`` reports the bounds, and an info line names
a phase set above the cap.  Other work is not counted in iterations: the redraws of missed
inputs (forward passes only) and a student's ``kd_steps``.

Older path: plain sampling, optionally refined by DeepInversion's own loop
(``refine_iterations``: Adam on the inputs from G's output plus noise of std ``refine_noise``);
measured at 80.5% for the student against 90.1% for the reference loop's images.

Measured (benchmarks/results/amortized.md, 256 images, one thread, mnist5k LeNet-5-BN): the
default (warm-up 100 steps of 64, then 4 batches of 64 adapted 40 steps each) makes 256
images in 16-20 s of CPU (10.2-13.2x the fixed 2,000-iteration loop's images/s over three
draws, warm-up included; 16x marginal), fidelity 0.98; half-width students distilled on them
reached 87.1 +- 1.9% over the three draws (89.3% on one) against 89.4% on the reference
loop's images: on par with early-stopped DeepInversion (86.3%), not yet with the reference.

Stopping rule (as DeepInversion's, per check every ``check_every`` steps on a fresh batch of
``batch_size`` clean samples): once the teacher assigns at least ``stop_fidelity`` of the batch
to its targets and the mean objective over the last window fell by less than
``stop_tolerance`` relative to the window before.  The weights kept are those of the check with
the highest clean fidelity (ties: the lowest window loss).
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import math
import threading
import time

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from synth.config import Config, check_batch_size, check_choice, check_range, short_repr
from synth.device import borrowed, pick_device
from synth.errors import ConfigError, UserError
from synth.inversion import (BNFeatureHooks, InversionConfig, InversionResult, _augment, _Frozen,
                             _invert_batch, _objective, allowed_misses, batch_statistics,
                             bn_statistics_gap, check_lengths, check_teacher, class_counts,
                             class_fidelity, hit_fraction, fidelity_warning, padding_mask,
                             target_labels, teacher_class_names)
from synth.parallel import DataParallel, SyncedBNHooks, local_sgd_state, synced_batchnorm
from synth.train import lr_factor

log = logging.getLogger(__name__)
_GLOBAL_RNG = threading.Lock()   # torch's global generator: seeded and drawn under this lock

# The generator's layers for sequences (C, L): AmortizedConfig.sequence_generator
SEQUENCE_GENERATORS = ("conv1d", "mlp")

# The loss and augmentation fields an AmortizedConfig takes over from an InversionConfig.
SHARED_FIELDS = ("ce_weight", "bn_weight", "first_bn_multiplier", "tv_l1_weight", "tv_l2_weight",
                 "l2_weight", "adi_weight", "adi_temperature", "jitter", "flip", "check_every",
                 "stop_fidelity", "stop_tolerance", "min_fidelity", "early_stop", "device",
                 "lengths")


@dataclasses.dataclass(frozen=True)
class AmortizedConfig(Config):
    steps: int = 100                  # warm-up generator updates, maximum (early stop may end sooner)
    batch_size: int = 64              # generated inputs per update (BN statistics over them)
    # data-parallel warm-up (``parallel``: several pair actors train one generator).  0: exact
    # -- every batch is split across the ranks, the generator's BatchNorm and Eq. 4 take the
    # whole batch's statistics and the gradients are summed (7 collectives per step, each a
    # wait for the slowest rank).  k >= 1: local SGD -- each rank takes its own Adam steps on
    # its part of every batch (BatchNorm and Eq. 4 over that part) and the ranks' weights,
    # BatchNorm buffers and Adam moments are averaged every k steps, at every check and at the
    # end, so all ranks end with the same generator.  One process ignores it.  Local SGD by
    # default: the exact mode's per-step waits kept two pairs' warm-up at one pair's wall time
    # (benchmarks/results/amortized.md).
    sync_every: int = 5
    lr: float = 0.01                  # Adam on the generator's weights
    betas: tuple = (0.5, 0.999)
    schedule: str = "cosine"          # cosine | constant
    warmup_steps: int = 0
    latent_dim: int = 64              # Gaussian z
    width: int = 16                   # generator channels (images) / 8 x width hidden (vectors)
    depth: int = 1                    # conv stages (at H/2, H) before the output conv, 0-2
    # sequences (C, L): mlp -- the feature vectors' two-layer MLP with C*L outputs (no notion
    # of neighbouring steps); conv1d -- the image generator's layers over time (a temporal
    # prior; not the default: module docstring).  Feature vectors always get the MLP, images
    # the 2-d convolutions
    sequence_generator: str = "mlp"
    # refinement: each sampled batch of ``refine_batch`` is then optimized as DeepInversion
    # does (Adam on the inputs, lr ``refine_lr``, its stopping rule) for at most
    # ``refine_iterations`` -- the generator's output is the starting point instead of noise
    refine_iterations: int = 0
    refine_batch: int = 256
    refine_lr: float = 0.1
    refine_min_iterations: int = 25
    refine_noise: float = 1.0         # std of Gaussian noise added to G's output before refining
    # Fast DFKD (Fang et al. 2022): each sampled batch of ``adapt_batch`` starts from the
    # meta-learned generator and adapts a copy of it together with its own latents for
    # ``adapt_steps`` Adam steps (lr ``adapt_lr`` on the copy's weights, ``latent_lr`` on z);
    # the generator is then meta-updated (first-order MAML, Adam at adapt_lr x adapt_steps)
    # so the next batch starts nearer.  ``bn_momentum`` matches the BN statistics of the
    # batch blended with those of the batches before it (their exponential average), so a
    # batch need not match the data's statistics alone.  A given student is trained
    # alongside: ``kd_steps`` KD steps on the memory bank of all batches so far after each
    # batch, and the competition term (``adi_weight``) from batch ``adi_after`` on.
    adapt_steps: int = 40
    adapt_batch: int = 64
    adapt_lr: float = 0.005
    latent_lr: float = 0.015
    bn_momentum: float = 0.9
    kd_steps: int = 0
    adi_after: int = 0
    adapt_select: str = "last"        # last: the output after the last step | loss: the
                                      # batch of the step with the lowest objective (Fast DFKD)
    # stopping rule per batch (with ``early_stop``, as ``synth.inversion``'s per-pixel path):
    # after ``adapt_steps`` the teacher must assign all but ``allowed_misses`` of the adapted
    # batch's clean output to its targets (``stop_fidelity``/``min_fidelity``); a batch that
    # misses more is adapted on, checked every ``adapt_check_every`` steps (a check is one
    # forward pass of the copy and the teacher, no backward), up to ``adapt_max_steps`` in all
    # (0: no extension).  The extra steps do not enter the meta-gradient.
    # Before adapting on, a missed input is first re-drawn: up to ``adapt_redraws`` fresh
    # latents per check for the missed inputs only, through the adapted copy (forward passes
    # only); the first that the teacher assigns to the target replaces the input and its z.
    adapt_max_steps: int = 160
    adapt_check_every: int = 5
    adapt_redraws: int = 4
    # DeepInversion's objective (synth.inversion.InversionConfig, same meaning and units)
    ce_weight: float = 1.0
    bn_weight: float = 1.0
    first_bn_multiplier: float = 10.0
    tv_l1_weight: float = 0.0
    tv_l2_weight: float = 1e-4
    l2_weight: float = 1e-5
    adi_weight: float = 0.0
    adi_temperature: float = 3.0
    jitter: int = 2
    flip: bool = False
    early_stop: bool = True
    check_every: int = 25
    min_steps: int = 100
    stop_fidelity: float = 1.0
    stop_tolerance: float = 0.02
    min_fidelity: float = 0.95
    device: str = "auto"
    # a left-padded sequence set's real lengths at equal steps of probability
    # (InversionConfig.lengths): each output's length follows its first latent (drawn from
    # them by the normal CDF of z[0]), its steps before it held at the padding value 0
    lengths: list | None = None
    # the iteration cap of the settings this config came from (InversionConfig.iterations, the
    # per-pixel path's steps per batch; 0: none).  ``from_inversion`` bounds every phase in
    # ``CAPPED_PHASES`` that the ``amortized`` mapping does not set itself by it; the cap is
    # recorded here for the report (``iteration_report``), it lowers nothing by itself
    iteration_cap: int = 0

    def validate(self) -> None:
        check_range("iteration_cap", self.iteration_cap, 0, 1_000_000, integer=True)
        check_range("steps", self.steps, 1, 1_000_000, integer=True)
        check_batch_size("batch_size", self.batch_size, 2)
        check_range("sync_every", self.sync_every, 0, 1_000_000, integer=True)
        check_range("lr", self.lr, 0, 10, low_open=True)
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise UserError(f"betas must be two numbers in [0, 1), got {short_repr(self.betas)}")
        check_choice("schedule", self.schedule, ("cosine", "constant"))
        check_range("warmup_steps", self.warmup_steps, 0, self.steps, integer=True)
        check_range("latent_dim", self.latent_dim, 1, 4096, integer=True)
        check_range("width", self.width, 1, 1024, integer=True)
        check_range("depth", self.depth, 0, 2, integer=True)
        check_choice("sequence_generator", self.sequence_generator, SEQUENCE_GENERATORS)
        check_range("refine_iterations", self.refine_iterations, 0, 1_000_000, integer=True)
        check_batch_size("refine_batch", self.refine_batch, 2)
        check_range("refine_lr", self.refine_lr, 0, 10, low_open=True)
        check_range("refine_min_iterations", self.refine_min_iterations, 0, None, integer=True)
        check_range("refine_noise", self.refine_noise, 0, 100)
        check_range("adapt_steps", self.adapt_steps, 0, 100_000, integer=True)
        check_batch_size("adapt_batch", self.adapt_batch, 2)
        check_range("adapt_lr", self.adapt_lr, 0, 10)
        check_range("latent_lr", self.latent_lr, 0, 10)
        check_range("bn_momentum", self.bn_momentum, 0, 1, high_open=True)
        check_range("kd_steps", self.kd_steps, 0, 1_000_000, integer=True)
        check_range("adi_after", self.adi_after, 0, None, integer=True)
        check_choice("adapt_select", self.adapt_select, ("last", "loss"))
        check_range("adapt_max_steps", self.adapt_max_steps, 0, 1_000_000, integer=True)
        check_range("adapt_check_every", self.adapt_check_every, 1, None, integer=True)
        check_range("adapt_redraws", self.adapt_redraws, 0, 1000, integer=True)
        if self.adapt_max_steps and self.adapt_max_steps < self.adapt_steps:
            raise ConfigError(f"adapt_max_steps ({self.adapt_max_steps}) must be 0 or at least "
                              f"adapt_steps ({self.adapt_steps})")
        for name in ("ce_weight", "bn_weight", "first_bn_multiplier", "tv_l1_weight",
                     "tv_l2_weight", "l2_weight", "adi_weight"):
            check_range(name, getattr(self, name), 0, None)
        check_range("adi_temperature", self.adi_temperature, 0, None, low_open=True)
        check_range("jitter", self.jitter, 0, 1000, integer=True)
        check_range("check_every", self.check_every, 1, None, integer=True)
        check_range("min_steps", self.min_steps, 0, None, integer=True)
        for name in ("stop_fidelity", "stop_tolerance", "min_fidelity"):
            check_range(name, getattr(self, name), 0, 1)
        check_lengths(self.lengths)

    def max_ranks(self) -> int:
        """The most data-parallel ranks a warm-up can take: every rank needs part of each
        batch, and under local SGD (``sync_every``) at least two inputs, since its BatchNorm
        and Eq. 4 statistics are its part's."""
        return self.batch_size // 2 if self.sync_every else self.batch_size

    def refine_config(self) -> InversionConfig:
        """The DeepInversion settings of the refinement (same objective and stopping rule)."""
        return InversionConfig(**{k: getattr(self, k) for k in SHARED_FIELDS},
                               iterations=self.refine_iterations, batch_size=self.refine_batch,
                               lr=self.refine_lr, warmup_iterations=0, lowres_iterations=0,
                               min_iterations=min(self.refine_min_iterations,
                                                  self.refine_iterations))

    @classmethod
    def from_inversion(cls, inversion: InversionConfig, *, where: str = "amortized",
                       **overrides) -> "AmortizedConfig":
        """The objective, augmentation and stopping thresholds of ``inversion`` (so
        ``settings_for(teacher)`` serves both methods), its ``amortized`` mapping of
        generator settings, then ``overrides``; ``where`` prefixes an unknown key's name.

        ``inversion.iterations`` (the per-pixel path's cap per batch, ``--iterations``) is
        the cap of every generator phase (``CAPPED_PHASES``: the warm-up's steps, one batch's
        adaptation and its extension, one batch's refinement) that the mapping and
        ``overrides`` do not set: a phase above it is lowered to it (the warm-up's
        ``warmup_steps`` and ``min_steps``, and ``refine_min_iterations``, with it).  The
        presets' caps (2,000 and more) are above every default phase, so without a cap of
        the caller's nothing changes; a phase set explicitly keeps its value
        (``iteration_report`` names it)."""
        extra = dict(getattr(inversion, "amortized", None) or {})
        given = {**extra, **overrides}
        values = {k: getattr(inversion, k) for k in SHARED_FIELDS}
        cap = given.get("iteration_cap", inversion.iterations)
        if isinstance(cap, int) and not isinstance(cap, bool) and cap >= 1:
            values.update(iteration_cap=cap, **_capped({**_defaults(), **given}, given, cap))
        return cls.from_dict({**values, **given}, where=where)

    def iteration_report(self) -> dict | None:
        """What the iteration cap bounds (None without one): ``iterations`` (the cap), the
        ``bounds`` of each phase as they apply (warm-up steps, adaptation steps per batch with
        the stopping rule's extension, refinement iterations per batch; 0: the phase does not
        run) and ``above_cap``: the phases set above the cap explicitly (kept)."""
        if not self.iteration_cap:
            return None
        extend = self.adapt_max_steps if self.early_stop and self.adapt_max_steps else 0
        bounds = {"steps": self.steps, "adapt_steps": self.adapt_steps,
                  "adapt_max_steps": max(extend, self.adapt_steps) if self.adapt_steps else 0,
                  "refine_iterations": self.refine_iterations}
        return {"iterations": self.iteration_cap, "bounds": bounds,
                "above_cap": sorted(k for k, v in bounds.items() if v > self.iteration_cap)}


# The generator's phases an iteration cap bounds: each counts teacher forward/backward passes
# on one batch, as an iteration of the per-pixel path does -- the warm-up's generator updates,
# one sampled batch's adaptation (and the stopping rule's extension of it), one batch's
# per-pixel refinement (the same loop as the per-pixel path's)
CAPPED_PHASES = ("steps", "adapt_steps", "adapt_max_steps", "refine_iterations")


def _defaults() -> dict:
    return {f.name: f.default for f in dataclasses.fields(AmortizedConfig)}


def _capped(values: dict, given: dict, cap: int) -> dict:
    """The phases of ``values`` not in ``given`` lowered to ``cap`` where above it, with the
    counts that must stay within them (warm-up, ``min_steps``, the refinement's minimum), and
    ``adapt_max_steps`` kept at ``adapt_steps`` or above (0 stays 0: no extension)."""
    out = {}
    for name in CAPPED_PHASES:
        if name not in given and isinstance(values.get(name), int) and values[name] > cap:
            out[name] = cap
    new = {**values, **out}
    if "adapt_max_steps" in out and isinstance(new.get("adapt_steps"), int):
        out["adapt_max_steps"] = max(out["adapt_max_steps"], new["adapt_steps"])
    for name, within in (("warmup_steps", "steps"), ("min_steps", "steps"),
                         ("refine_min_iterations", "refine_iterations")):
        if within in out and name not in given and isinstance(new.get(name), int):
            out[name] = min(new[name], out[within])
    return out


class Generator(nn.Module):
    """G(z, y): a class-conditional generator whose outputs lie in [lo, hi] (see the module
    docstring for the layers)."""

    def __init__(self, input_shape, num_classes: int, latent_dim: int, width: int,
                 pixel_range: tuple[torch.Tensor, torch.Tensor], depth: int = 2,
                 layers: str = "mlp", lengths=None):
        super().__init__()
        check_choice("sequence_generator", layers, SEQUENCE_GENERATORS)
        self.crop, self.sizes = None, None
        self.input_shape = tuple(int(v) for v in input_shape)
        self.num_classes, self.latent_dim = int(num_classes), int(latent_dim)
        image = len(self.input_shape) == 3
        view = (-1, 1, 1) if image else (-1,)
        if len(self.input_shape) == 2:   # sequences (C, L): per channel (C, 1) or value (C, L)
            view = (self.input_shape[0], -1)
        lo, hi = (torch.as_tensor(t, dtype=torch.float32).reshape(view) for t in pixel_range)
        check_bounded(lo, hi)
        self.register_buffer("lo", lo.clone())
        self.register_buffer("span", (hi - lo).clone())
        # a left-padded set's range of real lengths (sequences only; None: all steps)
        self.lengths = (tuple(int(v) for v in lengths)
                        if lengths is not None and len(self.input_shape) == 2 else None)
        d = latent_dim + num_classes
        if image or (len(self.input_shape) == 2 and layers == "conv1d"):   # convolutions
            # from a coarse grid (or sequence); feature vectors (F,): the MLP below
            if image:   # a quarter of the side (rounded up), a half, then the image's own
                c, h, w = self.input_shape
                self.sizes = [(math.ceil(h / 4), math.ceil(w / 4)),
                              (math.ceil(h / 2), math.ceil(w / 2)), (h, w)]
                conv, norm = nn.Conv2d, nn.BatchNorm2d
            else:   # the same over time: a quarter of the steps (rounded up), two exact x2
                # upsamplings, then the centre L steps of the 4 L0
                c, length = self.input_shape
                l0 = math.ceil(length / 4)
                self.sizes = [(l0,), (2 * l0,), (4 * l0,)]
                self.crop = ((4 * l0 - length) // 2, length)
                conv, norm = nn.Conv1d, nn.BatchNorm1d
            cells = 2 * width * math.prod(self.sizes[0])
            self.stem = nn.Sequential(nn.Linear(d, cells), nn.BatchNorm1d(cells))
            self.stages = nn.ModuleList(
                nn.Sequential(conv(cin, width, 3, padding=1, bias=False), norm(width),
                              nn.LeakyReLU(0.2))
                for cin in (2 * width, width)[:depth])
            self.head = conv(width if depth else 2 * width, c, 3, padding=1)
            self.width = width
        else:
            hidden = 8 * width
            self.stem = nn.Sequential(nn.Linear(d, hidden), nn.BatchNorm1d(hidden), nn.LeakyReLU(0.2),
                                      nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden),
                                      nn.LeakyReLU(0.2))
            self.stages = nn.ModuleList()
            self.head = nn.Linear(hidden, math.prod(self.input_shape))   # (F,); (C, L) flat

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.stem(torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], 1))
        if self.sizes is not None:   # convolutions (depth 0: the head's alone)
            h = h.view(len(z), 2 * self.width, *self.sizes[0])
            for stage, size in zip(self.stages, self.sizes[1:]):
                h = stage(F.interpolate(h, size=size, mode="nearest"))
            h = F.interpolate(h, size=self.sizes[-1], mode="nearest")
        out = self.head(h)
        if self.crop is not None:   # a sequence of 4 L0 steps: its centre L
            out = out[..., self.crop[0]:self.crop[0] + self.crop[1]]
        elif len(self.input_shape) == 2:   # a sequence: the MLP's output is the flat (C, L)
            out = out.view(len(z), *self.input_shape)
        out = self.lo + self.span * torch.sigmoid(out)
        if self.lengths is not None:   # zeros (the padding value) before each output's length
            u = 0.5 * (1.0 + torch.erf(z[:, 0].detach() / math.sqrt(2.0)))   # uniform in [0, 1)
            out = out * padding_mask(self.lengths, self.input_shape[1], u).to(out.dtype)
        return out


def check_bounded(lo: torch.Tensor, hi: torch.Tensor) -> None:
    """The generator squashes its output into [lo, hi] (``lo + (hi - lo) * sigmoid``): a data
    set that records no valid range (lo -inf, hi inf: a teacher saved before its data set
    recorded one, as sequence sets did before 0817738) has none to squash into (every output
    was NaN), so it is refused in one line naming the per-input path, which needs no bounds."""
    if not (torch.isfinite(lo).all() and torch.isfinite(hi).all()):
        raise UserError("method amortized (a generator) needs the valid range of every input "
                        "value, and the teacher's data set records none (a teacher saved "
                        "before its data set recorded one): invert it with method deepinversion "
                        "(--method deepinversion), which needs no bounds")


def build_generator(teacher: nn.Module, config: AmortizedConfig, pixel_range) -> Generator:
    return Generator(teacher.input_shape, teacher.num_classes, config.latent_dim, config.width,
                     pixel_range, config.depth, config.sequence_generator, config.lengths)


def _draw(n, num_classes, latent_dim, rng, device, labels=None):
    """(z, labels): Gaussian latents and (given or uniformly drawn) target classes."""
    z = torch.randn((n, latent_dim), generator=rng).to(device)
    if labels is None:
        labels = torch.randint(0, num_classes, (n,), generator=rng)
    return z, labels.to(device)


def train_generator(teacher: nn.Module, config: AmortizedConfig | None = None, *,
                    pixel_range: tuple[torch.Tensor, torch.Tensor],
                    student: nn.Module | None = None, seed: int = 0,
                    progress: bool = False,
                    parallel: DataParallel | None = None) -> tuple[Generator, dict]:
    """Train a generator for ``teacher`` (module docstring).  Returns (generator in eval-ready
    state on the CPU, stats: steps, seconds, history of (step, loss, BN loss, clean fidelity)
    per check, loss/BN/fidelity at the first and the kept check).

    ``parallel`` (a ``synth.parallel.DataParallel``; every rank calls this with the same
    arguments) splits each batch of ``batch_size`` across the ranks: every rank draws the
    whole batch's latents, labels and jitter from the same seed and computes its part; the
    generator's BatchNorm and the Eq. 4 statistics are the whole batch's, each rank's loss is
    its share of the batch's loss and the gradients are summed, so every rank takes the
    single-process update (up to float rounding) and ends with the same generator.  The clean
    fidelity of a check is counted over all parts.  With ``config.sync_every`` = k >= 1 the
    ranks run local SGD instead: each trains its own copy on its part of every batch (its
    part's BatchNorm and Eq. 4 statistics, its own loss) and the copies and their Adam
    moments are averaged every k steps, at every check and at the end (one collective each,
    so a rank waits for the others k times less often); a check's loss is the ranks' mean.
    ``stats["parallel"]`` gives the mode, the collectives and the wall seconds spent in them
    (waiting for the slowest rank included)."""
    check_teacher(teacher)
    config = config or AmortizedConfig()
    device = pick_device(config.device)
    with _GLOBAL_RNG:   # threads of one process (data-parallel ranks) seed it in turn
        torch.manual_seed(int(seed))          # the generator's initial weights
        gen_model = build_generator(teacher, config, pixel_range).to(device)
    with borrowed(teacher, device=device):
        rng = torch.Generator().manual_seed(int(seed))
        if student is not None:
            student.to(device)
        if parallel is not None:
            if parallel.size > config.max_ranks():
                need = "twice " if config.sync_every else ""
                raise UserError(f"batch_size ({config.batch_size}) must be at least {need}the "
                                f"number of data-parallel ranks ({parallel.size})")
            # the same start on every rank whatever each one's torch build draws
            parallel.broadcast_(list(gen_model.parameters()) + list(gen_model.buffers()))
        part = slice(None) if parallel is None else parallel.part(config.batch_size)
        local = parallel is not None and config.sync_every > 0   # local SGD
        exact = parallel if parallel is not None and not local else None   # whole-batch statistics
        opt = torch.optim.Adam(gen_model.parameters(), lr=config.lr, betas=tuple(config.betas))
        hooks = BNFeatureHooks(teacher) if exact is None else SyncedBNHooks(teacher, exact)
        history, best, best_state = [], (-1.0, -math.inf), None
        window, wsteps, last_window, step = None, 0, math.inf, 0
        bn_window = None
        start = time.perf_counter()
        bar = tqdm(total=config.steps, desc="generator", disable=not progress, leave=False)
        try:
            with _Frozen(teacher, student), synced_batchnorm(gen_model, exact):
                for step in range(config.steps):
                    for g in opt.param_groups:
                        g["lr"] = config.lr * lr_factor(step, config.steps, config.warmup_steps,
                                                        config.schedule)
                    z, y = _draw(config.batch_size, teacher.num_classes,
                                 config.latent_dim, rng, device)
                    x = _augment(gen_model(z[part], y[part]), config.jitter, config.flip, rng)
                    loss, per_image, _, bn = _objective(teacher, student, hooks, x, y[part], config)
                    if exact is not None:   # this rank's share of the batch's loss
                        loss = per_image.sum() / config.batch_size + config.bn_weight * bn / exact.size
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    if exact is not None:
                        exact.sum_grads(gen_model.parameters())
                    opt.step()
                    check = not (step + 1) % config.check_every or step + 1 == config.steps
                    if local and (check or not (step + 1) % config.sync_every):
                        parallel.average_(local_sgd_state(gen_model, opt))
                    with torch.no_grad():
                        window = loss.detach() if window is None else window + loss.detach()
                        bn_window = bn.detach() if bn_window is None else bn_window + bn.detach()
                    wsteps += 1
                    bar.update(1)
                    if not check:
                        continue
                    if exact is not None:   # the batch's loss: the shares summed
                        window = exact.sum_(window.reshape(1))[0]
                    elif local:   # the ranks' mean loss and BN term
                        sums = parallel.sum_(torch.stack([window, bn_window]).to(torch.float64))
                        window, bn_window = sums / parallel.size
                    value, bn_value = float(window) / wsteps, float(bn_window) / wsteps
                    window, bn_window, wsteps = None, None, 0
                    fidelity = _clean_fidelity(gen_model, teacher, config, rng, device, parallel)
                    if local:   # the check's batch statistics entered each rank's running averages
                        parallel.average_(gen_model.buffers())
                    history.append({"step": step + 1, "loss": value, "bn_loss": bn_value,
                                    "fidelity": fidelity})
                    if (fidelity, -value) > best:
                        best, best_state = (fidelity, -value), copy.deepcopy(gen_model.state_dict())
                    converged = (last_window - value) < config.stop_tolerance * abs(last_window)
                    last_window = value
                    bar.set_postfix(loss=f"{value:.3f}", fidelity=f"{fidelity:.3f}")
                    if (config.early_stop and step + 1 >= config.min_steps
                            and fidelity >= config.stop_fidelity and converged):
                        break
        finally:
            hooks.remove()
            bar.close()
        gen_model.load_state_dict(best_state)
        kept = max(history, key=lambda h: (h["fidelity"], -h["loss"]))
        stats = {"steps": step + 1, "seconds": round(time.perf_counter() - start, 3),
                 "history": history, "loss_first": history[0]["loss"], "loss_kept": kept["loss"],
                 "bn_loss_first": history[0]["bn_loss"], "bn_loss_kept": kept["bn_loss"],
                 "fidelity_first": history[0]["fidelity"], "fidelity_kept": kept["fidelity"],
                 "kept_step": kept["step"], "device": str(device)}
        if parallel is not None:
            stats["parallel"] = {"mode": "local" if local else "exact", "ranks": parallel.size,
                                 "sync_every": config.sync_every if local else 1,
                                 "collectives": parallel.calls,
                                 "collective_seconds": round(parallel.seconds, 3)}
        return gen_model.cpu().eval(), stats


class MomentumBNHooks(BNFeatureHooks):
    """Eq. 4 against a blend of this batch's statistics and the exponential average of the
    batches before it (Fast DFKD's BN momentum ``m``): ||mu_run - ((1 - m) mu + m mu_past)||
    + ||var_run - ((1 - m) var + m var_past)||.  ``update()`` folds the statistics of the
    last forward pass into the average (call it once per finished batch); with m = 0, or
    before the first update, this is ``BNFeatureHooks``."""

    def __init__(self, model: nn.Module, momentum: float):
        super().__init__(model)
        self.momentum = float(momentum)
        self.index = {id(m): i for i, m in enumerate(self.layers)}
        self.past: list = [None] * len(self.layers)
        self.last: list = [None] * len(self.layers)

    def _hook(self, module, inputs, output):
        if not self.active:
            return
        x, i, m = inputs[0], self.index[id(module)], self.momentum
        mean, var = batch_statistics(x)
        self.last[i] = (mean.detach(), var.detach())
        if self.past[i] is not None and m:
            mean = (1 - m) * mean + m * self.past[i][0]
            var = (1 - m) * var + m * self.past[i][1]
        self.gaps.append(bn_statistics_gap(x, module.running_mean, module.running_var,
                                           statistics=(mean, var)))

    def update(self) -> None:
        m = self.momentum
        for i, last in enumerate(self.last):
            if last is not None:
                self.past[i] = last if self.past[i] is None else tuple(
                    m * p + (1 - m) * c for p, c in zip(self.past[i], last))


def _adapt_batch(meta_gen: Generator, meta_opt, teacher, student, hooks, labels, config,
                 rng, device) -> tuple[torch.Tensor, float, dict]:
    """One Fast DFKD batch: a copy of ``meta_gen`` and fresh latents z adapted for
    ``config.adapt_steps`` Adam steps on the DeepInversion objective; the first-order MAML
    meta-gradient (the copy's gradients summed over those steps) then updates ``meta_gen``.
    With ``config.early_stop`` and ``adapt_max_steps``, a batch whose clean output the teacher
    assigns to its targets for fewer than ``n - allowed_misses(n)`` inputs is adapted on
    (checked every ``adapt_check_every`` steps) up to ``adapt_max_steps``.
    Returns (the batch ``config.adapt_select`` keeps: the adapted copy's output after the last
    step, or the inputs of the step with the lowest objective; the lowest objective; info:
    ``steps`` taken, ``hits`` of the final clean output, ``needed`` hits)."""
    n = len(labels)
    y = labels.repeat(2) if n == 1 else labels    # BatchNorm needs two: keep the first
    fast = copy.deepcopy(meta_gen)
    z = torch.randn((len(y), config.latent_dim), generator=rng).to(device).requires_grad_(True)
    opt = torch.optim.Adam([{"params": list(fast.parameters())},
                            {"params": [z], "lr": config.latent_lr}],
                           lr=config.adapt_lr, betas=tuple(config.betas))
    meta_opt.zero_grad(set_to_none=True)
    extend = bool(config.early_stop and config.adapt_max_steps)   # the stopping rule applies
    cap = max(config.adapt_max_steps, config.adapt_steps) if extend else config.adapt_steps
    need = n - allowed_misses(n, config)          # hits that let the batch stop
    best, best_x, hits, step = math.inf, None, None, 0

    def clean():   # the adapted copy's un-augmented output and the teacher's hits on it,
        # missed inputs re-drawn (fresh z for them alone, the rest of the batch as it is)
        with torch.no_grad():
            out = fast(z, y)[:n]
            hit = teacher(out).argmax(1) == labels
            for _ in range(config.adapt_redraws if extend else 0):
                if int(hit.sum()) >= need:
                    break
                miss = ~hit
                fresh = torch.randn((len(y), config.latent_dim), generator=rng).to(device)
                z_try = z.detach().clone()
                z_try[:n][miss] = fresh[:n][miss]
                if n == 1:
                    z_try[1:] = z_try[:1]
                cand = fast(z_try, y)[:n]
                good = miss & (teacher(cand).argmax(1) == labels)
                out[good] = cand[good]
                z[:n][good] = z_try[:n][good]
                hit = hit | good
            return out, int(hit.sum())

    while step < cap:
        if extend and step >= config.adapt_steps and \
                (step - config.adapt_steps) % config.adapt_check_every == 0:
            last_x, hits = clean()
            if hits >= need:
                break
        x = fast(z, y)
        loss, _, _, _ = _objective(teacher, student, hooks, _augment(x, config.jitter,
                                                                    config.flip, rng), y, config)
        value = float(loss.detach())
        if value < best:
            best, best_x = value, x.detach()[:n]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if step < config.adapt_steps:   # the meta-gradient: the first adapt_steps only
            for p, q in zip(meta_gen.parameters(), fast.parameters()):
                if q.grad is not None:
                    p.grad = q.grad.clone() if p.grad is None else p.grad + q.grad
        opt.step()
        step += 1
        hits = None
    meta_opt.step()
    hooks.update()
    if hits is None:
        last_x, hits = clean()
    if config.adapt_select == "last":   # the adapted generator's own output
        best_x = last_x
    return best_x, best, {"steps": step, "hits": hits, "needed": need}


@torch.no_grad()
def _clean_fidelity(gen_model, teacher, config, rng, device, parallel=None) -> float:
    """Fraction of a fresh, un-augmented generated batch that the teacher assigns to its targets
    (the generator's BatchNorm in batch-statistics mode, as it was trained); with ``parallel``
    each rank generates its part and the hits are summed."""
    z, y = _draw(config.batch_size, teacher.num_classes, config.latent_dim, rng, device)
    if parallel is None:
        return hit_fraction(teacher(gen_model(z, y)).argmax(1) == y)
    part = parallel.part(config.batch_size)
    hits = (teacher(gen_model(z[part], y[part])).argmax(1) == y[part]).sum().reshape(1)
    return int(parallel.sum_(hits.to(torch.float64))[0]) / config.batch_size


@torch.no_grad()
def sample(generator: Generator, teacher: nn.Module, labels: torch.Tensor,
           config: AmortizedConfig | None = None, *, student: nn.Module | None = None,
           seed: int = 0, warn: bool = True) -> InversionResult:
    """One generated input per entry of ``labels``, with the teacher's confidence and the
    per-input loss (CE + priors [+ competition], as ``synthesize`` reports them).

    The generator runs with batch statistics (train-mode BatchNorm, as it was trained) on
    batches of ``config.batch_size`` (``refine_batch`` when refining, ``adapt_batch`` when
    adapting): its running averages are not used.  With ``config.adapt_steps`` each batch is
    made by Fast DFKD's adaptation from a meta-learned copy of ``generator`` (``generator``
    itself is left as it is; ``student``, when given, is trained alongside if
    ``config.kd_steps``); with ``config.refine_iterations`` each batch is then refined (see
    ``AmortizedConfig``); ``stats["iterations"]`` lists the refinement (or adaptation) steps
    per batch.  ``warn=False``: a fidelity below ``min_fidelity`` is not logged (the caller
    falls back per pixel: ``synth.synthesis.method_fallback``), ``stats["warning"]`` still
    holds it."""
    check_teacher(teacher)
    config = config or AmortizedConfig()
    labels = target_labels(labels, teacher.num_classes)
    device = pick_device(config.device)
    with borrowed(generator, teacher, device=device):
        if student is not None:
            student.to(device)
        rng = torch.Generator().manual_seed(int(seed))
        start = time.perf_counter()
        adapt = config.adapt_steps > 0
        if adapt:   # the meta-learned generator: a copy, updated batch after batch
            generator = copy.deepcopy(generator)
            meta_opt = torch.optim.Adam(generator.parameters(),
                                        lr=config.adapt_lr * config.adapt_steps,
                                        betas=tuple(config.betas))
        was_training = generator.training
        generator.train()
        saved = [(m, m.momentum) for m in generator.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
        for m, _ in saved:   # batch statistics without touching the running averages
            m.momentum = 0.0
        images, confs, losses, bns, iters = [], [], [], [], []
        batch_fid, extended, short = [], 0, 0   # adaptation: per-batch clean fidelity, counts
        refine = config.refine_config() if config.refine_iterations else None
        chunk = config.adapt_batch if adapt else config.refine_batch if refine else config.batch_size
        kd = None
        if adapt and student is not None and config.kd_steps:
            from synth.distill import DistillConfig, PoolKD
            kd = PoolKD(student, teacher, DistillConfig(seed=int(seed), device=config.device,
                                                        progress=False),
                        total_steps=math.ceil(len(labels) / chunk) * config.kd_steps)
        hooks = MomentumBNHooks(teacher, config.bn_momentum) if adapt else BNFeatureHooks(teacher)
        try:
            for k, b in enumerate(range(0, len(labels), chunk)):
                y = labels[b:b + chunk].to(device)
                rival = student if (not adapt or k >= config.adi_after) else None
                with _Frozen(teacher, student):
                    if adapt:
                        with torch.enable_grad():
                            x, _, info = _adapt_batch(generator, meta_opt, teacher, rival, hooks,
                                                      y, config, rng, device)
                        iters.append(info["steps"])
                        batch_fid.append(info["hits"] / len(y))
                        extended += info["steps"] > config.adapt_steps
                        short += info["hits"] < info["needed"]
                    else:
                        yy = y.repeat(2) if len(y) == 1 else y   # BatchNorm needs two: keep the first
                        z, _ = _draw(len(yy), teacher.num_classes, config.latent_dim, rng, device, yy)
                        x = generator(z, yy)[:len(y)]
                    if refine is not None:
                        if config.refine_noise:   # normalized units, clipped to the valid range
                            x = x + config.refine_noise * torch.randn(x.shape, generator=rng).to(device)
                            x = torch.max(torch.min(x, generator.lo + generator.span), generator.lo)
                        with torch.enable_grad():
                            x, st = _invert_batch(teacher, rival, hooks, x, y, refine,
                                                  generator.lo, generator.lo + generator.span, rng)
                        if not adapt:
                            iters.append(st["iterations"])
                    _, per_image, logits, bn = _objective(teacher, rival, hooks, x, y, config)
                conf = F.softmax(logits, 1).gather(1, y[:, None])[:, 0]
                images.append(x.cpu()), confs.append(conf.cpu()), losses.append(per_image.cpu())
                bns.append(float(bn))
                if kd is not None:   # the student learns from the memory bank of all batches
                    kd.add(x.cpu())
                    with torch.enable_grad():
                        kd.steps(config.kd_steps)
        finally:
            hooks.remove()
            for m, momentum in saved:
                m.momentum = momentum
            generator.train(was_training)
        seconds = time.perf_counter() - start
        images, conf = torch.cat(images), torch.cat(confs)
        with _Frozen(teacher):
            pred = torch.cat([teacher(images[i:i + 1024].to(device)).argmax(1).cpu()
                              for i in range(0, len(images), 1024)])
        fidelity = hit_fraction(pred == labels)
        stats = {"method": "amortized", "batches": len(bns), "iterations": iters, "bn_loss_final": sum(bns) / len(bns),
                 "loss_final": float(torch.cat(losses).mean()), "fidelity": fidelity,
                 "missed": int((pred != labels).sum()),
                 "class_counts": class_counts(pred, labels, teacher.num_classes),
                 "sample_seconds": round(seconds, 4),
                 "marginal_images_per_second": len(labels) / max(seconds, 1e-9),
                 "seconds": round(seconds, 4), "images_per_second": len(labels) / max(seconds, 1e-9),
                 "device": str(device)}
        if kd is not None:
            stats["kd_steps"] = kd.step
        if adapt:   # the per-batch stopping rule: batches adapted past adapt_steps, and those
            # still short of their target at adapt_max_steps
            stats.update(batch_fidelity=[round(f, 4) for f in batch_fid], extended_batches=extended,
                         short_batches=short)
        warning = fidelity_warning(fidelity, config.min_fidelity, classes=class_fidelity(
            stats["class_counts"], teacher_class_names(teacher)))
        if warning:
            stats["warning"] = warning
            if warn:
                log.warning(warning)
        return InversionResult(images, labels.clone(), conf, torch.cat(losses), stats)


def synthesize_amortized(teacher: nn.Module, labels: torch.Tensor,
                         config: AmortizedConfig | None = None, *,
                         pixel_range: tuple[torch.Tensor, torch.Tensor],
                         student: nn.Module | None = None, seed: int = 0,
                         progress: bool = False, warn: bool = True) -> InversionResult:
    """Train a generator, then sample one input per entry of ``labels`` (``warn`` as
    ``sample``'s).  ``stats`` counts
    both: ``seconds`` and ``images_per_second`` include the training, ``sample_seconds`` and
    ``marginal_images_per_second`` are the sampling alone (the rate of every further input)."""
    generator, train = train_generator(teacher, config, pixel_range=pixel_range, student=student,
                                       seed=seed, progress=progress)
    result = sample(generator, teacher, labels, config, student=student, seed=seed + 1,
                    warn=warn)
    s = result.stats
    total = train["seconds"] + s["sample_seconds"]
    s.update(generator=train, train_seconds=train["seconds"], seconds=round(total, 3),
             images_per_second=len(labels) / max(total, 1e-9), iterations=[train["steps"]],
             mean_iterations=train["steps"], bn_loss_initial=train["bn_loss_first"])
    report = config.iteration_report() if config is not None else None
    if report is not None:
        s["iteration_cap"] = report
        note = iteration_note(report)
        if note:
            log.info("%s", note)
    return result


def iteration_note(report: dict | None) -> str | None:
    """One line naming the generator phases set above the iteration cap (kept as set, so the
    cap does not bound them), or None (``AmortizedConfig.iteration_report``)."""
    if not report or not report["above_cap"]:
        return None
    above = ", ".join(f"{k} {report['bounds'][k]}" for k in report["above_cap"])
    return (f"the iteration cap {report['iterations']} does not bound the generator's {above}: "
            f"set explicitly in its amortized settings, they are kept")
