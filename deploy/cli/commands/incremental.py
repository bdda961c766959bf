"""``nnsynth incremental``: update a grown-and-pruned model with new data; cost vs baselines."""
import click

from deploy.cli.options import device_option, emit, json_option, seed_option


@click.command("incremental")
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False),
              help="Checkpoint of the model trained on the old data (masked or dense).")
@click.option("--old", "old_name", required=True, help="Data set the model was trained on.")
@click.option("--new", "new_name", required=True, help="Newly arrived data set.")
@click.option("--old-fraction", type=float, default=0.7, show_default=True,
              help="When --old and --new name the same set: the share of its training samples "
                   "that counts as old.")
@click.option("--growth-ratio", type=float, default=0.2, show_default=True)
@click.option("--prune-steps", type=int, default=2, show_default=True)
@click.option("--out", default=None, type=click.Path(dir_okay=False),
              help="Where to save the updated (masked) model.")
@seed_option
@device_option
@json_option
def command(model_path, old_name, new_name, old_fraction, growth_ratio, prune_steps, out, seed,
            device, as_json):
    """Grow on NEW, grow on NEW + OLD, prune; compare with from-scratch and fine-tuning."""
    from synth.incremental import IncrementalConfig
    from synth.workflows import incremental_checkpoint

    config = IncrementalConfig(growth_ratio=growth_ratio, prune_steps=prune_steps, seed=seed,
                               device=device)
    result = incremental_checkpoint(model_path, old_name, new_name, config,
                                    old_fraction=old_fraction, out=out)
    if as_json:
        emit(result, True)
        return
    for key in ("before", "incremental", "scratch", "finetune"):
        s = result[key]
        click.echo(f"{key:<12} train MACs {s['train_macs']:.3g}  sample-epochs "
                   f"{s['sample_epochs']:>8,}  connections {s['connections']:>8,}  "
                   f"test {s['test_accuracy']:.4f}")
    click.echo(f"cost reduction: {result['cost_reduction_vs_scratch']:.1%} vs scratch, "
               f"{result['cost_reduction_vs_finetune']:.1%} vs fine-tuning")
