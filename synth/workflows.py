"""Checkpoint-to-checkpoint workflows: what ``nnsynth train``, ``distill``, ``prune``,
``grow-prune`` and ``continual`` do, callable from Python, the pipeline and the benchmarks alike.

Each takes paths and configs, writes one checkpoint (``synth.checkpoint.save_checkpoint``)
and returns its metrics dict (with ``checkpoint``).  Trainings go through ``fit_fn``
(``synth.train.fit`` by default; ``cluster.train.ray_fit()`` runs them on Ray Train
workers), and a hardware cost comes in as ``cost_fn`` -- synth imports neither Ray nor hwsim.
Real data, when the checkpoint's data set loads here, is used for reporting only; where it
does not, the real-data figures are None and one warning line names the set
(``real_data_or_why``, ``no_real_data_warning``).
"""
from __future__ import annotations

import copy
import dataclasses
import logging
import os
import re
from pathlib import Path
from typing import Any, Callable

import torch

from synth.checkpoint import (check_outputs_on, checkpoint_dataset, checksum_bytes,
                              in_model_order, in_model_scale, load_model, names_checkpoint,
                              padded_note, recorded_split_seed, save_checkpoint, synthesized_for,
                              trained_record, warn_if_changed)
from synth.data import (Dataset, input_range, load_dataset,
                        split_class_list)
from synth.choices import PER_PIXEL_ITERATIONS
from synth.config import short_repr
from synth.errors import OutputsOverflow, TooFewClasses, UserError
from synth.logs import join_warnings
from synth.quant import refuse_fixed_point
from synth.resume import RUN_KEY
from synth.train import fit as local_fit

log = logging.getLogger(__name__)


def real_data_or_why(model, source: str) -> tuple[Dataset | None, str | None]:
    """(the data set recorded in the loaded checkpoint ``model``, None) when it loads here,
    else (None, why not: a line naming ``source``, the option that gave the checkpoint, and
    the set).  Split as recorded: its test split holds no training sample (issue 13 item 2)."""
    from synth.files import printable
    name = model.checkpoint_info["dataset"].get("name")
    if not name:
        return None, f"{source} records no data set"
    try:
        return checkpoint_dataset(model, source=source), None
    except OutputsOverflow:   # the model's fault, not the set's: no 'does not load here'
        raise
    except UserError as e:
        # the loader's own error where checkpoint_dataset wrapped it (its wording ends in
        # "give the set ... with --dataset", an option of nnsynth eval alone)
        inner = e.__context__ if isinstance(e.__context__, UserError) else e
        return None, f"{source}'s data set {printable(name)} does not load here ({inner})"


def no_real_data_warning(why: str, keys) -> str:
    """The one line a workflow logs when its model's real data set is not there (``why``,
    from ``real_data_or_why``): the real-data figures ``keys`` are None, not stand-ins
    measured on synthesized inputs (distill reported the student's agreement with the
    teacher on 7 synthesized inputs as its test_accuracy, and teacher_test_accuracy 1.0)."""
    return (f"{why}: no accuracy on real data is reported ({', '.join(keys[:-1])} and "
            f"{keys[-1]} are none)")


def _check_counts(**counts) -> None:
    """Counts given to a workflow, each within its bound before any work (None: the default):
    images inverted in this process, KD steps, KD epochs."""
    from synth.config import check_range
    from synth.distill import MAX_STEPS
    from synth.inversion import MAX_IMAGES_IN_MEMORY
    from synth.train import MAX_EPOCHS
    limits = {"num_images": (1, MAX_IMAGES_IN_MEMORY), "kd_steps": (0, MAX_STEPS),
              "kd_epochs": (0, MAX_EPOCHS)}
    for name, value in counts.items():
        if value is not None:
            check_range(name, value, *limits[name], integer=True)


def warn_one_class(model, data: Dataset | None, metrics: dict) -> None:
    """Log ``synth.grow_prune.one_class_warning`` for ``model`` on ``data``'s test split and
    add it to ``metrics['warning']`` (after a warning already there).  grow-prune and scann
    said it; train, prune and distill reported a model that predicts one class for every
    test sample (its test accuracy that class's share) without a word."""
    from synth.grow_prune import one_class_warning
    add_warning(metrics, one_class_warning(model, data) if data is not None else None)


def warn_split_classes(data: Dataset | None, metrics: dict, splits=("val", "test")) -> None:
    """Log ``split_lacks`` of each of ``data``'s ``splits`` that a result scores and add it to
    ``metrics['warning']``: nnsynth eval said it, but train reported the val and test
    accuracy of a CSV whose 2 rows of class 'c' both fell in the training split, over the
    other two classes, without a word (and chose its best epoch on them)."""
    for split in splits if data is not None else ():
        add_warning(metrics, split_lacks(data, split, data.name))


def add_warning(metrics: dict, line: str | None, *, said: bool = False) -> None:
    """Log ``line`` (when there is one; not when it was ``said`` already) and add it to
    ``metrics['warning']``, after a warning already there."""
    if line:
        if not said:
            log.warning("%s", line)
        metrics["warning"] = join_warnings(metrics.get("warning"), line)


def note_padding(metrics: dict, data: Dataset | None, name: str | None = None) -> None:
    """Put ``padded_note`` of ``data`` (called ``name``, default its own name) in
    ``metrics['note']`` where its series were left-padded to the model's steps
    (``checkpoint.in_model_scale``), as eval's result says it: distill and prune reported
    the figures of a teacher whose set holds shorter series without the note eval gave.
    A note there already (another set's: the real set and the --synth set, each padded)
    is kept, the two joined by '; '."""
    note = padded_note(data, name or data.name) if data is not None else None
    if note and note not in str(metrics.get("note") or ""):
        metrics["note"] = f"{metrics['note']}; {note}" if metrics.get("note") else note


def note_synth_padding(metrics: dict, found: Dataset | None, synth_dir) -> None:
    """``note_padding`` of the --synth set ``found`` (``synthesized_for``'s, read from
    ``synth_dir``; None: no set given): a user's Parquet of shorter series than its model's,
    left-padded to them, was said only in an info line, and no result (distill, prune,
    continual, a search's summary) said that its inputs were padded."""
    if found is not None:
        note_padding(metrics, found, f"--synth {synth_dir}")


def set_images(model, synth_dir: str | os.PathLike, *, seed: int, option: str = "--synth",
               notes: list | None = None):
    """(x, y, set): the images (train + val) of the synthesized Parquet set ``synth_dir``
    made for ``model`` (the warnings about it also appended to ``notes``)."""
    found = synthesized_for(model, synth_dir, option=option, owner="model", seed=seed,
                            notes=notes)
    return torch.cat([found.x_train, found.x_val]), torch.cat([found.y_train, found.y_val]), found


def teachers_faults_first(model, name: str, make: Callable[[], Any]) -> Any:
    """``make()``, for a teacher about to be inverted (``synth.inversion.synthesize`` checks
    it, ``name``d): where ``make`` fails before that, a fault of the teacher's own (no
    BatchNorm, ...; ``check_teacher``) is the error reported, else ``make``'s."""
    from synth.inversion import check_teacher
    try:
        return make()
    except UserError:
        check_teacher(model, name)
        raise


def given_inputs(teacher, of: str = "") -> str:
    """What a command takes with ``--synth DIR`` in place of inverting ``teacher`` when it
    cannot (no BatchNorm: ``check_teacher``'s ``instead``): a set inverted from another
    teacher of the same data, or for a teacher of feature vectors a table of one's own (a
    table's rows are feature vectors: images or sequences in one are refused by shape)."""
    own = "a Parquet table of your own inputs, or " if len(teacher.input_shape) == 1 else ""
    return (f"give inputs{of} with --synth DIR ({own}a set nnsynth invert made from a teacher "
            f"with BatchNorm of the same data)")


def teacher_inversion(model, *, iterations: int | None, device: str, name: str = "",
                      overrides: dict | None = None, per_pixel_default: int | None = None):
    """(value range, settings) of the teacher ``model`` inverted by prune (``inversion_settings``
    for its recorded normalization, a missing one named after ``name``), its faults as a
    teacher first (``teachers_faults_first``)."""
    def make():
        try:
            value_range = input_range(model.checkpoint_info["dataset"])
        except UserError as e:   # no normalization recorded (a checkpoint of the user's code)
            if not name:
                raise
            raise UserError(f"{name}: {e}") from None
        return value_range, inversion_settings(model, value_range, iterations=iterations,
                                               device=device, overrides=overrides,
                                               per_pixel_default=per_pixel_default)
    return teachers_faults_first(model, name, make)


def invert_here(model, inv, value_range, *, num_images: int, seed: int, progress: bool,
                name: str = "") -> tuple:
    """(x, y, summary): ``num_images`` class-balanced inputs of the teacher ``model`` by the
    method ``inv`` names (``synth.synthesis.synthesize_inputs``: per pixel, or a generator,
    as ``nnsynth invert`` makes them), and ``synthesis_summary`` of the run."""
    from synth.inversion import balanced_labels, teacher_class_names
    from synth.synthesis import synthesize_inputs
    result = synthesize_inputs(model, balanced_labels(num_images, model.num_classes), inv,
                               pixel_range=value_range, seed=seed, progress=progress, name=name)
    return result.images, result.labels, synthesis_summary(result.stats, inv,
                                                           teacher_class_names(model))


def synthesis_summary(stats: dict, inv, class_names=None) -> dict:
    """What an inversion run here reports in prune's and continual's results (``synthesis``):
    the ``method``, the per-batch cap ``iterations`` of the settings ``inv``, the generator's
    phases as that cap bounded them (``iteration_cap``: ``AmortizedConfig.iteration_report``,
    as ``nnsynth invert`` reports it; None per pixel, where ``iterations`` is the bound), the
    ``fidelity``, ``mean_iterations`` per batch (the generator's: its warm-up steps),
    ``seconds`` and the low-fidelity ``warning`` (None without one), and the generator's
    ``fallback`` to the other method (``synth.synthesis.method_fallback``; None where none
    ran: ``method`` is then the one whose inputs were kept), and ``class_fidelity``: the
    fidelity per target class of the set kept, by ``class_names`` (the teacher's;
    ``synth.inversion.class_fidelity``, as ``nnsynth invert`` reports it: which classes the
    data-free step could not make; empty where the stats count none).  Plain values: it is
    saved with the checkpoint's metrics."""
    from synth.inversion import class_fidelity
    fallback = stats.get("fallback")   # synth.synthesis.method_fallback: the method kept
    kept = {"per_pixel": "deepinversion", "generator": "amortized"}.get(
        (fallback or {}).get("kept"), inv.method)
    return {"method": kept, "iterations": inv.iterations,
            "iteration_cap": stats.get("iteration_cap"), "fidelity": stats.get("fidelity"),
            "mean_iterations": stats.get("mean_iterations"), "seconds": stats.get("seconds"),
            "warning": stats.get("warning"), "fallback": fallback,
            "class_fidelity": class_fidelity(stats.get("class_counts"), class_names)}


# prune's and continual's per-pixel iteration cap when none is given: PER_PIXEL_ITERATIONS
# (synth.choices, where the CLI's help reads it, with the measurement it comes from)


def inversion_settings(model, value_range, *, iterations: int | None, device: str,
                       overrides: dict | None = None, per_pixel_default: int | None = None):
    """The inversion settings of prune, continual and distill --data-free: ``settings_for``'s
    for the teacher within the cap ``iterations`` (None: none), its own phases and
    ``min_iterations`` bounded inside the cap as ``nnsynth invert``'s are, on ``device``;
    ``overrides`` (``InversionConfig`` fields: ``method``, the generator's ``amortized``
    mapping, ``iterations`` instead of the argument, ...) win over them.  Without a cap
    (neither given), ``per_pixel_default`` is the cap where the settings name per-pixel
    inversion (prune and continual: ``PER_PIXEL_ITERATIONS``); a generator keeps its own."""
    from synth.inversion import settings_for
    overrides = dict(overrides or {})
    if iterations is not None and "iterations" in overrides:   # was a TypeError
        raise UserError(f"give the inversion's iterations once: {iterations} and inversion "
                        f"overrides {short_repr({'iterations': overrides['iterations']})}")

    def settings(cap):
        return settings_for(model, value_range=value_range, device=device,
                            **({} if cap is None else {"iterations": cap}), **overrides)
    inv = settings(iterations)
    if (iterations is None and "iterations" not in overrides and per_pixel_default is not None
            and inv.method != "amortized"):
        inv = settings(per_pixel_default)
    return inv


def refuse_overrides(inversion: dict | None, inverts_here: bool) -> None:
    """Inversion overrides (``inversion``) only where a run inverts inputs here."""
    if inversion and not inverts_here:
        raise UserError(f"inversion overrides {short_repr(inversion)} apply to inputs inverted "
                        f"here; this run inverts none (a synthesized set is given, or none is "
                        f"needed): drop them")


SYNTHESIS_STATE = "nnsynth-synthesized-inputs-1"


def kept_synthesis(state: Path, model, settings: dict,
                   make: Callable[[], tuple]) -> tuple[tuple, dict | None]:
    """(tensors, summary) of ``make()`` (inputs synthesized here, and the run's
    ``synthesis_summary``), kept in the state file ``state`` until the caller's checkpoint is
    written and it calls ``drop_synthesis(state)``: a run interrupted after its synthesis (in
    the fine-tuning that follows, minutes) reads them back when rerun instead of inverting
    again, the summary then marked ``resumed`` (None from a state written before summaries
    were kept).  A state of another model file (``model`` as ``load_model`` gives it, named
    by its file's checksum) or of other ``settings`` is not used (a fresh synthesis replaces
    it); inversion is seeded, so the inputs read back are the ones a fresh synthesis would
    make."""
    from synth.resume import load_state, save_state, settings_key
    key = settings_key(settings, model.checkpoint_info["checksum"])
    saved = load_state(state, SYNTHESIS_STATE, key, "synthesis")
    if saved is not None:
        _check_kept(saved, model, state)
        tensors, summary = tuple(saved["tensors"]), saved.get("summary")
        log.warning("reusing the %d inputs synthesized before the interruption (%s)",
                    len(tensors[0]), state)
        return tensors, (None if summary is None else {**summary, "resumed": True})
    tensors, summary = make()
    tensors = tuple(tensors)
    save_state(state, SYNTHESIS_STATE, key, {"tensors": list(tensors), "summary": summary})
    return tensors, summary


def _check_kept(saved: dict, model, state: Path) -> None:
    """A kept synthesis holds what ``kept_synthesis`` writes: its inputs, finite, one per
    sample of ``model``'s input shape, then as many labels (where kept), and a summary."""
    import torch
    from synth.resume import check_fields
    check_fields(saved, {"tensors": list, "summary": (dict, type(None))}, state, "synthesis")
    tensors = saved["tensors"]
    shape = tuple(model.input_shape)
    problem = (
        "no inputs" if not tensors or not all(torch.is_tensor(t) for t in tensors)
        else f"inputs of shape {tuple(tensors[0].shape[1:])}, not the model's {shape}"
        if not tensors[0].is_floating_point() or tuple(tensors[0].shape[1:]) != shape
        else "inputs that are not finite" if not bool(torch.isfinite(tensors[0]).all())
        else "labels of another number than its inputs"
        if any(t.dim() == 0 or len(t) != len(tensors[0]) for t in tensors[1:]) else
        _summary_problem(saved["summary"]))
    if problem:
        raise UserError(f"{state} holds a synthesis state with {problem}: it is not one "
                        f"nnsynth wrote; move it away")


def _summary_problem(summary: dict | None) -> str:
    """What makes a kept synthesis's ``summary`` other than ``synthesis_summary``'s, in words
    ('' when nothing): it is the result's ``synthesis`` and the checkpoint's metrics as read
    back (a method of ['x'], a fidelity of 'high' or 1e30, a tensor were taken as they came)."""
    from synth.config import range_message
    from synth.files import plain_problem
    if summary is None:
        return ""
    problem = plain_problem(summary)
    if problem:
        return f"a summary holding {problem}"
    method, fidelity = summary.get("method"), summary.get("fidelity")
    if method is not None and not isinstance(method, str):   # (its name: deepinversion...)
        return f"a summary whose method is {short_repr(method, 40)}"
    if fidelity is not None and range_message("fidelity", fidelity, 0, 1) is not None:
        return f"a summary whose fidelity is {short_repr(fidelity, 40)}"
    return ""


def drop_synthesis(state: Path) -> None:
    """Remove ``kept_synthesis``'s state (only a file carrying its marker)."""
    from synth.resume import remove_state
    remove_state(state, SYNTHESIS_STATE)


def agreement_set(synthesized: Dataset, teacher, selects: bool = False) -> Dataset:
    """A copy of a synthesized set whose test split is its validation slice labelled by the
    teacher: accuracy on it is agreement with the teacher (the set itself is not changed).
    ``selects``: the training chooses its epoch on the validation split (``keep_best``):
    the slice is then dealt in two, every other input, the first share (rounded up) its
    validation split and the rest its test split, so the agreement reported is not measured
    on the inputs that chose the epoch (it was: the one slice was both splits)."""
    from synth.distill import teacher_logits
    x_val, y_val, x_test = synthesized.x_val, synthesized.y_val, synthesized.x_val
    if selects and len(x_val) >= 2:
        x_val, y_val, x_test = x_val[0::2], y_val[0::2], x_test[1::2]
    return dataclasses.replace(synthesized, x_val=x_val, y_val=y_val, x_test=x_test,
                               y_test=teacher_logits(teacher, x_test).argmax(1))


# --------------------------------------------------------------------------- reruns
def finished(out, stamp: dict, what: str, states: dict | None = None,
             extra: tuple = ()) -> dict | None:
    """The result a workflow returned when it wrote ``out``, where the run ``stamp`` names
    (``synth.resume.run_stamp``: the same command, settings and inputs) wrote it: a rerun of
    a finished train, distill, prune, grow-prune or continual reports it, as ``nnsynth
    invert`` does its written shards, where it trained everything again (``states``, ``what``:
    ``finished_run``'s).  ``extra``: the entries of the checkpoint's ``extra`` that the
    result carried too (grow-prune's history), as (result key, extra key).  None: run it."""
    from synth.resume import finished_run
    payload = finished_run(out, stamp, what, states)
    if payload is None:
        return None
    saved = payload.get("extra") or {}
    return {**payload.get("metrics", {}), "checkpoint": str(out),
            **{key: saved.get(name) for key, name in extra}}


# --------------------------------------------------------------------------- distill
def train_checkpoint(dataset: str, model_spec: Any, out, config, *,
                     quant=None) -> dict:
    """``nnsynth train``: ``model_spec`` built for ``dataset`` (split with ``config.seed``),
    trained (best validation epoch kept; fixed point with ``quant``, a
    ``synth.quant.QuantConfig``) and saved to ``out``.  Resumable in fp32: an interrupted
    run leaves its state in ``<out>.resume`` and the same command continues from there, to
    the model an uninterrupted run gives (the state file is removed once ``out`` is
    written)."""
    from synth.models import build, count_flops, count_parameters
    from synth.quant import FixedPointTraining, checkpoint_extra
    from synth.resume import result_settings, run_stamp
    from synth.train import STATE_FORMAT, remove_state
    data = load_dataset(dataset, seed=config.seed)
    torch.manual_seed(config.seed)
    model = build(model_spec, data.input_shape, data.num_classes)
    digest = data.digest()   # the resume key, and recorded: eval tells a rewritten file
    stamp = run_stamp("train", result_settings(config), model.spec,
                      # the set as the checkpoint records it: its digest leaves out a
                      # table's feature names, which eval matches columns by (a renamed
                      # column was reported as this run's, a model of the old names)
                      trained_record(data, digest),
                      quant.to_dict() if quant is not None else None)
    done = finished(out, stamp, "training", {".resume": STATE_FORMAT})
    if done is not None:
        return done
    fixed = FixedPointTraining(quant) if quant is not None else None
    if fixed is not None:
        fixed.attach(model)
    # fixed point does not resume: its stochastic rounding draws from generators of its own
    state = Path(f"{out}.resume") if quant is None else None
    metrics = local_fit(model, data, config, after_step=fixed.after_step if fixed else None,
                        state_path=state, state_key=digest)
    warn_split_classes(data, metrics)
    warn_one_class(model, data, metrics)   # in eval mode: rounded to nearest in fixed point
    if fixed is not None:
        # fit's validation and test ran in eval mode, rounded to nearest (as nnsynth eval
        # and the export run the checkpoint); "rounding" is the training's
        fixed.detach()                                 # the saved model holds no hooks
        metrics["fixed_point"] = {"format": quant.format, "bits": quant.bits,
                                  "rounding": quant.rounding, "scaling": quant.gradient_scaling}
    metrics.pop("history")
    metrics.update(parameters=count_parameters(model),
                   flops=count_flops(model, data.input_shape), dataset=data.name)
    save_checkpoint(out, model, dataset=trained_record(data, digest), metrics=metrics,
                    extra={"train_config": config.to_dict(), **checkpoint_extra(quant),
                           RUN_KEY: stamp})
    if state is not None:
        remove_state(state)
    return {**metrics, "checkpoint": str(out)}


def distill_checkpoint(teacher_path, student_spec, out, config, *,
                       synth_dir: str | os.PathLike | None = None, data_free: bool = False,
                       iterations: int | None = None, fit_fn: Callable = local_fit,
                       given: tuple = ()) -> dict:
    """KD of a new ``student_spec`` from the teacher checkpoint: on the synthesized set
    ``synth_dir`` (``synth.distill.distill``), or data-free by ADI rounds
    (``synth.distill.adi_distill``); saves the student to ``out``.  ``given``: the config
    fields the user set (a ``cutmix`` a teacher of feature vectors cannot use is refused)."""
    from synth.distill import adi_distill, distill
    from synth.models import build, count_parameters
    from synth.resume import result_settings, run_stamp, settings_key
    from synth.train import STATE_FORMAT as TRAIN_STATE, remove_state as remove_train_state
    if (synth_dir is None) == (not data_free):
        raise UserError("give exactly one of --synth DIR or --data-free")
    if iterations is not None and not data_free:
        raise UserError("--iterations bounds the inversion of --data-free; with --synth DIR the "
                        "set is already synthesized (drop --iterations)")
    teacher = load_model(teacher_path)
    refuse_fixed_point(teacher, "distillation (and inversion) from it")
    if "cutmix" in given and config.cutmix and len(teacher.input_shape) == 1:   # was ignored
        raise UserError(f"--cutmix pastes a box of an image or a segment of time of a "
                        f"sequence; the teacher takes feature vectors of shape "
                        f"{tuple(teacher.input_shape)}: drop --cutmix")
    meta = teacher.checkpoint_info["dataset"]
    torch.manual_seed(config.seed)
    student = build(student_spec, teacher.input_shape, teacher.num_classes)
    real, why = real_data_or_why(teacher, f"--teacher {teacher_path}")
    real_keys = ["val_accuracy", "test_accuracy", "teacher_test_accuracy"]
    notes, found = [], None   # the --synth set's warnings: said on stderr as it loads, and
    if not data_free:         # in the result's 'warning'
        found = synthesized_for(teacher, synth_dir, option="--synth", owner="teacher",
                                seed=config.seed, notes=notes)
    # a rerun of a finished distillation (the same teacher file, student, inputs, settings)
    stamp = run_stamp("distill", teacher.checkpoint_info["checksum"], student.spec,
                      *(trained_record(d) if d is not None else None for d in (found, real)),
                      result_settings(config),
                      iterations)
    done = finished(out, stamp, "distillation", {".resume": TRAIN_STATE})
    if done is not None:   # (the set's warnings, said again as it loaded, are in it)
        return done
    if data_free:   # inverted here: synthesize checks the teacher, named (its faults first
        name = f"--teacher {teacher_path}"   # where reading its settings fails before)
        from synth.inversion import check_batchnorm   # the rest where adi_distill inverts
        check_batchnorm(teacher, name, instead=f"drop --data-free and {given_inputs(teacher)}")

        def settings():
            value_range = input_range(meta)
            return value_range, inversion_settings(teacher, value_range, iterations=iterations,
                                                   device=config.device)
        value_range, inv = teachers_faults_first(teacher, name, settings)
        metrics = adi_distill(student, teacher, value_range, config, inv, data=real, name=name)
        if real is None:
            metrics.update(dict.fromkeys(real_keys))   # the keys as with real data: none
            log.warning(no_real_data_warning(why, real_keys))
    else:
        train_x = torch.cat([found.x_train, found.x_val])
        if real is None:  # report agreement with the teacher on the held-out slice (a
            # share of it where keep_best chooses the epoch on the rest)
            real, train_x = agreement_set(found, teacher, config.keep_best), found.x_train
        # resumable (``fit``'s state in <out>.resume until the student is written): a state
        # continues only with the same teacher file, student and inputs (its config, the
        # student's tensors and the number of inputs are fit's own part of the key)
        state = Path(f"{out}.resume")
        key = settings_key(teacher.checkpoint_info["checksum"], student_spec,
                           found.digest(), real.digest() if real is not None else None)
        metrics = distill(student, teacher, train_x, real, config, fit_fn=fit_fn,
                          state_path=state, state_key=key)
        metrics.pop("history", None)
        if why is not None:   # fit measured the agreement set: named as what it is
            held_out = len(real.x_test)
            metrics.update(dict.fromkeys(real_keys + ["test_loss"]),
                           synthetic_agreement=metrics["test_accuracy"])
            real = None
            log.warning(f"{no_real_data_warning(why, real_keys)}; synthetic_agreement is the "
                        f"student's agreement with the teacher on the {held_out} synthesized "
                        f"inputs held out from its training")
    metrics.update(parameters=count_parameters(student), evaluated_on=real.name if real else None)
    note_padding(metrics, real)
    note_synth_padding(metrics, None if data_free else found, synth_dir)   # its own inputs
    for line in notes if not data_free else ():
        add_warning(metrics, line, said=True)
    warn_split_classes(real, metrics)
    warn_one_class(student, real, metrics)
    save_checkpoint(out, student.cpu(), dataset=meta, metrics=metrics,
                    extra={"distill_config": config.to_dict(), "teacher": str(teacher_path),
                           RUN_KEY: stamp})
    if not data_free:
        remove_train_state(state)
    return {**metrics, "checkpoint": str(out)}


# --------------------------------------------------------------------------- prune
def prune_checkpoint(model_path, out, config, *, synth_dir=None, kd_steps: int | None = None,
                     kd_epochs: int | None = None, lr: float | None = None,
                     num_images: int | None = None, iterations: int | None = None,
                     inversion: dict | None = None, cost_fn: Callable | None = None,
                     fit_fn: Callable = local_fit) -> dict:
    """Data-free structured pruning (``synth.dfprune.prune`` with ``config``, a
    ``PruneConfig``) ranked on synthesized images, then KD fine-tuning from the original on
    the same images: ``kd_steps`` SGD steps (default ``synth.dfprune.KD_STEPS``, with
    jitter on images: ``synth.dfprune.finetune_kd``), or ``kd_epochs`` epochs through
    ``fit_fn`` when given (0: none); saves the pruned model to ``out``.  Without
    ``synth_dir``, ``num_images`` (default ``synth.dfprune.NUM_IMAGES``) are inverted here
    by the method the teacher's inversion settings name (``inversion_settings``, as
    ``nnsynth invert`` would: per pixel or a generator; ``inversion`` overrides them) within
    ``iterations`` per batch (None: ``PER_PIXEL_ITERATIONS`` per pixel, a generator's own
    phases); ``synthesis_method`` and ``synthesis`` (``synthesis_summary``) in the result say
    how."""
    from synth.dfprune import (KD_STEPS, NUM_IMAGES, finetune_kd, flops_cost, kd_defaults,
                               prunable_groups, prune)
    from synth.distill import DistillConfig, distill
    from synth.resume import result_settings, run_stamp
    from synth.train import evaluate
    if kd_steps is not None and kd_epochs is not None:
        raise UserError(f"give --kd-steps or --kd-epochs, not both (got {kd_steps} and "
                        f"{kd_epochs})")
    _check_counts(kd_steps=kd_steps, kd_epochs=kd_epochs, num_images=num_images)
    teacher = load_model(model_path)
    refuse_fixed_point(teacher, "structured pruning")   # before any image is synthesized
    prunable_groups(teacher)   # a family prune cannot take (lstm): before any image is too
    state = Path(f"{out}.resume")
    meta = teacher.checkpoint_info["dataset"]
    tuning = kd_epochs if kd_epochs is not None else (KD_STEPS if kd_steps is None else kd_steps)
    kd = None   # the fine-tuning's settings, checked (--lr) before images are synthesized
    if tuning > 0:
        kd = DistillConfig(**{**kd_defaults(teacher.input_shape),
                              **({} if lr is None else {"lr": lr})},
                           epochs=max(1, kd_epochs or 1), min_steps=0, seed=config.seed,
                           device=config.device, progress=config.progress)
    # reporting only (never training): the figures are none where the set does not load here
    real, why = real_data_or_why(teacher, f"--model {model_path}")
    if kd_epochs is not None and kd is not None and real is None and synth_dir is None:
        # fit reports on a data set each epoch (kd_steps' loop needs none): said before
        # any image is inverted (it was said after)
        raise UserError(f"--kd-epochs needs --synth DIR or a model whose data set loads here "
                        f"(its training reports on it): {why}; give --synth DIR, or "
                        f"--kd-steps instead")
    found, method, summary = None, None, None   # how the inputs were inverted here, if they were
    notes = []   # the --synth set's warnings: said as it loads, and in the result's 'warning'
    needs_images = config.importance != "magnitude" or tuning > 0
    refuse_overrides(inversion, synth_dir is None and needs_images)
    x = y = None   # (nothing needs images: none)
    if synth_dir is not None:
        x, y, found = set_images(teacher, synth_dir, seed=config.seed, notes=notes)
    # a rerun of a finished pruning (the same model file, settings and inputs) reports it
    stamp = run_stamp("prune", teacher.checkpoint_info["checksum"], result_settings(config),
                      kd_steps, kd_epochs, lr, num_images, iterations, inversion,
                      *(trained_record(d) if d is not None else None for d in (found, real)),
                      cost_fn and f"{cost_fn.__module__}.{cost_fn.__qualname__}")   # by name
    done = finished(out, stamp, "pruning", {".resume": SYNTHESIS_STATE})
    if done is not None:
        return done
    if synth_dir is None and needs_images:
        # inverted here, as nnsynth invert would (per pixel or a generator); kept until
        name = f"--model {model_path}"   # the checkpoint is written
        from synth.inversion import check_batchnorm   # the rest where it is inverted
        none = ("--kd-epochs 0" if kd_epochs is not None else "--kd-steps 0") if tuning else ""
        if config.importance != "magnitude":
            none = f"--importance magnitude {none}".strip()
        check_batchnorm(teacher, name, instead=f"prune without inputs ({none}), or "
                                             f"{given_inputs(teacher)}")
        value_range, inv = teacher_inversion(teacher, iterations=iterations,
                                             device=config.device, name=name,
                                             overrides=inversion,
                                             per_pixel_default=PER_PIXEL_ITERATIONS)
        method, count = inv.method, num_images or NUM_IMAGES

        def make():
            x, y, made = invert_here(teacher, inv, value_range, num_images=count,
                                     seed=config.seed, progress=config.progress, name=name)
            return (x, y), made
        (x, y), summary = kept_synthesis(   # keyed by the cap applied (as before: 200 per
            state, teacher, {"num_images": count, "iterations": inv.iterations,   # pixel)
                             "seed": config.seed, "settings": inv.to_dict()}, make)
        method = (summary or {}).get("method", method)   # per pixel where the generator fell back
    result = prune(teacher, x, y, config, cost_fn or flops_cost)
    metrics = result.summary()
    real_keys = ["teacher_test_accuracy", "pruned_test_accuracy"]
    if real is not None:
        metrics["teacher_test_accuracy"] = evaluate(teacher, real.x_test, real.y_test)["accuracy"]
        metrics["pruned_test_accuracy"] = evaluate(result.model, real.x_test,
                                                   real.y_test)["accuracy"]
    else:
        metrics.update(dict.fromkeys(real_keys))   # the keys as with real data: none
    if kd is not None:
        if kd_epochs is not None:   # fit reports on the synthesized set where real is None
            ft = distill(result.model, teacher, x, real if real is not None else found, kd,
                         fit_fn=fit_fn)
            metrics["kd_train_seconds"] = ft["train_seconds"]
        else:
            metrics["kd_train_seconds"] = finetune_kd(result.model, teacher, x, kd, tuning)
            metrics["kd_steps"] = tuning
        real_keys.append("finetuned_test_accuracy")
        metrics["finetuned_test_accuracy"] = (None if real is None else evaluate(
            result.model, real.x_test, real.y_test)["accuracy"])
        metrics.update(result.nonzero_after())   # the saved (fine-tuned) model's counts
    if real is None:
        log.warning(no_real_data_warning(why, real_keys))
    for line in notes:
        add_warning(metrics, line, said=True)
    warn_split_classes(real, metrics, ("test",))
    warn_one_class(result.model, real, metrics)   # the saved (fine-tuned) model
    note_padding(metrics, real)
    note_synth_padding(metrics, found, synth_dir)   # None where it was inverted here
    metrics["importance"] = config.importance   # ratio: removed; requested_ratio: asked
    from synth.synthesis import input_counts   # rows and series are counted too
    input_counts(metrics, synthesized_images=0 if x is None else len(x))
    metrics.update(synthesis_method=method, synthesis=summary)
    save_checkpoint(out, result.model.cpu(), dataset=meta, metrics=metrics,
                    extra={"prune_config": config.to_dict(), "source": str(model_path),
                           RUN_KEY: stamp})
    drop_synthesis(state)
    return {**metrics, "checkpoint": str(out)}


# --------------------------------------------------------------------------- grow-prune
DEFAULT_SHIFT = 2   # px, grow-prune's KD retraining on image data (benchmarks/grow_prune.py)


def _dense_start(model, data: Dataset, connections: int) -> tuple[int, float] | None:
    """(connections, test accuracy) of the dense model a loaded grow-prune checkpoint
    ``model`` was pruned from, as its metrics record them, when it is grown and pruned again
    on the set and split it was (``trained_on``) and holds fewer ``connections`` now; else
    None.  Its own nonzero weights were reported as 'dense_connections' (2,214 of an
    H-LSTM pruned from 4,384), and 'reduction' and 'dense_test_accuracy' compared with the
    pruned start, not the dense one."""
    metrics = (getattr(model, "checkpoint_info", None) or {}).get("metrics") or {}
    count, accuracy = metrics.get("dense_connections"), metrics.get("dense_test_accuracy")
    if (isinstance(count, bool) or not isinstance(count, int) or not connections < count
            or isinstance(accuracy, bool) or not isinstance(accuracy, (int, float))
            or not 0 <= accuracy <= 1 or not trained_on(model, data)):
        return None
    return count, float(accuracy)


def refuse_language_model(family: str, what: str, command: str, does: str) -> None:
    """One line for a language model (family ``lm``) given to a command of classifiers
    (``does``: what the command does to them), before any data set loads: incremental was
    told its own text set is 'for a language model' (use it with one), continual that
    DeepInversion needs BatchNorm or that a table has another input shape."""
    if family == "lm":
        raise UserError(f"{what} is a language model (family 'lm'): nnsynth {command} "
                        f"{does}; nnsynth symbiotic prunes a language model's gates "
                        f"(--sparsities) by the platform's latency")


def grow_prune_checkpoint(dataset: str, model_spec: Any, out, schedule, *, epochs: int = 15,
                          min_steps: int = 0, distill: bool = True, shift: int | None = None,
                          compact: bool = True, progress: bool = True,
                          fit_fn: Callable = local_fit, threads: int | None = None) -> dict:
    """Grow and prune (``synth.grow_prune.grow_and_prune``) a checkpoint, or a spec trained
    densely here for ``epochs`` (raised to make at least ``min_steps`` optimizer steps, as
    ``nnsynth train``'s; the result's ``epochs``, ``epochs_requested`` and ``min_steps`` say
    so), on ``dataset``; retrain by KD from the dense start
    (``distill``; T 2, half the weight on the labels) on inputs shifted by up to ``shift``
    pixels (None: 2 px for images, 0 for feature vectors); saves the compacted (or masked)
    model to ``out``.  ``connections``, ``reduction`` (dense start's connections over them),
    ``nonzero_parameters`` and the MACs are the saved model's; ``reduction`` and
    ``dense_test_accuracy`` compare with the dense start (before any sparse seed; of a
    checkpoint grow-prune pruned before, the dense model it started from, ``_dense_start``).  Returns
    the result with the per-step ``history`` (the masked model's counts).  Resumable:
    an interrupted run leaves its state in ``<out>.resume`` (and the dense training's in
    ``<out>.dense.resume``: ``fit_fn`` takes ``fit``'s ``state_path``, as ``ray_fit``'s does); the same call continues
    from there to the checkpoint an uninterrupted run gives, and removes them once ``out``
    is written.  ``threads``: the torch thread count the caller runs this at (``nnsynth
    grow-prune --threads``), recorded in the result and the checkpoint's metrics, so a rerun
    that reports the finished result gives the count its run used, not its own; not part of
    the run's stamp (a rerun at another count reports the result).  A checkpoint saved
    before it was recorded, or by a caller giving none, reports none."""
    from synth import masked
    from synth.compact import compact as make_compact
    from synth.grow_prune import (check_state, floor_warning, grow_and_prune, idle_steps,
                                  kept_steps, one_class_warning, pruning_start,
                                  remove_state, reverted_steps)
    from synth.models import build, count_flops, count_parameters
    from synth.grow_prune import STATE_FORMAT as GROW_PRUNE_STATE
    from synth.resume import result_settings, run_stamp, settings_key
    from synth.train import (STATE_FORMAT as TRAIN_STATE, TrainConfig, epochs_for_steps,
                             evaluate, remove_state as remove_train_state)
    if shift and not distill:
        raise UserError("--shift needs --distill (the shifted images are labelled by the teacher)")
    model = None
    split_seed = schedule.seed
    from_checkpoint = names_checkpoint(model_spec)
    if from_checkpoint:   # its own set keeps its recorded split (another
        model = load_model(model_spec, device="cpu").train()   # split's test samples were
        # its training ones: the accuracies were inflated)
        refuse_fixed_point(model, "grow-and-prune")
        split_seed = recorded_split_seed(model.checkpoint_info["dataset"], dataset,
                                         source=f"checkpoint {model_spec}",
                                         default=schedule.seed)
    from synth.models import resolve_spec
    family = model.spec["family"] if model is not None else resolve_spec(model_spec)["family"]
    # it said 'compaction supports ...' then, --no-compact, that its own text set is 'for a
    # language model'
    refuse_language_model(family, 'checkpoint ' + str(model_spec) if from_checkpoint
                          else 'the model', "grow-prune", "grows and prunes classifiers")
    data = load_dataset(dataset, seed=split_seed)
    if model is None:   # a family that cannot take the set's inputs is told so first: a
        # resnet on a table was told to pass --no-compact, and then that it takes images
        from synth.models import check_input_rank
        check_input_rank(family, tuple(data.input_shape))
    if compact:   # a resnet ran its dense training and every step, then failed to compact
        from synth.compact import check_compactable
        check_compactable(family, "; pass --no-compact to save the masked model")
    digest = data.digest()   # of the set as loaded: recorded (eval tells a rewritten file)
    warning = None
    if model is not None:   # met as eval meets it (checkpoint.in_model_scale: shorter series
        # left-padded, scaled as its training set was), its classes in its outputs' order
        meta = model.checkpoint_info["dataset"]
        warn_if_changed(meta, data, f"checkpoint {model_spec}")
        data = in_model_order(in_model_scale(data, meta, tuple(model.input_shape)),
                              meta.get("class_names"))
        check_outputs_on(model, data, f"checkpoint {model_spec}")   # trained on: finite
        warning = _other_classes(model, data, dataset, model_spec)
    if shift is None:  # the measured recipe shifts digit images by <= 2 px
        shift = DEFAULT_SHIFT if distill and len(data.input_shape) == 3 else 0
    if shift and len(data.input_shape) != 3:
        raise UserError(f"--shift needs image data (C, H, W); {dataset} has input shape "
                        f"{tuple(data.input_shape)}")
    from synth.config import check_range
    from synth.distill import MAX_SHIFT
    check_range("shift", shift, 0, MAX_SHIFT, integer=True)   # 10^9 px ran without a word
    torch.manual_seed(schedule.seed)
    # resumable: <out>.dense.resume and <out>.resume hold the dense training's and the grow-prune
    # loop's state until the checkpoint is written (the dense one when it trains here)
    dense_state, state = Path(f"{out}.dense.resume"), Path(f"{out}.resume")
    check_state(state)   # a state it cannot use is refused now, not after the dense training
    source = (checksum_bytes(Path(model_spec).read_bytes()) if from_checkpoint
              else model_spec)
    # a rerun of a finished grow-prune (the same start, data, dense training, schedule, KD)
    stamp = run_stamp("grow-prune", trained_record(data, digest), source, epochs, min_steps,
                      distill, shift, compact, result_settings(schedule))
    done = finished(out, stamp, "grow-and-prune", {".resume": GROW_PRUNE_STATE,
                                                   ".dense.resume": TRAIN_STATE},
                    extra=(("history", "grow_prune_history"),))
    if done is not None:
        return done
    # a retraining floor past the epoch limit: refused before the dense training (it was
    # found as the first step began, after it)
    schedule.retrain_epochs_for(len(data.y_train))
    dense = {}   # the dense training's epochs, where it runs here
    if model is None:
        model = build(model_spec, data.input_shape, data.num_classes)
        config = TrainConfig(epochs=epochs, min_steps=min_steps, seed=schedule.seed,
                             device=schedule.device, progress=progress)
        # 15 epochs of iris' 108 training inputs were 60 steps: the dense start scored 0.80
        # on test, and every pruning step was measured against that (train's --min-steps)
        ran = epochs_for_steps(epochs, min_steps, len(data.y_train), config.batch_size)
        dense = {"epochs": ran, **({"epochs_requested": epochs, "min_steps": min_steps}
                                   if min_steps else {})}
        fit_fn(model, data, config, desc="dense",
               state_path=dense_state, state_key=digest)   # data as loaded: not scaled
    if tuple(model.input_shape) != tuple(data.input_shape):
        raise UserError(f"model expects input {tuple(model.input_shape)}, data set {dataset} "
                        f"has {tuple(data.input_shape)}")
    dense_connections = masked.connections(model)
    dense_accuracy = evaluate(model, data.x_test, data.y_test)["accuracy"]
    dense_from = _dense_start(model, data, dense_connections) if from_checkpoint \
        else None
    if dense_from is not None:   # a pruned checkpoint: compared with its own dense start
        dense_connections, dense_accuracy = dense_from
    loss_fn = None
    if distill:
        from synth.device import pick_device
        from synth.distill import live_kd_fn
        teacher = copy.deepcopy(model).to(pick_device(schedule.device))
        loss_fn = live_kd_fn(teacher, temperature=2.0, alpha=0.5, shift=shift,
                             seed=schedule.seed)
    # a grow-prune state continues only from the same start (data, model or checkpoint bytes,
    # dense epochs run, KD)
    model, history = grow_and_prune(
        model, data, schedule, progress=progress, loss_fn=loss_fn, state_path=state,
        state_key=settings_key(data.digest(), source, dense.get("epochs", epochs), distill,
                               shift))
    start = history[0]
    model = model.cpu().eval()
    saved = make_compact(model) if compact else model
    # the saved model's own count: compaction drops rows that feed nothing and folds units
    # with no inputs, so the last history row (the masked model's) can count more; the
    # result's connections and reduction disagreed with its nonzero_parameters and checkpoint
    connections = masked.connections(saved)
    result = {"dataset": data.name, "start_connections": start["connections"],
              "connections": connections,
              # none for a model of no connections (dense / max(1, 0) said 2400x of one:
              # grow-prune of iris's mlp_small at 6 steps of 90%)
              "reduction": dense_connections / connections if connections else None,
              "dense_connections": dense_connections, "dense_test_accuracy": dense_accuracy,
              "start_test_accuracy": start["test_accuracy"],
              "test_accuracy": evaluate(saved, data.x_test, data.y_test)["accuracy"],
              "flops": count_flops(saved, data.input_shape),
              "nonzero_flops": masked.sparse_flops(saved, data.input_shape),
              "parameters": count_parameters(saved),
              "nonzero_parameters": count_parameters(saved, nonzero=True),
              "spec": saved.spec, **dense, "steps": kept_steps(history),
              "reverted_steps": reverted_steps(history),
              # kept steps that changed no connection (not in 'steps'), where there are any
              **({"idle_steps": idle_steps(history)} if idle_steps(history) else {}),
              "checkpoint": str(out),
              **({"warning": warning} if warning else {})}
    note_padding(result, data, dataset)   # shorter series than the checkpoint's, padded
    collapsed = one_class_warning(saved, data)   # after the classes' warning: both are kept
    if collapsed:
        log.warning("%s", collapsed)
        result["warning"] = join_warnings(warning, collapsed)
    warn_split_classes(data, result)   # the floor reads val, the result test
    start_val = pruning_start(history)["val_accuracy"]
    if schedule.prune_steps and start_val < schedule.accuracy_floor:   # logged as it began
        add_warning(result, floor_warning(start_val, schedule.accuracy_floor), said=True)
    if threads is not None:   # h289's reported rerun gave none: the checkpoint recorded none
        result["threads"] = int(threads)
    save_checkpoint(out, saved, dataset=trained_record(data, digest), metrics=result,
                    masks=None if compact else masked.masks_of(model),
                    extra={"schedule": schedule.to_dict(), "grow_prune_history": history,
                           RUN_KEY: stamp})
    remove_state(state)
    remove_train_state(dense_state)
    return {**result, "history": history}


def _other_classes(model, data: Dataset, dataset: str, path) -> str | None:
    """A checkpoint grown and pruned on ``data`` (``dataset``, matched to its outputs by
    name already): a set of another number of classes is refused (a 3-class model on a
    file of 2 of its classes scored label 0, 'dog', as output 0, 'cat': test accuracy 0.09,
    and the checkpoint it saved recorded 2 classes for 3 outputs, which ``nnsynth eval``
    refused); other names, as many, are trained on by index: the warning line says so."""
    own = [str(c) for c in model.checkpoint_info["dataset"].get("class_names") or []]
    if int(data.num_classes) != int(model.num_classes):
        mine = f" {short_repr(own)}" if own else ""
        raise UserError(f"data set {dataset} has {data.num_classes} classes "
                        f"{short_repr(list(data.class_names))}; the model {path} predicts "
                        f"{model.num_classes}{mine}: grow and prune it on a set of its classes "
                        f"(new classes: `nnsynth continual`)")
    line = classes_by_index(model, data, dataset)
    if line:
        line = (f"{line}, and trained as such: the checkpoint's outputs take {dataset}'s class "
                f"names")
        log.warning("%s", line)
    return line


# --------------------------------------------------------------------------- continual
def parse_classes(text: str | None, option: str) -> list[int | str] | None:
    """``"5,6,7"`` -> ``[5, 6, 7]``, ``"rose, 2"`` -> ``["rose", 2]`` (None stays None): a
    number is a class number, anything else a class name (``continual_checkpoint`` finds it
    in the data set); a one-line error names ``option``."""
    if text is None:
        return None
    items = [c.strip() for c in text.split(",")]
    if not any(items):
        raise UserError(f"{option} must be comma-separated class numbers or names like "
                        f"5,6,7, got {short_repr(text)}")
    return [int(c) if re.fullmatch(r"[+-]?[0-9]+", c) else c for c in items if c]


def _shown_names(names) -> str:
    """``(a, b, c) `` for a checkpoint's recorded class names, else nothing."""
    if not isinstance(names, (list, tuple)) or not names:
        return ""
    return "(" + ", ".join(short_repr(str(n), 20) for n in names[:8]) + (
        ", ...) " if len(names) > 8 else ") ")


def continual_checkpoint(model_path, new_dataset: str, new_classes: list[int | str], out,
                         config, *, old_classes: list[int | str] | None = None, synth_dir=None,
                         num_images: int = 256, iterations: int | None = None,
                         inversion: dict | None = None) -> dict:
    """Teach the checkpoint's classifier ``new_classes`` of ``new_dataset`` without its old
    data (``synth.continual.learn_new_classes`` with ``config``, a ``ContinualConfig``);
    classes are the set's numbers or its class names (``parse_classes``); the old classes
    default to the new set's classes bearing the class names the checkpoint
    records, else the recorded ones, else ``0..outputs-1``; saves to ``out``.  The old
    classes' inputs (``deepinversion``, without ``synth_dir``) are inverted by the method the
    model's inversion settings name, as in ``prune_checkpoint`` (``inversion`` overrides
    them; within ``iterations`` per batch, None: ``PER_PIXEL_ITERATIONS`` per pixel, a
    generator's own phases; ``synthesis_method`` and ``synthesis`` in the result)."""
    from synth.continual import (check_classes, check_recorded_classes, class_subset,
                                 classes_by_name, learn_new_classes, old_classes_by_name,
                                 per_class_accuracy, synthesize_old, task_accuracy)
    from synth.resume import result_settings, run_stamp
    from synth.train import evaluate
    _check_counts(num_images=num_images)   # before the checkpoint is even read
    refuse_overrides(inversion, config.method == "deepinversion" and synth_dir is None)
    old = load_model(model_path)
    refuse_language_model(old.spec["family"], f"checkpoint {model_path}", "continual",
                          "adds classes to classifiers")
    refuse_fixed_point(old, "class-incremental training")   # before any image is synthesized
    if config.method == "deepinversion" and synth_dir is None:   # inverted here: a teacher,
        from synth.inversion import check_teacher   # checked before any data set loads
        check_teacher(old, f"--model {model_path}",
                      instead=f"--method lwf or --method finetune need no inputs of the old "
                              f"classes, or {given_inputs(old, ' of the old classes')}")
    names = old.checkpoint_info["dataset"].get("class_names")
    # classes by name, a number too where it is a class's label (labels 3, 7, 42: 7 is '7')
    try:
        data_names = load_dataset(new_dataset).class_names
    except TooFewClasses as err:   # the loader's line named neither the option nor the need
        raise UserError(f"--new-dataset {new_dataset} holds {err.found} class"
                        f"{'' if err.found == 1 else 'es'}; it must hold the model's "
                        f"{old.num_classes} old classes and the new ones, "
                        f"{old.num_classes + len(new_classes)} at least (the old classes are "
                        f"scored on it too)") from None
    new_classes = classes_by_name(new_classes, data_names, "--new-classes", new_dataset)
    old_classes = classes_by_name(old_classes, data_names, "--old-classes", new_dataset)
    by_default = old_classes is None
    if isinstance(names, (list, tuple)):   # the model's outputs found by name in the new set
        old_classes = old_classes_by_name(names, old.num_classes, data_names, new_dataset,
                                          old_classes)
    check_recorded_classes(old, old_classes, new_dataset)
    recorded = split_class_list(str(old.checkpoint_info["dataset"].get("name") or ""))[1]
    old_list = (old_classes or old.checkpoint_info["extra"].get("classes") or recorded
                or list(range(old.num_classes)))   # a model of digits[5,6,7]: not 0, 1, 2
    # the model's own set keeps its recorded split (its test images were never trained on)
    # and is scaled as the model's training set was (the synthesized old images are too)
    data = load_dataset(new_dataset, seed=recorded_split_seed(
        old.checkpoint_info["dataset"], new_dataset, source=f"checkpoint {model_path}",
        default=config.seed))
    warn_if_changed(old.checkpoint_info["dataset"], data, f"checkpoint {model_path}")
    # series shorter than a left-padded model's are left-padded to its steps, as eval does
    data = in_model_scale(data, old.checkpoint_info["dataset"], tuple(old.input_shape))
    if tuple(data.input_shape) != tuple(old.input_shape):
        raise UserError(f"--new-dataset {new_dataset} has input shape {data.input_shape}; the "
                        f"model expects {old.input_shape}")
    taken = {c for c in old_list if isinstance(c, int)}
    if (by_default and old_classes is None and isinstance(names, (list, tuple))
            and taken & {c for c in new_classes if isinstance(c, int)}):
        # the set holds none of the model's classes by name: its outputs were taken as the
        # set's first classes, which the new ones repeat ('must not repeat old classes')
        raise UserError(f"--new-dataset {new_dataset} holds none of the model's classes "
                        f"{_shown_names(names)}by name, and its classes "
                        f"{','.join(map(str, old_list))} are the new ones: the old classes are "
                        f"scored on it, so it must hold them too (give --old-classes, its "
                        f"classes of the model's outputs)")
    repeated = [c for c in new_classes if c in taken and 0 <= c < data.num_classes]
    # said by its class number only: 'got 0 in both' of --new-classes setosa (an old list
    # that is not one distinct class per output is check_classes' to refuse first)
    if repeated and len(taken) == len(old_list) == old.num_classes:
        c = repeated[0]
        raise UserError(f"--new-classes: {short_repr(data.class_names[c])} (class {c} of "
                        f"{new_dataset}) is one of the model's classes, its output "
                        f"{old_list.index(c)}; new classes are ones the model does not predict")
    old_list, new_list = check_classes(old_list, new_classes, data.num_classes, old.num_classes)
    synth_x, state, synthesis, summary = None, Path(f"{out}.resume"), None, None
    found = None   # the --synth set, where one is given
    said = []   # warnings logged as they arose, kept in the result's 'warning' too
    if config.method == "deepinversion" and synth_dir is not None:
        # its warnings: said as it loads, kept in the result
        found = synthesized_for(old, synth_dir, seed=config.seed, notes=said)
        synth_x = torch.cat([found.x_train, found.x_val])
    # a rerun of a finished run (the same model file, data, classes, settings, inputs)
    stamp = run_stamp("continual", old.checkpoint_info["checksum"], trained_record(data),
                      old_list, new_list, result_settings(config), num_images, iterations,
                      inversion, trained_record(found) if found is not None else None)
    done = finished(out, stamp, "class-incremental training", {".resume": SYNTHESIS_STATE})
    if done is not None:
        return done
    if config.method == "deepinversion" and synth_dir is None:
        # inverted as nnsynth invert would (per pixel or a generator)
        inv = inversion_settings(old, data.pixel_range(), iterations=iterations,
                                 device=config.device, overrides=inversion,
                                 per_pixel_default=PER_PIXEL_ITERATIONS)
        synthesis = inv.method

        def make():
            from synth.inversion import teacher_class_names   # the old model's classes
            made = synthesize_old(old, num_images, data.pixel_range(), inv,
                                  seed=config.seed, progress=config.progress,
                                  name=f"--model {model_path}", full=True)
            return (made.images,), synthesis_summary(made.stats, inv,
                                                     teacher_class_names(old))
        (synth_x,), summary = kept_synthesis(   # kept until the checkpoint is written
            state, old, {"num_images": num_images, "iterations": inv.iterations,
                         "seed": config.seed, "range": data.pixel_range(),
                         "settings": inv.to_dict()}, make)
        synthesis = (summary or {}).get("method", synthesis)   # as prune's
    before = per_class_accuracy(old, class_subset(data, old_list))["accuracy"]
    model, metrics = learn_new_classes(old, class_subset(data, new_list, offset=len(old_list)),
                                       config, synth_x)
    everything = class_subset(data, old_list + new_list)
    # every figure on the same held-out samples of all the classes: fit's val/test metrics
    # were on the new classes only; old/new are over samples, like test_accuracy and
    # old_model_accuracy_old (their sample-weighted mean is test_accuracy)
    val = evaluate(model, everything.x_val, everything.y_val)
    test = evaluate(model, everything.x_test, everything.y_test)
    tasks = task_accuracy(model, everything, len(old_list), said=said)   # over those there are
    metrics.update(synthesis_method=synthesis, synthesis=summary,   # how the old classes'
                   # inputs were inverted here (synthesis_summary; None: not here)
                   old_classes=old_list, new_classes=new_list, old_model_accuracy_old=before,
                   # the set's labels of those class numbers (a table of labels 3, 7, 42
                   # numbers them 0, 1, 2): the outputs' classes, in output order
                   old_class_names=[data.class_names[c] for c in old_list],
                   new_class_names=[data.class_names[c] for c in new_list],
                   val_accuracy=val["accuracy"], test_accuracy=test["accuracy"],
                   test_loss=test["loss"], **tasks)
    for line in said:   # a --synth set of another teacher; a class the test split lacks
        add_warning(metrics, line, said=True)
    note_padding(metrics, data, new_dataset)
    note_synth_padding(metrics, found, synth_dir)
    warn_one_class(model, everything, metrics)   # LwF on one new class: 'emu' for every row
    save_checkpoint(out, model.cpu(), dataset=everything.metadata(), metrics=metrics,
                    extra={"classes": old_list + new_list, "source_dataset": data.name,
                           "continual_config": config.to_dict(), "source": str(model_path),
                           RUN_KEY: stamp})
    drop_synthesis(state)
    return {**metrics, "checkpoint": str(out)}


# --------------------------------------------------------------------------- incremental
RESULT = "incremental_result"   # incremental's whole result, in its checkpoint's extra


def incremental_checkpoint(model_path, old_name: str, new_name: str, config, *,
                           old_fraction: float | None = None, out=None, dense_path=None,
                           methods=None) -> dict:
    """Update the checkpoint's (grown-and-pruned) model with the data set ``new_name``
    (``synth.incremental.compare`` with ``config``, an ``IncrementalConfig``: cost to the same
    accuracy against dense fine-tuning, sparse fine-tuning and training from scratch); when
    ``old_name == new_name`` its training samples are split ``old_fraction`` old (default
    ``OLD_FRACTION``) / the rest new; two sets take no ``old_fraction``.
    ``dense_path``: the dense model the sparse one was pruned from (the fine-tuning baseline;
    default: the checkpoint with its masks removed).  Saves the updated masked model to ``out``
    (its data set: ``new_name``; its metrics: the update's row, whose ``test_accuracy`` is of
    old + new and ``test_accuracy_old`` / ``_new`` of each; the old set is recorded beside,
    and the whole result, which the same call again reports instead of running again)."""
    from synth.incremental import METHODS, OLD_FRACTION, compare, split_dataset
    from synth.masked import masks_of
    from synth.data_registry import dataset_identity
    # one set however spelt (ts:sets and ts:sets/): its training samples are split, where
    # they were refused as two sets holding the same samples
    one = old_name == new_name or dataset_identity(old_name) == dataset_identity(new_name)
    if not one and old_fraction is not None:   # it was ignored without a word
        raise UserError(f"--old-fraction splits one data set into old and new; --old "
                        f"{old_name} and --new {new_name} are two (drop --old-fraction, or "
                        f"name one set twice)")
    model = load_model(model_path).train()
    dense = load_model(dense_path).train() if dense_path else None
    for path, loaded in ((model_path, model), (dense_path, dense)):
        if loaded is not None:
            refuse_language_model(loaded.spec["family"], f"checkpoint {path}", "incremental",
                                  "grows and prunes classifiers")
    meta, source = model.checkpoint_info["dataset"], f"checkpoint {model_path}"
    notes = []   # the sets left-padded to the model's steps (padded_note)
    digests = {}   # of each set as loaded: the saved record's (eval tells a rewritten file)

    def split(name):  # the model's own set keeps its recorded split; every set is scaled
        # as the model's training set was (each was standardized by its own statistics: an
        # update on a new sensor's file trained on it rescaled, and the checkpoint recorded
        # the new file's normalization for a model whose old knowledge was in the old one's)
        # and its classes matched to the model's outputs by name (checkpoint.in_model_order)
        data = load_dataset(name, seed=recorded_split_seed(meta, name, source=source,
                                                           default=config.seed))
        warn_if_changed(meta, data, source)
        digests[name] = data.digest()
        # series shorter than a left-padded model's: left-padded to its steps, as eval does
        data = in_model_scale(data, meta, tuple(model.input_shape))
        check_outputs_on(model, data, source)   # its outputs on the set's first samples
        if note := padded_note(data, name):
            notes.append(note)
        return in_model_order(data, meta.get("class_names"))
    if one:
        old, new = split_dataset(split(old_name), OLD_FRACTION if old_fraction is None
                                 else old_fraction, config.seed)
    else:
        old, new = split(old_name), split(new_name)
    for what, m in (("model", model), ("dense model", dense)):
        if m is not None and tuple(m.input_shape) != tuple(new.input_shape):
            raise UserError(f"{what} expects input {tuple(m.input_shape)}, data has "
                            f"{tuple(new.input_shape)}")
    seen = []   # the run's data and models checked: said of a run that goes on
    models = [("--model", model_path, model), ("--dense-model", dense_path, dense)]
    methods = tuple(methods) if methods else METHODS
    # a rerun of a finished update written to --out (the same models, data, settings)
    from synth.resume import finished_run, result_settings, run_stamp
    stamp = run_stamp("incremental", model.checkpoint_info["checksum"],
                      dense.checkpoint_info["checksum"] if dense is not None else None,
                      trained_record(old), trained_record(new), one, old_fraction,
                      result_settings(config),
                      list(methods))
    done = finished_run(out, stamp, "incremental update") if out else None
    if done is not None and isinstance((done.get("extra") or {}).get(RESULT), dict):
        return {**done["extra"][RESULT], "checkpoint": str(out)}
    result = compare(model, old, new, config, dense_model=dense, methods=methods,
                     checked=lambda: seen.append(seen_new_warning(models, new, one)))
    if seen and seen[0]:
        result["warning"] = seen[0]
    if notes:
        result["note"] = join_warnings(notes)
    updated = result.pop("model")
    if out and updated is not None:
        updated = updated.cpu().eval()
        save_checkpoint(out, updated, masks=masks_of(updated),
                        dataset=trained_record(new, digests[old_name if one else new_name]),
                        metrics=result["incremental"],
                        # the target used: config.target 0 means "the dense plateau minus
                        # target_margin", recorded as 0.0 while the run trained to e.g. 0.995
                        extra={"incremental": {**config.to_dict(),
                                               "target": float(result["target"])},
                               "incremental_target_from": (
                                   "target" if config.target else
                                   "the dense fine-tuning's plateau minus target_margin"),
                               "incremental_old_dataset": {"name": old.name,
                                                           "split_seed": int(old.seed)},
                               RESULT: result, RUN_KEY: stamp})   # what a rerun reports
        result["checkpoint"] = str(out)
    return result


def classes_by_index(model, data: Dataset, name: str) -> str | None:
    """The line saying that ``data`` (``checkpoint_dataset``'s, called ``name``) has other
    class names than the loaded checkpoint ``model`` records, so its output i is scored as
    the set's class i (None when they match; ``checkpoint_dataset`` matched them by name,
    case ignored, ``synth.checkpoint.in_model_order``): what ``nnsynth eval`` and
    ``nnsynth export``, which scores the export on the same set, warn."""
    from synth.data import spelled_as
    own = [str(c) for c in model.checkpoint_info.get("dataset", {}).get("class_names") or []]
    if own and spelled_as(own, data.class_names) != list(data.class_names):
        return (f"{name}'s classes {data.class_names} are not the model's {own}; output i is "
                f"scored as {name}'s class i")
    return None


def classes_missing(model, data: Dataset, name: str) -> str | None:
    """The line naming the classes of the loaded checkpoint ``model`` of which ``data``
    (``checkpoint_dataset``'s, called ``name``) holds no sample in any split (None when it
    holds them all): a labelled file of some of the model's classes is scored against their
    outputs (``synth.checkpoint.in_model_subset``), which ``nnsynth eval`` and ``nnsynth
    export`` did without a word."""
    labels = torch.cat([data.split(s)[1] for s in ("train", "val", "test")]).long()
    counts = torch.bincount(labels, minlength=int(data.num_classes)) if len(labels) else None
    if counts is None or int(counts.numel()) != len(data.class_names):
        return None
    from synth.files import printable
    lacks = [printable(c) for c, n in zip(data.class_names, counts.tolist()) if n == 0]
    if not lacks:
        return None
    return (f"{name} holds no sample of the model's class{'es' * (len(lacks) > 1)} "
            f"{short_repr(lacks)}: scored on the {len(data.class_names) - len(lacks)} of its "
            f"{len(data.class_names)} classes that it holds")


def trained_samples(model, x: torch.Tensor, name: str, split: str) -> str | None:
    """The line saying how many inputs ``x`` (``name``'s ``split``, normalized as the model's
    set by ``checkpoint_dataset``) are inputs of the loaded checkpoint ``model``'s own training
    split, to 1e-3 per value (None when none are, the set is the model's own, or that set does
    not load here).  A file of the samples a set pools (aeon's JapaneseVowels_TEST.ts, which
    the registry's japanesevowels splits anew with TRAIN) was scored as held out, its accuracy
    inflated by the 72% of it the model trained on, without a word."""
    own = str(model.checkpoint_info.get("dataset", {}).get("name") or "")
    if not own or own == name or not len(x):
        return None
    # read to compare with, not scored: its loader's warnings (its own test rows repeating
    # training rows...) are not of the set scored, and were that set's 'warning' in --json
    try:
        train = checkpoint_dataset(model, quiet=True).x_train
    except (UserError, OSError, ValueError):
        return None
    if not len(train) or tuple(train.shape[1:]) != tuple(x.shape[1:]):
        return None
    a, b = (t.reshape(len(t), -1).float() for t in (train, x))   # views: no copy of a set
    v = torch.randn(a.shape[1], generator=torch.Generator().manual_seed(0))
    tol = 1e-3   # per value: a set rescaled from its own normalization differs by float32 steps
    # a match's projections on v differ by at most tol * |v|_1: candidates by sorting, then
    # checked value by value (no N x M distance matrix: mnist's was 10,000 x 60,000)
    pa, order = torch.sort(a @ v)
    pb, reach = b @ v, tol * float(v.abs().sum())
    lo, hi = torch.searchsorted(pa, pb - reach), torch.searchsorted(pa, pb + reach, right=True)
    hits = sum(bool(((a[order[lo[i]:hi[i]]] - b[i]).abs().amax(dim=1) <= tol).any())
               for i in range(len(b)) if hi[i] > lo[i])
    if not hits:
        return None
    where = name if split == "all" else f"{name}'s {split} split"
    return (f"{hits} of the {len(b)} samples of {where} are samples of {own} that the model "
            f"trained on (its train split): the accuracy is not a held-out figure")


def split_lacks(data: Dataset, split: str, name: str) -> str | None:
    """The line naming the classes ``data`` (called ``name``) holds in some split but not in
    ``split``, the one scored (None when it holds them all): the 5 test rows of a user's
    file with a split column, or a synthesized set's val slice, scored an accuracy that
    says nothing of a class, without a word.  Classes the set lacks altogether are
    ``classes_missing``'s."""
    if split == "all":
        return None
    held = set(torch.unique(torch.cat([data.split(s)[1] for s in ("train", "val", "test")]
                                      ).long()).tolist())
    scored = set(torch.unique(data.split(split)[1].long()).tolist())
    from synth.files import printable
    lacks = [printable(str(data.class_names[c])) for c in sorted(held - scored)
             if 0 <= c < len(data.class_names)]
    if not lacks or not scored:
        return None
    return (f"the {split} split of {name} holds no sample of class{'es' * (len(lacks) > 1)} "
            f"{short_repr(lacks)}: the accuracy is over the {len(scored)} of its "
            f"{len(held)} classes that it holds")


def seen_new_warning(models, new: Dataset, one: bool) -> str | None:
    """The warning (logged) when a model of ``models`` (``(option, path, model or None)``)
    trained on samples of ``new``'s set and split (``classes_trained_on``): the samples the
    update takes as new were in its training split, so every method starts from a model
    that has seen them.  ``nnsynth incremental --old wine --new wine`` of a model trained on
    wine reported its old model at the target before any training and 'cost reduction 100.0%
    vs from scratch' without a word; so did ``--old wine[2,1,0] --new wine[2,1,0]`` (wine's
    samples, its classes listed in another order) after h233.  Where a model trained on some
    of ``new``'s classes only, the line names them.  None when no model did."""
    seen = [(f"{option} {path}", classes_trained_on(m, new)) for option, path, m in models
            if m is not None]
    seen = [(said, classes) for said, classes in seen if classes]
    if not seen:
        return None
    said = [s for s, _ in seen]
    where = (f"{new.name}'s training split, which the update splits into old and new" if one
             else f"{new.name}, the new data")
    some = sorted({c for _, classes in seen for c in classes}, key=list(new.class_names).index)
    which = ("" if len(some) == len(new.class_names) else
             f" (its classes {short_repr(some)}, {len(some)} of {len(new.class_names)})")
    line = (f"{' and '.join(said)} {'was' if len(said) == 1 else 'were'} trained on {where}"
            f"{which} (its checkpoint records that set, split seed {new.seed}): the "
            f"samples taken as new were trained on already, so the accuracies and costs do not "
            f"measure learning new data; give a model trained on the old data alone")
    log.warning("%s", line)
    return line


def classes_trained_on(model, data: Dataset) -> list[str]:
    """The classes of ``data`` (``checkpoint_dataset``'s) whose training samples the loaded
    checkpoint ``model`` trained on: where ``data`` is its recorded set (or, after ``nnsynth
    incremental``, the old set recorded beside), however either lists its classes
    (``synth.data_registry.classes_in_common``: ``wine[2,1,0]`` is every class of ``wine``,
    ``wine[1,2]`` two of them) -- a path set's file by its resolved path -- split with the
    recorded seed, the classes the model predicts."""
    from synth.data_registry import classes_in_common
    info = model.checkpoint_info
    own = (info.get("dataset") or {}).get("class_names") or []
    sets = [info.get("dataset") or {}, (info.get("extra") or {}).get("incremental_old_dataset")]
    seen = set()
    for meta in sets:   # no seed recorded: split with 0 (recorded_split_seed)
        if (isinstance(meta, dict) and meta.get("name")
                and (0 if meta.get("split_seed") is None else meta["split_seed"]) == data.seed):
            names = meta.get("class_names") or own   # the old set: the model's classes
            if not names and str(meta["name"]) == str(data.name):
                names = data.class_names              # a record without names: by name
            seen.update(classes_in_common(str(meta["name"]), names, str(data.name),
                                          data.class_names))
    return [str(c) for c in data.class_names if str(c) in seen]


def trained_on(model, data: Dataset) -> bool:
    """Whether ``data`` (``checkpoint_dataset``'s) is a set the loaded checkpoint ``model``
    trained on: every class of it (``classes_trained_on``), in whatever order its name lists
    them."""
    classes = classes_trained_on(model, data)
    return bool(classes) and len(classes) == len(data.class_names)


def _nnsynth_parquet(path: str) -> bool:
    """Whether the Parquet set at ``path`` (a file, or the first file under a folder) is one
    nnsynth wrote (its schema holds nnsynth's metadata), read from one footer."""
    try:
        import pyarrow.parquet as pq

        from synth.data_parquet import PARQUET_META_KEY
        p = Path(path).expanduser()
        f = p if p.is_file() else next(iter(sorted(p.rglob("*.parquet"))), None)
        return f is not None and PARQUET_META_KEY in (pq.read_schema(f).metadata or {})
    except Exception:   # the set loaded already: a note is never an error
        return False


def no_test_split(name: str, chosen: str, split_option: bool = True) -> str:
    """The note for a set ``name`` without a test split, scored on ``chosen`` instead, by the
    set's kind and with its remedy: a user's CSV whose split column had no 'test' rows was
    asked "(a synthesized set?)".  ``split_option``: the command has --split to name."""
    kind, _, path = name.partition(":")
    if kind == "images":
        return (f"{name} has no test/ folder: evaluating on {chosen} (add a test/ folder of "
                f"class subfolders for a held-out score)")
    if kind == "parquet" and _nnsynth_parquet(path):
        return (f"{name}, a set nnsynth synthesized, has no test split: evaluating on its "
                f"{chosen} slice (for a held-out score, pass --dataset with a set the model "
                f"did not train on)")
    if kind in ("csv", "parquet"):   # a table (csv:, or a plain Parquet one)
        return (f"{name}'s split column has no 'test' rows: evaluating on {chosen} (mark the "
                f"held-out rows 'test' in it{', or pass --split' if split_option else ''})")
    return f"{name} has no test split: evaluating on {chosen}"


def scored_notes(model, data: Dataset, dataset: str | None = None, split: str | None = None,
                 *, scored=None, split_option: bool = True) -> tuple[str, list[str]]:
    """(the split of ``data`` scored, the lines for the user) where the loaded checkpoint
    ``model`` is scored on ``data`` (``checkpoint_dataset``'s for ``dataset``, None: the
    model's own) at ``split`` (None: ``Dataset.held_out``'s choice): classes matched by
    index or missing, no test split, the model's own samples scored, classes the split
    lacks, one class predicted for every sample.  What ``nnsynth eval`` says, and ``nnsynth
    export`` of the split it checks on (it gave the first two and the trained samples
    alone).  ``scored``: the module whose predictions are scored where it is not ``model``
    (export's compacted, fixed-point one; ``model`` keeps the checkpoint's records);
    ``split_option``: the command has --split (the remedy a table's note names)."""
    from synth.grow_prune import one_class_warning   # grow-prune, train, ... say it too
    name = dataset or data.name
    notes = [f"warning: {line}" for line in [classes_by_index(model, data, name),
                                             classes_missing(model, data, name)] if line]
    chosen = data.held_out(split)
    if chosen != (split or "test"):
        notes.append(no_test_split(name, chosen, split_option))
    # the model's own set, whether named by --dataset or not (--dataset wine --split all
    # of a wine model said nothing, while leaving --dataset out warned)
    own_all = chosen == "all" and (not dataset or trained_on(model, data))
    if own_all:
        notes.append(f"warning: --split all of {name}, the model's own set, includes the "
                     f"samples it trained on")
    x, _ = data.split(chosen)
    notes += [f"warning: {line}" for line in [
        split_lacks(data, chosen, name),
        one_class_warning(model if scored is None else scored, data, chosen),
        None if own_all else trained_samples(model, x, name, chosen)] if line]
    return chosen, notes


def recorded_files_note(model, dataset: str | None) -> list[str]:
    """``["note: ..."]`` naming the file or folder read where the loaded checkpoint ``model``
    is scored on the set it records (``dataset`` None) and that set is one of files
    (``csv:<path>``...), else []: the checkpoint, not the user, chose what is read (a crafted
    one can name any file the user can read; its loaders' errors quote none of it)."""
    from synth.checkpoint import recorded_location
    from synth.data_registry import DATASET_PATHS, split_class_list
    from synth.files import printable
    meta = model.checkpoint_info["dataset"]
    name = str(meta.get("name") or "") if dataset is None else ""
    where = recorded_location(meta) if name else name   # where a relative name is not found
    prefix, sep, path = split_class_list(where)[0].partition(":")
    if not (sep and prefix in DATASET_PATHS):
        return []
    found = ("; not found from here, read where it was when the checkpoint was saved"
             if where != name else "")
    return [f"note: reading {printable(path)}, the data set the checkpoint records "
            f"({printable(name)}{found}); --dataset scores another"]


def evaluate_checkpoint(model_path, dataset: str | None = None, split: str | None = None, *,
                        rounding: str | None = None) -> tuple[dict, list[str]]:
    """What ``nnsynth eval`` reports: accuracy and loss of the checkpoint at ``model_path`` on
    ``dataset``'s ``split`` (default: the checkpoint's own set, its test split or the val split
    of a set without one), its parameters and MACs per sample (all, and those touching a nonzero
    weight).  A fixed-point checkpoint runs in its fixed point with ``rounding`` (None: nearest,
    what ``nnsynth export`` writes); ``rounding`` given for a float32 one is a UserError.
    Returns (result, notes): the notes are lines for the user (the split chosen, classes matched
    by index), printed to stderr by the command."""
    from synth.masked import sparse_flops
    from synth.models import count_flops, count_parameters
    from synth.quant import INFERENCE_ROUNDING, attach_inference, checkpoint_quant
    from synth.train import evaluate
    model = load_model(model_path)
    quant = checkpoint_quant(model)
    if quant:  # trained by `nnsynth train --fixed-point`: evaluate in its fixed point
        rounding = rounding or INFERENCE_ROUNDING
        attach_inference(model, quant, rounding)
    elif rounding is not None:
        raise UserError(f"--rounding applies to a checkpoint trained in fixed point (nnsynth "
                        f"train --fixed-point); {model_path} is float32 (drop --rounding)")
    # --split all scores every sample: a set too small to split (8 rows, a class of 1) loads
    data = checkpoint_dataset(model, dataset, source=f"checkpoint {model_path}",
                              whole=split == "all")
    name = dataset or data.name
    chosen, notes = scored_notes(model, data, dataset, split)
    notes[:0] = recorded_files_note(model, dataset)
    x, y = data.split(chosen)
    result = evaluate(model, x, y)
    result.update(dataset=name, split=chosen, split_seed=data.seed, samples=len(y),
                  parameters=count_parameters(model),
                  nonzero_parameters=count_parameters(model, nonzero=True),
                  flops=count_flops(model, model.input_shape),
                  nonzero_flops=sparse_flops(model, model.input_shape),
                  **({"fixed_point": f"{quant.format} {rounding}"} if quant else {}))
    note_padding(result, data, name)   # a "note: " line of the result, with --json its "note"
    return result, notes
