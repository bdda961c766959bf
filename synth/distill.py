"""Data-free knowledge distillation (Hinton et al. 2015; DeepInversion arXiv 1912.08795, Sec. 3-4).

* ``kd_loss``: T^2 * KL(softmax(t/T) || softmax(s/T)), optionally mixed with cross-entropy on
  the teacher's (or given) labels.
* ``live_kd_fn``: a ``loss_fn(model, x, y)`` for ``fit``/``grow_and_prune`` that distils from a
  live teacher on the same, optionally randomly shifted, inputs ("consistent teaching", Beyer
  et al. 2022, arXiv 2106.05237: teacher and student see the same augmented image).
* ``distill``: KD of a student on a fixed set of (synthesized) inputs, reusing
  ``synth.train.fit`` with a KD ``loss_fn``; the teacher's logits are computed once, or on the
  fly for inputs that ``kd_augment`` changes (jitter, shifts, mixup, cutmix, noise; cutmix
  on half of each batch by default, benchmarks/results/inversion_any_kd.md).
* ``adi_distill``: the Adaptive DeepInversion protocol: rounds that synthesize a new batch with
  the *current* student in the competition term (Eq. 8), then take KD steps on the growing
  pool (ANCHORS: one new ADI batch every 50 KD steps).  With ``adi_weight=0`` the same schedule
  is plain DeepInversion, so the two compare at an equal image budget.

Real data (``data``) is used only to *report* validation/test accuracy; ``keep_best`` is off by
default so that no real-data model selection leaks into a data-free student.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import time
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from synth import resume
from synth.config import Config, check_range
from synth.data import Dataset
from synth.device import borrowed, pick_device
from synth.errors import UserError
from synth.inversion import (MAX_IMAGES_IN_MEMORY, MAX_LOSS_WEIGHT, InversionConfig,
                             balanced_labels, synthesize, teacher_shape)
from synth.models import logits_of
from synth.modes import in_mode
from synth.train import (TrainConfig, check_takes, epochs_for_steps, evaluate, fit, lr_factor,
                         make_optimizer)

log = logging.getLogger(__name__)

MAX_STEPS = 1_000_000   # SGD steps of one count: min_steps, KD steps per round, final KD steps
MAX_SHIFT = 64          # px an input may be shifted by (KD on shifted inputs)
MAX_VALIDATIONS = 100   # evaluations of the validation split in one distill()


@dataclasses.dataclass(frozen=True)
class DistillConfig(Config):
    epochs: int = 30                  # distill(): passes over the synthesized set
    min_steps: int = 1920             # at least this many SGD steps in all: distill() takes
                                      # more epochs, adi_distill() more final steps.  A floor,
                                      # so it binds only on small sets (below ~8k inputs at 30
                                      # epochs of 128) and costs a bounded time there.  0 ->
                                      # 500 steps: students of 256 synthesized mnist5k images
                                      # 87.2 -> 94.1% (amortized.md); 1920 = 4x the 480 steps
                                      # of 64 that 500-input students took, with cutmix below
                                      # (benchmarks/results/inversion_any_kd.md)
    batch_size: int = 128
    lr: float = 0.05
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 5e-4
    temperature: float = 3.0          # ANCHORS: T = 3 (paper), 20 in follow-ups
    alpha: float = 0.0                # weight of cross-entropy on the teacher's labels
    keep_best: bool = False           # True selects the epoch by *real* validation accuracy
    jitter: int = 0                   # random roll of each batch by up to +-jitter px (images;
                                      # steps along time for sequences); the teacher then
                                      # labels the shifted batch on the fly
    # KD augmentation, each relabelled by the teacher on the fly (``kd_augment``):
    shift: float = 0.0                # px, per-image sub-pixel translation (images)
    mixup: float = 0.0                # fraction of each batch replaced by mixtures of 2 inputs
    cutmix: float = 0.5               # fraction replaced by a box pasted from another image
                                      # (0.5 with the 1920 steps: 500-input digits students
                                      # +5.7 to +10.4 pt, real-input ones +0.5 to +1.9,
                                      # benchmarks/results/inversion_any_kd.md), or a segment
                                      # of time from another sequence (with the roll: 500-input
                                      # convnet1d students +0.5 to +1.6 pt, a BN MLP's about
                                      # +11, scp1's -0.2; inversion_any_hard.md)
    noise: float = 0.0                # std of Gaussian noise added, normalized units
    # adi_distill(): rounds of synthesis + KD steps on the growing pool
    rounds: int = 8
    images_per_round: int = 256
    kd_steps_per_round: int = 50
    final_kd_steps: int = 400         # KD steps on the full pool after the last round (more
                                      # where the rounds' and these fall short of min_steps)
    adi_weight: float = 1.0           # 0 -> plain DeepInversion on the same schedule
    seed: int = 0
    device: str = "auto"
    progress: bool = True

    def validate(self) -> None:
        self.train_config()  # epochs, batch_size, lr, optimizer, momentum, weight_decay, seed
        check_range("min_steps", self.min_steps, 0, MAX_STEPS, integer=True)
        check_range("temperature", self.temperature, 0, 1000, low_open=True)
        check_range("alpha", self.alpha, 0, 1)
        check_range("jitter", self.jitter, 0, 64, integer=True)
        check_range("shift", self.shift, 0, MAX_SHIFT)
        check_range("mixup", self.mixup, 0, 1)
        check_range("cutmix", self.cutmix, 0, 1)
        check_range("noise", self.noise, 0, 100)
        check_range("rounds", self.rounds, 1, 100000, integer=True)
        check_range("images_per_round", self.images_per_round, 1, MAX_IMAGES_IN_MEMORY,
                    integer=True)
        check_range("kd_steps_per_round", self.kd_steps_per_round, 0, MAX_STEPS, integer=True)
        check_range("final_kd_steps", self.final_kd_steps, 0, MAX_STEPS, integer=True)
        check_range("adi_weight", self.adi_weight, 0, MAX_LOSS_WEIGHT)

    def train_config(self) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                           optimizer=self.optimizer, momentum=self.momentum,
                           weight_decay=self.weight_decay, seed=self.seed, device=self.device,
                           keep_best=self.keep_best, progress=self.progress)


def kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 3.0,
            labels: torch.Tensor | None = None, alpha: float = 0.0) -> torch.Tensor:
    """(1 - alpha) * T^2 * KL(p_t || p_s) + alpha * CE(student, labels) (batch mean).

    ``labels`` default to the teacher's argmax when ``alpha > 0``."""
    t = float(temperature)
    kl = F.kl_div(F.log_softmax(student_logits / t, 1), F.log_softmax(teacher_logits / t, 1),
                  reduction="batchmean", log_target=True) * (t * t)
    if alpha <= 0:
        return kl
    if labels is None:
        labels = teacher_logits.argmax(1)
    return (1 - alpha) * kl + alpha * F.cross_entropy(student_logits, labels)


def random_shift(x: torch.Tensor, pixels: float, generator: torch.Generator | None = None
                 ) -> torch.Tensor:
    """Each image of ``x`` (N, C, H, W) translated by its own random offset of up to ``pixels``
    in x and y (bilinear; the border value fills what moves in)."""
    n = len(x)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    scale = torch.tensor([2.0 * pixels / x.shape[-1], 2.0 * pixels / x.shape[-2]])  # [-1, 1] units
    theta[:, :, 2] = (torch.rand(n, 2, generator=generator) * 2 - 1) * scale
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


def live_kd_fn(teacher: nn.Module, temperature: float = 4.0, alpha: float = 0.5,
               shift: float = 0.0, seed: int = 0):
    """``loss_fn(model, x, y)``: ``kd_loss`` against ``teacher`` (kept in eval mode) evaluated on
    the same inputs, each shifted by up to ``shift`` pixels first (``random_shift``), with
    weight ``alpha`` on cross-entropy with the true labels ``y``.  Its ``generator`` draws
    the shifts (``synth.grow_prune.grow_and_prune`` saves and restores it to resume)."""
    teacher.eval()
    gen = torch.Generator().manual_seed(seed)

    def loss_fn(model, xb, yb):
        if shift:
            xb = random_shift(xb, shift, gen)
        with torch.no_grad():
            t = logits_of(teacher(xb), teacher, "the teacher")
        return kd_loss(logits_of(model(xb), model, "the student"), t, temperature, labels=yb,
                       alpha=alpha)
    loss_fn.generator = gen    # the shifts' generator, saved with a resumable loop's state
    return loss_fn


@torch.no_grad()
def teacher_logits(teacher: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    """The teacher's logits for ``x`` in eval mode (on the teacher's device), on the CPU."""
    device = next(teacher.parameters()).device
    with in_mode(teacher, False):
        out = torch.cat([logits_of(teacher(x[i:i + batch_size].to(device)), teacher,
                                   "the teacher").cpu()
                         for i in range(0, len(x), batch_size)])
    return out


def kd_augment(xb: torch.Tensor, config: DistillConfig, generator: torch.Generator
               ) -> torch.Tensor | None:
    """The batch ``xb`` as ``config``'s KD augmentation changes it (None: unchanged), for the
    teacher to label on the fly.  In order: a roll of the whole batch by up to ``jitter`` px and
    a per-image translation by up to ``shift`` px (images; sequences (N, C, L): the roll along
    time, in steps); then a random ``mixup`` fraction of the inputs replaced by
    ``l x_i + (1 - l) x_j`` with a random partner j and l ~ U(0, 1), and a ``cutmix`` fraction
    by x_i with a random box of x_j pasted in (images; box area ~ U(0, 1); sequences: a
    segment of time, all channels, its length ~ U(0, 1) of the steps); then Gaussian noise of
    std ``noise``.  With a few hundred inputs the student otherwise sees
    only the inputs themselves; the teacher's labels on their mixtures cover the space between."""
    out, image = xb, xb.dim() == 4
    axes = tuple(range(2, xb.dim())) if xb.dim() in (3, 4) else ()   # (H, W) or time (L)
    if config.jitter and axes:   # one roll of the whole batch, per axis
        shifts = torch.randint(-config.jitter, config.jitter + 1, (len(axes),), generator=generator)
        out = torch.roll(out, shifts=tuple(int(v) for v in shifts), dims=axes)
    if config.shift and image:
        out = random_shift(out, config.shift, generator)
    n = len(out)
    if config.mixup and n > 1:
        pick = torch.rand(n, generator=generator) < config.mixup
        partner = torch.randperm(n, generator=generator)
        lam = torch.rand(n, generator=generator).to(out.device)
        lam = torch.where(pick.to(out.device), lam, torch.ones_like(lam))
        lam = lam.view((n,) + (1,) * (out.dim() - 1))
        out = lam * out + (1 - lam) * out[partner.to(out.device)]
    if config.cutmix and axes and n > 1:   # a box (a segment of time) of x_j pasted into x_i,
        # its area ~ U(0, 1) of the input's, each side the same fraction of its axis
        sizes = out.shape[2:]
        pick = torch.nonzero(torch.rand(n, generator=generator) < config.cutmix).flatten()
        partner = torch.randperm(n, generator=generator)
        area = torch.rand(n, generator=generator)
        corner = torch.rand(n, len(axes), generator=generator)
        src, out = out, out.clone()
        for i in pick.tolist():
            box = [slice(None)]   # every channel
            for a, size in enumerate(sizes):
                side = max(1, round(size * float(area[i]) ** (1 / len(axes))))
                start = int(corner[i, a] * (size - side + 1))
                box.append(slice(start, start + side))
            out[i][tuple(box)] = src[int(partner[i])][tuple(box)]
    if config.noise:
        out = out + config.noise * torch.randn(out.shape, generator=generator).to(out.device)
    return None if out is xb else out


def _kd_fn(config: DistillConfig, teacher: nn.Module):
    gen = torch.Generator().manual_seed(config.seed)

    def loss_fn(model, xb, tb):  # tb: the teacher's logits for xb (precomputed once)
        augmented = kd_augment(xb, config, gen)
        if augmented is not None:
            xb = augmented
            with torch.no_grad():
                tb = logits_of(teacher(xb), teacher, "the teacher")
        return kd_loss(logits_of(model(xb), model, "the student"), tb, config.temperature,
                       alpha=config.alpha)
    loss_fn.generator = gen    # its draws (CutMix, noise, jitter) resume with fit's state
    return loss_fn


def distill_train_config(config: DistillConfig, num_inputs: int) -> TrainConfig:
    """``config``'s training settings for a set of ``num_inputs``: ``config.epochs`` passes,
    or more when that is fewer than ``config.min_steps`` SGD steps of ``config.batch_size``."""
    epochs = epochs_for_steps(config.epochs, config.min_steps, num_inputs, config.batch_size,
                              remedy="lower min_steps or synthesize more inputs")
    # the validation split is evaluated at most MAX_VALIDATIONS times: a set of 64 inputs
    # takes one SGD step per epoch, so the 1,920-step floor made 1,920 evaluations of the
    # real validation split (3x the cost of the training itself, LeNet-5 on mnist5k); with
    # keep_best the best epoch is then chosen among those validated
    return config.train_config().replace(
        epochs=epochs, validate_every=max(1, math.ceil(epochs / MAX_VALIDATIONS)))


def adi_final_steps(config: DistillConfig) -> int:
    """KD steps ``adi_distill`` takes after its last round: ``config.final_kd_steps``, or more
    where the rounds' steps and those fall short of ``config.min_steps``."""
    return max(config.final_kd_steps,
               config.min_steps - config.rounds * config.kd_steps_per_round)


def distill(student: nn.Module, teacher: nn.Module, train_x: torch.Tensor, data: Dataset,
            config: DistillConfig | None = None, *, fit_fn: Callable = fit,
            state_path=None, state_key: str = "") -> dict:
    """KD of ``student`` on inputs ``train_x`` (normalized like ``data``); validation and test
    accuracy are measured on ``data``'s real splits.  Returns ``fit``'s metrics plus the
    teacher's test accuracy and agreement.  ``fit_fn`` runs the training (``fit``'s
    signature; ``cluster.train.ray_fit()`` trains on Ray Train workers); ``state_path`` and
    ``state_key`` make it resumable (``fit``'s; the key must name the teacher and inputs)."""
    config = config or DistillConfig()
    train_config = distill_train_config(config, len(train_x))
    resumable = {}
    if state_path is not None:
        # the KD loss's settings (temperature, alpha, the augmentation) are not fit's
        # TrainConfig: a run interrupted at --temperature 3 and rerun with --temperature 20
        # (or --cutmix 0, --noise 0.3) continued the other loss's state without a word, and
        # the checkpoint recorded the new settings
        kd = {k: v for k, v in config.to_dict().items() if k not in ("progress", "device")}
        state_key = resume.settings_key(state_key, kd)
        resumable = {"state_path": state_path, "state_key": state_key}
        if fit_fn is not fit:
            resume_note(student, train_config, len(train_x), state_key, state_path)
    with borrowed(teacher, device=pick_device(config.device)):
        check_takes(teacher, train_x, data.num_classes, "the teacher", f"data set {data.name}")
        targets = teacher_logits(teacher.eval(), train_x)
        width = check_takes(student, train_x, data.num_classes, "the student",
                            f"data set {data.name}")
        if width is not None and targets.dim() == 2 and width != targets.shape[1]:
            raise UserError(f"the student ({type(student).__name__}) gives {width} logits per "
                            f"input, the teacher ({type(teacher).__name__}) "
                            f"{targets.shape[1]}: KD matches them class by class")
        metrics = fit_fn(student, data, train_config, loss_fn=_kd_fn(config, teacher),
                         train_xy=(train_x, targets), desc="distill", **resumable)
        metrics["teacher_test_accuracy"] = evaluate(teacher, data.x_test, data.y_test)["accuracy"]
    metrics["train_images"] = len(train_x)
    return metrics


def resume_note(student: nn.Module, train_config: TrainConfig, n: int, state_key: str,
                state_path) -> None:
    """Say here what ``fit`` will do with the state at ``state_path``, for a ``fit_fn`` that
    runs it elsewhere: ``cluster.train.ray_fit``'s workers log to their own files (Ray's
    log_to_driver is off), so ``nnsynth distill --synth`` resumed an interrupted run without
    a word, and refused a file that is not a state only after Ray Train had started.  The
    key is ``fit``'s own (``synth.train._state_key``) for the student as built here."""
    from synth.train import STATE_FORMAT, _check_saved, _state_key
    saved = resume.load_state(state_path, STATE_FORMAT,
                              _state_key(student, train_config, n, state_key), "training")
    if saved is not None:   # as fit checks it: its epoch was added to before (a TypeError)
        _check_saved(saved, train_config, state_path)
    if saved is not None and saved["epoch"] + 1 >= train_config.epochs:
        log.warning("the distillation finished its %d epochs before the interruption: its "
                    "student is taken from %s", train_config.epochs, state_path)
    elif saved is not None:
        log.warning("resuming the distillation from epoch %d of %d (%s)", saved["epoch"] + 2,
                    train_config.epochs, state_path)


class PoolKD:
    """KD of ``student`` from ``teacher`` on a growing pool of images: the distillation half
    of the ADI protocol.  ``add(images)`` puts a synthesized batch and the teacher's logits in
    the pool; ``steps(n)`` takes n SGD steps on random minibatches of the whole pool, the
    learning rate on a cosine over ``total_steps`` (from ``start_step``, for a resumed one).
    Used by ``adi_distill`` and by the pipeline's pair actors (one per teacher/student pair)."""

    def __init__(self, student: nn.Module, teacher: nn.Module, config: DistillConfig, *,
                 total_steps: int, start_step: int = 0):
        self.student, self.teacher, self.config = student, teacher, config
        self.device = pick_device(config.device)
        self.gen = torch.Generator().manual_seed(config.seed)
        teacher.to(self.device).eval()
        student.to(self.device)
        self.opt = make_optimizer([p for p in student.parameters() if p.requires_grad],
                                  config.train_config())
        self.loss_fn = _kd_fn(config, teacher)
        self.total, self.step = int(total_steps), int(start_step)
        self.pool_x: list[torch.Tensor] = []
        self.pool_t: list[torch.Tensor] = []

    def add(self, images: torch.Tensor) -> None:
        self.pool_x.append(images)
        self.pool_t.append(teacher_logits(self.teacher, images))

    def steps(self, count: int) -> None:
        if count <= 0 or not self.pool_x:
            return
        x_all, t_all = torch.cat(self.pool_x), torch.cat(self.pool_t)
        self.student.train()
        for _ in range(count):
            idx = torch.randint(len(x_all), (self.config.batch_size,), generator=self.gen)
            for g in self.opt.param_groups:
                g["lr"] = self.config.lr * lr_factor(self.step, self.total, 0, "cosine")
            loss = self.loss_fn(self.student, x_all[idx].to(self.device),
                                t_all[idx].to(self.device))
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            self.step += 1
        self.student.eval()


class _RoundWarnings(logging.Filter):
    """Drops ``synth.inversion``'s low-fidelity line of each ADI round (``rounds_warning``
    says it once for all of them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.WARNING
                    and str(record.msg).startswith("inversion reached fidelity"))


def rounds_warning(fidelities: list[float], min_fidelity: float,
                   iterations: int | None = None) -> str | None:
    """One line for ADI rounds whose synthesized inputs fell below ``min_fidelity`` (None where
    none did).  Each round's synthesis said it on its own: 8 rounds of a weak teacher printed
    the same warning 8 times, and the result (``nnsynth distill --data-free --json``) carried
    none, where prune's and continual's carry their synthesis's."""
    low = [r for r, f in enumerate(fidelities) if f < min_fidelity]
    if not low:
        return None
    mean = sum(fidelities) / len(fidelities)
    worst = min(range(len(fidelities)), key=fidelities.__getitem__)
    cap = f" with up to {iterations} iterations per batch" if iterations else ""
    return (f"ADI synthesis: {len(low)} of {len(fidelities)} rounds reached fidelity below "
            f"{min_fidelity:g}{cap} (mean {mean:.3f}, lowest {fidelities[worst]:.3f} in round "
            f"{worst + 1}): the teacher assigns only {100 * mean:.1f}% of the synthesized inputs "
            f"to their target class, so the student learns from a poor stand-in for its data "
            f"(raise the iteration cap, --iterations, or check the teacher)")


def adi_distill(student: nn.Module, teacher: nn.Module,
                pixel_range: tuple[torch.Tensor, torch.Tensor], config: DistillConfig | None = None,
                inversion: InversionConfig | None = None, *, data: Dataset | None = None,
                return_pool: bool = False, name: str = "") -> dict:
    """The ADI protocol: ``rounds`` x (synthesize ``images_per_round`` images with the current
    student in the competition term, then ``kd_steps_per_round`` KD steps on the pool), then
    ``final_kd_steps`` on the whole pool, or as many more as make ``min_steps`` in all
    (``adi_final_steps``: the same KD budget as ``distill`` gives a set of that size).  ``data`` (optional) only reports accuracy;
    ``return_pool`` adds ``metrics["pool"] = (images, teacher labels)``; ``name`` (e.g.
    "--teacher t.pt") begins the errors about the teacher (``synth.inversion.synthesize``).

    Every round is per-pixel DeepInversion (``synth.inversion.synthesize``), whatever
    ``inversion.method`` says (an info line says so where it names a generator): each round's
    inputs are optimized against the student as the rounds before left it (Eq. 8).  A
    generator with a student alongside is ``synth.amortized``'s own mode (``kd_steps``,
    ``adi_weight``), not this protocol."""
    config = config or DistillConfig()
    teacher_shape(teacher)   # a user's module is named with as_teacher (h324: an
    # AttributeError on teacher.num_classes after the first round's setup)
    inversion = (inversion or InversionConfig()).replace(adi_weight=config.adi_weight)
    if inversion.method != "deepinversion":   # settings_for's pick for the teacher: not silently
        log.info("the inversion settings name method %r for this teacher, but ADI synthesizes "
                 "per pixel (each round's inputs are optimized against the current "
                 "student)", inversion.method)
    with borrowed(teacher, device=pick_device(config.device)):   # the caller's, left where it was
        torch.manual_seed(config.seed)
        final_steps = adi_final_steps(config)
        kd = PoolKD(student, teacher, config,
                    total_steps=config.rounds * config.kd_steps_per_round + final_steps)
        fidelities, iterations = [], []
        start, synth_seconds = time.perf_counter(), 0.0
        quiet = _RoundWarnings()   # each round's low-fidelity line, summed up in one below
        inversion_log = logging.getLogger(synthesize.__module__)
        inversion_log.addFilter(quiet)
        try:
            for r in tqdm(range(config.rounds), desc="adi", disable=not config.progress,
                          leave=False):
                labels = balanced_labels(config.images_per_round, teacher.num_classes,
                                         offset=r * config.images_per_round)
                result = synthesize(teacher, labels, inversion, pixel_range=pixel_range,
                                    student=student if config.adi_weight > 0 else None,
                                    seed=config.seed * 100_003 + r, name=name)
                synth_seconds += result.stats["seconds"]
                fidelities.append(result.fidelity)
                iterations.append(result.stats["mean_iterations"])
                kd.add(result.images)
                kd.steps(config.kd_steps_per_round)
        finally:
            inversion_log.removeFilter(quiet)
        kd.steps(final_steps)
        student.eval()
        pool_x, pool_t = kd.pool_x, kd.pool_t
        metrics = {"images": sum(len(p) for p in pool_x), "rounds": config.rounds,
                   "synthesis_method": "deepinversion",
                   "kd_steps": kd.step, "adi_weight": config.adi_weight,
                   "fidelity": sum(fidelities) / len(fidelities),
                   "mean_iterations": sum(iterations) / len(iterations),
                   "synthesis_seconds": round(synth_seconds, 3),
                   "seconds": round(time.perf_counter() - start, 3)}
        warning = rounds_warning(fidelities, inversion.min_fidelity, inversion.iterations)
        if warning:
            metrics["warning"] = warning
            log.warning(warning)
        if data is not None:
            metrics["val_accuracy"] = evaluate(student, data.x_val, data.y_val)["accuracy"]
            metrics["test_accuracy"] = evaluate(student, data.x_test, data.y_test)["accuracy"]
            metrics["teacher_test_accuracy"] = evaluate(teacher, data.x_test, data.y_test)["accuracy"]
        if return_pool:
            metrics["pool"] = (torch.cat(pool_x), torch.cat(pool_t).argmax(1))
        return metrics
