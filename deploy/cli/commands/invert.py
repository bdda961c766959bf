"""``nnsynth invert``: DeepInversion / ADI images from a teacher on K teacher/student pairs."""
import click

from cluster.limits import MAX_IMAGES, MAX_PAIRS, MAX_SHARD_SIZE
from deploy.cli.options import address_option, emit, json_option, num_cpus_option, seed_option

PRESET_BY_SIZE = {28: "mnist28", 32: "cifar32", 224: "imagenet224"}


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
@click.option("--preset", type=click.Choice(["mnist28", "cifar32", "imagenet224"]), default=None,
              help="Default: from the teacher's input size.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None)
@click.option("--shard-size", type=click.IntRange(1, MAX_SHARD_SIZE), default=256, show_default=True)
@click.option("--no-early-stop", is_flag=True, help="Always run the full iteration count.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output directory.")
@seed_option
@address_option
@num_cpus_option
@json_option
def command(teacher, num_images, pairs, adi, student, adi_weight, kd_steps, iterations, preset,
            batch_size, shard_size, no_early_stop, out, seed, address, num_cpus, as_json):
    """Synthesize NUM_IMAGES class-balanced images into OUT (Parquet shards + grid.png)."""
    import ray
    import torch

    from cluster.connect import connect
    from cluster.pairs import prepare_out_dir, resolve_student, run_synthesis
    from synth.checkpoint import load_model
    from synth.data import load_dataset
    from synth.errors import UserError
    from synth.images import save_class_grid
    from synth.inversion import InversionConfig
    from synth.models import batchnorm_layers

    if adi and student is None:
        raise UserError("--adi needs --student (a spec, variant or .pt checkpoint)")
    model = load_model(teacher)
    if not batchnorm_layers(model):
        raise UserError(f"teacher {teacher} has no BatchNorm layers: DeepInversion needs their "
                        f"running statistics (train it with a *_bn model)")
    if len(model.input_shape) != 3:
        raise UserError(f"teacher {teacher} is not an image model (input {model.input_shape})")
    if num_images < model.num_classes:
        raise UserError(f"--num-images must be >= the number of classes ({model.num_classes}), "
                        f"got {num_images}")
    if student is not None:
        resolve_student(student, model.input_shape, model.num_classes)
    prepare_out_dir(out)
    preset = preset or PRESET_BY_SIZE.get(model.input_shape[-1], "cifar32")
    overrides = {"adi_weight": adi_weight if adi else 0.0, "early_stop": not no_early_stop}
    if iterations is not None:
        overrides.update(iterations=iterations,
                         min_iterations=min(iterations, InversionConfig.preset(preset).min_iterations),
                         lowres_iterations=min(iterations // 2,
                                               InversionConfig.preset(preset).lowres_iterations))
    if batch_size is not None:
        overrides["batch_size"] = batch_size
    config = InversionConfig.preset(preset, **overrides)
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
    grid = save_class_grid(f"{out}/grid.png", x, y, data.num_classes, data.mean, data.std)
    summary.update(preset=preset, grid=str(grid), rows=len(y))
    emit(summary, as_json)
