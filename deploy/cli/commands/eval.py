"""``nnsynth eval``: evaluate a checkpoint on a data set split."""
import click

from deploy.cli.options import RegistryChoice, dataset_name, emit, given, json_option


@click.command("eval")
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False),
              help="Checkpoint written by nnsynth.")
@click.option("--dataset", default=None, callback=dataset_name,
              help="Data set (default: the checkpoint's own).")
@click.option("--split", type=click.Choice(["train", "val", "test", "all"]), default=None,
              help="Default: test, or val for a set without one (a synthesized set); all: "
                   "every sample (a file the model did not train on, scored whole).")
@click.option("--rounding", type=RegistryChoice("synth.choices.ROUNDINGS"), default="nearest",
              show_default=True,
              help="For a `nnsynth train --fixed-point` checkpoint: how layer outputs are "
                   "rounded onto its grid.  nearest is what `nnsynth export` runs; stochastic "
                   "is one seeded random draw of the training's rounding.")
@json_option
def command(model_path, dataset, split, rounding, as_json):
    """Accuracy and loss of a checkpoint on DATASET's SPLIT (in the fixed point it was
    trained in, for `nnsynth train --fixed-point` checkpoints: fixed_point names the format
    and the rounding used), its parameters, and its flops: multiply-accumulates (MACs) per
    sample of its architecture, every weight counted; nonzero_flops: the MACs that touch a
    nonzero weight (fewer for a pruned, masked model)."""
    from synth.checkpoint import checkpoint_dataset, load_model
    from synth.masked import sparse_flops
    from synth.models import count_flops, count_parameters
    from synth.quant import attach_inference, checkpoint_quant
    from synth.train import evaluate

    model = load_model(model_path)
    quant = checkpoint_quant(model)
    if quant:  # trained by `nnsynth train --fixed-point`: evaluate in its fixed point
        attach_inference(model, quant, rounding)
    elif given("rounding"):
        from synth.errors import UserError
        raise UserError(f"--rounding applies to a checkpoint trained in fixed point (nnsynth "
                        f"train --fixed-point); {model_path} is float32 (drop --rounding)")
    data = checkpoint_dataset(model, dataset, source=f"checkpoint {model_path}")
    name = dataset or data.name
    _warn_other_classes(model, data, name)
    chosen = data.held_out(split)
    if chosen != (split or "test"):
        click.echo(f"{name} has no test split (a synthesized set?): evaluating on {chosen}",
                   err=True)
    split = chosen
    if split == "all" and not dataset:
        click.echo(f"warning: --split all of {name}, the model's own set, includes the samples "
                   f"it trained on", err=True)
    x, y = data.split(split)
    result = evaluate(model, x, y)
    result.update(dataset=name, split=split, split_seed=data.seed, samples=len(y),
                  parameters=count_parameters(model),
                  nonzero_parameters=count_parameters(model, nonzero=True),
                  flops=count_flops(model, model.input_shape),
                  nonzero_flops=sparse_flops(model, model.input_shape),
                  **({"fixed_point": f"{quant.format} {rounding}"} if quant else {}))
    emit(result, as_json)


def _warn_other_classes(model, data, name: str) -> None:
    """A warning where ``data``'s classes are not the model's: ``checkpoint_dataset`` matched
    them to its outputs by name, case ignored (``synth.checkpoint.in_model_order``); other
    names are scored by index."""
    from synth.data import spelled_as
    own = [str(c) for c in model.checkpoint_info.get("dataset", {}).get("class_names") or []]
    if own and spelled_as(own, data.class_names) != list(data.class_names):
        click.echo(f"warning: {name}'s classes {data.class_names} are not the model's {own}; "
                   f"output i is scored as {name}'s class i", err=True)
