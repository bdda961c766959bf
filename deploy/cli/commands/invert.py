"""``nnsynth invert``: DeepInversion / ADI inputs from a teacher on K teacher/student pairs."""
import click

from cluster.limits import MAX_IMAGES, MAX_PAIRS, MAX_SHARD_SIZE
from deploy.cli.options import address_option, emit, json_option, num_cpus_option, seed_option

# What ``nnsynth invert`` reports of the settings it derived (synth.inversion.settings_for).
REPORTED_SETTINGS = ("iterations", "batch_size", "lr", "jitter", "flip", "bn_weight",
                     "first_bn_multiplier", "tv_l2_weight", "l2_weight", "lowres_iterations",
                     "early_stop", "stop_fidelity", "min_fidelity")


@click.command("invert")
@click.option("--teacher", required=True, type=click.Path(dir_okay=False),
              help="Teacher checkpoint with BatchNorm layers (from `nnsynth train`).")
@click.option("--num-images", type=click.IntRange(1, MAX_IMAGES), required=True)
@click.option("--pairs", type=click.IntRange(1, MAX_PAIRS), default=1, show_default=True,
              help="Teacher/student pair actors (1 CPU each).")
@click.option("--adi", is_flag=True, help="Adaptive DeepInversion: add the competition term.")
@click.option("--student", default=None, help="Student spec, variant or .pt checkpoint (ADI).")
@click.option("--adi-weight", type=click.FloatRange(min=0), default=1.0, show_default=True)
@click.option("--kd-steps", type=click.IntRange(min=0), default=None,
              help="--adi: KD steps of each pair's student after every batch (default: "
                   "DistillConfig's kd_steps_per_round).")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help="Maximum iterations per batch (default: the preset's).")
@click.option("--preset", default=None,
              help="Starting point (mnist28, cifar32, imagenet224, tabular: "
                   "synth.inversion.PRESETS), adapted to the teacher's input; default: the "
                   "nearest to its input.")
@click.option("--flip", is_flag=True,
              help="The data is mirror-invariant: random horizontal flips while inverting "
                   "(off by default: flipped digits or text are other classes).")
@click.option("--min-fidelity", type=click.FloatRange(0, 1), default=None,
              help="Fail (exit 2) when the teacher assigns fewer of the inputs to their "
                   "target class; without it a low fidelity is a warning.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None)
@click.option("--shard-size", type=click.IntRange(1, MAX_SHARD_SIZE), default=256, show_default=True)
@click.option("--no-early-stop", is_flag=True, help="Always run the full iteration count.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output directory.")
@seed_option
@address_option
@num_cpus_option
@json_option
def command(teacher, num_images, pairs, adi, student, adi_weight, kd_steps, iterations, preset,
            flip, min_fidelity, batch_size, shard_size, no_early_stop, out, seed, address,
            num_cpus, as_json):
    """Synthesize NUM_IMAGES class-balanced inputs into OUT (Parquet shards + grid.png)."""
    import ray
    import torch

    from cluster.connect import connect
    from cluster.pairs import prepare_out_dir, resolve_student, run_synthesis
    from synth.checkpoint import load_model
    from synth.data import input_range, load_dataset
    from synth.errors import UserError
    from synth.images import save_class_grid
    from synth.distill import teacher_logits
    from synth.inversion import fidelity_warning, preset_for, settings_for
    from synth.models import batchnorm_layers

    if adi and student is None:
        raise UserError("--adi needs --student (a spec, variant or .pt checkpoint)")
    model = load_model(teacher)
    if not batchnorm_layers(model):
        raise UserError(f"teacher {teacher} has no BatchNorm layers: DeepInversion needs their "
                        f"running statistics (train it with a *_bn model)")
    if num_images < model.num_classes:
        raise UserError(f"--num-images must be >= the number of classes ({model.num_classes}), "
                        f"got {num_images}")
    if student is not None:
        resolve_student(student, model.input_shape, model.num_classes)
    prepare_out_dir(out)
    preset = preset or preset_for(model.input_shape)
    value_range = input_range(model.checkpoint_info["dataset"])
    config = settings_for(model, preset, flip=flip, value_range=value_range)
    overrides = {"adi_weight": adi_weight if adi else 0.0, "early_stop": not no_early_stop}
    if iterations is not None:
        overrides.update(iterations=iterations,
                         min_iterations=min(iterations, config.min_iterations),
                         lowres_iterations=min(iterations // 2, config.lowres_iterations))
    if batch_size is not None:
        overrides["batch_size"] = batch_size
    config = config.replace(**overrides)
    threshold = config.min_fidelity if min_fidelity is None else min_fidelity  # report only
    from synth.distill import DistillConfig
    distill = DistillConfig(seed=seed, **({"kd_steps_per_round": kd_steps}
                                          if kd_steps is not None else {}))
    started_here = not ray.is_initialized()
    connect(address=address, num_cpus=num_cpus)
    try:
        summary = run_synthesis(teacher, out, num_images, pairs, config,
                                student_spec=student if adi else None, seed=seed,
                                shard_size=shard_size, progress=not as_json, distill=distill)
    finally:
        if started_here:
            ray.shutdown()
    data = load_dataset(f"parquet:{out}")
    x = torch.cat([data.x_train, data.x_val])
    y = torch.cat([data.y_train, data.y_val])
    grid = save_class_grid(f"{out}/grid.png", x, y, data.num_classes, data.mean, data.std,
                           class_names=data.class_names)
    # fidelity of the whole set on disk (resumed shards included), as the teacher sees it now
    fidelity = float((teacher_logits(model, x).argmax(1) == y).float().mean())
    summary.update(preset=preset, grid=str(grid), rows=len(y), fidelity=fidelity,
                   warning=fidelity_warning(fidelity, threshold, config.iterations),
                   settings={k: getattr(config, k) for k in REPORTED_SETTINGS})
    if summary["warning"] is None:
        del summary["warning"]
    else:
        click.echo(f"warning: {summary['warning']}", err=True)
    emit(summary, as_json)
    if min_fidelity is not None and summary.get("warning"):
        raise UserError(f"--min-fidelity {min_fidelity:g} not reached: fidelity "
                        f"{summary['fidelity']:.3f} (the set is kept in {out})")
