"""DiabDeep (Yin, Dai & Jha 2019): two grown-and-pruned networks for raw sensor windows.

- **server DiabNN**: a sparsely connected feed-forward network on the flattened raw window
  (``mlp`` family), synthesized by NeST grow-and-prune: a sparse seed (``seed_density`` of
  the connections, ``seed_units`` of the hidden units live, ``seed_masks``), gradient-based
  connection growth (and neuron growth: dormant units of the seed activated as bridges, with
  ``seed_units`` < 1 and ``neuron_growth``; off by default, as it did not help at equal
  training budget: benchmarks/results/diabdeep.md, 2026-12-04), then magnitude pruning
  with retraining until validation accuracy would fall below the grown network's minus
  ``max_accuracy_drop``;
- **edge DiabNN**: one H-LSTM layer plus the output layer (``hlstm`` family,
  ``synth.models.hlstm``), grown and pruned the same way (dormant gate connections grow by
  their accumulated gradient, NeST Eq. 1; with neuron growth, dormant gate units of the
  seed become bridges from inputs to gate outputs, NeST Sec. 3.2).

Pruning stops at the first step whose retrained network falls below the accuracy floor
or whose validation cross-entropy rises more than ``max_loss_rise`` nats above the grown
network's (the validation split holds 7-76 windows here, so one window is 1.3-14 points of
accuracy; the loss moves smoothly); the step is undone.  The pruned network is then
retrained for ``final_epochs`` with its masks fixed, from which the best validation epoch
is kept if it beats the pruned network.  Every neural model of a run (DiabNNs and
baselines alike) trains on randomly time-shifted windows (``shift_augment``,
``synth.sequences.time_shift``): a window is one crop of a stream, and a network on the
flattened window has no shift invariance of its own.  The shift does not help every model
(it hurt the edge H-LSTM on Blink and every model on the aligned GunPoint series), so with
``shift_select`` each neural model is trained twice, with and without the shift, and the
variant with the lower validation cross-entropy (ties: higher validation accuracy) is
kept; the test split is never looked at.  Each row records the shift it kept
(``shift_augment``) and both variants' validation scores (``shift_variants``).

Both are compacted (``synth.compact``) and measured like the baselines a practitioner
would train on the same split (``BASELINES``): a dense MLP of the server's widths, dense
1- and 2-layer LSTMs and a dense H-LSTM of the edge width, and a random forest on the
flattened window.  Every row reports test accuracy, nonzero parameters, recurrent nonzero
weights, ``flops`` (multiply-accumulates per window of the architecture, every weight
counted, as ``nnsynth eval`` reports) and ``nonzero_flops`` (the MACs that touch a nonzero
weight; the forest has no MACs: both are null, and its ``comparisons`` per inference, which
``table`` shows in a note, are a key of their own), CPU latency
at batch 1 (best and median of repeats; through the model's ``infer`` where it has one,
the fused H-LSTM steps of ``synth.models.hlstm.hlstm_infer``) and, when a ``cost_fn`` is
passed (``hwsim.accel_cost`` from the CLI: synth does not import hwsim), the accelerator cost
(a dense array: for a model with zero weights its ``note``, kept as ``accel_note``).

Recurrent models read the window in frames of ``ceil(T / steps)`` raw samples per step
(``frame`` in the model spec), the same for every recurrent model of a run.  ``steps`` is
1 to T (more steps than samples is an error, not one sample per step without a word); when
T is not a multiple of the frame, the run takes ``ceil(T / frame)`` steps and says so.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import math
import statistics
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from synth import masked
from synth.choices import DIABDEEP_BASELINES, DIABDEEP_STEPS
from synth.compact import compact
from synth.config import (Config, check_batch_size, check_range, check_seed, short_repr,
                          value_error)
from synth.data import Dataset, load_dataset
from synth.errors import ConfigError, TooFewClasses, UserError
from synth.logs import join_warnings
from synth.grow_prune import GrowPruneSchedule, grow_and_prune, mark_final, one_class_warning
from synth.grow_prune import measure as history_row
from synth.models import build, count_flops, count_parameters, prunable_layers
from synth.sequences import time_shift
from synth.train import MAX_EPOCHS, TrainConfig, evaluate, fit

BASELINES = DIABDEEP_BASELINES
MAX_REPEATS = 10_000          # latency_repeats
MAX_TREES = 10_000            # forest_trees
log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class DiabDeepConfig(Config):
    dataset: str = "blink"
    seed: int = 0
    steps: int | None = None         # recurrent steps per window, 1..T: frame = ceil(T / steps);
                                     # None: DIABDEEP_STEPS, or T when the window is shorter
    server_hidden: tuple = (128, 64)  # server DiabNN / dense MLP widths
    edge_hidden: int = 64            # H-LSTM cell width (and the dense LSTMs' width)
    gate_hidden: int = 32            # H-LSTM gate hidden-layer width
    gate_dropout: float = 0.2
    epochs: int = 30                 # dense training of baselines, growth retraining
    lr: float = 3e-3                 # Adam
    batch_size: int = 32
    seed_density: float = 0.25       # NeST sparse seed
    seed_units: float = 1.0          # fraction of hidden units live in the seed (server: each
                                     # hidden layer; edge: each gate's hidden layer); the
                                     # others are dormant for neuron growth (seed_masks)
    growth_rounds: int = 2
    growth_ratio: float = 0.5
    neuron_growth: int = 0           # dormant units grown per growth round and bridge pair
                                     # (needs seed_units < 1).  Off: at equal budget, growing
                                     # units from a seed with dormant ones was no more accurate
                                     # than not growing them (benchmarks/results/diabdeep.md,
                                     # 2026-12-04); the 4 set before grew none (no dormant unit)
    growth_batches: int = 10         # mini-batches over which growth gradients are summed
    prune_steps: int = 12
    prune_fraction: float = 0.3
    retrain_epochs: int = 4
    max_accuracy_drop: float = 0.015  # pruning floor: grown val accuracy minus this
    max_loss_rise: float = 0.05      # pruning also stops when val cross-entropy rises more
                                     # than this (nats) above the grown network's; 0 = off
    final_epochs: int = 10           # retraining of the pruned network (masks fixed); kept
                                     # only if it does not lower validation (accuracy, -loss)
    shift_augment: float = 0.1       # every neural model trains on windows shifted by up to
                                     # this fraction of T (synth.sequences.time_shift); 0 = off
    shift_select: bool = False       # train every neural model with and without the shift
                                     # and keep the variant with the lower validation
                                     # cross-entropy (ties: higher validation accuracy)
    weight_decay: float = 0.0        # Adam L2, every neural model
    baselines: tuple = BASELINES
    latency_repeats: int = 30
    forest_trees: int = 300
    device: str = "cpu"

    def validate(self) -> None:
        check_seed("seed", self.seed)
        if self.steps is not None:
            check_range("steps", self.steps, 1, None, integer=True)
        if not isinstance(self.server_hidden, (list, tuple)) or not self.server_hidden or any(
                isinstance(h, bool) or not isinstance(h, int) or h < 1 for h in self.server_hidden):
            raise ConfigError(f"server_hidden must be a list of widths >= 1, got "
                              f"{short_repr(self.server_hidden)}")
        check_range("edge_hidden", self.edge_hidden, 1, None, integer=True)
        check_range("gate_hidden", self.gate_hidden, 1, None, integer=True)
        check_range("gate_dropout", self.gate_dropout, 0, 1, high_open=True)
        # bounded as TrainConfig.epochs is: 10**11 was refused only later, as a derived
        # retrain_epochs the user never typed
        check_range("epochs", self.epochs, 1, MAX_EPOCHS, integer=True)
        check_range("lr", self.lr, 0, 1, low_open=True)
        check_batch_size("batch_size", self.batch_size)
        # bounded: each is a loop (timed repeats, trees) that a JSON value of 10**12 ran for
        # days before any result (growth_batches: GrowPruneSchedule's bound, below)
        check_range("latency_repeats", self.latency_repeats, 1, MAX_REPEATS, integer=True)
        check_range("forest_trees", self.forest_trees, 1, MAX_TREES, integer=True)
        # the growth phase trains the sparse seed: without it pruning started untrained, and
        # 0 was refused as "growth_rounds and prune_steps are both 0" with prune_steps given
        check_range("growth_rounds", self.growth_rounds, 1, 1000, integer=True)
        check_range("final_epochs", self.final_epochs, 0, MAX_EPOCHS, integer=True)
        check_range("shift_augment", self.shift_augment, 0, 0.5)
        if not isinstance(self.shift_select, bool):   # "false" is a true string: it ran both
            raise ConfigError(f"shift_select must be true or false, got "
                              f"{short_repr(self.shift_select)}")
        check_range("weight_decay", self.weight_decay, 0, 1)
        # errors with fields: the CLI tells them by --baselines (its tuple of names)
        if not isinstance(self.baselines, (list, tuple)):
            raise value_error("baselines", self.baselines,
                              f"must be a list of names among {', '.join(BASELINES)}")
        unknown = [b for b in self.baselines if b not in BASELINES]
        if unknown:   # the first, in the order given
            raise value_error("baselines", unknown[0], f"must be among {', '.join(BASELINES)}",
                              field="baselines[]")
        twice = next((b for i, b in enumerate(self.baselines) if b in self.baselines[:i]), None)
        if twice is not None:   # trained once, its row reported twice
            raise value_error("baselines", self.baselines, "must name each baseline once",
                              got=f"{short_repr(twice)} twice")
        # the grow-and-prune fields are validated by GrowPruneSchedule (prune_steps 0: the
        # grown network is not pruned; the pruning fields are still checked)
        self.schedule("grow")
        (self.replace(prune_steps=1) if self.prune_steps == 0 else self).schedule("prune")

    def schedule(self, phase: str) -> GrowPruneSchedule:
        """The growth phase (sparse seed, growth, long retraining) or the pruning phase."""
        common = dict(lr=self.lr, optimizer="adam", batch_size=self.batch_size,
                      weight_decay=self.weight_decay, seed=self.seed, device=self.device,
                      criterion="magnitude")
        if phase == "grow":
            return GrowPruneSchedule(seed_density=self.seed_density, seed_units=self.seed_units,
                                     growth_rounds=self.growth_rounds,
                                     growth_ratio=self.growth_ratio,
                                     neuron_growth=self.neuron_growth, prune_steps=0,
                                     growth_batches=self.growth_batches,
                                     retrain_epochs=math.ceil(self.epochs / max(1, self.growth_rounds)),
                                     **common)
        return GrowPruneSchedule(prune_steps=self.prune_steps, prune_fraction=self.prune_fraction,
                                 retrain_epochs=self.retrain_epochs,
                                 max_accuracy_drop=self.max_accuracy_drop,
                                 max_loss_rise=self.max_loss_rise, **common)

    def loss_fn(self) -> Callable | None:
        """Training loss of every neural model of the run: cross-entropy on time-shifted
        windows (``shift_augment``), or plain cross-entropy (None) when it is 0."""
        if self.shift_augment <= 0:
            return None
        shift = self.shift_augment
        return lambda model, x, y: F.cross_entropy(model(time_shift(x, shift)), y)

    def train_config(self, progress: bool = False) -> TrainConfig:
        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                           optimizer="adam", weight_decay=self.weight_decay, seed=self.seed,
                           device=self.device, progress=progress)


def frame_for(data: Dataset, steps: int | None) -> int:
    """Raw samples per recurrent step, ``ceil(T / steps)``: ``steps`` in [1, T], or None for
    ``DIABDEEP_STEPS`` (T when the window is shorter).  A T that is not a multiple of the
    frame gives fewer steps than asked for, which is logged."""
    if not data.is_sequence:
        raise UserError(f"diabdeep needs a sequence data set (channels x steps); {data.name} "
                        f"has input shape {tuple(data.input_shape)}")
    length = data.input_shape[1]
    if steps is None:
        return math.ceil(length / min(DIABDEEP_STEPS, length))
    if steps > length:   # was read as one sample per step (T steps) without a word
        raise value_error("steps", steps, f"must be in [1, {length}] for {data.name} (its "
                          f"windows hold {length} samples)")
    frame = math.ceil(length / steps)
    warning = steps_warning(data, steps, frame)
    if warning:
        log.warning("%s", warning)
    return frame


def steps_warning(data: Dataset, steps: int | None, frame: int) -> str | None:
    """The line for ``steps`` that the window cannot take exactly (``frame_for`` logs it, the
    result gives it), else None."""
    length = data.input_shape[1]
    if steps is None or math.ceil(length / frame) == steps:
        return None
    return (f"steps {steps}: windows of {length} samples are read in "
            f"{math.ceil(length / frame)} steps of {frame} samples (a step is a whole number "
            f"of samples)")


def check_train_classes(data: Dataset) -> None:
    """Refuse, in one line, a set whose training split holds windows of fewer than 2
    classes: every network of the run learns one answer and scores that class's share.  A
    Parquet set whose metadata named 2 classes and whose labels were all of one ran to a
    table of 1.0000 accuracies (the .ts and CSV readers refuse one class as they read)."""
    held = sorted(set(data.y_train.tolist()))
    if len(held) < 2:
        from synth.files import printable
        names = ", ".join(repr(printable(str(data.class_names[c])))
                          for c in held if 0 <= c < len(data.class_names))
        raise TooFewClasses(f"diabdeep needs training windows of at least 2 classes; the train "
                            f"split of {printable(data.name)} holds {len(held)}"
                            f"{f' ({names})' if names else ''} of its {data.num_classes} "
                            f"classes", found=len(held))


def split_warnings(data: Dataset) -> list[str]:
    """The lines (logged) for the val and test splits that hold no window of a class the set
    has (``synth.workflows.split_lacks``): validation chooses every network of the run (the
    pruning floor and loss ceiling, the final retraining's best epoch, ``shift_select``) and
    test scores them, so a class a split lacks is judged or scored by none.  A user's .ts
    set of 40 and 3 series loaded its 4 validation windows all of one class: both DiabNNs
    were pruned against that class alone, without a word (``nnsynth train`` says it)."""
    from synth.workflows import split_lacks
    why = {"val": " (validation picks where pruning stops, the kept retraining and shift of "
                  "every network)", "test": ""}
    lines = [line + why[s] for s, line in ((s, split_lacks(data, s, data.name))
                                           for s in ("val", "test")) if line]
    for line in lines:
        log.warning("%s", line)
    return lines


def growth_warning(config: DiabDeepConfig) -> str | None:
    """The line for neuron growth that has no dormant unit to grow (``seed_units`` 1)."""
    if config.neuron_growth and config.seed_units >= 1.0:
        return (f"neuron_growth {config.neuron_growth} grows dormant hidden units and "
                f"seed_units 1 leaves none: no unit will grow (set seed_units < 1)")
    return None


def specs(config: DiabDeepConfig, frame: int) -> dict[str, dict]:
    """Model specs of the run: the two DiabNN starting points and the neural baselines."""
    h, m = config.edge_hidden, config.gate_hidden
    hl = {"family": "hlstm", "hidden": [h], "gate_hidden": m, "dropout": config.gate_dropout,
          "frame": frame}
    return {"server": {"family": "mlp", "hidden": list(config.server_hidden)},
            "edge": hl,
            "mlp": {"family": "mlp", "hidden": list(config.server_hidden)},
            "lstm1": {"family": "lstm", "hidden": [h], "frame": frame},
            "lstm2": {"family": "lstm", "hidden": [h, h], "frame": frame},
            "hlstm_dense": hl}


def recurrent_weights(model: torch.nn.Module) -> int:
    """Nonzero weights of the recurrent layers (gate matrices; the classifier excluded)."""
    with torch.no_grad():
        return sum(int((layer.weight != 0).sum()) for name, layer in prunable_layers(model)
                   if name.startswith("rnn."))


def cpu_latency_ms(fn: Callable[[], object], repeats: int) -> dict:
    """Best and median wall time of ``fn`` (batch-1 inference), milliseconds, and the torch
    thread count it was timed at (``latency_threads``)."""
    from synth.timing import wall_times_ms
    times = wall_times_ms(fn, repeats, warmup=1)
    return {"latency_ms": min(times), "latency_median_ms": statistics.median(times),
            "latency_threads": torch.get_num_threads()}


def mixed_threads(rows: list[dict]) -> str | None:
    """The warning (logged) when ``rows``' CPU latencies were timed at different torch thread
    counts, else None.  A run resumed with another ``--threads`` (or none) kept the rows of
    the interrupted one, timed at its count, beside rows timed at the new one, and the
    summary gave one ``threads``: the table compared 1-thread with 2-thread latencies
    without a word.  Rows kept before the count was recorded are passed over."""
    counts = {r["model"]: r["latency_threads"] for r in rows
              if r.get("latency_threads") is not None}
    if len(set(counts.values())) <= 1:
        return None
    line = (f"CPU latencies were timed at different torch thread counts ("
            f"{', '.join(f'{m} {t}' for m, t in counts.items())}): a resumed run keeps the "
            f"interrupted run's rows; resume with the same --threads, or rerun without the "
            f"resume state, to compare them")
    log.warning("%s", line)
    return line


def measure(name: str, model: torch.nn.Module, data: Dataset, config: DiabDeepConfig,
            cost_fn: Callable | None = None, **extra) -> dict:
    """One report row for a (compacted or dense) network."""
    model = model.cpu().eval()
    sample = data.x_test[:1]
    run = getattr(model, "infer", model)   # the deployment path (the fused H-LSTM steps)
    row = {"model": name, "spec": model.spec,
           "test_accuracy": evaluate(model, data.x_test, data.y_test)["accuracy"],
           "val_accuracy": evaluate(model, data.x_val, data.y_val)["accuracy"],
           "parameters": count_parameters(model),
           "nonzero_parameters": count_parameters(model, nonzero=True),
           "recurrent_weights": recurrent_weights(model),
           "flops": count_flops(model, data.input_shape),           # MACs, every weight
           "nonzero_flops": masked.sparse_flops(model, data.input_shape),  # nonzero only
           **cpu_latency_ms(lambda: run(sample), config.latency_repeats),
           "latency_path": "infer" if run is not model else "forward", **extra}
    if cost_fn is not None:
        cost = cost_fn(model)
        row.update(accel_latency_ms=float(cost["latency_ms"]),
                   accel_energy_mj=float(cost["energy_mj"]))
        if cost.get("note"):   # zero weights, multiplied by a dense array (hwsim.accel_cost)
            row["accel_note"] = cost["note"]
    return one_class(row, one_class_warning(model, data))


def one_class(row: dict, warning: str | None) -> dict:
    """``row`` with ``synth.grow_prune.one_class_warning``'s line (logged) where its model
    predicts one class for every test window: on gunpoint (2 classes, 20 test windows of
    each) a short run's edge DiabNN, LSTM-1 and dense H-LSTM all scored 0.5000, each
    predicting one class, and the table showed it as any other accuracy."""
    if warning:
        log.warning("%s: %s", row["model"], warning)   # as the table names it (unsaid)
        row["warning"] = warning
    return row


def seed_masks(model: torch.nn.Module, config: DiabDeepConfig) -> dict[str, torch.Tensor]:
    """The NeST seed of a DiabNN: each connection kept with probability ``seed_density``
    (``masked.random_masks``), and only ``seed_units`` of the hidden units of every bridge
    pair live; the others are dormant (no input, no output) for neuron growth to activate.

    The server MLP's pairs are its consecutive layers; an H-LSTM's are each gate's hidden
    layer -> output layer (``masked.dormant_pair_units``: a dormant gate unit loses its row
    in ``hid`` and its column in ``out``, and every gate output and live gate unit keeps at
    least one connection).  With ``seed_units`` 1 every unit of a seed has connections, so
    ``masked.dormant_units`` finds none and neuron growth grows nothing."""
    return masked.random_masks(model, config.seed_density, config.seed, config.seed_units)


def synthesize(kind: str, data: Dataset, config: DiabDeepConfig, frame: int,
               progress: bool = False) -> tuple[torch.nn.Module, list[dict]]:
    """Grow and prune the server (``kind="server"``) or edge DiabNN from its sparse seed
    (``seed_masks``); returns the compacted network and the grow-and-prune history (growth
    rows, then pruning rows)."""
    torch.manual_seed(config.seed)
    model = build(specs(config, frame)[kind], data.input_shape, data.num_classes)
    loss_fn = config.loss_fn()
    if growth_warning(config):
        log.warning("%s", growth_warning(config))
    masked.attach_masks(model, seed_masks(model, config))
    grow = config.schedule("grow").replace(seed_density=1.0, seed_units=1.0)  # seed attached
    model, history = grow_and_prune(model, data, grow, progress=progress, loss_fn=loss_fn)
    if config.prune_steps:   # 0: the grown network is kept unpruned
        model, pruned = grow_and_prune(model, data, config.schedule("prune"),
                                       progress=progress, loss_fn=loss_fn)
        # numbered after the growth rows, as SCANN joins its runs: the pruning call counts
        # from 1, so the report's history read 'grow 1, grow 2, prune 1, prune 2, finetune 3'
        offset = history[-1]["step"]
        history = history + [dict(r, step=r["step"] + offset) for r in pruned[1:]]
    if config.final_epochs:
        history.append(finetune(model, data, config, loss_fn, progress,
                                step=history[-1]["step"] + 1))
    mark_final(history)   # the row of the network returned, and no other
    return compact(model.cpu().eval()), history


def finetune(model: torch.nn.Module, data: Dataset, config: DiabDeepConfig, loss_fn,
             progress: bool = False, step: int = 0) -> dict:
    """Retrain the pruned network for ``final_epochs`` (its masks stay: pruned connections
    stay zero), restoring the best epoch by validation (accuracy, then loss); the result is
    kept only if it beats the pruned network itself on validation.  One history row."""
    def score():
        v = evaluate(model, data.x_val, data.y_val)
        return (v["accuracy"], -v["loss"])
    before, state = score(), copy.deepcopy(model.state_dict())
    fit(model, data, config.train_config(progress).replace(
        epochs=config.final_epochs, seed=config.seed + 7919), loss_fn=loss_fn, desc="finetune")
    kept = score() > before
    if not kept:
        model.load_state_dict(state)
    return history_row(model, data, step=step, phase="finetune", kept=kept)


def dense_baseline(name: str, data: Dataset, config: DiabDeepConfig, frame: int,
                   progress: bool = False) -> torch.nn.Module:
    torch.manual_seed(config.seed)
    model = build(specs(config, frame)[name], data.input_shape, data.num_classes)
    fit(model, data, config.train_config(progress), loss_fn=config.loss_fn(), desc=name)
    return model


def forest_row(data: Dataset, config: DiabDeepConfig) -> dict:
    """A random forest on the flattened normalized window (train + validation split)."""
    from sklearn.ensemble import RandomForestClassifier
    flat = lambda x: x.reshape(len(x), -1).numpy()  # noqa: E731
    x = np.concatenate([flat(data.x_train), flat(data.x_val)])
    y = np.concatenate([data.y_train.numpy(), data.y_val.numpy()])
    forest = RandomForestClassifier(n_estimators=config.forest_trees, random_state=config.seed,
                                    n_jobs=1).fit(x, y)
    sample = flat(data.x_test[:1])
    nodes = sum(t.tree_.node_count for t in forest.estimators_)
    # comparisons per inference: the mean root-to-leaf depth of the test windows, all trees
    depth = sum(float(t.decision_path(flat(data.x_test)).sum(1).mean()) - 1
                for t in forest.estimators_)
    predicted = torch.as_tensor(forest.predict(flat(data.x_test)))
    row = {"model": "forest", "spec": {"random_forest": config.forest_trees},
           "test_accuracy": float(forest.score(flat(data.x_test), data.y_test.numpy())),
           "val_accuracy": None, "parameters": nodes, "nonzero_parameters": nodes,
           # no MACs: its comparisons are not flops (they were, in the report's JSON, as
           # the table once showed them)
           "recurrent_weights": 0, "flops": None, "nonzero_flops": None,
           "comparisons": int(round(depth)),
           **cpu_latency_ms(lambda: forest.predict(sample), config.latency_repeats)}
    return one_class(row, one_class_warning(None, data, predicted=predicted))


def upgrade_row(row: dict) -> dict:
    """A report row as this version writes it (in place): a random forest's row of a report,
    resume state or benchmark cache written before its comparisons had their own key carried
    them in ``flops`` and ``nonzero_flops`` (as MACs); they move to ``comparisons`` and both
    flops become null.  Other rows are returned as they are."""
    if "random_forest" in (row.get("spec") or {}) and row.get("flops") is not None:
        row.setdefault("comparisons", row.get("nonzero_flops", row["flops"]))
        row["flops"] = row["nonzero_flops"] = None
    return row


def which_is_which(row: dict, result: dict) -> str | None:
    """The line saying what a DiabNN row is (the server's sparse feed-forward network, the
    edge's H-LSTM layer, the widths its grow-and-prune ended at), None for other rows: the
    table named them server_diabnn and edge_diabnn only, beside baselines of the same
    families.  Fields an older report lacks are left out."""
    spec, name = row.get("spec") or {}, row.get("model")
    hidden = spec.get("hidden")
    of = (f"; {row['nonzero_parameters']:,} of {row['parameters']:,} parameters nonzero"
          if row.get("parameters") and row.get("nonzero_parameters") is not None else "")
    if name == "server_diabnn" and spec.get("family") == "mlp":
        widths = f", hidden {'-'.join(map(str, hidden))}" if hidden else ""
        return (f"{name} = the server DiabNN: sparsely connected feed-forward layers (mlp"
                f"{widths}{of}) on the flattened window")
    if name == "edge_diabnn" and spec.get("family") == "hlstm":
        cells = f" of {hidden[0]} cell{'s' if hidden[0] != 1 else ''}" if hidden else ""
        gates = spec.get("gate_hidden")
        gates = gates[0] if isinstance(gates, list) and gates else gates
        gates = ([gates] * 4 if isinstance(gates, int) else gates) or []
        gated = (f"; gate hidden layers {', '.join(map(str, gates))} (i, f, g, o)"
                 if len(gates) == 4 else "")
        frame = result.get("frame")
        read = (f", reading the window in {result['steps']} step"
                f"{'s' if result['steps'] != 1 else ''} of {frame} "
                f"sample{'s' if frame != 1 else ''}" if result.get("steps") and frame else "")
        return f"{name} = the edge DiabNN: one H-LSTM layer{cells} (hlstm{gated}{of}){read}"
    return None


MAX_TITLE_CLASSES = 10   # class names the title line shows before "and N more"


def padding(data: Dataset) -> dict:
    """The report's record of a set of series of unequal length: ``padding`` (how, as the
    set's metadata says) and ``lengths`` (shortest and longest real length); {} for a set
    of equal lengths.  Every model of the run reads the padded window whole (no masking):
    the report of a japanesevowels run (7 to 29 steps) did not say so."""
    extra = data.extra or {}
    lengths = extra.get("lengths")
    if not (isinstance(lengths, (list, tuple)) and len(lengths) == 2
            and lengths[0] != lengths[1]):
        return {}
    return {"padding": str(extra.get("padding")), "lengths": [int(n) for n in lengths]}


def title(result: dict) -> str | None:
    """The line above the table naming what the rows were measured on: the data set, its
    input, classes (by name) and split, as the report records them (None for a result
    without its data set).  The table named no data set and no class: runs on several sets
    (or a rerun that returned a finished report) printed tables that could not be told
    apart, and ``--out``'s report named no class at all."""
    if not result.get("dataset"):
        return None
    from synth.files import printable
    parts = [f"diabdeep on {printable(str(result['dataset']))}"]
    shape = result.get("input_shape")
    if isinstance(shape, list) and len(shape) == 2:
        lengths = result.get("lengths")
        padded = (f"; series of {lengths[0]} to {lengths[1]} steps, left-padded"
                  if isinstance(lengths, list) and len(lengths) == 2
                  and lengths[0] != lengths[1] else "")
        parts.append(f"input {shape[0]} x {shape[1]} (channels x steps{padded})")
    names = result.get("class_names")
    if isinstance(names, list) and names:
        shown = ", ".join(printable(str(c))[:40] for c in names[:MAX_TITLE_CLASSES])
        more = (f" and {len(names) - MAX_TITLE_CLASSES} more"
                if len(names) > MAX_TITLE_CLASSES else "")
        parts.append(f"{len(names)} classes ({shown}{more})")
    split = result.get("split")
    if isinstance(split, list) and len(split) == 3:
        parts.append(f"train/val/test {split[0]}/{split[1]}/{split[2]} windows")
    if result.get("seed") is not None:
        parts.append(f"seed {result['seed']}")
    return ", ".join(parts)


def table(result: dict) -> str:
    """The report's rows as a fixed-width text table under its ``title`` (the data set,
    classes and split), then a line for each DiabNN saying what it is
    (``which_is_which``).  A random forest has no MACs (its ``flops`` are null): its
    ``comparisons`` (the "nz MACs" column once showed them as MACs)
    are shown in a note under the table, its MACs as "-"; so are a row's ``warning`` (one
    class predicted for every test window) and ``accel_note``, the cost function's word that
    a model with zero weights was priced as dense."""
    head = (f"{'model':<14}{'test acc':>9}{'nonzero':>10}{'recurrent':>10}{'nz MACs':>11}"
            f"{'CPU ms':>9}{'accel ms':>10}")
    lines = [line for line in (title(result), head) if line]
    notes = [line for line in (which_is_which(r, result) for r in result["rows"]) if line]
    for r in result["rows"]:
        acc = r.get("accel_latency_ms")
        forest = "random_forest" in (r.get("spec") or {})
        macs = "-" if forest or r.get("nonzero_flops") is None else format(r["nonzero_flops"],
                                                                            ",")
        if forest:
            compared = r.get("comparisons", r.get("nonzero_flops"))
            notes.append(f"{r['model']}: {compared:,} comparisons per window (mean "
                         f"root-to-leaf depth, summed over its trees), no MACs; 'nonzero' "
                         f"counts its tree nodes")
        lines.append(f"{r['model']:<14}{r['test_accuracy']:>9.4f}{r['nonzero_parameters']:>10,}"
                     f"{r['recurrent_weights']:>10,}{macs:>11}"
                     f"{r['latency_ms']:>9.3f}{'-' if acc is None else format(acc, '.4f'):>10}")
        if r.get("warning"):      # one class predicted for every test window
            notes.append(f"warning: {r['model']}: {r['warning']}")
        if r.get("accel_note"):   # a pruned model's accel ms are its dense architecture's
            notes.append(f"{r['model']}'s accel ms: {r['accel_note']}")
    return "\n".join(lines + notes)


def _is_report(path) -> bool:
    """True when ``path`` holds a report ``run_diabdeep`` wrote (a JSON object with its
    dataset and rows), read only when it is small enough to be one."""
    try:
        if path.stat().st_size > 64 << 20:
            return False
        from synth.files import read_json
        value = read_json(path)
    except ConfigError:   # a key given twice: said, not read as no report
        raise
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(value, dict) and {"dataset", "rows", "config"} <= set(value)


STATE_FORMAT = "nnsynth-diabdeep-state-1"


def run_diabdeep(config: DiabDeepConfig, cost_fn: Callable | None = None,
                 progress: bool = False, data: Dataset | None = None,
                 report: str | None = None) -> dict:
    """The DiabDeep flow on one split: both DiabNNs and the baselines, one row each.

    ``cost_fn(model) -> {"latency_ms", "energy_mj", ...}`` prices a model on the accelerator
    (batch 1); ``data`` (optional) is the already loaded split of ``config.dataset``;
    ``report`` (a path) receives the result as JSON, written atomically.  With a ``report``
    an interrupted run resumes: each finished row (model) is kept in ``<report>.resume``,
    and the same call with the same settings and data continues after the last one (its
    baselines may differ: the rows of the models both name are kept); the state is removed
    once the report is written.  The report records its run (``run_key``,
    ``synth.resume.run_stamp``): the same call again (the same settings, baselines and
    data) returns the report as written instead of training again, and says so."""
    if data is not None and data.name != config.dataset:
        raise UserError(f"data is {data.name!r} but the config names {config.dataset!r}")
    state = None
    if report:   # before any work: a file of the user's is never replaced by the report
        from synth.files import check_replaceable
        check_replaceable(report, "--out", _is_report, "a DiabDeep report")
        state = Path(f"{report}.resume")
        if (state.exists() or state.is_symlink()) and not state.is_file():
            # a folder there ended the run in an IsADirectoryError traceback when the first
            # model's row was kept, after its training (a file there is load_state's to judge)
            kind = ("a directory" if state.is_dir() else "a link to nothing"
                    if not state.exists() else "not a regular file")
            raise UserError(f"{state} is {kind}; --out {report} keeps the finished models in "
                            f"that file so that a rerun resumes: move it or choose another --out")
        from synth.files import remove_stale_temps_of
        for target in (report, state):   # a killed run's half-written report or state
            remove_stale_temps_of(target)
    data = data or load_dataset(config.dataset, seed=config.seed)
    stamp = None
    if report:   # a rerun of a finished report (the same settings, baselines and data)
        from synth.resume import claim_states, is_finished, result_settings, run_stamp
        from synth.checkpoint import trained_record
        # the rows' CPU latencies are timed at this process's torch threads (--threads): a
        # report timed at 1 was reported to a rerun at 4 as its own ('threads': 4 beside
        # rows of latency_threads 1); at another count the rows are timed again
        stamp = run_stamp("diabdeep", result_settings(config), cost_fn is not None,
                          trained_record(data), torch.get_num_threads())
        # the state this run saves records it (synth.resume.RUN) whether or not a report is
        # there yet: claimed only on a rerun of a written report, a run killed between
        # writing its report and removing its state left one recording none, which its own
        # rerun kept with a warning (h292)
        claim_states(report, stamp, {".resume": STATE_FORMAT})
        written = _is_report(Path(report)) and json.loads(Path(report).read_text())
        if written and is_finished(Path(report), written.get("run_key"), stamp, "DiabDeep run",
                                   {".resume": STATE_FORMAT}):
            return {**written, "report": str(report)}
    result = _run(config, cost_fn, progress, data, state)
    if report:
        from synth.files import write_json_atomic
        from synth.resume import remove_state
        result["run_key"] = stamp   # what a rerun reads (above)
        write_json_atomic(report, result)
        remove_state(state, STATE_FORMAT)
        result["report"] = str(report)
    return result


def select_shift(train: Callable[[DiabDeepConfig], tuple], data: Dataset,
                 config: DiabDeepConfig) -> tuple:
    """Train with ``config``'s shift and, when ``shift_select`` is on, also without it; keep
    the variant with the lower validation cross-entropy (ties: higher validation accuracy).
    ``train(config) -> (model, *extra)``; returns ``(model, *extra, record)`` where
    ``record`` says which shift was kept and both variants' validation scores.  Only the
    validation split is read."""
    shifts = [config.shift_augment]
    if config.shift_select and config.shift_augment > 0:
        shifts.append(0.0)
    best, variants = None, []
    for shift in shifts:
        out = train(config.replace(shift_augment=shift))
        v = evaluate(out[0], data.x_val, data.y_val)
        variants.append({"shift_augment": shift, "val_loss": v["loss"],
                         "val_accuracy": v["accuracy"]})
        key = (v["loss"], -v["accuracy"])
        if best is None or key < best[0]:
            best = (key, shift, out)
    record = {"shift_augment": best[1], "shift_variants": variants}
    return (*best[2], record)


def _run(config, cost_fn, progress, data, state=None) -> dict:
    # validation picks the networks and test scores them (a synthesized set has no test
    # split: every row's test accuracy was NaN and its latency timed on an empty batch)
    data.require(("train", "val", "test"), "diabdeep")
    frame = frame_for(data, config.steps)
    check_train_classes(data)
    names = [f"{kind}_diabnn" for kind in ("server", "edge")] + list(config.baselines)
    # every network of the run is sized (on the meta device) before the first trains: an
    # edge_hidden of 10^6 was refused only after the server DiabNN had trained (minutes on blink)
    run_specs = specs(config, frame)
    for name in names:
        if name != "forest":
            try:
                build(run_specs[name.removesuffix("_diabnn")], data.input_shape,
                      data.num_classes, meta=True)
            except UserError as e:   # which of the run's networks, as the report names it
                raise UserError(f"diabdeep's {name}: {e}") from None
    lacking = split_warnings(data)   # said before the first model trains (minutes)
    done = _Done(state, config, cost_fn is not None, data, names)

    def train(name: str) -> tuple[dict, list | None]:
        """One row (and, for a DiabNN, its grow-and-prune history)."""
        if name == "forest":
            return forest_row(data, config), None
        if name.endswith("_diabnn"):
            kind = name[:-len("_diabnn")]
            model, history, record = select_shift(
                lambda c: synthesize(kind, data, c, frame, progress), data, config)
            grown = [r for r in history if r["phase"] == "grow"]
            return measure(name, model, data, config, cost_fn,
                           grown_connections=grown[-1]["connections"] if grown else None,
                           grown_neurons=sum(r["grown_neurons"] for r in grown),
                           **record), history
        model, record = select_shift(
            lambda c: (dense_baseline(name, data, c, frame, progress),), data, config)
        return measure(name, model, data, config, cost_fn, **record), None

    for i, name in enumerate(names):
        if name in done.rows:
            continue
        log.info("diabdeep: %s (%d of %d)", name, i + 1, len(names))
        row, history = train(name)
        done.add(name, row, history)
    histories = {name[:-len("_diabnn")]: done.histories[name] for name in names[:2]}
    rows = [done.rows[name] for name in names]
    # every line logged on the way, for --json too (it had the mixed threads' alone)
    warning = join_warnings(steps_warning(data, config.steps, frame), growth_warning(config),
                            *lacking, mixed_threads(rows))
    return {**({"warning": warning} if warning else {}), "dataset": data.name,
            "class_names": [str(c) for c in data.class_names],
            **padding(data),
            "seed": config.seed, "split_seed": int(data.seed), "frame": frame,
            "steps": math.ceil(data.input_shape[1] / frame), "input_shape": list(data.input_shape),
            "split": [len(data.y_train), len(data.y_val), len(data.y_test)],
            "rows": rows, "histories": histories, "config": config.to_dict()}


class _Done:
    """The rows finished so far, kept in the state file ``path`` (None: not kept) after each
    one; a state of other settings or data is not continued (a fresh start replaces it).
    Rows are kept as the report's JSON has them (a resumed run's result is a fresh one's).

    The list of baselines is not one of those settings: a row depends on the others only
    (each model trains on its own), so a rerun that drops a slow baseline or adds one keeps
    the rows it shares with the interrupted run (it started over, the DiabNNs' training
    lost); rows of models this run does not name stay in the state, out of its report."""

    def __init__(self, path, config: DiabDeepConfig, priced: bool, data: Dataset,
                 names: list | None = None):
        from synth.resume import load_state, settings_key
        self.path = path
        settings = {k: v for k, v in config.to_dict().items()
                    if k not in ("device", "baselines")}
        self.key = settings_key(settings, priced, data.digest())
        saved = load_state(path, STATE_FORMAT, self.key, "DiabDeep") if path else None
        done = {"rows": {}, "histories": {}}
        if saved:   # the JSON text add() writes: rows and histories by model name
            from synth.resume import check_fields, restoring
            check_fields(saved, {"done": str}, path, "DiabDeep")
            from synth.files import load_json_text
            with restoring(path, "DiabDeep"):   # a key given twice: refused, as every JSON
                done = load_json_text(saved["done"])   # nnsynth reads back (it kept the last)
                check_fields(done, {"rows": dict, "histories": dict}, path, "DiabDeep")
                if not all(isinstance(r, dict) for r in done["rows"].values()):
                    raise ValueError("a row is not a mapping")
        # a state kept before the forest's comparisons left its flops: its rows as now
        self.rows = {k: upgrade_row(v) for k, v in done["rows"].items()}
        self.histories = done["histories"]
        kept = [n for n in (names if names is not None else self.rows) if n in self.rows]
        if kept:
            log.warning("resuming DiabDeep after %d finished rows (%s): %s", len(kept),
                        path, ", ".join(kept))

    def add(self, name: str, row: dict, history: list | None) -> None:
        self.rows[name] = _json(row)
        if history is not None:
            self.histories[name] = _json(history)
        if self.path:
            from synth.resume import save_state
            save_state(self.path, STATE_FORMAT, self.key, {"done": json.dumps(
                {"rows": self.rows, "histories": self.histories})})


def _json(value):
    """``value`` as the report's JSON gives it back (text: parsed)."""
    from synth.files import jsonable
    text = value if isinstance(value, str) else json.dumps(jsonable(value), default=str)
    return json.loads(text)
