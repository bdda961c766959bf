"""``nnsynth eval``: evaluate a checkpoint on a data set split."""
import click

from deploy.cli.options import (RegistryChoice, dataset_name, echo_notes, emit, given,
                                json_option)


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
    nonzero weight (fewer for a pruned, masked model).  A language model (nnsynth
    symbiotic's checkpoints): its perplexity on a split of the text it was trained on, or
    of another text (--dataset enwiki or text:PATH; --split all: the whole of it) read in the
    model's vocabulary, with the share of its words the model does not know (<unk>)."""
    from synth.lm import evaluate_lm_checkpoint, is_lm_checkpoint
    from synth.workflows import evaluate_checkpoint
    if is_lm_checkpoint(model_path):   # nnsynth symbiotic's: perplexity on its own text
        result, notes = evaluate_lm_checkpoint(model_path, dataset, split,
                                               "--rounding" if given("rounding") else None)
    else:
        result, notes = evaluate_checkpoint(model_path, dataset, split,
                                            rounding=rounding if given("rounding") else None)
    echo_notes(notes, result, as_json)
    emit(result, as_json)
