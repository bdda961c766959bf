"""``nnsynth invert``: DeepInversion / ADI inputs from a teacher on K teacher/student pairs."""
import click

from cluster.limits import MAX_BATCH_SIZE, MAX_IMAGES, MAX_PAIRS, MAX_SHARD_SIZE
from deploy.cli.options import (address_option, emit, given, json_option, num_cpus_option,
                                seed_option, show_progress, warn)
from synth.config import shown_below

# What ``nnsynth invert`` reports of the settings it derived (synth.inversion.settings_for).
REPORTED_SETTINGS = ("iterations", "batch_size", "lr", "jitter", "flip", "bn_weight",
                     "first_bn_multiplier", "tv_l2_weight", "l2_weight", "lowres_iterations",
                     "early_stop", "stop_fidelity", "min_fidelity", "restart_patience",
                     "method", "lengths")


@click.command("invert")
@click.option("--teacher", required=True, type=click.Path(dir_okay=False),
              help="Teacher checkpoint with BatchNorm layers (from `nnsynth train`).")
@click.option("--num-images", type=click.IntRange(1, MAX_IMAGES), required=True,
              help="Inputs to synthesize, class-balanced.")
@click.option("--pairs", type=click.IntRange(1, MAX_PAIRS), default=1, show_default=True,
              help="Teacher/student pair actors (1 CPU each).")
@click.option("--adi", is_flag=True, help="Adaptive DeepInversion: add the competition term.")
@click.option("--student", default=None, help="Student spec, variant or .pt checkpoint (ADI).")
@click.option("--adi-weight", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="--adi: competition weight (0 = plain DeepInversion).")
@click.option("--kd-steps", type=click.IntRange(min=0), default=None,
              help="--adi: KD steps of each pair's student after every batch (default: "
                   "DistillConfig's kd_steps_per_round).")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help="Maximum iterations per batch (default: the preset's).")
@click.option("--preset", default=None,
              help="Starting point (mnist28, cifar32, imagenet224, tabular: "
                   "synth.inversion.PRESETS), adapted to the teacher's input; default: the "
                   "nearest to its input.  Sequences (C, L) take tabular: a teacher whose "
                   "first BatchNorm follows a Conv1d (convnet1d) is inverted as sequences, "
                   "with a random roll along time and a smoothness prior over steps; any "
                   "other (an MLP over the flattened input) as C*L features.")
@click.option("--flip", is_flag=True,
              help="The data is mirror-invariant: random horizontal flips while inverting "
                   "(off by default: flipped digits or text are other classes).")
@click.option("--min-fidelity", type=click.FloatRange(0, 1), default=None,
              help="Fail (exit 2) when the teacher assigns fewer of the inputs to their "
                   "target class; without it a low fidelity (below the settings' "
                   "min_fidelity, 0.95) is a warning.  The stopping rule aims for it too "
                   "(stop_fidelity is raised to it where lower).")
@click.option("--batch-size", type=click.IntRange(1, MAX_BATCH_SIZE), default=None,
              help="Inputs optimized together (default: the preset's).")
@click.option("--shard-size", type=click.IntRange(1, MAX_SHARD_SIZE), default=256,
              show_default=True,
              help="Inputs per Parquet shard (the unit a rerun resumes from).")
@click.option("--no-early-stop", is_flag=True, help="Always run the full iteration count.")
@click.option("--method", type=click.Choice(["deepinversion", "amortized"]), default=None,
              help="deepinversion: optimize each batch per pixel from noise; amortized: warm up "
                   "one generator with the DeepInversion losses, then make each batch by a few "
                   "steps of adapting it and its latents (Fast DFKD, synth.amortized; "
                   "benchmarks/results/amortized.md).  Default: what settings_for picks for "
                   "the teacher (amortized for an MLP, or a network with BatchNorm on "
                   "convolution channels only, on images of 16 px and more, a shard it makes "
                   "below min_fidelity made again per pixel and the better kept; per pixel "
                   "otherwise, and for a sequence teacher with BatchNorm on Conv1d channels "
                   "only (convnet1d) whose set records a finite range a shard below "
                   "min_fidelity is made again by a generator; "
                   "benchmarks/results/inversion_any.md).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output directory.")
@seed_option
@address_option
@num_cpus_option
@json_option
def command(teacher, num_images, pairs, adi, student, adi_weight, kd_steps, iterations, preset,
            flip, min_fidelity, batch_size, shard_size, no_early_stop, method, out, seed, address,
            num_cpus, as_json):
    """Synthesize NUM_IMAGES class-balanced inputs into OUT (Parquet shards + grid.png)."""
    from cluster.invert import invert_checkpoint
    from synth.errors import UserError

    if given("adi_weight") and not adi:   # plain DeepInversion ran, --adi-weight inf too
        raise UserError("--adi-weight is used only with --adi (Adaptive DeepInversion); add "
                        "--adi or leave --adi-weight out")
    summary = invert_checkpoint(
        teacher, out, num_images, pairs, adi=adi, student=student, adi_weight=adi_weight,
        kd_steps=kd_steps, iterations=iterations, preset=preset, flip=flip,
        min_fidelity=min_fidelity, batch_size=batch_size, shard_size=shard_size,
        early_stop=not no_early_stop, method=method, seed=seed, address=address, num_cpus=num_cpus,
        progress=show_progress(), reported=REPORTED_SETTINGS)
    for key in ("warning", "layout_warning"):   # said once: the human summary leaves out
        if summary.get(key):                    # what stderr said (options.emit)
            warn(summary[key])
    # human mode: the settings it used on one line (a dict, which key: value lines left out)
    emit(summary if as_json else {**summary, "settings": settings_line(summary["settings"])},
         as_json)
    if min_fidelity is not None and summary.get("warning"):
        raise UserError(f"--min-fidelity {min_fidelity:g} not reached: fidelity "
                        f"{shown_below(summary['fidelity'], min_fidelity)} (the set is kept "
                        f"in {out})")


def settings_line(settings: dict) -> str:
    """The inversion settings as ``key=value`` pairs on one line (``nnsynth invert``'s human
    summary; --json carries the dict): a float in 6 significant digits, a list compact
    (``lengths=[4,6]``), None as none, and a nested dict (the generator's own settings) left
    to --json."""
    import json
    shown = []
    for key, value in settings.items():
        if isinstance(value, dict):
            shown.append(f"{key}=({len(value)} settings, in --json)")
        elif isinstance(value, (list, tuple)):
            shown.append(f"{key}={json.dumps(list(value), separators=(',', ':'))}")
        elif isinstance(value, float):   # 6 significant digits (--json: every digit)
            shown.append(f"{key}={value:.6g}")
        else:
            shown.append(f"{key}={'none' if value is None else value}")
    return " ".join(shown)
