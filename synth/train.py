"""Training and evaluation: seeded, CUDA when present, progress bar, best-on-validation.

``fit(model, data, config)`` trains in place and returns a metrics dict; a custom
``loss_fn(model, x, y) -> loss`` turns the same loop into distillation or masked
retraining, ``after_step(model)`` runs after every optimizer step and
``on_epoch_end(model, epoch)`` after every epoch (before its validation, which
``validate_each_epoch=False`` skips when only the final metrics matter, and
``validate_every=k`` runs after every k-th epoch and the last).

``parallel=Parallel(rank, world_size, wrap, device)`` makes the same loop one of several
data-parallel workers without synth knowing who runs them: every worker draws the same
seeded permutation, takes its ``rank::world_size`` share of each global batch (so a step
sees the same samples as single-process training with the same ``batch_size``), and
``wrap`` (e.g. DistributedDataParallel, supplied by ``cluster.train``) averages the
gradients.  Only rank 0 shows progress.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import math
import os
import time
from typing import Callable

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from synth import resume
from synth.choices import MAX_MIN_STEPS, OPTIMIZERS   # TrainConfig.min_steps' bound
from synth.config import Config, check_batch_size, check_choice, check_range, check_seed
from synth.errors import ConfigError, UserError
from synth.data import Dataset
from synth.device import module_device, pick_device
from synth.models.registry import batchnorm_layers, logits_of
from synth.modes import in_mode

log = logging.getLogger(__name__)

MAX_EPOCHS = 100_000   # passes over a set in one training (TrainConfig.epochs)


@dataclasses.dataclass(frozen=True)
class Parallel:
    """How ``fit`` runs as one of ``world_size`` data-parallel workers (see the module doc)."""
    rank: int = 0
    world_size: int = 1
    wrap: Callable[[torch.nn.Module], torch.nn.Module] | None = None  # after .to(device)
    device: str | torch.device | None = None                          # None: config.device


SCHEDULES = ("cosine", "constant")


@dataclasses.dataclass(frozen=True)
class TrainConfig(Config):
    epochs: int = 10
    batch_size: int = 32
    lr: float = 0.02               # SGD; Adam typically 1e-3
    optimizer: str = "sgd"         # sgd | adam
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"       # cosine | constant
    warmup_epochs: float = 0.0
    label_smoothing: float = 0.0
    seed: int = 0
    device: str = "auto"
    eval_batch_size: int = 1024
    keep_best: bool = True         # restore the weights of the best validation epoch
    validate_each_epoch: bool = True  # evaluate the validation split after every epoch
    validate_every: int = 1        # ... after every this many epochs (and the last one)
    progress: bool = True
    min_steps: int = 0             # at least this many optimizer steps: ``epochs`` raised
                                   # where its passes over a small training split make fewer

    def validate(self) -> None:
        check_range("epochs", self.epochs, 0, MAX_EPOCHS, integer=True)
        check_range("min_steps", self.min_steps, 0, MAX_MIN_STEPS, integer=True)
        check_batch_size("batch_size", self.batch_size)
        check_batch_size("eval_batch_size", self.eval_batch_size)
        check_range("lr", self.lr, 0, 10, low_open=True)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_range("momentum", self.momentum, 0, 1, high_open=True)
        check_range("weight_decay", self.weight_decay, 0, 1)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_range("warmup_epochs", self.warmup_epochs, 0, None)
        check_range("label_smoothing", self.label_smoothing, 0, 1, high_open=True)
        check_seed("seed", self.seed)
        check_range("validate_every", self.validate_every, 1, MAX_EPOCHS, integer=True)
        if self.keep_best and not self.validate_each_epoch:
            raise ConfigError("keep_best needs validate_each_epoch (the best epoch is chosen "
                              "on the validation split)")


def epochs_for_steps(epochs: int, min_steps: int, samples: int, batch_size: int,
                     remedy: str = "lower min_steps", name: str = "min_steps") -> int:
    """``epochs``, raised so that passes over ``samples`` training inputs in batches of
    ``batch_size`` (``fit``'s count: the last batch may be partial) make at least
    ``min_steps`` optimizer steps.  More than MAX_EPOCHS is a UserError naming min_steps
    and ``remedy`` (capped there, a run made fewer steps than asked without a word).  0 epochs
    (no training: grow-prune's ``retrain_epochs`` 0) stay 0.  ``name``: the floor's, as the
    caller's user gave it."""
    if epochs == 0:
        return 0
    per_epoch = max(1, math.ceil(samples / batch_size))
    raised = max(epochs, math.ceil(min_steps / per_epoch))
    if raised > MAX_EPOCHS:   # else TrainConfig's "epochs must be in ..." named no option given
        raise StepFloorError(name, min_steps, raised, samples, remedy)
    return raised


class StepFloorError(ConfigError):
    """``epochs_for_steps``' refusal: the floor ``field`` of ``value`` steps needs ``raised``
    passes over ``samples`` inputs, past MAX_EPOCHS; ``remedy`` names the floor by ``field``.
    ``named(option)`` is the same line with the floor called ``option`` wherever it is named
    (the CLI's ``--retrain-min-steps`` for GrowPruneSchedule's ``retrain_min_steps``)."""

    def __init__(self, field: str, value: int, raised: int, samples: int, remedy: str):
        self.field, self.raised, self.samples, self.remedy = field, raised, samples, remedy
        super().__init__(self._line(field, value), field=field, value=value)

    def _line(self, name: str, value: int) -> str:
        return (f"{name} {value:,} needs {self.raised:,} passes over {self.samples:,} inputs; "
                f"the limit is {MAX_EPOCHS:,} ({self.remedy.replace(self.field, name)})")

    def named(self, name: str) -> str:
        return self._line(name, self.value)

    def __reduce__(self):   # rebuilt from its fields where it crosses processes (Ray)
        return self.__class__, (self.field, self.value, self.raised, self.samples, self.remedy)


def make_optimizer(params, config: TrainConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum,
                           weight_decay=config.weight_decay, nesterov=config.momentum > 0)


def lr_factor(step: int, total_steps: int, warmup_steps: int, schedule: str) -> float:
    """Linear warm-up, then cosine decay to 0 (or constant)."""
    if warmup_steps and step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant" or total_steps <= warmup_steps:
        return 1.0
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


class TrainingDiverged(UserError):
    """``fit``'s weights became NaN or infinite in epoch ``epoch`` (from 0) and no earlier
    finite epoch was kept: a model that predicts class 0 everywhere is no result for a
    command to save; a search trial records it as a measured, flagged candidate."""

    def __init__(self, epoch: int, epochs: int, lr: float):
        super().__init__(f"training diverged: the weights became NaN or infinite in epoch "
                         f"{epoch + 1} of {epochs} (lr {lr:g}); lower the learning rate")
        self.epoch, self.epochs, self.lr = epoch, epochs, lr

    def __reduce__(self):   # rebuilt from its fields where it crosses processes (Ray)
        return self.__class__, (self.epoch, self.epochs, self.lr)


@torch.no_grad()
def all_finite(model: torch.nn.Module) -> bool:
    """Whether every floating-point parameter and buffer of ``model`` is finite (one device
    sync, not one per tensor: it runs after every epoch of every training)."""
    flags = [torch.isfinite(t).all() for t in (*model.parameters(), *model.buffers())
             if t.is_floating_point()]
    return not flags or bool(torch.stack(flags).all())


@torch.no_grad()
def check_takes(model: torch.nn.Module, x: torch.Tensor, num_classes: int | None = None,
                who: str = "the model", data_name: str = "the data") -> int | None:
    """The logits per input ``model`` gives (None for no ``x`` or an output not of rank 2).
    Refuse in one line a model that cannot be trained or scored on inputs like ``x``: one
    forward of two of them in eval mode (each submodule's mode given back) that raises, that
    returns no tensor (``logits_of``), or that gives fewer logits than ``num_classes``.  A
    module of the user's that takes other inputs or has fewer outputs than the set's
    classes was a RuntimeError or IndexError traceback from inside the first batch (h324)."""
    if not len(x):
        return None
    shape = tuple(x.shape[1:])
    try:
        with in_mode(model, False):
            out = model(x[:2].to(module_device(model)))
    except (RuntimeError, ValueError, TypeError, IndexError) as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise UserError(f"{who} ({type(model).__name__}) does not take {data_name}'s inputs "
                        f"of shape {shape}: {first}") from None
    out = logits_of(out, model, who)
    if num_classes is not None and out.dim() == 2 and out.shape[1] < num_classes:
        raise UserError(f"{who} ({type(model).__name__}) gives {out.shape[1]} logits per "
                        f"input; {data_name} has {num_classes} classes: it needs one logit "
                        f"per class")
    return int(out.shape[1]) if out.dim() == 2 else None


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
             batch_size: int = 1024, device: str | torch.device | None = None) -> dict:
    """Accuracy (fraction) and mean cross-entropy on (x, y)."""
    if len(y) == 0:
        return {"accuracy": float("nan"), "loss": float("nan")}
    device = torch.device(device) if device is not None else next(model.parameters()).device
    correct, loss = 0, 0.0
    with in_mode(model, False):
        for i in range(0, len(y), batch_size):
            xb, yb = x[i:i + batch_size].to(device), y[i:i + batch_size].to(device)
            out = logits_of(model(xb), model)
            loss += F.cross_entropy(out, yb, reduction="sum").item()
            correct += int((out.argmax(1) == yb).sum())
    return {"accuracy": correct / len(y), "loss": loss / len(y)}


# --------------------------------------------------------------------------- resume
# fit saves its state at the end of the first validated epoch ending this long after the last
# save: an interruption loses up to that much training, or more where epochs (or the span
# between validated ones: distill's validate_every) are longer
STATE_SECONDS = 30.0
STATE_FORMAT = "nnsynth-train-state-1"


def _state_key(model, config: TrainConfig, n: int, extra: str) -> str:
    """What must be equal for a saved state to continue this training."""
    settings = {k: v for k, v in config.to_dict().items() if k not in ("progress", "device")}
    return resume.settings_key(settings, getattr(model, "spec", type(model).__name__), n, extra,
                               resume.tensor_shapes(model))


def _save_state(path, key, model, opt, gen, best, history, epoch, step, seconds,
                loss_fn, ranks=None) -> None:
    cpu = resume.cpu_state
    drawn = getattr(loss_fn, "generator", None)     # a KD loss's augmentation draws
    resume.save_state(path, STATE_FORMAT, key, {
        "epoch": epoch, "step": step, "seconds": seconds, "model": cpu(model.state_dict()),
        "optimizer": opt.state_dict(), "generator": gen.get_state(), **resume.random_state(),
        "loss_generator": drawn.get_state() if drawn is not None else None,
        "ranks": ranks, "history": history,
        "best": {**best, "state": cpu(best["state"]) if best["state"] is not None else None}})


def _rank_random(loss_fn, parallel: Parallel, device) -> list | None:
    """Every data-parallel worker's own generators -- torch's CPU one and the loss's draws
    (``loss_fn.generator``) -- gathered from the ``parallel.world_size`` workers of torch's
    process group (the one ``parallel.wrap``'s DistributedDataParallel averages over), for
    rank 0's state; None where no such group joins them.  A worker's share of a batch has its
    own size (61 inputs at 2 workers: 31 and 30), so its CutMix draws advance its generator by
    its own count: every worker resumed from rank 0's generator, and rank 1 pasted other boxes
    than the uninterrupted run did (a 2-worker student 6e-5 from it)."""
    import torch.distributed as dist
    if parallel.world_size < 2 or not (dist.is_available() and dist.is_initialized()) or \
            dist.get_world_size() != parallel.world_size:
        return None
    drawn = getattr(loss_fn, "generator", None)
    mine = [torch.get_rng_state()] + ([drawn.get_state()] if drawn is not None else [])
    # NCCL gathers tensors on the worker's GPU; gloo on the CPU
    on = device if dist.get_backend() == "nccl" else torch.device("cpu")
    gathered = []
    for state in mine:      # fixed-size byte tensors: the same shape on every worker
        parts = [torch.empty_like(state, device=on) for _ in range(parallel.world_size)]
        dist.all_gather(parts, state.to(on))
        gathered.append([p.cpu() for p in parts])
    return [{"torch_rng": gathered[0][r],
             "loss_generator": gathered[1][r] if drawn is not None else None}
            for r in range(parallel.world_size)]


def _restore_rank_random(saved: dict, loss_fn, parallel: Parallel) -> None:
    """This worker's own generators from a state ``_rank_random`` gathered (one of the same
    number of workers); else rank 0's, restored already (an older state, or one of another
    number of workers)."""
    ranks = saved.get("ranks")
    if not ranks or len(ranks) != parallel.world_size:
        return
    own = ranks[parallel.rank]
    torch.set_rng_state(own["torch_rng"])
    drawn = getattr(loss_fn, "generator", None)
    if drawn is not None and own["loss_generator"] is not None:
        drawn.set_state(own["loss_generator"])


def _check_saved(saved: dict, config: TrainConfig, path) -> None:
    """A saved training state holds the values ``_save_state`` writes (resume.check_fields),
    its epoch one of this training's."""
    resume.check_fields(saved, {
        "epoch": range(config.epochs), "step": range(1 << 62),
        "seconds": (int, float), "model": dict, "optimizer": dict, "generator": torch.Tensor,
        "torch_rng": torch.Tensor, "history": list, "best": dict,
        "ranks": (list, type(None))}, path, "training")
    best = saved["best"]
    resume.check_fields(best, {"val_accuracy": (int, float), "val_loss": (int, float),
                               "epoch": range(-1, config.epochs),
                               "state": (dict, type(None))}, path, "training (best epoch)")
    if not all(isinstance(h, dict) for h in saved["history"]):
        raise UserError(f"{path} holds a training state whose history is not a list of "
                        f"epochs: it is not one nnsynth wrote; move it away")


def remove_state(path) -> None:
    """The training state at ``path``, once the training's own output is written (only a file
    that is one: nnsynth deletes nothing it did not write)."""
    resume.remove_state(path, STATE_FORMAT)


@contextlib.contextmanager
def lone_sample_norms(norms: list, size: int):
    """A training step on a batch of ``size`` samples with BatchNorm layers ``norms``
    (``batchnorm_layers``): PyTorch refuses a batch of one sample in training mode ('Expected
    more than 1 value per channel when training', a traceback: the last batch of 127 samples
    at batch 63, or a budget ending one sample into a batch), so such a step's forward pass
    normalizes by the running statistics, as at inference, and leaves them as they are; the
    step counts as any other.  Other sizes: training mode, unchanged."""
    lone = [m for m in norms if m.training] if size == 1 else []
    for m in lone:
        m.eval()
    try:
        yield
    finally:
        for m in lone:
            m.train()


def fit(model: torch.nn.Module, data: Dataset, config: TrainConfig | None = None, *,
        loss_fn: Callable | None = None, after_step: Callable | None = None,
        on_epoch_end: Callable | None = None,
        train_xy: tuple[torch.Tensor, torch.Tensor] | None = None,
        desc: str = "train", parallel: Parallel | None = None,
        state_path: str | os.PathLike | None = None, state_key: str = "") -> dict:
    """Train ``model`` in place; returns metrics (val/test accuracy, seconds, ``best_epoch``:
    the epoch restored, counted from 1, or None when ``keep_best`` chose none; ``history``:
    per validated epoch, ``epoch`` counted from 1).

    ``train_xy`` overrides the training tensors (e.g. synthesized images); validation and
    test always come from ``data``.  ``parallel``: see the module docstring.

    ``state_path``: an interrupted training resumes.  The loop's whole state (weights,
    optimizer, random generators -- ``loss_fn.generator`` too where the loss draws its own,
    as KD's augmentation does -- best epoch so far, history) is written there atomically
    at most every ``STATE_SECONDS`` and after the last epoch; a state written by the same
    training (``state_key``, the config, the model's spec and the training set's size) is
    picked up at the epoch after it, and the result is the one an uninterrupted run gives.
    The caller removes the file once its own output is written (``remove_state``)."""
    config = config or TrainConfig()
    parallel = parallel or Parallel()
    device = torch.device(parallel.device) if parallel.device is not None else pick_device(
        config.device)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model.to(device)
    trained = parallel.wrap(model) if parallel.wrap is not None else model
    x_train, y_train = train_xy if train_xy is not None else (data.x_train, data.y_train)
    n = len(y_train)
    if n == 0:   # else epochs of no steps, and a checkpoint of the untrained model
        raise UserError(f"data set {data.name} has no training samples")
    check_takes(model, x_train, data.num_classes, data_name=f"data set {data.name}")
    requested = config.epochs
    epochs = epochs_for_steps(config.epochs, config.min_steps, n, config.batch_size)
    if epochs > config.epochs:   # 15 epochs of iris' 108 inputs were 60 steps: test 0.80
        log.info("%s: %d training inputs make %d optimizer step%s of batch %d per epoch, so "
                 "%d epochs would be %d steps; running %d epochs (min_steps %d)", desc, n,
                 math.ceil(n / config.batch_size), "" if n <= config.batch_size else "s",
                 config.batch_size, config.epochs,
                 math.ceil(n / config.batch_size) * config.epochs, epochs, config.min_steps)
        config = dataclasses.replace(config, epochs=epochs)
    steps_per_epoch = max(1, math.ceil(n / config.batch_size))
    total = steps_per_epoch * config.epochs
    warmup = int(config.warmup_epochs * steps_per_epoch)
    opt = make_optimizer([p for p in model.parameters() if p.requires_grad], config)
    base_lrs = [g["lr"] for g in opt.param_groups]
    loss_fn = loss_fn or (lambda m, xb, yb: F.cross_entropy(
        logits_of(m(xb), model), yb, label_smoothing=config.label_smoothing))
    best = {"val_accuracy": -1.0, "val_loss": float("inf"), "epoch": -1, "state": None}
    history = []
    diverged = None
    norms = batchnorm_layers(model)
    # a submodule the user put in eval mode inside a model in train mode (a frozen backbone
    # and its BatchNorm statistics) stays in eval mode: model.train() each epoch put it in
    # train mode, and its running statistics moved with every batch (h324)
    frozen = [m for m in model.modules() if not m.training] if model.training else []
    start = time.perf_counter()
    step, first = 0, 0
    key = _state_key(model, config, n, state_key) if state_path is not None else ""
    saved = (resume.load_state(state_path, STATE_FORMAT, key, "training")
             if state_path is not None else None)
    if saved is not None:                   # the epochs it ran are not run again
        _check_saved(saved, config, state_path)
        with resume.restoring(state_path, "training"):
            model.load_state_dict(saved["model"])
            opt.load_state_dict(saved["optimizer"])
            gen.set_state(saved["generator"])
            resume.restore_random(saved)
            drawn = getattr(loss_fn, "generator", None)
            if drawn is not None and saved.get("loss_generator") is not None:
                drawn.set_state(saved["loss_generator"])
            _restore_rank_random(saved, loss_fn, parallel)
            kept = saved["best"]["state"]   # loaded into the model once the training ends
            if kept is not None and {k: v.shape for k, v in kept.items()} != {
                    k: v.shape for k, v in model.state_dict().items()}:
                raise ValueError("its best epoch's weights do not fit the model")
        best, history, step = saved["best"], saved["history"], saved["step"]
        first = saved["epoch"] + 1
        start -= saved["seconds"]
        if first >= config.epochs:   # saved after its last epoch: no epoch is left to run
            log.warning("the training had finished (%d epoch%s); reusing it (%s)",
                        config.epochs, "" if config.epochs == 1 else "s", state_path)
        else:
            log.warning("resuming the training from epoch %d of %d (%s)", first + 1,
                        config.epochs, state_path)
    written = time.perf_counter()
    bar = tqdm(range(first, config.epochs), desc=desc, leave=False, initial=first,
               total=config.epochs, disable=not config.progress or parallel.rank != 0)
    for epoch in bar:
        model.train()
        for m in frozen:
            m.training = False
        order = torch.randperm(n, generator=gen)
        running = 0.0
        for i in range(steps_per_epoch):
            idx = order[i * config.batch_size:(i + 1) * config.batch_size]
            if len(idx) < parallel.world_size:   # every worker needs a sample (or none steps)
                continue
            idx = idx[parallel.rank::parallel.world_size]
            xb, yb = x_train[idx].to(device, non_blocking=True), y_train[idx].to(device)
            factor = lr_factor(step, total, warmup, config.schedule)
            for g, lr in zip(opt.param_groups, base_lrs):
                g["lr"] = lr * factor
            with lone_sample_norms(norms, len(idx)):
                loss = loss_fn(trained, xb, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if after_step is not None:
                after_step(model)
            running += loss.item() if i % 10 == 0 else 0.0
            step += 1
        if on_epoch_end is not None:
            on_epoch_end(model, epoch)
        if not all_finite(model):   # a NaN model predicts class 0 everywhere: no result
            diverged = epoch
            break
        if not config.validate_each_epoch or (
                (epoch + 1) % config.validate_every and epoch != config.epochs - 1):
            continue
        val = evaluate(model, data.x_val, data.y_val, config.eval_batch_size, device)
        history.append({"epoch": epoch, "val_accuracy": val["accuracy"], "val_loss": val["loss"]})
        bar.set_postfix(val_acc=f"{val['accuracy']:.4f}")
        # best on validation: higher accuracy, ties broken by lower loss (small val sets tie often)
        if config.keep_best and (val["accuracy"], -val["loss"]) > (best["val_accuracy"],
                                                                   -best["val_loss"]):
            best = {"val_accuracy": val["accuracy"], "val_loss": val["loss"], "epoch": epoch,
                    "state": copy.deepcopy(model.state_dict())}
        # every worker's generators, gathered at each validated epoch (a collective: all
        # take part, whichever epoch rank 0's clock saves)
        ranks = _rank_random(loss_fn, parallel, device) if state_path is not None else None
        if state_path is not None and parallel.rank == 0 and (
                epoch == config.epochs - 1 or time.perf_counter() - written >= STATE_SECONDS):
            _save_state(state_path, key, model, opt, gen, best, history, epoch, step,
                        time.perf_counter() - start, loss_fn, ranks)
            written = time.perf_counter()
    if config.keep_best and best["state"] is not None:
        model.load_state_dict(best["state"])   # an epoch before any divergence: finite
    elif diverged is not None:
        raise TrainingDiverged(diverged, config.epochs, config.lr)
    seconds = time.perf_counter() - start
    val = evaluate(model, data.x_val, data.y_val, config.eval_batch_size, device)
    test = evaluate(model, data.x_test, data.y_test, config.eval_batch_size, device)
    return {"val_accuracy": val["accuracy"], "test_accuracy": test["accuracy"],
            "test_loss": test["loss"], "best_epoch": reported_epoch(best["epoch"]),
            "epochs": config.epochs, "train_seconds": round(seconds, 3), "device": str(device),
            **({"epochs_requested": requested, "min_steps": config.min_steps}
               if config.min_steps else {}),
            "history": [dict(h, epoch=h["epoch"] + 1) for h in history]}


def reported_epoch(index: int) -> int | None:
    """An epoch as users read it: counted from 1 (``epochs: 3`` ends with epoch 3); None when
    no epoch was chosen (``keep_best`` off, or no validation): JSON null, not -1."""
    return index + 1 if index >= 0 else None
