"""``nnsynth prune``: data-free structured pruning (DeepInversion Sec. 4.3).

Ranks filters/neurons on synthesized inputs -- images, table rows or series (``--synth DIR``
from ``nnsynth invert``, or ``--num-images`` inverted here) --, removes ``--ratio`` of every
group into a smaller model of the same family, then fine-tunes it by KD from the original on
the same inputs for a fixed number of SGD steps (``--kd-steps``, with jitter on images;
``--kd-epochs`` instead counts passes over the inputs).  Accuracy
is reported on the model's real data set when it loads here (never used for training).
"""
import click

from deploy.cli.options import (checkpoint_out, device_option, emit, given,
                                inversion_iterations_option, json_option, refuse_inversion_options,
                                RegistryChoice, seed_option, show_progress, synth_option)


@click.command("prune")
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False),
              help="Checkpoint of the trained network.")
@synth_option("Directory of synthesized Parquet shards (default: invert here).")
@click.option("--ratio", required=True, type=float,
              help="Fraction of the filters and hidden neurons removed, [0, 1): of every layer "
                   "(rounded; a ResNet's base width), or with --importance latency of the "
                   "whole network, least important per ms first; every layer keeps at least "
                   "one (the output's ratio is what was removed, requested_ratio this).")
@click.option("--importance", type=RegistryChoice("synth.choices.IMPORTANCES"),
              default="taylor", show_default=True,
              help="Filter importance: first-order Taylor on the synthesized inputs, weight "
                   "magnitude, or Taylor per ms of latency the filter costs (latency).")
@click.option("--kd-steps", type=click.IntRange(min=0), default=None,
              help="KD fine-tuning SGD steps on the synthesized inputs (0: none).  "
                   "[default: synth.dfprune.KD_STEPS = 1000]")
@click.option("--kd-epochs", type=click.IntRange(min=0), default=None,
              help="Instead of --kd-steps: KD fine-tuning epochs (passes over the synthesized "
                   "inputs).")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
              help="KD fine-tuning learning rate.  [default: synth.dfprune.KD_LR = 0.05]")
@click.option("--num-images", type=click.IntRange(min=1), default=None,
              help="Inputs to invert (images, table rows or series: the model's) when --synth "
                   "is not given.  "
                   "[default: synth.dfprune.NUM_IMAGES = 512]")
@inversion_iterations_option
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              callback=checkpoint_out, help="Pruned checkpoint.")
@seed_option
@device_option
@json_option
def command(model_path, synth_dir, ratio, importance, kd_steps, kd_epochs, lr, num_images,
            iterations, out, seed, device, as_json):
    """Prune MODEL's filters by importance on synthesized inputs and KD fine-tune it.

    Figures: flops_before/after are the multiply-accumulates (MACs) per sample of the model
    before and after, every weight counted, as `nnsynth eval` prints them; the nonzero_
    figures count the nonzero weights and the MACs that touch one.  synthesized_inputs
    counts the inputs ranked and fine-tuned on (images, table rows or series; --json also
    gives it as synthesized_images, its old name)."""
    from synth.dfprune import PruneConfig
    from synth.synthesis import inputs_named
    from synth.workflows import prune_checkpoint

    _check_unused(synth_dir, importance, kd_steps, kd_epochs, lr)
    config = PruneConfig(ratio=ratio, importance=importance, seed=seed, device=device,
                         progress=show_progress())  # validates --ratio before any work
    cost_fn = None
    if importance == "latency":  # priced on the accelerator model (hwsim), in ms
        from hwsim import latency_cost as cost_fn
    result = prune_checkpoint(model_path, out, config, synth_dir=synth_dir, kd_steps=kd_steps,
                              kd_epochs=kd_epochs, lr=lr, num_images=num_images,
                              iterations=iterations, cost_fn=cost_fn)
    emit(inputs_named(result, keep_old=as_json), as_json)   # rows and series are inputs


def _check_unused(synth_dir, importance, kd_steps, kd_epochs, lr) -> None:
    """An option the run would not use is a one-line error (each was ignored without a
    word): the inversion's --num-images/--iterations with --synth DIR, or where nothing
    needs synthesized inputs; --lr without KD fine-tuning."""
    from synth.errors import UserError
    inversion = given("num_images", "iterations")
    no_tuning = kd_steps == 0 or kd_epochs == 0
    refuse_inversion_options(inversion, synth_dir)
    if inversion and importance == "magnitude" and no_tuning:
        raise UserError(f"{' and '.join(inversion)} set an inversion, but --importance "
                        f"magnitude without KD fine-tuning needs no synthesized inputs (drop "
                        f"{' and '.join(inversion)})")
    if lr is not None and no_tuning:
        raise UserError(f"--lr is the KD fine-tuning's learning rate; "
                        f"{'--kd-steps' if kd_steps == 0 else '--kd-epochs'} 0 runs none "
                        f"(drop --lr)")
