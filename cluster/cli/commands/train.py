"""``nnsynth train``: train a model on a data set and write a checkpoint."""
import click

from cluster.cli.options import device_option, emit, json_option, seed_option


@click.command("train")
@click.option("--dataset", required=True, help="Data set name (see `nnsynth datasets`).")
@click.option("--model", "model_spec", required=True, help="Variant name or JSON spec.")
@click.option("--epochs", type=click.IntRange(min=1), default=15, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--lr", type=float, default=0.02, show_default=True)
@click.option("--optimizer", type=click.Choice(["sgd", "adam"]), default="sgd", show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Checkpoint path.")
@seed_option
@device_option
@json_option
def command(dataset, model_spec, epochs, batch_size, lr, optimizer, out, seed, device, as_json):
    """Train MODEL on DATASET (best epoch on validation is kept) and save a checkpoint."""
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build, count_flops, count_parameters
    from synth.train import TrainConfig, fit
    import torch

    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer,
                         seed=seed, device=device, progress=not as_json)
    data = load_dataset(dataset, seed=seed)
    torch.manual_seed(seed)
    model = build(model_spec, data.input_shape, data.num_classes)
    metrics = fit(model, data, config)
    metrics.pop("history")
    metrics.update(parameters=count_parameters(model),
                   flops=count_flops(model, data.input_shape), dataset=data.name)
    save_checkpoint(out, model, dataset=data.metadata(), metrics=metrics,
                    extra={"train_config": config.to_dict()})
    metrics["checkpoint"] = str(out)
    emit(metrics, as_json)
