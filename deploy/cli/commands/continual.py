"""``nnsynth continual``: teach a trained classifier new classes without its old data
(DeepInversion Sec. 4.4; LwF and plain fine-tuning as baselines).

Class lists are the data set's labels, comma-separated (``--new-classes 5,6,7,8,9``).  The
old classes default to the checkpoint's recorded classes (a model written by this command),
else to ``0..outputs-1``.  Images standing in for the old classes come from ``--synth DIR``
(``nnsynth invert --teacher OLD``) or are inverted here.
"""
import click

from deploy.cli.options import device_option, emit, json_option, seed_option


def parse_classes(text: str | None, option: str) -> list[int] | None:
    from synth.errors import UserError
    if text is None:
        return None
    try:
        return [int(c) for c in text.replace(" ", "").split(",") if c != ""]
    except ValueError:
        raise UserError(f"{option} must be comma-separated class indices like 5,6,7, "
                        f"got {text!r}") from None


@click.command("continual")
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False),
              help="Checkpoint of the network trained on the old classes.")
@click.option("--new-dataset", required=True, help="Data set holding the new classes.")
@click.option("--new-classes", required=True, help="New classes, e.g. 5,6,7,8,9.")
@click.option("--old-classes", default=None,
              help="Data set classes of the model's outputs (default: recorded or 0..k-1).")
@click.option("--method", type=click.Choice(["deepinversion", "lwf", "finetune"]),
              default="deepinversion", show_default=True)
@click.option("--synth", "synth_dir", default=None, type=click.Path(file_okay=False),
              help="Images synthesized from the old model (default: invert here).")
@click.option("--num-images", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--iterations", type=click.IntRange(min=1), default=200, show_default=True,
              help="Maximum inversion iterations per batch when --synth is not given.")
@click.option("--epochs", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--lr", type=float, default=0.01, show_default=True)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="New checkpoint.")
@seed_option
@device_option
@json_option
def command(model_path, new_dataset, new_classes, old_classes, method, synth_dir, num_images,
            iterations, epochs, lr, out, seed, device, as_json):
    """Extend MODEL with NEW_CLASSES of NEW_DATASET and save the enlarged network."""
    import torch

    from synth.checkpoint import load_model, save_checkpoint
    from synth.continual import (ContinualConfig, check_classes, class_subset,
                                 learn_new_classes, per_class_accuracy, synthesize_old)
    from synth.data import load_dataset, load_synthesized
    from synth.errors import UserError
    from synth.inversion import settings_for

    config = ContinualConfig(method=method, epochs=epochs, lr=lr, seed=seed, device=device,
                             progress=not as_json)
    old = load_model(model_path)
    recorded = old.checkpoint_info["extra"].get("classes")
    old_list = parse_classes(old_classes, "--old-classes") or recorded or list(
        range(old.num_classes))
    data = load_dataset(new_dataset, seed=seed)
    if tuple(data.input_shape) != tuple(old.input_shape):
        raise UserError(f"--new-dataset {new_dataset} has input shape {data.input_shape}; the "
                        f"model expects {old.input_shape}")
    old_list, new_list = check_classes(old_list, parse_classes(new_classes, "--new-classes"),
                                       data.num_classes, old.num_classes)
    synth_x = None
    if method == "deepinversion":
        if synth_dir is not None:
            s = load_synthesized(synth_dir, old.input_shape, seed=seed)
            synth_x = torch.cat([s.x_train, s.x_val])
        else:
            inv = settings_for(old, value_range=data.pixel_range(), iterations=iterations,
                               device=device, min_iterations=min(iterations, 100))
            synth_x = synthesize_old(old, num_images, data.pixel_range(), inv, seed=seed,
                                     progress=not as_json)
    before = per_class_accuracy(old, class_subset(data, old_list))["accuracy"]
    model, metrics = learn_new_classes(old, class_subset(data, new_list, offset=len(old_list)),
                                       config, synth_x)
    everything = class_subset(data, old_list + new_list)
    acc = per_class_accuracy(model, everything)
    k = len(old_list)
    metrics.update(old_classes=old_list, new_classes=new_list, old_model_accuracy_old=before,
                   test_accuracy=acc["accuracy"],
                   accuracy_old=sum(acc["per_class"][:k]) / k,
                   accuracy_new=sum(acc["per_class"][k:]) / len(new_list))
    save_checkpoint(out, model.cpu(), dataset=everything.metadata(), metrics=metrics,
                    extra={"classes": old_list + new_list, "source_dataset": data.name,
                           "continual_config": config.to_dict(), "source": str(model_path)})
    metrics["checkpoint"] = str(out)
    emit(metrics, as_json)
