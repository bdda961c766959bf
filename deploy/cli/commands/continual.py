"""``nnsynth continual``: teach a trained classifier new classes without its old data
(DeepInversion Sec. 4.4; LwF and plain fine-tuning as baselines).

Class lists are the data set's classes, comma-separated: numbers (``--new-classes 5,6,7,8,9``)
or names (``--new-classes rose,port``: a CSV's label values).  The
old classes default to the new set's classes that bear the class names the checkpoint
records, else to its recorded classes, else to ``0..outputs-1``.  Inputs (images, table rows
or series) standing in for the old classes come from ``--synth DIR`` (``nnsynth invert
--teacher OLD``) or are inverted here.
"""
import click

from deploy.cli.options import (checkpoint_out, dataset_name, device_option, emit, given,
                                inversion_iterations_option, json_option, refuse_inversion_options,
                                RegistryChoice, seed_option, show_progress, synth_option)


@click.command("continual")
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False),
              help="Checkpoint of the network trained on the old classes.")
@click.option("--new-dataset", required=True, callback=dataset_name,
              help="Data set holding the new classes.")
@click.option("--new-classes", required=True,
              help="New classes: the set's class numbers or names, e.g. 5,6,7,8,9 or "
                   "rose,port; a number that is a class's label is that class (7 of labels "
                   "3,7,42).")
@click.option("--old-classes", default=None,
              help="Data set classes (numbers or names) of the model's outputs (default: "
                   "the set's classes of the model's class names, else recorded or 0..k-1).")
@click.option("--method", type=RegistryChoice("synth.choices.CONTINUAL_METHODS"),
              default="deepinversion", show_default=True,
              help="How the old classes are kept: replay of inputs inverted from the old model "
                   "(deepinversion), its outputs as soft targets (lwf), or none (finetune).")
@synth_option("Inputs synthesized from the old model (default: invert here).")
@click.option("--num-images", type=click.IntRange(min=1), default=256, show_default=True,
              help="Inputs to invert from the old model when --synth is not given.")
@inversion_iterations_option
@click.option("--epochs", type=click.IntRange(min=1), default=8, show_default=True,
              help="Passes over the new classes' training split.")
@click.option("--min-steps", type=click.IntRange(min=0), default=None,
              help="At least this many optimizer steps: where --epochs over a small set make "
                   "fewer, the epochs are raised (a warning says so; the result's steps and "
                   "epochs are the ones that ran).  0: exactly --epochs.  [default: "
                   "synth.continual.ContinualConfig.min_steps = 50]")
@click.option("--lr", type=float, default=0.01, show_default=True,
              help="Learning rate of the training on the new classes.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              callback=checkpoint_out, help="New checkpoint.")
@seed_option
@device_option
@json_option
def command(model_path, new_dataset, new_classes, old_classes, method, synth_dir, num_images,
            iterations, epochs, min_steps, lr, out, seed, device, as_json):
    """Extend MODEL with NEW_CLASSES of NEW_DATASET and save the enlarged network.

    Figures: new_inputs counts the new classes' training inputs, synthesized_inputs those
    synthesized from MODEL (images, table rows or series; --json also gives them as
    new_images and synthesized_images, their old names)."""
    from synth.continual import ContinualConfig
    from synth.synthesis import inputs_named
    from synth.workflows import continual_checkpoint, parse_classes

    _check_unused(method, synth_dir)

    config = ContinualConfig(method=method, epochs=epochs, lr=lr, seed=seed, device=device,
                             progress=show_progress(),
                             **({} if min_steps is None else {"min_steps": min_steps}))
    result = continual_checkpoint(
        model_path, new_dataset, parse_classes(new_classes, "--new-classes"), out, config,
        old_classes=parse_classes(old_classes, "--old-classes"), synth_dir=synth_dir,
        num_images=num_images, iterations=iterations)
    emit(inputs_named(result, keep_old=as_json), as_json)   # rows and series are inputs


def _check_unused(method: str, synth_dir) -> None:
    """Options of the inversion are a one-line error where nothing is inverted (they were
    ignored without a word): with --method finetune or lwf (no synthesized inputs at all),
    and --num-images/--iterations with --synth DIR (the inputs are already made)."""
    from synth.errors import UserError
    inversion = given("num_images", "iterations")
    if method != "deepinversion" and (inversion or synth_dir is not None):
        used = (["--synth"] if synth_dir is not None else []) + inversion
        raise UserError(f"{' and '.join(used)}: inputs synthesized for --method "
                        f"deepinversion; --method {method} uses none (drop "
                        f"{' and '.join(used)})")
    refuse_inversion_options(inversion, synth_dir)
