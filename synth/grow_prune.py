"""Grow-and-prune synthesis: one schedule, one entry point (NeST, Dai et al. 2019; SCANN).

``grow_and_prune(model, data, schedule)`` masks the model (``synth.masked``), optionally starts
from a sparse seed (``seed_density`` < 1), runs ``growth_rounds`` of gradient-based connection and
neuron growth, then ``prune_steps`` of iterative pruning, each followed by ``retrain_epochs`` of
training with a cosine learning rate (``synth.train.fit``).  Pruning stops, and the last step is
undone, when validation accuracy falls below the floor.  Every step adds one history row:
nonzero parameters, connections, ``flops`` (multiply-accumulates per sample of the dense
architecture, ``synth.models.count_flops``) and ``nonzero_flops`` (the MACs that touch a nonzero
weight, ``synth.masked.sparse_flops``), validation and test accuracy.  An undone step's row
stays in the history with ``phase="reverted"``; the row of the model returned is the one
marked ``final`` (``final_row``), and ``kept_steps`` / ``reverted_steps`` count the steps.
A step that changed no connection (a growth round that grew nothing, e.g. from a dense start;
a pruning step that removed nothing) is marked ``idle`` and counted by ``idle_steps``, not
``kept_steps``; pruning ends early once no connection is left to prune.
With ``state_path`` an interrupted run continues at the step after the last one it finished
(``synth.resume``).
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import os
from typing import Callable

import torch
from tqdm.auto import tqdm

from synth import masked, resume
from synth.choices import GROWTH_RATIO, MAX_MIN_STEPS, RECIPE, SEED_DENSITY
from synth.config import Config, check_batch_size, check_choice, check_range, check_seed
from synth.data import Dataset
from synth.errors import ConfigError, UserError
from synth.models import count_flops, count_parameters, logits_of, prunable_layers
from synth.overflow import nonfinite_outputs
from synth.train import TrainConfig, check_takes, epochs_for_steps, evaluate, fit

log = logging.getLogger(__name__)

# Upper bounds of the count and scale fields: each is a loop length, a tensor size or a weight
# scale, and a typo (10**12) ran for days or made every weight inf before any result.
MAX_GROWTH_BATCHES = 1000     # mini-batches per growth (or regrowth) gradient, a pass each
MAX_NEURON_GROWTH = 100_000   # units per round and pair: wider than any layer under MAX_PARAMETERS
                              # that also has inputs and outputs (100 M / 1000)
MAX_STEP_SCALE = 10.0         # growth_init and birth_strength are step sizes, bounded as lr is
MAX_LOSS_RISE = 1000.0        # nats; a larger rise never stops anything (0 turns it off)


@dataclasses.dataclass(frozen=True)
class GrowPruneSchedule(Config):
    # growth phase (NeST Sec. 3): sparse seed, then gradient-based growth
    seed_density: float = SEED_DENSITY   # fraction of connections in the seed; 1.0 = dense
    seed_units: float = 1.0          # fraction of hidden units live in the seed (others dormant)
    growth_rounds: int = 0
    growth_ratio: float = GROWTH_RATIO   # new connections per round, fraction of active ones
    growth_batches: int = 20         # mini-batches over which dL/dW is summed
    growth_init: float = 0.1         # new weight = -growth_init * G (a gradient step from zero)
    neuron_growth: int = 0           # dormant hidden units activated per round and Linear pair
    birth_strength: float = 0.1      # NeST beta: bridge weights sqrt(beta |G|)
    # pruning phase
    prune_steps: int = 10
    prune_fraction: float = 0.2      # of the active connections removed per step
    criterion: str = "lamp"          # magnitude (global) | layerwise | lamp (layer-adaptive)
    regrow_fraction: float = 0.0     # RigL: prune this much more and regrow as many by |G|
    remove_dead: bool = False        # drop weights that cannot matter (masked.remove_dead)
    retrain_epochs: int = 3
    retrain_min_steps: int = 0       # each retraining makes at least this many optimizer
                                     # steps: retrain_epochs raised on a small training set
    accuracy_floor: float = 0.0      # absolute validation accuracy; 0 = never stop early
    max_accuracy_drop: float = 1.0   # stop when val accuracy < start - this (fraction)
    max_loss_rise: float = 0.0       # > 0: also stop when val cross-entropy > start + this
                                     # (nats; smoother than accuracy on a small val split)
    # training
    lr: float = 0.05
    optimizer: str = "sgd"
    batch_size: int = 64
    weight_decay: float = 1e-4
    keep_best: bool = True           # retraining restores its best validation epoch
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        check_range("seed_density", self.seed_density, 0, 1, low_open=True)
        check_range("seed_units", self.seed_units, 0, 1, low_open=True)
        check_range("growth_rounds", self.growth_rounds, 0, 1000, integer=True)
        check_range("growth_ratio", self.growth_ratio, 0, 100, low_open=True)
        check_range("growth_batches", self.growth_batches, 1, MAX_GROWTH_BATCHES, integer=True)
        check_range("growth_init", self.growth_init, 0, MAX_STEP_SCALE)
        check_range("neuron_growth", self.neuron_growth, 0, MAX_NEURON_GROWTH, integer=True)
        check_range("birth_strength", self.birth_strength, 0, MAX_STEP_SCALE, low_open=True)
        check_range("prune_steps", self.prune_steps, 0, 1000, integer=True)
        check_range("prune_fraction", self.prune_fraction, 0, 1, low_open=True, high_open=True)
        check_choice("criterion", self.criterion, masked.CRITERIA)
        check_range("regrow_fraction", self.regrow_fraction, 0, 1 - self.prune_fraction,
                    high_open=True)
        check_range("retrain_epochs", self.retrain_epochs, 0, 10000, integer=True)
        check_range("retrain_min_steps", self.retrain_min_steps, 0, MAX_MIN_STEPS, integer=True)
        check_range("accuracy_floor", self.accuracy_floor, 0, 1)
        check_range("max_accuracy_drop", self.max_accuracy_drop, 0, 1)
        check_range("max_loss_rise", self.max_loss_rise, 0, MAX_LOSS_RISE)
        check_range("lr", self.lr, 0, 10, low_open=True)
        check_choice("optimizer", self.optimizer, ("sgd", "adam"))
        check_batch_size("batch_size", self.batch_size)
        check_range("weight_decay", self.weight_decay, 0, 1)
        check_seed("seed", self.seed)
        if self.growth_rounds == 0 and self.prune_steps == 0:
            raise ConfigError("growth_rounds and prune_steps are both 0: the schedule does nothing")

    @classmethod
    def recipe(cls, **overrides) -> "GrowPruneSchedule":
        """The measured schedule behind ``nnsynth grow-prune``'s defaults (``RECIPE``),
        with ``overrides``; retraining by KD from the dense start is the caller's
        ``loss_fn`` (``synth.workflows.grow_prune_checkpoint`` sets it up)."""
        return cls.from_dict({**RECIPE, **overrides})

    def retrain_epochs_for(self, samples: int) -> int:
        """The epochs each retraining runs on ``samples`` training inputs:
        ``retrain_epochs``, raised to make ``retrain_min_steps`` optimizer steps; a floor
        past the epoch limit is a UserError naming retrain_min_steps (it named min_steps,
        whose lowering changes the dense training only)."""
        return epochs_for_steps(self.retrain_epochs, self.retrain_min_steps, samples,
                                self.batch_size, remedy="lower retrain_min_steps",
                                name="retrain_min_steps")

    def train_config(self, progress: bool = False) -> TrainConfig:
        return TrainConfig(epochs=self.retrain_epochs, min_steps=self.retrain_min_steps,
                           batch_size=self.batch_size, lr=self.lr,
                           optimizer=self.optimizer, weight_decay=self.weight_decay,
                           seed=self.seed, device=self.device, progress=progress,
                           keep_best=self.keep_best)


def measure(model: torch.nn.Module, data: Dataset, **fields) -> dict:
    """One history row: parameter/connection counts, MACs (``flops``: dense architecture;
    ``nonzero_flops``: over nonzero weights) and accuracy of ``model`` now.  ``parameters``
    counts every parameter and ``nonzero_parameters`` the nonzero ones, as the result, eval,
    prune, export and a search's rows name them (``parameters`` was the nonzero count here:
    a final row said 488 beside the result's 2,708 for the same model, h290)."""
    val = evaluate(model, data.x_val, data.y_val)
    test = evaluate(model, data.x_test, data.y_test)
    row = dict(fields)
    row.update(parameters=count_parameters(model),
               nonzero_parameters=count_parameters(model, nonzero=True),
               connections=masked.connections(model),
               flops=count_flops(model, data.input_shape),
               nonzero_flops=masked.sparse_flops(model, data.input_shape),
               val_accuracy=val["accuracy"], test_accuracy=test["accuracy"],
               val_loss=val["loss"], sparsity=round(masked.sparsity(model)["total"], 6))
    return row


def _train(model, data, schedule, step, loss_fn, train_xy, progress, desc):
    if schedule.retrain_epochs == 0:
        return
    config = schedule.train_config(progress).replace(seed=schedule.seed + step)
    fit(model, data, config, loss_fn=loss_fn, train_xy=train_xy, desc=desc)


def _grad_kwargs(schedule: GrowPruneSchedule, seed: int, loss_fn) -> dict:
    return dict(batches=schedule.growth_batches, batch_size=schedule.batch_size, seed=seed,
                loss_fn=loss_fn)


def grow(model: torch.nn.Module, data: Dataset, schedule: GrowPruneSchedule, round_: int, *,
         loss_fn: Callable | None = None, train_xy=None) -> dict:
    """One growth round: connections by |G|, then NeST bridge neurons on every Linear pair."""
    x, y = train_xy if train_xy is not None else (data.x_train, data.y_train)
    kw = _grad_kwargs(schedule, schedule.seed + 1000 + round_, loss_fn)
    neurons = 0
    if schedule.neuron_growth:
        frozen = set(masked.frozen_layers(model))
        for pair in masked.linear_pairs(model):
            if frozen.intersection(pair) or not len(masked.dormant_units(model, pair)):
                # no unit to give a bridge (e.g. every unit of a seed with seed_units 1 has
                # connections): G would be thrown away.  Its passes' random draws are made
                # all the same, so the growth below gets the gradients it always got.
                masked.replay_draws(model, x, y, **kw)
                continue
            bridge = masked.bridge_gradients(model, x, y, pair, **kw)
            neurons += masked.grow_neurons(model, bridge, pair, schedule.neuron_growth,
                                           schedule.birth_strength)
    grads = masked.accumulate_gradients(model, x, y, **kw)
    for name in masked.frozen_layers(model):
        grads.pop(name, None)
    grown = masked.grow_connections(model, grads, schedule.growth_ratio, schedule.growth_init)
    return {"grown_connections": grown, "grown_neurons": neurons}


def prune_step(model: torch.nn.Module, data: Dataset, schedule: GrowPruneSchedule, step: int, *,
               loss_fn: Callable | None = None, train_xy=None) -> dict:
    """One pruning move before retraining: remove ``prune_fraction + regrow_fraction`` of the
    active connections by the criterion; regrow, per layer, the ``regrow_fraction`` share of
    what that layer lost at the dormant connections of largest |G| (RigL); then, with
    ``remove_dead``, drop the weights that cannot change the output (``masked.remove_dead``)."""
    x, y = train_xy if train_xy is not None else (data.x_train, data.y_train)
    active = {n: int(m.mask.sum()) for n, _, m in masked.masked_layers(model)}
    fraction = schedule.prune_fraction + schedule.regrow_fraction
    frozen = set(masked.frozen_layers(model))   # a layer the user froze is left as it is
    info = {"pruned": masked.prune_connections(model, fraction, schedule.criterion,
                                               [n for n in active if n not in frozen])}
    if schedule.regrow_fraction:
        share = schedule.regrow_fraction / fraction
        counts = {n: round(share * (active[n] - int(m.mask.sum())))
                  for n, _, m in masked.masked_layers(model)}
        grads = masked.accumulate_gradients(
            model, x, y, **_grad_kwargs(schedule, schedule.seed + 2000 + step, loss_fn))
        info["regrown"] = masked.regrow_connections(model, grads, counts, schedule.growth_init)
    if schedule.remove_dead:
        info["dead"] = masked.remove_dead(model, x)
    return info


STATE_FORMAT = "nnsynth-grow-prune-state-1"


def _state_key(model, data, schedule, train_xy, extra: str) -> str:
    """What must be equal for a saved state to continue this run: the schedule (not its
    device; ``retrain_min_steps`` only where it raises the retraining's epochs: a state
    saved before that field continues where it changes nothing), the model's spec and tensor
    shapes (masks included), the training set's size and the caller's ``extra``."""
    n = len(train_xy[1]) if train_xy is not None else len(data.y_train)
    raises = schedule.retrain_epochs_for(n) > schedule.retrain_epochs
    settings = {k: v for k, v in schedule.to_dict().items()
                if k != "device" and (k != "retrain_min_steps" or raises)}
    return resume.settings_key(settings, getattr(model, "spec", type(model).__name__), n, extra,
                               resume.tensor_shapes(model))


def _save_state(path, key, model, history, step, stopped, floor, loss_ceiling,
                loss_fn) -> None:
    gen = getattr(loss_fn, "generator", None)
    resume.save_state(path, STATE_FORMAT, key, {
        "step": step, "stopped": stopped, "floor": floor, "loss_ceiling": loss_ceiling,
        "model": resume.cpu_state(model.state_dict()), "history": history,
        "loss_generator": gen.get_state() if gen is not None else None,
        **resume.random_state()})


def check_state(path) -> None:
    """Refuse, in one line, what ``path`` holds where ``grow_and_prune(state_path=path)``
    could neither continue from it nor replace it: a directory or link, a file that is not
    nnsynth's, another command's state (``synth.resume.check_state``; a grow-prune state
    of other settings is fine: the run starts over).  ``grow_and_prune`` refuses these
    itself, but only when its loop starts: a caller with work before it (the dense training
    of ``synth.workflows.grow_prune_checkpoint``, minutes) calls this first, so that the
    refusal comes before that work, not after it."""
    resume.check_state(path, STATE_FORMAT, "grow-prune")


def remove_state(path) -> None:
    """The grow-prune state at ``path``, once the run's own output is written (only a file
    that is one: nnsynth deletes nothing it did not write)."""
    resume.remove_state(path, STATE_FORMAT)


def grow_and_prune(model: torch.nn.Module, data: Dataset, schedule: GrowPruneSchedule, *,
                   progress: bool = False, loss_fn: Callable | None = None,
                   train_xy: tuple[torch.Tensor, torch.Tensor] | None = None,
                   on_step: Callable[[torch.nn.Module, dict], None] | None = None,
                   state_path: str | os.PathLike | None = None, state_key: str = "",
                   floor_note: Callable[[float, float], str | None] | None = None,
                   notes: list | None = None) -> tuple[torch.nn.Module, list[dict]]:
    """Grow, then prune ``model`` in place; returns ``(model, history)``.

    ``loss_fn(model, x, y)`` replaces cross-entropy everywhere (growth gradients and retraining),
    e.g. ``lambda m, x, y: synth.distill.kd_loss(...)`` for distillation from a teacher;
    ``train_xy`` replaces the training tensors (synthesized images); ``on_step(model, row)`` is
    called after every accepted step this call runs (e.g. to report to Tune or keep a
    snapshot).  The returned model keeps its masks (``synth.masked.masks_of``);
    ``synth.compact.compact`` makes it small and dense.

    ``floor_note(start, floor)``: the line logged when pruning starts below the floor
    (default ``floor_warning``, which names grow-prune's --target-accuracy; a command whose
    floor another option sets passes its own wording; None from it: nothing said, the caller
    said it already); ``notes``: a list the line is also appended to, for the caller's result.

    ``state_path``: an interrupted run resumes.  After every step (a reverted one too) the
    loop's state -- weights and masks, history, step, floor and loss ceiling, torch's
    generators and ``loss_fn.generator`` when it has one (``synth.distill.live_kd_fn``) -- is
    written there atomically; a state of the same run (``state_key``, the schedule, the
    model's spec and tensor shapes, the training set's size) continues at the step after it,
    to the model and history an uninterrupted run gives.  Neuron growth activates dormant
    units and changes no shape, so the saved state dict loads into the model as built.  The
    caller removes the file once its own output is written (``remove_state``)."""
    if not isinstance(schedule, GrowPruneSchedule):
        raise ConfigError(f"schedule must be a GrowPruneSchedule, got {type(schedule).__name__}")
    from synth.device import pick_device
    model.to(pick_device(schedule.device))
    check_takes(model, data.x_train if train_xy is None else train_xy[0], data.num_classes,
                data_name=f"data set {data.name}")
    if not masked.masked_layers(model):
        # a model without masks is masked by its nonzero weights: a compacted grow-and-prune
        # checkpoint keeps its pruned connections as zeros, and all-ones masks let retraining
        # revive them (an H-LSTM of 636 connections came out of one 20% step with 1,242)
        masked.attach_masks(model, masked.nonzero_masks(model))
    layers = [name for name, _ in prunable_layers(model)]
    if not layers or set(masked.frozen_layers(model)) == set(layers):
        raise UserError(f"grow-and-prune needs a Linear, Conv1d or Conv2d layer that trains; "
                        f"the {type(model).__name__} has "
                        + ("none" if not layers else "only frozen ones (requires_grad False)"))
    key, saved = "", None
    if state_path is not None:
        key = _state_key(model, data, schedule, train_xy, state_key)
        saved = resume.load_state(state_path, STATE_FORMAT, key, "grow-prune")
    report = on_step or (lambda m, row: None)
    total = schedule.growth_rounds + schedule.prune_steps
    if saved is None:
        if schedule.seed_density < 1.0 or schedule.seed_units < 1.0:
            seed = masked.random_masks(model, schedule.seed_density, schedule.seed,
                                       schedule.seed_units)
            kept = masked.nonzero_masks(model)
            seed.update({n: kept[n] for n in masked.frozen_layers(model)})   # left as they are
            masked.attach_masks(model, seed)
        history = [measure(model, data, step=0, phase="start")]
        report(model, history[0])
        step, stopped, loss_ceiling = 0, False, None
        floor = max(schedule.accuracy_floor,
                    history[0]["val_accuracy"] - schedule.max_accuracy_drop)
    else:                                   # the steps it ran are not run again
        resume.check_fields(saved, {   # the values _save_state writes (a file's own: one line)
            "step": range(total + 1), "stopped": bool, "floor": (int, float),
            "loss_ceiling": (int, float, type(None)), "model": dict, "history": list,
            "torch_rng": torch.Tensor}, state_path, "grow-prune")
        with resume.restoring(state_path, "grow-prune"):
            model.load_state_dict(saved["model"])
            resume.restore_random(saved)
            gen = getattr(loss_fn, "generator", None)
            if gen is not None and saved.get("loss_generator") is not None:
                gen.set_state(saved["loss_generator"])
        if not all(isinstance(h, dict) for h in saved["history"]):
            raise UserError(f"{state_path} holds a grow-prune state whose history is not a "
                            f"list of steps: it is not one nnsynth wrote; move it away")
        history, step, stopped = saved["history"], saved["step"], saved["stopped"]
        floor, loss_ceiling = saved["floor"], saved["loss_ceiling"]
        log.warning("resuming grow-prune after step %d of %d (%s)", step, total, state_path)

    def save() -> None:
        if state_path is not None:
            _save_state(state_path, key, model, history, step, stopped, floor, loss_ceiling,
                        loss_fn)

    bar = tqdm(total=total, initial=step, desc="grow-prune", disable=not progress, leave=False)
    while step < schedule.growth_rounds:
        step += 1
        info = grow(model, data, schedule, step - 1, loss_fn=loss_fn, train_xy=train_xy)
        _train(model, data, schedule, step, loss_fn, train_xy, False, "regrow")
        history.append(_mark_idle(measure(model, data, step=step, phase="grow", **info)))
        if step == schedule.growth_rounds:   # the floor for pruning is set by the grown network
            floor = max(schedule.accuracy_floor,
                        history[-1]["val_accuracy"] - schedule.max_accuracy_drop)
        save()
        report(model, history[-1])
        bar.update(1)
        bar.set_postfix(conn=history[-1]["connections"], val=f"{history[-1]['val_accuracy']:.4f}")
    if loss_ceiling is None:
        loss_ceiling = (history[-1]["val_loss"] + schedule.max_loss_rise
                        if schedule.max_loss_rise > 0 else float("inf"))
    start = history[-1]["val_accuracy"]
    if step < total and not stopped and start < floor:   # every step would be undone, however
        # well its retraining does: the floor is absolute (--target-accuracy)
        line = (floor_note or floor_warning)(start, floor)
        if line:   # a floor_note may return None: said already (scann's retried steps)
            log.warning("%s", line)
            if notes is not None:
                notes.append(line)
    while step < total and not stopped:
        if not active_connections(model):   # the steps left could prune nothing: not run
            log.warning("pruning ends after step %d of %d: the model has no connection left "
                        "to prune", step, total)
            break
        step += 1
        before = copy.deepcopy(model.state_dict())
        info = prune_step(model, data, schedule, step, loss_fn=loss_fn, train_xy=train_xy)
        _train(model, data, schedule, step, loss_fn, train_xy, False, "retrain")
        row = _mark_idle(measure(model, data, step=step, phase="prune", **info))
        bar.update(1)
        bar.set_postfix(conn=row["connections"], val=f"{row['val_accuracy']:.4f}")
        stopped = row["val_accuracy"] < floor or row["val_loss"] > loss_ceiling
        if stopped:
            model.load_state_dict(before)
            row["phase"] = "reverted"
        history.append(row)
        save()
        if not stopped:
            report(model, row)
    bar.close()
    mark_final(history)
    return model, history


def active_connections(model: torch.nn.Module) -> int:
    """Connections a pruning step could remove: the masked layers' active ones; a model
    without masks, its nonzero weights (``grow_and_prune`` masks it by them)."""
    layers = masked.masked_layers(model)
    frozen = set(masked.frozen_layers(model))   # never pruned (grow_and_prune)
    if not layers:
        return masked.connections(model) - sum(
            int((layer.weight != 0).sum()) for n, layer in prunable_layers(model) if n in frozen)
    return sum(int(m.mask.sum()) for n, _, m in layers if n not in frozen)


# the counts a step's row carries of the connections (and units) it changed
_CHANGES = ("grown_connections", "grown_neurons", "pruned", "regrown", "dead")


def _mark_idle(row: dict) -> dict:
    """``row`` with ``idle: True`` when its step grew, pruned, regrew and removed nothing
    (its retraining, if any, still ran); ``row`` unchanged otherwise."""
    if not any(row.get(k) for k in _CHANGES):
        row["idle"] = True
    return row


def floor_warning(start: float, floor: float, source: str = "--target-accuracy",
                  remedy: str = "lower it, or train the start longer") -> str:
    """The line for pruning that starts from validation accuracy ``start`` below the absolute
    ``floor``; ``source``: what sets the floor in the command at hand (grow-prune's
    --target-accuracy), ``remedy``: how to let the steps be kept."""
    return (f"pruning starts from validation accuracy {start:.4f}, below the floor {floor:.4f} "
            f"({source}): a step is undone unless its retraining lifts the model "
            f"above the floor; {remedy}")


def pruning_start(history: list[dict]) -> dict:
    """The history row pruning started from: the last of the start and growth rows."""
    return [r for r in history if r["phase"] in ("start", "grow")][-1]


def predictions(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The class ``model`` predicts for each row of ``x`` (argmax, in eval mode, on CPU)."""
    from synth.modes import in_mode
    predicted = [torch.zeros(0, dtype=torch.long)]
    with torch.no_grad(), in_mode(model, training=False):
        device = next(model.parameters()).device
        for i in range(0, len(x), 1024):
            predicted.append(logits_of(model(x[i:i + 1024].to(device)), model).argmax(1).cpu())
    return torch.cat(predicted)


def one_class(model: torch.nn.Module, data: Dataset, split: str = "test",
              predicted: torch.Tensor | None = None) -> tuple[str, float] | None:
    """(the class's name, its share of the split) for a ``model`` that predicts one class
    for every sample of ``data``'s ``split`` where that split holds several; None
    otherwise.  ``predicted``: the model's ``predictions`` of that split, where the caller
    has them."""
    x, y = data.split(split)
    if len(y) == 0 or len(torch.unique(y)) < 2:
        return None
    classes = torch.unique(predictions(model, x) if predicted is None else predicted)
    if len(classes) != 1:
        return None
    c = int(classes[0])
    name = data.class_names[c] if c < len(data.class_names) else str(c)
    return name, float((y == c).float().mean())


def one_class_warning(model: torch.nn.Module, data: Dataset, split: str = "test",
                      predicted: torch.Tensor | None = None) -> str | None:
    """The line for a ``model`` that predicts one class for every sample of ``data``'s
    ``split`` where that split holds several (``one_class``): its accuracy is that class's
    share of the split, nothing learned (a heavily imbalanced set: 190 rows of one class and
    10 of the other were pruned by SCANN to 3 connections at "95% accuracy", 768x fewer
    connections, predicting the majority class for every row).  None otherwise."""
    found = one_class(model, data, split, predicted)
    if found is None:
        return None
    name, share = found
    which = split
    split, part = ("", "the set") if split == "all" else (f"{split} ", f"the {split} split")
    x = data.split(which)[0]
    broken = nonfinite_outputs(model, x) if model is not None else None
    if broken:   # the argmax of a NaN row is 0: "train longer" named the wrong cause
        seen = f"{len(x):,}" if len(x) <= 1024 else "the first 1,024"
        return (f"the model's outputs are NaN or infinite on {broken:,} of {seen} {split}"
                f"samples (a weight or an activation beyond float32's range): its {split}"
                f"accuracy {share:.4f} is the share of class {name!r} in {part}, not anything "
                f"the model computed")
    return (f"the model predicts class {name!r} for every {split}sample: its {split}"
            f"accuracy {share:.4f} is that class's share of {part}, and the "
            f"other classes are never predicted (train longer; an imbalanced set: balance "
            f"its classes)")


def mark_final(history: list[dict]) -> list[dict]:
    """Mark the last row that was not undone as ``final`` (the model returned) and no other;
    for histories joined from several runs too.  Returns ``history``."""
    for row in history:
        row.pop("final", None)
    final_row(history)["final"] = True
    return history


def final_row(history: list[dict]) -> dict:
    """The row of the model ``grow_and_prune`` returned: the last one not ``reverted``."""
    return [r for r in history if r["phase"] != "reverted"][-1]


def kept_steps(history: list[dict]) -> int:
    """Growth and pruning steps that changed the model's connections and whose result was
    kept (the start row, undone steps and ``idle`` steps not)."""
    return sum(r["phase"] not in ("start", "reverted") and not r.get("idle") for r in history)


def idle_steps(history: list[dict]) -> int:
    """Kept steps that grew, pruned, regrew and removed no connection (``idle`` rows)."""
    return sum(r["phase"] not in ("start", "reverted") and bool(r.get("idle"))
               for r in history)


def reverted_steps(history: list[dict]) -> int:
    """Steps undone because accuracy (or loss) crossed the floor."""
    return sum(r["phase"] == "reverted" for r in history)
