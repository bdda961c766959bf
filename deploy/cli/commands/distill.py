"""``nnsynth distill``: knowledge distillation of a student from a teacher, without real data.

``--synth DIR`` distills on a synthesized Parquet set (from ``nnsynth invert``) on Ray Train
workers (``--num-workers``); ``--data-free`` runs the ADI protocol (synthesis rounds with the
current student, KD steps on a growing pool) in this process.
Accuracy is reported on the teacher's real data set when it can be loaded here (never used
for training or model selection).
"""
import click

from deploy.cli.options import (checkpoint_out, device_option, emit, given, json_option,
                                seed_option, show_progress, synth_option)


@click.command("distill")
@click.option("--teacher", required=True, type=click.Path(dir_okay=False),
              help="Teacher checkpoint (from `nnsynth train`).")
@click.option("--student", "student_spec", required=True, help="Student variant or JSON spec.")
@synth_option("Directory of synthesized Parquet shards to distill on.", old_name="--data")
@click.option("--data-free", is_flag=True, help="Synthesize while distilling (ADI protocol).")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True,
              help="Passes over --synth.")
@click.option("--min-steps", type=click.IntRange(min=0), default=None,
              help="At least this many SGD steps in all (--synth: more passes over a small "
                   "set, 0: exactly --epochs; --data-free: more steps after the last round).  "
                   "[default: synth.distill.DistillConfig.min_steps = 1920]")
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=3.0,
              show_default=True, help="Softmax temperature of the KD loss.")
@click.option("--alpha", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Weight of cross-entropy on the teacher's labels.")
@click.option("--lr", type=float, default=0.05, show_default=True,
              help="Student learning rate.")
@click.option("--noise", type=click.FloatRange(0, 100), default=0.0, show_default=True,
              help="Std of Gaussian noise (normalized units) added to each KD batch, relabelled "
                   "by the teacher on the fly.  Off by default: 0.3 helped students of 500 "
                   "8x8 digits but hurt mnist5k ones (benchmarks/results/inversion_any.md).")
@click.option("--cutmix", type=click.FloatRange(0, 1), default=None,
              help="Fraction of each KD batch with a box of another input pasted in (images; a "
                   "segment of time in sequences; table rows have none), relabelled by the "
                   "teacher on the fly (0: off).  [default: "
                   "synth.distill.DistillConfig.cutmix = 0.5]")
@click.option("--rounds", type=click.IntRange(min=1), default=8, show_default=True,
              help="--data-free: synthesis rounds.")
@click.option("--images-per-round", type=click.IntRange(min=1), default=256, show_default=True,
              help="--data-free: inputs synthesized per round.")
@click.option("--adi-weight", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="--data-free: competition weight (0 = plain DeepInversion).")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help="--data-free: maximum inversion iterations per batch.")
@click.option("--num-workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="--synth: Ray Train workers (data-parallel; a GPU each when present).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              callback=checkpoint_out, help="Student checkpoint.")
@seed_option
@device_option
@json_option
def command(teacher, student_spec, synth_dir, data_free, epochs, min_steps, temperature, alpha,
            lr, noise, cutmix, rounds, images_per_round, adi_weight, iterations, num_workers, out,
            seed, device, as_json):
    """Distill TEACHER into STUDENT on synthesized inputs and save the student."""
    from cluster.train import Scaling, ray_fit
    from synth.distill import DistillConfig
    from synth.workflows import distill_checkpoint

    typed = {k: v for k, v in (("min_steps", min_steps), ("cutmix", cutmix)) if v is not None}
    config = DistillConfig(epochs=epochs, **typed, temperature=temperature, alpha=alpha, lr=lr,
                           noise=noise, rounds=rounds, images_per_round=images_per_round,
                           adi_weight=adi_weight, seed=seed, device=device,
                           progress=show_progress())
    refuse_other_modes(data_free, synth_dir)   # after the values' own ranges
    fit_fn = ray_fit(Scaling(num_workers=num_workers), name="distill")
    emit(distill_checkpoint(teacher, student_spec, out, config, synth_dir=synth_dir,
                            data_free=data_free, iterations=iterations, fit_fn=fit_fn,
                            given=tuple(typed)), as_json)


# the options only one mode reads: --epochs passes over --synth's set on --num-workers Ray
# Train workers; --data-free's ADI rounds run here, of their own size and competition weight
SYNTH_ONLY = ("epochs", "num_workers")
DATA_FREE_ONLY = ("rounds", "images_per_round", "adi_weight")


def refuse_other_modes(data_free: bool, synth_dir) -> None:
    """An option of the other mode, given, is refused in one line: --data-free --epochs 3
    (or --num-workers 2) and --synth DIR --rounds 3 (--images-per-round, --adi-weight) ran
    and the value was never read (h250).  Neither mode given: distill_checkpoint says so."""
    from synth.errors import UserError
    if data_free == (synth_dir is not None):
        return
    other = given(*(SYNTH_ONLY if data_free else DATA_FREE_ONLY))
    if other:
        mode, reads = (("--data-free", "--synth DIR") if data_free
                       else (f"--synth {synth_dir}", "--data-free"))
        raise UserError(f"{' and '.join(other)} set{'s' * (len(other) == 1)} a run with "
                        f"{reads}; {mode} does not read {'them' if len(other) > 1 else 'it'} "
                        f"(drop {' and '.join(other)})")
