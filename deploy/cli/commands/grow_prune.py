"""``nnsynth grow-prune``: grow-and-prune a model (NeST) and save a masked or compacted checkpoint.

The defaults are the measured schedule ``synth.choices.RECIPE`` with KD retraining from
the dense start (benchmarks/results/grow_prune_defaults.md)."""
import click

from deploy.cli.options import (checkpoint_out, dataset_name, device_option, emit, given,
                                json_option, RegistryChoice, seed_option, show_progress,
                                THREADS, with_json_fields)
from synth.choices import GROWTH_RATIO, MAX_MIN_STEPS, MIN_STEPS, RECIPE, SEED_DENSITY


# --threads as every command's (deploy.cli.options.threads_option), but said as it is here:
# a rerun that reports the finished result at --out gives the count its run used (the
# checkpoint records it, grow_prune_checkpoint's threads), not this process's (h289's
# 0a6ec64), and none for a checkpoint saved before the count was recorded
threads_option = click.option(
    "--threads", type=THREADS, default=None,
    help="torch threads for the work in this process (recurrent training on a loaded machine "
         "can be many times faster with 1); the result and its checkpoint record the count "
         "used: the finished result at --out of this same command, reported again, gives "
         "its run's count (none where its checkpoint records none).  [default: torch's own]")


@click.command("grow-prune")
@click.option("--dataset", required=True, callback=dataset_name,
              help="Data set name (see `nnsynth datasets`).")
@click.option("--model", "model_spec", required=True,
              help="Variant name or JSON spec (trained densely first), or a checkpoint path.")
@click.option("--target-accuracy", type=float, default=None,
              help="Validation accuracy floor, a fraction (0.9 = 90%): pruning stops (last "
                   "step undone) below it.  "
                   "With or without it, a step is also undone when validation accuracy falls "
                   f"more than max_accuracy_drop = {RECIPE['max_accuracy_drop']:g} below the one "
                   "pruning started from (--schedule '{\"max_accuracy_drop\": 1}' turns that off).")
@click.option("--epochs", type=click.IntRange(min=1), default=15, show_default=True,
              help="Dense training epochs when --model is a spec (raised where they make "
                   "fewer than --min-steps optimizer steps).")
@click.option("--min-steps", type=click.IntRange(0, MAX_MIN_STEPS), default=MIN_STEPS,
              show_default=True,
              help="At least this many optimizer steps in the dense training of a --model "
                   "spec, as nnsynth train's: the result's epochs are the ones that ran, "
                   "epochs_requested the --epochs given.  15 epochs of iris were 60 steps: "
                   "dense test 80%, and every pruning step was held to it.  0: exactly --epochs.")
@click.option("--prune-steps", type=int, default=RECIPE["prune_steps"], show_default=True,
              help="Iterative pruning steps.")
@click.option("--prune-fraction", type=float, default=RECIPE["prune_fraction"], show_default=True,
              help="Fraction of the active connections removed per step.")
@click.option("--retrain-epochs", type=int, default=RECIPE["retrain_epochs"], show_default=True,
              help="Retraining epochs after each pruning step (raised where they make fewer "
                   "than --retrain-min-steps optimizer steps).")
@click.option("--retrain-min-steps", type=click.IntRange(0, MAX_MIN_STEPS),
              default=RECIPE["retrain_min_steps"], show_default=True,
              help="At least this many optimizer steps in each retraining: on a small training "
                   "split --retrain-epochs are raised (3 epochs of iris were 6 steps: its "
                   "pruned model 0.933 test against 0.967 dense; 0.967 at 60).  0: exactly "
                   "--retrain-epochs.")
@click.option("--criterion", type=RegistryChoice("synth.choices.CRITERIA"),
              default=RECIPE["criterion"], show_default=True,
              help="Which weights a pruning step removes: smallest magnitude over the model, "
                   "per layer (layerwise), or by LAMP score.")
@click.option("--growth-rounds", type=int, default=RECIPE["growth_rounds"], show_default=True,
              help="Gradient-based growth rounds before pruning (0: no growth).")
@click.option("--growth-ratio", type=float, default=GROWTH_RATIO, show_default=True,
              help="New connections per growth round, as a fraction of the active ones.")
@click.option("--seed-density", type=float, default=SEED_DENSITY, show_default=True,
              help="Start from a random sparse seed with this connection density.")
@click.option("--distill/--no-distill", default=True, show_default=True,
              help="Retrain by knowledge distillation from the dense starting model "
                   "(temperature 2, half the weight on the labels).")
@click.option("--shift", type=click.IntRange(min=0), default=None,
              help="With --distill: shift each image by up to this many pixels; teacher and "
                   "student see the same shifted image.  [default: 2 on images, else 0]")
@click.option("--remove-dead/--keep-dead", default=RECIPE["remove_dead"], show_default=True,
              help="After each step drop weights of unused units and of inputs constant on "
                   "the training data (biases absorb them).")
@click.option("--schedule", "schedule_json", default=None,
              help="Further GrowPruneSchedule fields as a JSON object.")
@click.option("--compact/--no-compact", default=True, show_default=True,
              help="Save the compacted dense model (else the masked one).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              callback=checkpoint_out, help="Checkpoint path.")
@seed_option
@device_option
@threads_option
@json_option
def command(dataset, model_spec, target_accuracy, epochs, min_steps, prune_steps, prune_fraction,
            retrain_epochs, retrain_min_steps, criterion, growth_rounds, growth_ratio,
            seed_density, distill, shift, remove_dead, schedule_json, compact, out, seed, device,
            threads, as_json):
    """Grow and prune MODEL on DATASET; print the per-step history and save a checkpoint.

    Figures: flops is the multiply-accumulates (MACs) per sample of the saved model's
    architecture with every weight counted (what `nnsynth eval` prints); nonzero_flops the
    MACs that touch a nonzero weight.  steps counts the growth and pruning steps kept that
    changed a connection; idle_steps those that grew or pruned none (their history row says
    idle; given when there are any); reverted_steps those undone by the accuracy floor
    (their history row says reverted).  Pruning ends early when no connection is left."""
    from hwsim.latency import torch_threads
    from synth.config import check_range
    from synth.grow_prune import GrowPruneSchedule
    from synth.workflows import grow_prune_checkpoint

    if target_accuracy is not None:   # worded as every range ('must be a number in' for nan)
        check_range("--target-accuracy", target_accuracy, 0, 1)
    fields = dict(prune_steps=prune_steps, prune_fraction=prune_fraction,
                  retrain_epochs=retrain_epochs, retrain_min_steps=retrain_min_steps,
                  criterion=criterion, growth_rounds=growth_rounds,
                  growth_ratio=growth_ratio, seed_density=seed_density, seed=seed, device=device,
                  accuracy_floor=target_accuracy or 0.0, remove_dead=remove_dead)
    schedule = GrowPruneSchedule.recipe(**with_json_fields(
        fields, schedule_json, "--schedule", {"accuracy_floor": "target_accuracy"}))
    refuse_ignored(model_spec, schedule)
    with torch_threads(threads) as used:
        result = grow_prune_checkpoint(dataset, model_spec, out, schedule, epochs=epochs,
                                       min_steps=min_steps, distill=distill, shift=shift,
                                       compact=compact, progress=show_progress(),
                                       threads=used)   # recorded: a reported rerun gives it
    if not as_json:
        echo_history(result.pop("history"), result)
    emit(result, as_json)


def echo_history(history, result: dict | None = None) -> None:
    """The per-step lines of a grow-and-prune run's ``history``, before its summary; with
    ``result``, a line for the saved model where compaction changed its counts (gunpoint's
    last row said 584 connections, 44,900 MACs, and the summary below it 547 and 42,125
    with no word of why)."""
    for row in history:
        click.echo(f"step {row['step']:>3} {row['phase']:<8} connections {row['connections']:>9,}"
                   f"  nonzero MACs {row['nonzero_flops']:>10,}  val {row['val_accuracy']:.4f}"
                   f"  test {row['test_accuracy']:.4f}")
    from synth.grow_prune import final_row
    kept = final_row(history) if history else None   # a reverted last row was undone
    if (result and kept and result.get("nonzero_flops") is not None
            and (result.get("connections"), result["nonzero_flops"]) != (
                kept["connections"], kept["nonzero_flops"])):
        click.echo(f"saved    compacted connections {result['connections']:>9,}  nonzero MACs "
                   f"{result['nonzero_flops']:>10,}  (step {kept['step']}'s model, units that "
                   f"feed nothing or get no input removed)")


def refuse_ignored(model_spec, schedule) -> None:
    """Options this run would not read, given: --epochs trains a spec densely (a checkpoint
    is trained already), --growth-ratio sizes growth rounds (none with growth_rounds 0).
    Both were taken without a word (h250)."""
    from pathlib import Path
    from synth.errors import UserError
    for option in ("epochs", "min_steps"):
        if given(option) and Path(str(model_spec)).is_file():
            name = "--" + option.replace("_", "-")
            raise UserError(f"{name} sets the dense training of a --model spec; --model "
                            f"{model_spec} is a checkpoint, trained already (drop {name})")
    if given("growth_ratio") and schedule.growth_rounds == 0:
        raise UserError("--growth-ratio sizes each growth round; there are none "
                        "(--growth-rounds 0): give --growth-rounds N or drop --growth-ratio")
