"""The Tune trial: build the candidate, train it (real data, or KD from a teacher on a
synthesized Parquet set), optionally refine it by a short grow-and-prune, price it on the
hwsim pool, save it, and report accuracy, parameters, FLOPs, latency and energy.

Runs in a Tune worker process: ``train_candidate(config, settings=...)`` with
``config = {"spec": "<JSON>"}`` from the searcher and ``settings`` (a ``SearchConfig``
dict plus ``out_dir``) bound by ``tune.with_parameters``.  In the data-free mode (teacher
and synthesized set) the selection metric ``accuracy`` is measured on the synthesized set's
held-out validation slice, so no real image steers the search; real validation and test
accuracy are recorded beside it for the report only.  Validation accuracy is reported
after every epoch (for ASHA) and once more at the end with ``trial_final`` set.  A trial
whose id is already in results.parquet (it finished just before a kill) reports the
stored row instead of training again.
"""
from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import torch

from search.results import read_results
from search.choices import DONE_KEY
from search.space import spec_key
from search.unfinished import TRIAL_ROLE, trial_checkpoint


# Ray Train's storage logs 'Checkpoint successfully created at: <Tune's directory>' at INFO
# in the trial's process for every report with a checkpoint; where the driver forwards worker
# logs (nnsynth run) it was a line per trial among the progress lines, naming Tune's files,
# not the trial's result (which search.run's progress line says)
TUNE_STORAGE_LOGGER = "ray.train"


def _report(metrics: dict, checkpoint_file: Path | None = None) -> None:
    """``tune.report``; with ``checkpoint_file`` the trial's model goes with it as a Tune
    checkpoint (persisted to the experiment's storage, local or a URI)."""
    from ray import tune
    logging.getLogger(TUNE_STORAGE_LOGGER).setLevel(logging.WARNING)
    if checkpoint_file is None:
        tune.report(metrics)
        return
    import shutil
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(checkpoint_file, Path(tmp) / "model.pt")
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))


# how a search's user prices a trial's model on SPRING (the dense-array note's remedy)
SPRING_REMEDY = "SPRING (nnsynth hwsim eval --spring)"


def _hardware_costs(spec: dict, model, data, settings: dict) -> dict:
    """Latency and energy from the hwsim pool's named actors; in-process (``hwsim.price_ops``
    of the traced ops) only when the search asked for no pool (``pool_shards == 0``).
    ``accel_note``: where the model has zero weights (a grown-and-pruned trial's cut
    connections, kept as zeros by the compaction), ``hwsim.dense_note``, the line ``nnsynth
    hwsim eval`` prints for it: the accelerator model is a dense array, so the figures are
    the dense architecture's (a search said 'latency 0.000378 ms' of a model of 99 weights,
    44 nonzero, without a word).  No SPRING price: these figures do not depend on the inputs
    ``extract`` runs on (its seeded random batch), which only SPRING's activation sparsity
    reads (``hwsim.spring``; ``nnsynth hwsim eval --spring`` measures that on the
    checkpoint's held-out samples): a digits mlp's latency and energy are the same on its
    test samples (h295).  Priced on the search's accelerator (``settings["accel"]``,
    ``SearchConfig.accel``): ``nnsynth hwsim eval --accel`` of the same file gives the same
    figures for the trial's checkpoint (h297)."""
    if not settings["hardware"]:
        return {"latency_ms": None, "energy_mj": None, "accel_note": None}
    import hwsim
    # the search's accelerator (SearchConfig.accel; a search begun before it: the default)
    accel = settings.get("accel") or None
    ops = hwsim.extract(model, data.input_shape)   # traced once: the note, and the price
    note = hwsim.dense_note(ops, SPRING_REMEDY)    # where no pool prices it
    if settings["pool_shards"] > 0:
        from cluster.hwsim_pool import get_pool
        pool = get_pool(num_shards=settings["pool_shards"], num_cpus=settings["pool_cpus"])
        price = pool.price_specs([spec], data.input_shape, data.num_classes, accel=accel)[0]
        if "error" in price:
            raise RuntimeError(f"hwsim pool could not price {json.dumps(spec)}: {price['error']}")
    else:
        price = hwsim.price_ops(ops, accel)   # = hwsim.price(model, data.input_shape, accel)
    return {"latency_ms": float(price["latency_ms"]), "energy_mj": float(price["energy_mj"]),
            "accel_note": note}


def real_data(dataset: str, seed: int, teacher: str | None = None, warn: bool = False):
    """The real set a search selects and scores its trials on: ``dataset`` split with
    ``seed``; with a ``teacher`` checkpoint, as ``nnsynth eval`` meets a set
    (``synth.checkpoint.in_model_scale``): a user's table's feature columns in the
    teacher's order by name (a --dataset of the teacher's columns in another order was
    refused, and other columns are named), its classes in the order of the teacher's
    outputs (a .ts file declaring 'down up' for a teacher of 'up down' had every label
    swapped, silently), and normalized with the teacher's training
    statistics.  The trials learn the teacher's logits on synthesized inputs in the
    teacher's normalization; a --dataset other than the teacher's training file (wine's
    rows of alcohol > 12.6, for a teacher of all of wine) was standardized by its own
    statistics, and the teacher itself scored 87% on the search's test split where eval
    printed 96%.  ``warn``: say in one line when ``dataset`` is the teacher's own set but
    not the data it was trained on (the search's driver asks; its trials do not)."""
    from synth.data import load_dataset
    return as_teacher_sees(load_dataset(dataset, seed=seed), teacher, warn)


def as_teacher_sees(data, teacher: str | None, warn: bool = False):
    """``real_data`` of ``data`` as ``load_dataset`` gave it."""
    if teacher:
        from synth.checkpoint import (in_model_columns, in_model_order, in_model_scale,
                                      read_checkpoint)
        payload = read_checkpoint(teacher)
        meta = payload.get("dataset") or {}
        if warn:   # the driver's load (every trial loads the set too): the teacher's own
            # file rewritten since it was trained puts its training rows in the search's
            # test split (synth.checkpoint.warn_if_changed, as eval says it)
            from synth.checkpoint import warn_if_changed
            warn_if_changed(meta, data, f"the teacher {teacher}")
        data = in_model_columns(data, meta, "the teacher")
        # shorter series left-padded to the teacher's steps, as eval pads them (padded_note)
        data = in_model_scale(in_model_order(data, meta.get("class_names")), meta,
                              payload.get("input_shape"))
    return data


def _training_inputs(settings: dict, data):
    """(loss_fn, train_xy, selection data, its teacher logits): cross-entropy on real data with the real
    validation split for selection, or KD from the teacher's logits on the synthesized set
    (Hinton et al. 2015; synth.distill.kd_loss) with the synthesized set itself (its
    validation slice) for selection and grow-and-prune's accuracy floor."""
    if not settings.get("teacher"):
        return None, None, data, None
    from synth.checkpoint import load_model, synthesized_for
    from synth.distill import kd_loss, teacher_logits
    teacher = load_model(settings["teacher"])   # its columns in the teacher's order, by name
    synthetic = synthesized_for(teacher, settings["data"], owner="teacher",
                                seed=settings["seed"])
    images = synthetic.x_train
    temperature = settings["kd_temperature"]
    loss_fn = lambda m, xb, tb: kd_loss(m(xb), tb, temperature)  # noqa: E731
    return (loss_fn, (images, teacher_logits(teacher, images)), synthetic,
            teacher_logits(teacher, synthetic.x_val))


def trial_epochs(settings: dict, train_inputs) -> int:
    """The epochs a trial trains on ``train_inputs``: ``settings["epochs"]``, raised so that
    they make at least ``settings["min_steps"]`` optimizer steps of ``train_batch_size``
    (``synth.train.epochs_for_steps``; a search begun before the floor has none: exactly
    its epochs).  3 epochs of iris were 6 steps (search.choices.SEARCH_MIN_STEPS)."""
    from synth.train import epochs_for_steps
    return epochs_for_steps(settings["epochs"], settings.get("min_steps", 0), len(train_inputs),
                            settings["train_batch_size"])


def grow_prune_schedule(settings: dict):
    """The schedule a trial of the search ``settings`` (``SearchConfig.to_dict()``) grows and
    prunes with: nnsynth grow-prune's recipe (``GrowPruneSchedule.recipe``, ``RECIPE``: 17
    LAMP steps of 20%, dead weights removed, a 60-step retraining floor, at most 0.5 pt of
    validation accuracy given up) under the fields its ``grow_prune`` sets, seeded by the
    search; the one recipe of nnsynth grow-prune and the pipeline's refine stage too
    (``deploy.stages.refine_schedule``).  Trials took GrowPruneSchedule's library values
    (10 steps, dead weights kept, no accuracy floor) but the retraining floor.
    ``SearchConfig.validate`` records the recipe's fields in the search's config, so a
    search begun before them resumes with the values it ran (``search.run.as_begun``)."""
    from synth.grow_prune import GrowPruneSchedule
    return GrowPruneSchedule.recipe(**{"seed": settings["seed"], "device": settings["device"],
                                       **settings["grow_prune"]})


def selection_loss(model, x, y) -> tuple[float | None, float | None]:
    """(mean cross-entropy of ``model`` on (``x``, ``y``), nats; its standard error over the
    rows, std / sqrt(n)): a trial's ``val_loss`` and ``val_loss_se`` on its selection inputs,
    which ``search.results.rank_trials`` breaks accuracy ties on.  (None, None) for no rows
    or a loss that is not finite (a diverged model)."""
    import torch.nn.functional as F
    from synth.modes import in_mode
    if len(y) == 0:
        return None, None
    losses = []
    with torch.no_grad(), in_mode(model, training=False):
        device = next(model.parameters()).device
        for i in range(0, len(y), 1024):
            losses.append(F.cross_entropy(model(x[i:i + 1024].to(device)),
                                          y[i:i + 1024].to(device), reduction="none")
                          .double().cpu())
    each = torch.cat(losses)
    mean = float(each.mean())
    if not math.isfinite(mean):
        return None, None
    se = float(each.std() / math.sqrt(len(each))) if len(each) > 1 else 0.0
    return mean, se


def train_candidate(config: dict, settings: dict) -> None:
    """The Tune function (see the module docstring)."""
    from ray import tune
    from cluster.connect import match_torch_threads
    from synth.checkpoint import save_checkpoint, trained_record
    from synth.masked import sparse_flops
    from synth.models import build, count_flops, count_parameters
    from synth.train import TrainConfig, TrainingDiverged, evaluate, fit

    match_torch_threads()
    start = time.perf_counter()
    trial_id = tune.get_context().get_trial_id()
    out_dir = Path(settings["out_dir"])
    done = read_results(out_dir / "results.parquet")
    done = done[done["trial_id"] == trial_id]
    if len(done):  # finished before a kill: never train it twice
        row = {k: v for k, v in done.iloc[0].to_dict().items() if v is not None}
        if row.get("stopped_early") in (True,):   # a NumPy bool too; None or NaN: no
            # stopped by ASHA before the kill: its row holds an epoch's accuracy, no model.
            # Replayed as final, the searcher took that epoch's figure for a trained result
            _report({**row, "epoch": row.get("epochs"), DONE_KEY: False, "replayed": True})
        else:
            _report({**row, DONE_KEY: True, "replayed": True})
        return
    spec = json.loads(config["spec"])
    from synth.data import load_dataset
    data = load_dataset(settings["dataset"], seed=settings["data_seed"])
    # what `nnsynth eval --model <trial>.pt` reloads: the set its record names, split with its
    # seed, as loaded (before a teacher's scaling), so eval can tell it was rewritten since
    loaded_digest = data.digest()
    data = as_teacher_sees(data, settings.get("teacher"))
    torch.manual_seed(settings["seed"])
    model = build(spec, data.input_shape, data.num_classes)
    loss_fn, train_xy, select, select_targets = _training_inputs(settings, data)
    epochs = trial_epochs(settings, train_xy[0] if train_xy is not None else data.y_train)
    train_cfg = TrainConfig(epochs=epochs, batch_size=settings["train_batch_size"],
                            lr=settings["lr"], seed=settings["seed"], device=settings["device"],
                            keep_best=False, validate_each_epoch=False, progress=False)

    asked = {"epochs_requested": settings["epochs"], "min_steps": settings.get("min_steps", 0)}

    def on_epoch_end(m, epoch):  # one report per epoch but the last: what ASHA compares
        if epoch + 1 < epochs:
            acc = evaluate(m, select.x_val, select.y_val)["accuracy"]
            # what the row of a trial ASHA stops here says of its training (the callback
            # writes this last report; its epochs: the epoch it reached)
            _report({"accuracy": acc, "epoch": epoch + 1, DONE_KEY: False, **asked})

    try:
        metrics = fit(model, data, train_cfg, loss_fn=loss_fn, on_epoch_end=on_epoch_end,
                      train_xy=train_xy, desc="trial")
    except TrainingDiverged as e:
        # a bad candidate at this lr, measured as it is (near chance), not a lost trial: Tune
        # would retry a raised error max_failures times, and the searcher would learn nothing
        metrics = {"val_accuracy": evaluate(model, data.x_val, data.y_val)["accuracy"],
                   "test_accuracy": evaluate(model, data.x_test, data.y_test)["accuracy"],
                   "device": str(next(model.parameters()).device),
                   "diverged_epoch": e.epoch + 1}   # counted from 1, as its message says
    if settings.get("grow_prune") is not None and "diverged_epoch" not in metrics:
        from synth.grow_prune import grow_and_prune
        schedule = grow_prune_schedule(settings)
        from synth.compact import compact_if_supported
        model, _ = grow_and_prune(model, select, schedule, loss_fn=loss_fn, train_xy=train_xy)
        # dense and smaller: what the hardware runs (a resnet stays masked)
        model = compact_if_supported(model.cpu().eval())
        metrics["val_accuracy"] = evaluate(model, data.x_val, data.y_val)["accuracy"]
        metrics["test_accuracy"] = evaluate(model, data.x_test, data.y_test)["accuracy"]
        metrics["grow_pruned"] = True
    model = model.cpu().eval()
    # one pass over the selection inputs: their accuracy, and the classes predicted there
    # (the tie-break's count, below)
    from synth.grow_prune import one_class_warning, predictions
    selected = predictions(model, select.x_val)
    selection_accuracy = (float((selected == select.y_val.cpu()).double().mean())
                          if len(selected) else float("nan"))   # as synth.train.evaluate
    # the cross-entropy on the same inputs, nats, and its standard error: what the tie-breaks
    # decide accuracy ties on (a tiny validation split ties most grown-and-pruned trials at 1.0)
    val_loss, val_loss_se = selection_loss(model, select.x_val, select.y_val)
    val_kd_loss = None
    if loss_fn is not None:  # data-free: how closely the student follows the teacher
        with torch.no_grad():
            val_kd_loss = float(loss_fn(model, select.x_val, select_targets))
    costs = _hardware_costs(model.spec, model, data, settings)
    # a model that predicts one class for every input: its accuracy is that class's share (a
    # convnet of 1x1 kernels at stride 2 read one pixel in four of digits' 8x8 and scored
    # 10.0%).  Counted on the selection inputs (those "accuracy" is measured on), which the
    # ranking reads to break ties (search.results.rank_trials); counted on the test inputs
    # for the report only (the summary's warning when the best is one, search.run.summarize)
    predicted = predictions(model, data.x_test)
    ckpt = trial_checkpoint(out_dir, trial_id)
    # "spec": what the searcher proposed; "model_spec": what was saved and measured (with
    # grow_prune the compacted, narrower model: a search said best [128, 128, 32] beside the
    # 14,116 parameters of the [117, 96, 22] it had pruned that to)
    result = {"trial_id": trial_id, "spec": config["spec"], "model_spec": spec_key(model.spec),
              "accuracy": selection_accuracy,
              "selected_on": "synthetic_val" if select is not data else "real_val",
              "real_val_accuracy": metrics["val_accuracy"], "val_kd_loss": val_kd_loss,
              "val_loss": val_loss, "val_loss_se": val_loss_se,
              "test_accuracy": metrics["test_accuracy"], "parameters": count_parameters(model),
              "nonzero_parameters": count_parameters(model, nonzero=True),
              "flops": count_flops(model, data.input_shape),
              "nonzero_flops": sparse_flops(model, data.input_shape), **costs,
              # the epochs trained: --epochs, raised to make min_steps on a small set
              "epochs": epochs, **asked,
              "stopped_early": False, "checkpoint": str(ckpt),
              "device": metrics["device"], "diverged_epoch": metrics.get("diverged_epoch"),
              "predicted_classes": len(torch.unique(predicted)),
              "selection_predicted_classes": len(torch.unique(selected)),
              # its zero weights are cut connections: the constraints read its nonzero counts
              # (search.feasibility.measured_figures)
              "grow_pruned": bool(metrics.get("grow_pruned")),
              "warning": one_class_warning(model, data, "test", predicted=predicted)}
    save_checkpoint(ckpt, model, dataset=trained_record(data, loaded_digest), metrics=result,
                    extra={"role": TRIAL_ROLE})
    result["wall_seconds"] = round(time.perf_counter() - start, 3)
    result["finished_at"] = time.time()
    _report({**result, DONE_KEY: True}, checkpoint_file=ckpt)
