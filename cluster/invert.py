"""``invert_checkpoint``: what ``nnsynth invert`` does, callable from Python and benchmarks.

Load and check the teacher, derive the inversion settings from it
(``synth.inversion.settings_for``), run the K teacher/student pair actors
(``cluster.pairs.run_synthesis``: DeepInversion, or the ADI protocol with a learning student,
per pixel also where the settings name a generator: ``cluster.pairs.adi_settings``),
then write the class grid and measure the fidelity of the whole set on disk.
"""
from __future__ import annotations

import os

from synth.errors import UserError


def invert_checkpoint(teacher: str | os.PathLike, out: str | os.PathLike, num_images: int,
                      pairs: int = 1, *, adi: bool = False, student=None,
                      adi_weight: float = 1.0, kd_steps: int | None = None,
                      iterations: int | None = None, preset: str | None = None,
                      flip: bool = False, min_fidelity: float | None = None,
                      batch_size: int | None = None, shard_size: int = 256,
                      early_stop: bool = True, method: str | None = None, seed: int = 0,
                      address: str | None = None,
                      num_cpus: int | None = None, progress: bool = True,
                      reported: tuple = ()) -> dict:
    """Synthesize ``num_images`` class-balanced inputs of the teacher checkpoint into ``out``
    (Parquet shards + grid.png); resumes.  Returns the run summary with the settings used
    (the ``reported`` fields of the ``InversionConfig``), the fidelity of the set on disk, in
    whole and per target class by the set's class names (``class_fidelity``: synthesized,
    hits, fidelity), a ``warning`` when it is below ``min_fidelity`` (or the settings' own
    threshold) naming the classes below it, and a ``preset_note`` where the preset is one for
    images of other channels than the teacher's (``synth.inversion.preset_note``).

    ``min_fidelity`` is a setting of the job, as the iteration cap is: it goes into the
    ``InversionConfig``, with ``stop_fidelity`` raised to it where lower (so the stopping rule
    aims for it, and the reported settings and the set's metadata say it), and a directory holding shards made for another threshold is
    refused rather than resumed."""
    import ray
    import torch

    from cluster.connect import check_start
    from cluster.pairs import adi_settings, prepare_out_dir, resolve_student, run_synthesis
    from synth.checkpoint import load_model
    from synth.data import input_range, load_dataset
    from synth.distill import DistillConfig, teacher_logits
    from synth.images import save_class_grid
    from synth.inversion import (check_teacher, class_counts, class_fidelity, fidelity_warning,
                                 hit_fraction, layout_report, preset_for, preset_note,
                                 settings_for)
    from synth.quant import refuse_fixed_point

    if adi and student is None:
        raise UserError("--adi needs --student (a spec, variant or .pt checkpoint)")
    ignored = [o for o, v in (("--student", student), ("--kd-steps", kd_steps)) if v is not None]
    if ignored and not adi:   # the student and its KD steps belong to ADI only
        raise UserError(f"{ignored[0]} is used only with --adi (Adaptive DeepInversion); add "
                        f"--adi or leave {ignored[0]} out")
    model = load_model(teacher)
    refuse_fixed_point(model, "inversion")
    check_teacher(model, f"--teacher {teacher}")   # BatchNorm with running statistics
    if num_images < model.num_classes:
        raise UserError(f"--num-images must be >= the number of classes ({model.num_classes}), "
                        f"got {num_images}")
    if flip and len(model.input_shape) != 3:   # settings_for turns it off: it was ignored
        kind = ("sequences" if len(model.input_shape) == 2 else "feature vectors")
        note = " (a sequence is rolled along time, never flipped)" if kind == "sequences" else ""
        raise UserError(f"--flip mirrors images; the teacher takes {kind} of shape "
                        f"{tuple(model.input_shape)}{note}: drop --flip")
    if student is not None:
        resolve_student(student, model.input_shape, model.num_classes,
                        teacher_meta=model.checkpoint_info["dataset"])
    note = preset_note(preset or preset_for(model.input_shape), model.input_shape,
                       given=preset is not None)
    preset = preset or preset_for(model.input_shape)
    # an iteration cap goes in, not on top: settings_for bounds the preset's phases within it
    # (low-resolution, warm-up, min_iterations), so a cap below imagenet224's is a shorter run
    adi_note = None
    config = settings_for(model, preset, flip=flip,
                          value_range=input_range(model.checkpoint_info["dataset"]),
                          **({"iterations": iterations} if iterations is not None else {}))
    overrides = {"adi_weight": adi_weight if adi else 0.0, "early_stop": early_stop}
    if method is not None:   # else the method settings_for picks for this teacher (and a
        # generator it picks falls back per pixel where it misses: a named one does not)
        overrides.update(method=method, fallback=False)
    if batch_size is not None:
        overrides["batch_size"] = batch_size
    if min_fidelity is not None:   # the threshold of the final check and the stopping rule's
        # target alike (synth.inversion.allowed_misses): a batch stops only once at least this
        # fraction hits, so stop_fidelity is raised to it where it is lower (1.0: no misses)
        overrides.update(min_fidelity=min_fidelity,
                         stop_fidelity=max(config.stop_fidelity, min_fidelity))
    config = config.replace(**overrides)
    if adi and config.adi_weight > 0 and config.method == "amortized":
        if method == "amortized":   # asked for: refused, not swapped for another method
            raise UserError("--adi and --method amortized do not combine: ADI optimizes each "
                            "batch per pixel against the pair's student, which learns between "
                            "rounds, and the generator's path has no such student (drop one)")
        # settings_for's pick for the teacher: ADI runs per pixel, and the summary says so
        config, adi_note = adi_settings(config, student)
    if config.method == "amortized":   # refused before the directory is made (run_synthesis
        from synth.amortized import check_bounded   # checks it too, after making it)
        check_bounded(*input_range(model.checkpoint_info["dataset"]))
    check_resumable(out, config)
    distill = DistillConfig(seed=seed, **({"kd_steps_per_round": kd_steps}
                                          if kd_steps is not None else {}))
    check_start(address, num_cpus)    # an address nothing answers at makes no dir either
    prepare_out_dir(out)              # after every setting is checked: a bad one makes no dir
    started_here = not ray.is_initialized()
    try:   # run_synthesis connects once the saved files it resumes from are checked
        summary = run_synthesis(teacher, out, num_images, pairs, config,
                                student_spec=student if adi else None, seed=seed,
                                shard_size=shard_size, progress=progress, distill=distill,
                                address=address, num_cpus=num_cpus)
    finally:
        if started_here:
            ray.shutdown()
    data = load_dataset(f"parquet:{out}")
    x = torch.cat([data.x_train, data.x_val])
    y = torch.cat([data.y_train, data.y_val])
    grid = save_class_grid(f"{out}/grid.png", x, y, data.num_classes, data.mean, data.std,
                           class_names=data.class_names)
    # fidelity of the whole set on disk (resumed shards included), as the teacher sees it now
    predicted = teacher_logits(model, x).argmax(1)
    fidelity = hit_fraction(predicted == y)
    # and per target class, by the set's class names: which classes the teacher did not see
    classes = class_fidelity(class_counts(predicted, y, data.num_classes), data.class_names)
    settings = {k: getattr(config, k) for k in reported}
    from synth.synthesis import falls_back
    if config.method == "amortized" or falls_back(config):   # the generator's settings as
        from synth.amortized import AmortizedConfig            # used (its defaults too)
        key = "generator" if config.method == "amortized" else "fallback_generator"
        settings[key] = AmortizedConfig.from_inversion(config).to_dict()
    if adi_note:   # run_synthesis was given the per-pixel settings: the note is made here
        summary["adi_note"] = adi_note
    redone = summary.get("fallback_shards") or []
    if redone:   # synth.synthesis.method_fallback, in the pairs
        summary["fallback_note"] = fallback_note(redone, config.min_fidelity,
                                                 summary.get("fallback_checked",
                                                             summary["written"]))
    summary.update(preset=preset, grid=str(grid), rows=len(y), fidelity=fidelity,
                   class_fidelity=classes, warning=fidelity_warning(
                       fidelity, config.min_fidelity, config.iterations, classes),
                   settings=settings, **({"preset_note": note} if note else {}))
    if summary["warning"] is None:
        del summary["warning"]
    summary.update(layout_report(model, x, predicted))   # images: does the set carry layout?
    return summary


def check_resumable(out: str | os.PathLike, config) -> None:
    """Refuse, in one line naming the option, to resume into ``out`` a job whose settings
    differ from ``config`` only in ``min_fidelity``: ``cluster.pairs.run_synthesis`` would
    refuse it too, but only as 'differs in config'.  A job that wrote nothing yet is not
    refused (run_synthesis replaces it)."""
    from pathlib import Path

    from cluster.pairs import MANIFEST, job_started
    from synth.files import read_json
    path = Path(out) / MANIFEST
    if not job_started(out):   # killed before its first shard: nothing to resume, and
        return                 # run_synthesis starts this job in its place
    try:
        old = read_json(path).get("config")
    except (OSError, ValueError, AttributeError):   # no job there (or not one of ours), a
        return   # key given twice: run_synthesis decides and says so
    new = config.to_dict()
    if (not isinstance(old, dict) or old == new
            or not isinstance(old.get("min_fidelity"), (int, float))):
        return
    if {k: v for k, v in old.items() if k != "min_fidelity"} == {
            k: v for k, v in new.items() if k != "min_fidelity"}:
        raise UserError(f"{out} holds a synthesis job made for min_fidelity "
                        f"{old['min_fidelity']:g}, not {config.min_fidelity:g} (its stopping "
                        f"rule); use a new --out directory, or give --min-fidelity "
                        f"{old['min_fidelity']:g} to resume it")


def fallback_note(redone: list[dict], floor: float, checked: int) -> str:
    """One line on the shards made again by the other method (``fallback_shards``: records of
    ``synth.synthesis.method_fallback``; one written before ``first`` was recorded ran the
    generator first, the only direction there was)."""
    first = redone[0].get("first", "generator")
    second = "per_pixel" if first == "generator" else "generator"
    what = {"generator": "the generator's inputs", "per_pixel": "per-pixel inversion"}[first]
    again = {"per_pixel": "per pixel", "generator": "by a generator"}[second]
    kept = sum(r["kept"] == second for r in redone)
    return (f"{what} missed fidelity {floor:g} in {len(redone)} of {checked} shards (down to "
            f"{min(r[first + '_fidelity'] for r in redone):.3f}); made again {again}, kept in "
            f"{kept}")
