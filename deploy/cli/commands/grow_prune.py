"""``nnsynth grow-prune``: grow-and-prune a model (NeST) and save a masked or compacted checkpoint."""
from synth.config import short_repr
import json

import click

from deploy.cli.options import device_option, emit, json_option, seed_option


@click.command("grow-prune")
@click.option("--dataset", required=True, help="Data set name (see `nnsynth datasets`).")
@click.option("--model", "model_spec", required=True,
              help="Variant name or JSON spec (trained densely first), or a checkpoint path.")
@click.option("--target-accuracy", type=float, default=None,
              help="Validation accuracy floor: pruning stops (last step undone) below it.")
@click.option("--epochs", type=click.IntRange(min=1), default=15, show_default=True,
              help="Dense training epochs when --model is a spec.")
@click.option("--prune-steps", type=int, default=15, show_default=True)
@click.option("--prune-fraction", type=float, default=0.2, show_default=True,
              help="Fraction of the active connections removed per step.")
@click.option("--retrain-epochs", type=int, default=3, show_default=True)
@click.option("--criterion", default="lamp", show_default=True,
              help="magnitude | layerwise | lamp.")
@click.option("--growth-rounds", type=int, default=0, show_default=True)
@click.option("--growth-ratio", type=float, default=0.5, show_default=True)
@click.option("--seed-density", type=float, default=1.0, show_default=True,
              help="Start from a random sparse seed with this connection density.")
@click.option("--distill/--no-distill", default=False, show_default=True,
              help="Retrain by knowledge distillation from the dense starting model "
                   "(temperature 2, half the weight on the labels).")
@click.option("--shift", type=click.IntRange(min=0), default=0, show_default=True,
              help="With --distill: shift each image by up to this many pixels; teacher and "
                   "student see the same shifted image.")
@click.option("--remove-dead/--keep-dead", default=False, show_default=True,
              help="After each step drop weights of unused units and of inputs constant on "
                   "the training data (biases absorb them).")
@click.option("--schedule", "schedule_json", default=None,
              help="Further GrowPruneSchedule fields as a JSON object.")
@click.option("--compact/--no-compact", default=True, show_default=True,
              help="Save the compacted dense model (else the masked one).")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Checkpoint path.")
@seed_option
@device_option
@json_option
def command(dataset, model_spec, target_accuracy, epochs, prune_steps, prune_fraction,
            retrain_epochs, criterion, growth_rounds, growth_ratio, seed_density, distill, shift,
            remove_dead, schedule_json, compact, out, seed, device, as_json):
    """Grow and prune MODEL on DATASET; print the per-step history and save a checkpoint."""
    from pathlib import Path

    import torch

    from synth import masked
    from synth.checkpoint import load_model, save_checkpoint
    from synth.compact import compact as make_compact
    from synth.data import load_dataset
    from synth.errors import UserError
    from synth.grow_prune import GrowPruneSchedule, grow_and_prune
    from synth.models import build, count_parameters
    from synth.train import TrainConfig, evaluate, fit

    if target_accuracy is not None and not 0 <= target_accuracy <= 1:
        raise UserError(f"--target-accuracy must be in [0, 1], got {target_accuracy}")
    try:
        more = json.loads(schedule_json) if schedule_json else {}
    except json.JSONDecodeError as e:
        raise UserError(f"--schedule is not valid JSON: {e.msg}") from None
    if not isinstance(more, dict):
        raise UserError(f"--schedule must be a JSON object, got {short_repr(schedule_json)}")
    fields = dict(prune_steps=prune_steps, prune_fraction=prune_fraction,
                  retrain_epochs=retrain_epochs, criterion=criterion, growth_rounds=growth_rounds,
                  growth_ratio=growth_ratio, seed_density=seed_density, seed=seed, device=device,
                  accuracy_floor=target_accuracy or 0.0, remove_dead=remove_dead)
    if shift and not distill:
        raise UserError("--shift needs --distill (the shifted images are labelled by the teacher)")
    schedule = GrowPruneSchedule.from_dict({**fields, **more})
    data = load_dataset(dataset, seed=seed)
    if shift and len(data.input_shape) != 3:
        raise UserError(f"--shift needs image data (C, H, W); {dataset} has input shape "
                        f"{tuple(data.input_shape)}")
    torch.manual_seed(seed)
    if Path(model_spec).is_file():
        model = load_model(model_spec, device="cpu").train()
    else:
        model = build(model_spec, data.input_shape, data.num_classes)
        fit(model, data, TrainConfig(epochs=epochs, seed=seed, device=device,
                                     progress=not as_json), desc="dense")
    if tuple(model.input_shape) != tuple(data.input_shape):
        raise UserError(f"model expects input {tuple(model.input_shape)}, data set {dataset} "
                        f"has {tuple(data.input_shape)}")
    loss_fn = None
    if distill:
        import copy

        from synth.device import pick_device
        from synth.distill import live_kd_fn
        teacher = copy.deepcopy(model).to(pick_device(schedule.device))
        loss_fn = live_kd_fn(teacher, temperature=2.0, alpha=0.5, shift=shift, seed=seed)
    model, history = grow_and_prune(model, data, schedule, progress=not as_json, loss_fn=loss_fn)
    start, final = history[0], history[-1]
    if final["phase"] == "reverted":
        final = history[-2]
    model = model.cpu().eval()
    saved = make_compact(model) if compact else model
    test = evaluate(saved, data.x_test, data.y_test)["accuracy"]
    result = {"dataset": data.name, "start_connections": start["connections"],
              "connections": final["connections"],
              "reduction": start["connections"] / max(1, final["connections"]),
              "start_test_accuracy": start["test_accuracy"], "test_accuracy": test,
              "flops": final["flops"], "parameters": count_parameters(saved),
              "nonzero_parameters": count_parameters(saved, nonzero=True),
              "spec": saved.spec, "steps": len(history) - 1, "checkpoint": str(out),
              "history": history}
    save_checkpoint(out, saved, dataset=data.metadata(),
                    metrics={k: v for k, v in result.items() if k != "history"},
                    masks=None if compact else masked.masks_of(model),
                    extra={"schedule": schedule.to_dict(), "grow_prune_history": history})
    if as_json:
        emit(result, True)
        return
    for row in history:
        click.echo(f"step {row['step']:>3} {row['phase']:<8} connections {row['connections']:>9,}"
                   f"  MACs {row['flops']:>10,}  val {row['val_accuracy']:.4f}"
                   f"  test {row['test_accuracy']:.4f}")
    emit({k: v for k, v in result.items() if k != "history"}, False)
