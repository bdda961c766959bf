"""Incremental learning by grow-and-prune (Dai, Yin & Jha 2019) and its cost to a target accuracy.

When new data arrives for a grown-and-pruned model, instead of training again:
1. grow ``growth_ratio`` x active connections of the *sparse* model, chosen by |dL/dW| over a
   few batches (NeST Eq. 1), on the training set of the update: the new data plus a small
   replay of old samples (``replay_ratio`` x the new count, drawn once);
2. train the grown sparse model on that set until the validation accuracy reaches the target;
   when it has not within ``round_epochs`` passes, grow again (at most ``growth_rounds``
   growths), so capacity is added only where the data ask for it;
3. prune (``prune_steps`` x ``prune_fraction``; by default back to the starting size), each step
   retrained until the target is reached again; a step that cannot recover within the budget
   is undone and pruning stops.

Every method is trained until its validation accuracy reaches the same target (early stopping,
checked every ``check_every`` samples), so that costs compare at equal accuracy on the combined
data.  The target is ``target`` when given, else the validation plateau of fine-tuning the dense
model on old + new (mean of the last half of its checks) minus ``target_margin``.

Pass counts are a number of optimizer steps only on a set of many batches: 20 passes over
iris's 108 samples are 40 steps of 64, the dense "plateau" of 8 passes 16 steps.  There the
plateau run had not converged (wine: a target of 0.795 that every method reached at its last
check, at the same cost) and training from scratch missed it (iris, a weak old model).  When
``max_epochs`` passes over old + new make fewer than ``min_steps`` optimizer steps, every pass count
(``plateau_epochs``, ``max_epochs``, ``round_epochs``) is scaled by the same factor
(``pass_scale``, in ``compare``: a warning says so, the result reports it and each method's
``steps``).

Cost (multiply-accumulates, MACs), counting the masks' sparsity:
- training: ``BACKWARD_FACTOR`` x the forward MACs over the active weights per sample (forward,
  input gradient, weight gradient; ``masked.active_flops``: a masked layer's mask, every
  weight of an unmasked one -- the dense copy of a pruned model trains its zeros too) x
  samples seen;
- a growth pass: forward + input gradient at the sparse cost, the weight gradient at the
  *dense* cost (every dormant connection's gradient is needed), per sample;
- validation checks: the forward MACs over the nonzero weights x validation samples (early
  stopping is not free).
A method's cost to the target (``cost_macs``) is the sum of the three (``training_macs``,
``growth_macs``, ``eval_macs``), as the paper's training cost of adding the new data is the
whole update's: a method already at the target trains on no sample and costs one check.
Wall and processor time are measured around each whole method (growth, training, checks,
pruning).  On a CPU,
a masked layer costs as much as a dense one, so wall time shows the saving in samples seen, not
the saving in sparse MACs that hardware skipping zeros would turn into time.
"""
from __future__ import annotations

import copy
import dataclasses
import math
import statistics
import logging
import time
from typing import Callable

import torch
import torch.nn.functional as F

from synth import masked
from synth.config import (Config, check_batch_size, check_choice, check_range, check_seed,
                          short_repr)
from synth.data import Dataset, spelled_as
from synth.device import pick_device
from synth.checkpoint import check_model_classes
from synth.errors import UserError
from synth.models import batchnorm_layers, build, count_flops, prunable_layers
from synth.quant import refuse_fixed_point
from synth.train import evaluate, lone_sample_norms

MAX_STEPS = 1000      # growth batches, growth rounds and prune steps (GrowPruneSchedule's bound)
MAX_MIN_STEPS = 1_000_000   # min_steps' bound
BACKWARD_FACTOR = 3   # training MACs per forward MAC (forward + input and weight gradients)
METHODS = ("incremental", "finetune", "finetune_sparse", "scratch")

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class IncrementalConfig(Config):
    # the grow-and-prune update
    growth_ratio: float = 0.25       # connections grown, as a fraction of the active ones
    growth_batches: int = 10         # mini-batches over which dL/dW is summed (NeST Eq. 1)
    growth_rounds: int = 3           # at most; a new round when the target is not reached
    round_epochs: float = 4.0        # ... within this many passes over new + replay
    replay_ratio: float = 0.5        # old samples replayed per new sample (0: new data only)
    prune_steps: int = 1
    prune_fraction: float = 0.2      # 1.25 x 0.8 = 1: back to the starting connection count
    criterion: str = "lamp"
    # the common stopping rule
    target: float = 0.0              # validation accuracy to reach; 0: dense plateau - margin
    target_margin: float = 0.005     # (fraction) below the dense fine-tuning plateau
    plateau_epochs: float = 8.0      # passes over old + new that define the dense plateau
    max_epochs: float = 20.0         # budget per training phase, passes over old + new
    # ... at least this many optimizer steps (every pass count scaled up with it, pass_scale):
    # iris's 20 passes were 40 steps, its plateau run 16 (the target 0.91; min_steps 200:
    # 0.97, 400: 0.99 -- the plateau run 160 steps); the mnist5k benchmarks' 20 passes are
    # 1125 steps, digits' 420: as they were
    min_steps: int = 400
    check_every: int = 1024          # training samples between validation checks
    window: int = 3                  # checks averaged by the stopping rule (validation noise)
    # optimizer (the same for every method)
    lr: float = 0.01                 # a fine-tuning rate: 0.05 made dense fine-tuning worse
    momentum: float = 0.9
    weight_decay: float = 1e-4
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        check_range("growth_ratio", self.growth_ratio, 0, 100)
        check_range("replay_ratio", self.replay_ratio, 0, None)
        check_range("round_epochs", self.round_epochs, 0, 10000, low_open=True)
        # bounded as grow-and-prune's schedule is: prune_steps 10**11 was accepted, and once
        # the target holds a step of zero connections costs one check, so it ran for days
        for name in ("growth_batches", "growth_rounds", "prune_steps"):
            check_range(name, getattr(self, name), 0, MAX_STEPS, integer=True)
        check_seed("seed", self.seed)
        check_range("prune_fraction", self.prune_fraction, 0, 1, low_open=True, high_open=True)
        check_choice("criterion", self.criterion, masked.CRITERIA)
        check_range("target", self.target, 0, 1)
        check_range("target_margin", self.target_margin, 0, 1)
        check_range("plateau_epochs", self.plateau_epochs, 0, 10000, low_open=True)
        check_range("max_epochs", self.max_epochs, 0, 10000, low_open=True)
        check_range("min_steps", self.min_steps, 0, MAX_MIN_STEPS, integer=True)
        check_range("check_every", self.check_every, 1, None, integer=True)
        check_range("window", self.window, 1, None, integer=True)
        check_range("lr", self.lr, 0, 10, low_open=True)
        check_range("momentum", self.momentum, 0, 1, high_open=True)
        check_range("weight_decay", self.weight_decay, 0, 1)
        check_batch_size("batch_size", self.batch_size)


def shares_held_out(old: Dataset, new: Dataset) -> bool:
    """Whether ``old`` and ``new`` hold the same validation and test samples: one set's
    training samples split into old and new (``split_dataset``) share the set's own."""
    same = lambda a, b: a is b or (a.shape == b.shape and torch.equal(a, b))  # noqa: E731
    return all(same(getattr(old, k), getattr(new, k))
               for k in ("x_val", "y_val", "x_test", "y_test"))


def merge(old: Dataset, new: Dataset) -> Dataset:
    """Every split of both: old + new training, validation and test samples (the validation
    and test splits once when the two share them, ``shares_held_out``).  The stopping rule
    and ``test_accuracy`` are of the combined data: they were of ``new``'s validation and test
    alone, so a model that forgot the old set reached the target and scored as well as one
    that learned both.  The metadata (normalization, name recorded in a checkpoint) are
    ``new``'s."""
    if tuple(old.input_shape) != tuple(new.input_shape):
        raise UserError(f"old and new data differ in input shape: {old.name} has "
                        f"{tuple(old.input_shape)}, {new.name} {tuple(new.input_shape)}")
    spelled = spelled_as(new.class_names, old.class_names)   # 'cat' is 'Cat', as everywhere
    if old.num_classes != new.num_classes or spelled != list(old.class_names):
        # label k named another class in each (wine[0,1] and wine[1,2]): they were merged
        # as one class, and every accuracy was of labels that meant two things.  (9 of 10
        # classes were said to differ in "shapes (64,) vs (64,)".)
        lacks = [c for c in old.class_names if c not in spelled]
        adds = [c for c, s in zip(new.class_names, spelled) if s not in old.class_names]
        differ = "; ".join([f"{new.name} lacks {short_repr(lacks)}"] * bool(lacks)
                           + [f"{new.name} adds {short_repr(adds)}"] * bool(adds)) or \
            "in another order"
        raise UserError(f"old and new data label other classes: {old.name} has "
                        f"{old.num_classes} {short_repr(list(old.class_names))}, {new.name} "
                        f"{new.num_classes} {short_repr(list(new.class_names))} ({differ}); "
                        f"an update adds samples of the same classes, in the same order (new "
                        f"classes: `nnsynth continual`)")
    if (old.x_train.shape == new.x_train.shape and torch.equal(old.x_train, new.x_train)
            and torch.equal(old.y_train, new.y_train)):
        # digits and digits[0,...,9]: every sample trained on twice, counted as new data
        raise UserError(f"old and new data hold the same training samples ({old.name}, "
                        f"{new.name}): name one set as both old and new to split its "
                        f"training samples into old and new")
    held = {} if shares_held_out(old, new) else {
        k: torch.cat([getattr(old, k), getattr(new, k)])
        for k in ("x_val", "y_val", "x_test", "y_test")}
    return dataclasses.replace(new, name=f"{old.name}+{new.name}",
                               x_train=torch.cat([old.x_train, new.x_train]),
                               y_train=torch.cat([old.y_train, new.y_train]), **held)


OLD_FRACTION = 0.7   # one set named as --old and --new: the share of its training samples
                     # that counts as old


def split_dataset(data: Dataset, old_fraction: float, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Split the training samples at random into "old" and "new" data (shared val/test).
    Both parts keep the set's name: it is what a checkpoint records, and ``nnsynth eval``
    reloads the set by it (``wine:new`` read as a ``prefix:path`` name and failed); their
    validation and test splits are the set's own."""
    check_range("old_fraction", old_fraction, 0, 1, low_open=True, high_open=True)
    order = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(seed))
    cut = int(round(old_fraction * len(order)))
    if not 0 < cut < len(order):   # one part empty: "iris has no train split" followed
        raise UserError(f"old_fraction {old_fraction:g} of {data.name}'s {len(order)} training "
                        f"samples leaves {'no old' if cut == 0 else 'no new'} samples; choose "
                        f"a fraction between {1 / len(order):.3g} and "
                        f"{1 - 1 / len(order):.3g}")
    part = [order[:cut], order[cut:]]
    return tuple(dataclasses.replace(data, x_train=data.x_train[idx], y_train=data.y_train[idx])
                 for idx in part)


def replay_set(old: Dataset, new: Dataset, ratio: float, seed: int):
    """The update's training tensors: all new samples + ``round(ratio * new)`` old ones."""
    k = min(len(old.y_train), int(round(ratio * len(new.y_train))))
    idx = torch.randperm(len(old.y_train), generator=torch.Generator().manual_seed(seed))[:k]
    return torch.cat([new.x_train, old.x_train[idx]]), torch.cat([new.y_train, old.y_train[idx]])


class Meter:
    """Cost so far of one method: samples, training/growth/validation MACs, wall time, and a
    trajectory of validation checks."""

    def __init__(self, val: tuple[torch.Tensor, torch.Tensor], input_shape):
        self.val, self.input_shape = val, tuple(input_shape)
        self.samples = self.train_macs = self.growth_macs = self.eval_macs = 0
        self.steps = 0   # optimizer steps (growth passes take none)
        self.start, self.cpu_start = time.perf_counter(), time.process_time()
        self.trajectory: list[dict] = []

    @property
    def macs(self) -> int:
        return self.train_macs + self.growth_macs + self.eval_macs

    def seconds(self) -> float:
        return time.perf_counter() - self.start

    def cpu_seconds(self) -> float:
        """Processor time of this process (all threads): less sensitive than wall time to
        other jobs sharing the machine."""
        return time.process_time() - self.cpu_start

    def check(self, model, window: int, phase: list[float]) -> float:
        """Validation accuracy now, appended to ``phase`` (this training phase's checks);
        returns the mean of the last ``window`` of them (the stopping rule's smoothing)."""
        self.eval_macs += masked.sparse_flops(model, self.input_shape) * len(self.val[1])
        phase.append(evaluate(model, *self.val)["accuracy"])
        smooth = statistics.mean(phase[-window:])
        self.trajectory.append({"samples": self.samples, "macs": self.macs,
                                "eval_macs": self.eval_macs, "seconds": self.seconds(),
                                "val_accuracy": phase[-1], "smoothed": smooth})
        return smooth


def train_until(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, target: float,
                max_samples: int, config: IncrementalConfig, meter: Meter, seed: int) -> bool:
    """SGD (constant lr, momentum) on (x, y) until the validation accuracy, averaged over the
    last ``window`` checks of this phase, reaches ``target`` (checked first, then every
    ``check_every`` samples) or ``max_samples`` are seen; adds the cost to ``meter``; returns
    whether the target was reached."""
    phase: list[float] = []
    if meter.check(model, config.window, phase) >= target:
        return True
    device = next(model.parameters()).device
    # masks fixed: what trains is known now (the nonzero weights were counted, and the dense
    # copy of a pruned model, whose zeros all train, was charged the sparse model's MACs)
    per_sample = BACKWARD_FACTOR * masked.active_flops(model, meter.input_shape)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                          momentum=config.momentum, weight_decay=config.weight_decay,
                          nesterov=config.momentum > 0)
    gen = torch.Generator().manual_seed(seed)
    norms = batchnorm_layers(model)   # a batch of one sample: lone_sample_norms
    seen = since = 0
    model.train()
    while seen < max_samples:
        order = torch.randperm(len(y), generator=gen)
        for i in range(0, len(y), config.batch_size):
            idx = order[i:i + config.batch_size][:max_samples - seen]
            with lone_sample_norms(norms, len(idx)):
                loss = F.cross_entropy(model(x[idx].to(device)), y[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            meter.steps += 1
            seen, since = seen + len(idx), since + len(idx)
            meter.samples += len(idx)
            meter.train_macs += per_sample * len(idx)
            if since >= config.check_every or seen >= max_samples:
                since = 0
                if meter.check(model, config.window, phase) >= target:
                    return True
                model.train()
            if seen >= max_samples:
                break
    return False


def grows(config: IncrementalConfig) -> bool:
    """Whether ``config``'s update runs growth passes at all."""
    return bool(config.growth_rounds and config.growth_ratio and config.growth_batches)


def growth_pass(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor,
                config: IncrementalConfig, meter: Meter, seed: int) -> int:
    """Grow ``growth_ratio`` x active connections by |dL/dW| summed over ``growth_batches``
    batches of (x, y) (NeST Eq. 1); returns the number grown."""
    if config.growth_ratio == 0 or config.growth_batches == 0:
        return 0
    grads = masked.accumulate_gradients(model, x, y, batches=config.growth_batches,
                                        batch_size=config.batch_size, seed=seed)
    samples = config.growth_batches * min(config.batch_size, len(y))
    sparse = masked.active_flops(model, meter.input_shape)
    meter.growth_macs += (2 * sparse + count_flops(model, meter.input_shape)) * samples
    meter.samples += samples
    return masked.grow_connections(model, grads, config.growth_ratio)


def _masked_copy(model: torch.nn.Module, device) -> torch.nn.Module:
    """A copy whose zero weights are masked (a compacted checkpoint has zeros but no masks)."""
    model = copy.deepcopy(model).to(device)
    if not masked.masked_layers(model):
        masked.attach_masks(model, masked.nonzero_masks(model))
    return model


def dense_copy(model: torch.nn.Module, device) -> torch.nn.Module:
    """A copy without masks: every connection trainable (pruned ones start at 0).  Rebuilt
    from the spec: removing a parametrization from a deep copy would also strip the property
    from the class the copy shares with ``model``."""
    fresh = build(model.spec, model.input_shape, model.num_classes)
    state = {k: v for k, v in model.state_dict().items() if ".parametrizations." not in k}
    with torch.no_grad():
        for name, layer in prunable_layers(model):
            state[f"{name}.weight"] = layer.weight.detach().clone()
    fresh.load_state_dict(state)
    return fresh.to(device)


def held_out_accuracies(model, old: Dataset, new: Dataset, both: Dataset | None = None,
                        prefix: str = "test_accuracy") -> dict:
    """Test accuracy of ``model`` on old + new (``prefix``; ``both``: ``merge(old, new)``), on
    the old data alone (``prefix_old``: what the update forgot) and on the new data alone
    (``prefix_new``).  One set split into old and new has one test split: the three are its
    accuracy."""
    acc = lambda d: evaluate(model, d.x_test, d.y_test)["accuracy"]  # noqa: E731
    if shares_held_out(old, new):
        a = acc(new)
        return {prefix: a, f"{prefix}_old": a, f"{prefix}_new": a}
    return {prefix: acc(both if both is not None else merge(old, new)),
            f"{prefix}_old": acc(old), f"{prefix}_new": acc(new)}


def _summary(model, parts: tuple[Dataset, Dataset, Dataset], meter: Meter, reached: bool,
             **extra) -> dict:
    """``parts``: old, new, ``merge(old, new)``.  ``cost_macs``: all a method spent to the
    target, the sum of ``training_macs`` (its optimizer steps: 0 where it trained on no
    sample), ``growth_macs`` (growth passes) and ``eval_macs`` (validation checks; a method
    at the target from the start pays one); ``train_macs`` is ``cost_macs``'s old name, kept
    for JSON readers (it read as training cost: a method that trained on 0 samples reported
    its check's MACs there).  ``connections``: the model's nonzero weights, of its
    ``weights`` (every weight of its prunable layers, zero or masked; biases not counted in
    either): the dense copy a dense fine-tuning trains holds the pruned model's zeros until it
    trains, so on no sample it counted the sparse model's 403 of wine's 976, read as the
    dense model's size.  ``val_accuracy`` (the stopping rule's) and ``test_accuracy``
    of old + new, ``test_accuracy_old`` / ``_new`` of each."""
    both = parts[2]
    return {"reached": bool(reached), "cost_macs": int(meter.macs),
            "training_macs": int(meter.train_macs), "train_macs": int(meter.macs),
            "growth_macs": int(meter.growth_macs), "eval_macs": int(meter.eval_macs),
            "samples": int(meter.samples), "steps": int(meter.steps),
            "seconds": round(meter.seconds(), 3),
            "cpu_seconds": round(meter.cpu_seconds(), 3),
            "connections": masked.connections(model), "weights": weight_count(model),
            "forward_macs": masked.sparse_flops(model, both.input_shape),
            "val_accuracy": evaluate(model, both.x_val, both.y_val)["accuracy"],
            **held_out_accuracies(model, *parts), **extra}


def weight_count(model: torch.nn.Module) -> int:
    """Every weight of the prunable layers, zero or masked (biases not counted): the
    connections the architecture holds, as ``masked.connections`` counts the nonzero ones."""
    return sum(int(layer.weight.numel()) for _, layer in prunable_layers(model))


def cost_parts(summary: dict) -> dict:
    """A method's ``cost_macs`` and its parts (``_summary``), from a result of any version: a
    result kept from before they were given (a rerun reports its checkpoint's) holds the
    sum as ``train_macs``, beside ``growth_macs`` and ``eval_macs``."""
    cost = int(summary.get("cost_macs", summary["train_macs"]))
    growth, checks = int(summary["growth_macs"]), int(summary["eval_macs"])
    return {"cost_macs": cost, "training_macs": int(summary.get("training_macs",
                                                                cost - growth - checks)),
            "growth_macs": growth, "eval_macs": checks}


def _budget(both: Dataset, epochs: float, scale: float = 1.0) -> int:
    return _budget_of(len(both.y_train), epochs, scale)


def _budget_of(samples: int, epochs: float, scale: float = 1.0) -> int:
    """Training samples of ``epochs`` passes over ``samples``, scaled by ``scale``
    (``pass_scale``)."""
    return max(1, int(math.ceil(round(epochs * scale * samples, 6))))   # 10800.000001: 10800


def steps_of(budget: int, samples: int, batch_size: int) -> int:
    """Optimizer steps of ``train_until`` over ``budget`` training samples of a set of
    ``samples``: ``ceil(samples / batch_size)`` a pass (the last batch partial)."""
    passes, rest = divmod(budget, samples)
    return passes * math.ceil(samples / batch_size) + math.ceil(rest / batch_size)


def samples_for_steps(steps: int, samples: int, batch_size: int) -> int:
    """The training samples that ``steps`` optimizer steps of ``train_until`` see on a set of
    ``samples`` (each pass's last batch partial): ``steps_of``'s inverse, and one sample more
    is one step more."""
    passes, rest = divmod(steps, math.ceil(samples / batch_size))
    return passes * samples + rest * batch_size


def pass_scale(config: IncrementalConfig, samples: int) -> float:
    """The factor of every pass count (``plateau_epochs``, ``max_epochs``, ``round_epochs``)
    on a set of ``samples`` (old + new): 1 where ``max_epochs`` passes make at least
    ``min_steps`` optimizer steps, else the factor that makes them (iris's 108 samples: 20
    passes are 40 steps of 64)."""
    steps = steps_of(_budget_of(samples, config.max_epochs), samples, config.batch_size)
    if steps >= config.min_steps:
        return 1.0
    # max_epochs * scale passes: min_steps steps exactly (the other counts in proportion)
    scale = samples_for_steps(config.min_steps, samples, config.batch_size) / (
        config.max_epochs * samples)
    log.warning("incremental learning: %g passes over %d samples of old + new are %d "
                "optimizer steps of batch %d, fewer than min_steps %d: every pass count is "
                "scaled by %.3g (the dense plateau %.3g passes, the budget %.3g, a growth "
                "round %.3g)", config.max_epochs, samples, steps, config.batch_size,
                config.min_steps, scale, config.plateau_epochs * scale,
                config.max_epochs * scale, config.round_epochs * scale)
    return scale


def incremental_update(model: torch.nn.Module, old: Dataset, new: Dataset,
                       config: IncrementalConfig, target: float,
                       scale: float = 1.0) -> tuple[torch.nn.Module, dict]:
    """Steps 1-3 (module doc) on a masked copy of ``model`` until ``target`` validation
    accuracy; returns (updated model, summary with its cost).  ``scale`` multiplies the pass
    counts (``max_epochs``, ``round_epochs``): ``compare`` gives every method the same,
    ``pass_scale`` of old + new; a caller of this step alone gets the counts as given.
    The summary's ``growth_rounds`` counts the growth passes run (0 with growth off: it
    counted the rounds of training, so an update that grew nothing said 1 or 3 rounds),
    ``training_rounds`` the rounds of training (one per growth round, at least one)."""
    both = merge(old, new)
    device = pick_device(config.device)
    model = _masked_copy(model, device)
    start = masked.connections(model)
    x, y = replay_set(old, new, config.replay_ratio, config.seed)
    meter = Meter((both.x_val, both.y_val), both.input_shape)
    budget = _budget(both, config.max_epochs, scale)
    grown, rounds, passes, reached, trained = 0, 0, 0, False, 0
    while not reached and trained < budget and rounds < max(1, config.growth_rounds):
        rounds += 1     # grow, train; below the target after round_epochs: grow again
        if grows(config):
            grown += growth_pass(model, x, y, config, meter, config.seed + 1 + 100 * rounds)
            passes += 1
        last = rounds == max(1, config.growth_rounds)
        share = budget - trained if last else min(budget - trained, _budget_of(
            len(y), config.round_epochs, scale))
        before = meter.samples
        reached = train_until(model, x, y, target, share, config, meter,
                              config.seed + 2 + 100 * rounds)
        trained += meter.samples - before
    pruned = 0
    for step in range(config.prune_steps if reached else 0):
        keep = copy.deepcopy(model.state_dict())
        removed = masked.prune_connections(model, config.prune_fraction, config.criterion)
        if not train_until(model, x, y, target, budget, config, meter, config.seed + 3 + step):
            model.load_state_dict(keep)      # the masks are buffers: restored too
            break
        pruned += removed
    return model, _summary(model, (old, new, both), meter, reached, start_connections=start,
                           grown=grown, growth_rounds=passes, training_rounds=rounds,
                           pruned=pruned,
                           train_samples=len(y), pass_scale=scale)


def _plateau(trajectory: list[dict], margin: float) -> float:
    """Mean validation accuracy over the last half of the checks, minus ``margin``."""
    accs = [t["val_accuracy"] for t in trajectory]
    return statistics.mean(accs[len(accs) // 2:]) - margin


def other_class_count(model, what: str, old: Dataset, new: Dataset, both: Dataset) -> str:
    """The line refusing a ``model`` of another number of classes than the update's data: it
    said 'the model predicts 2 classes; the data has 3 (give a model of its classes)', naming
    neither the model's set nor the data (incremental --model of iris[0,1] with --old iris
    --new iris)."""
    from synth.config import short_repr
    own = (getattr(model, "checkpoint_info", None) or {}).get("dataset") or {}
    trained = f" (trained on {own['name']})" if own.get("name") else ""
    data = old.name if old.name == new.name else f"{old.name} and {new.name}"
    return (f"the {what}{trained} predicts {model.num_classes} classes; {data} "
            f"{'has' if old.name == new.name else 'have'} {both.num_classes} "
            f"{short_repr(list(both.class_names))}: give a model of those classes (nnsynth "
            f"continual adds classes to a model)")


def compare(model: torch.nn.Module, old: Dataset, new: Dataset, config: IncrementalConfig, *,
            dense_model: torch.nn.Module | None = None,
            methods: tuple[str, ...] = METHODS, checked: Callable[[], None] | None = None) -> dict:
    """Cost to the same validation accuracy on old + new (``merge``: both sets' validation
    samples when they are two sets) of: the grow-and-prune update of the
    sparse ``model``, fine-tuning the dense model (``dense_model``, e.g. the one trained on
    the old data before pruning; default: ``model`` with its masks removed), fine-tuning the
    sparse model with its masks fixed, and training from scratch (dense, of the dense model's
    architecture: ``dense_model``'s, else ``model``'s).

    Unless ``config.target`` is set, the dense fine-tuning first runs ``plateau_epochs``
    without stopping: its plateau minus ``target_margin`` is the target (``out["plateau"]``).
    Every row reports test accuracy on old + new, on old and on new (``held_out_accuracies``);
    ``out["held_out"]`` says whether old and new share one validation and test split and
    how many samples each holds.  Every pass count is scaled by ``out["pass_scale"]``
    (``pass_scale``: 1 unless ``max_epochs`` passes make fewer than ``min_steps`` steps);
    each row's ``steps`` are its optimizer steps.  ``checked``: called once the data and
    the models are checked, before anything trains (a caller's warning about a run that
    goes on: said before a refusal, it spoke of a run that never happened)."""
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise UserError(f"methods must be among {', '.join(METHODS)}, got {unknown[0]!r}")
    for m in (model, dense_model):
        if m is not None:
            refuse_fixed_point(m, "the incremental update and its baselines")
    both = merge(old, new)
    # the target is checked on validation and every method scored on test (a synthesized set
    # has neither: each accuracy was NaN, and NaN never reached the target)
    # two sets: the old one's too, or forgetting it goes unmeasured (one set split into old
    # and new shares its own)
    old.require(("train",) if shares_held_out(old, new) else ("train", "val", "test"),
                "incremental learning")
    new.require(("train", "val", "test"), "incremental learning")
    for what, m in (("model", model), ("dense model", dense_model)):
        if m is not None and int(m.num_classes) != int(both.num_classes):  # an IndexError
            raise UserError(other_class_count(m, what, old, new, both))        # in the loss
        check_model_classes(m, old, what)
    if checked is not None:
        checked()
    device = pick_device(config.device)
    val, parts = (both.x_val, both.y_val), (old, new, both)
    shared = shares_held_out(old, new)
    scale = pass_scale(config, len(both.y_train))
    out = {"held_out": {"shared": shared, "val": len(both.y_val), "test": len(both.y_test),
                        "test_old": len(old.y_test), "test_new": len(new.y_test)},
           "pass_scale": scale, "min_steps": config.min_steps,
           "before": _summary(_masked_copy(model, device), parts,
                              Meter(val, both.input_shape), True)}
    dense = dense_model if dense_model is not None else model
    out["before"].update(held_out_accuracies(dense, *parts, prefix="dense_test_accuracy"))
    target = config.target
    if not target:      # the dense fine-tuning's plateau, from a run of plateau_epochs
        tuned, meter = dense_copy(dense, device), Meter(val, both.input_shape)
        train_until(tuned, both.x_train, both.y_train, 2.0,   # 2.0: never stops early
                    _budget(both, config.plateau_epochs, scale), config, meter,
                    config.seed + 4)
        target = _plateau(meter.trajectory, config.target_margin)
        out["plateau"] = _summary(tuned, parts, meter, True,
                                  plateau_val_accuracy=target + config.target_margin)
    budget = _budget(both, config.max_epochs, scale)
    if "finetune" in methods:   # the same seed: the plateau run's start, stopped at the target
        tuned, meter = dense_copy(dense, device), Meter(val, both.input_shape)
        hit = train_until(tuned, both.x_train, both.y_train, target, budget, config, meter,
                          config.seed + 4)
        out["finetune"] = _summary(tuned, parts, meter, hit)
    out["target"] = target
    out["before"]["reached"] = out["before"]["val_accuracy"] >= target   # was always True
    updated = None
    if "incremental" in methods:
        # checked first, as every peer's train_until is: a sparse model already at the target
        # on old + new needs no update, and one check is its cost (it paid a growth pass
        # first: -15,000% against fine-tuning's one check on wine at target 0.9)
        update = (config.replace(growth_rounds=0, prune_steps=0) if out["before"]["reached"]
                  else config)
        updated, out["incremental"] = incremental_update(model, old, new, update, target,
                                                         scale)
    if "finetune_sparse" in methods:
        tuned, meter = _masked_copy(model, device), Meter(val, both.input_shape)
        hit = train_until(tuned, both.x_train, both.y_train, target, budget, config, meter,
                          config.seed + 5)
        out["finetune_sparse"] = _summary(tuned, parts, meter, hit)
    if "scratch" in methods:
        # the dense model's architecture, as the dense fine-tuning's: a compacted checkpoint's
        # spec is narrower than the dense model it was pruned from, so with --dense-model the
        # scratch row trained a smaller network than the one fine-tuned (wine: 941 weights
        # for 976), and the row depended on whether grow-prune compacted the checkpoint
        torch.manual_seed(config.seed)
        fresh = build(dense.spec, dense.input_shape, dense.num_classes).to(device)
        meter = Meter(val, both.input_shape)
        hit = train_until(fresh, both.x_train, both.y_train, target, budget, config, meter,
                          config.seed + 6)
        out["scratch"] = _summary(fresh, parts, meter, hit)
    if "incremental" in methods:   # a cost *to the target*: None where either missed it
        for peer in ("scratch", "finetune", "finetune_sparse"):   # (a spent budget is not
            if peer in out:                                       # the cost of reaching it)
                both_reached = out["incremental"]["reached"] and out[peer]["reached"]
                out[f"cost_reduction_vs_{peer}"] = (
                    1 - out["incremental"]["cost_macs"] / max(1, out[peer]["cost_macs"])
                    if both_reached else None)
    out["model"] = updated
    return out
