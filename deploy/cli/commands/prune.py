"""``nnsynth prune``: data-free structured pruning (DeepInversion Sec. 4.3).

Ranks filters/neurons on synthesized images (``--synth DIR`` from ``nnsynth invert``, or
``--num-images`` inverted here), removes ``--ratio`` of every group into a smaller model of
the same family, then fine-tunes it by KD from the original on the same images.  Accuracy
is reported on the model's real data set when it loads here (never used for training).
"""
import click

from deploy.cli.options import device_option, emit, json_option, seed_option


@click.command("prune")
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False),
              help="Checkpoint of the trained network.")
@click.option("--synth", "synth_dir", default=None, type=click.Path(file_okay=False),
              help="Directory of synthesized Parquet shards (default: invert here).")
@click.option("--ratio", required=True, type=float, help="Fraction of filters removed, [0, 1).")
@click.option("--importance", type=click.Choice(["taylor", "magnitude", "latency"]),
              default="taylor", show_default=True)
@click.option("--kd-epochs", type=click.IntRange(min=0), default=20, show_default=True,
              help="KD fine-tuning epochs on the synthesized images (0: none).")
@click.option("--lr", type=float, default=0.01, show_default=True)
@click.option("--num-images", type=click.IntRange(min=1), default=256, show_default=True,
              help="Images to invert when --synth is not given.")
@click.option("--iterations", type=click.IntRange(min=1), default=200, show_default=True,
              help="Maximum inversion iterations per batch when --synth is not given.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Pruned checkpoint.")
@seed_option
@device_option
@json_option
def command(model_path, synth_dir, ratio, importance, kd_epochs, lr, num_images, iterations,
            out, seed, device, as_json):
    """Prune MODEL's filters by importance on synthesized images and KD fine-tune it."""
    import torch

    from synth.data import input_range
    from synth.checkpoint import load_model, save_checkpoint
    from synth.data import load_dataset, load_synthesized
    from hwsim import price
    from synth.dfprune import PruneConfig, flops_cost, prune
    from synth.distill import DistillConfig, distill
    from synth.errors import UserError
    from synth.inversion import balanced_labels, settings_for, synthesize
    from synth.train import evaluate

    config = PruneConfig(ratio=ratio, importance=importance, seed=seed, device=device,
                         progress=not as_json)  # validates --ratio before any work
    teacher = load_model(model_path)
    meta = teacher.checkpoint_info["dataset"]
    synth_set = None
    if synth_dir is not None:
        synth_set = load_synthesized(synth_dir, teacher.input_shape, seed=seed)
        x = torch.cat([synth_set.x_train, synth_set.x_val])
        y = torch.cat([synth_set.y_train, synth_set.y_val])
    elif importance == "magnitude" and kd_epochs == 0:
        x = y = None  # nothing needs images
    else:
        value_range = input_range(meta)
        inv = settings_for(teacher, value_range=value_range, iterations=iterations,
                           device=device, min_iterations=min(iterations, 100))
        result = synthesize(teacher, balanced_labels(num_images, teacher.num_classes), inv,
                            pixel_range=value_range, seed=seed, progress=not as_json)
        x, y = result.images, result.labels
    try:
        real = load_dataset(meta["name"], seed=meta.get("seed", 0)) if meta.get("name") else None
    except UserError:
        real = None
    cost_fn = flops_cost
    if importance == "latency":  # priced on the accelerator model (hwsim), in ms
        cost_fn = lambda m: float(price(m, m.input_shape)["latency_ms"])  # noqa: E731
    result = prune(teacher, x, y, config, cost_fn)
    metrics = result.summary()
    if real is not None:
        metrics["teacher_test_accuracy"] = evaluate(teacher, real.x_test, real.y_test)["accuracy"]
        metrics["pruned_test_accuracy"] = evaluate(result.model, real.x_test,
                                                   real.y_test)["accuracy"]
    if kd_epochs > 0:
        kd = DistillConfig(epochs=kd_epochs, lr=lr, seed=seed, device=device,
                           progress=not as_json)
        if real is None:  # distill() reports on a data set; the synthesized one stands in
            real = synth_set
        if real is None:
            raise UserError("KD fine-tuning needs --synth DIR or a model whose data set "
                            "loads here for reporting; or pass --kd-epochs 0")
        ft = distill(result.model, teacher, x, real, kd)
        metrics["finetuned_test_accuracy"] = ft["test_accuracy"]
        metrics["kd_train_seconds"] = ft["train_seconds"]
    metrics.update(importance=importance, ratio=ratio,
                   synthesized_images=0 if x is None else len(x))
    save_checkpoint(out, result.model.cpu(), dataset=meta, metrics=metrics,
                    extra={"prune_config": config.to_dict(), "source": str(model_path)})
    metrics["checkpoint"] = str(out)
    emit(metrics, as_json)
