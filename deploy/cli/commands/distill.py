"""``nnsynth distill``: knowledge distillation of a student from a teacher, without real data.

``--data DIR`` distills on a synthesized Parquet set (from ``nnsynth invert``); ``--data-free``
runs the ADI protocol (synthesis rounds with the current student, KD steps on a growing pool).
Accuracy is reported on the teacher's real data set when it can be loaded here (never used
for training or model selection).
"""
import click

from deploy.cli.options import device_option, emit, json_option, seed_option


@click.command("distill")
@click.option("--teacher", required=True, type=click.Path(dir_okay=False))
@click.option("--student", "student_spec", required=True, help="Student variant or JSON spec.")
@click.option("--data", "data_dir", default=None, type=click.Path(file_okay=False),
              help="Directory of synthesized Parquet shards.")
@click.option("--data-free", is_flag=True, help="Synthesize while distilling (ADI protocol).")
@click.option("--epochs", type=click.IntRange(min=1), default=30, show_default=True,
              help="Passes over --data.")
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=3.0,
              show_default=True)
@click.option("--alpha", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Weight of cross-entropy on the teacher's labels.")
@click.option("--lr", type=float, default=0.05, show_default=True)
@click.option("--rounds", type=click.IntRange(min=1), default=8, show_default=True,
              help="--data-free: synthesis rounds.")
@click.option("--images-per-round", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--adi-weight", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="--data-free: competition weight (0 = plain DeepInversion).")
@click.option("--iterations", type=click.IntRange(min=1), default=None,
              help="--data-free: maximum inversion iterations per batch.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Student checkpoint.")
@seed_option
@device_option
@json_option
def command(teacher, student_spec, data_dir, data_free, epochs, temperature, alpha, lr, rounds,
            images_per_round, adi_weight, iterations, out, seed, device, as_json):
    """Distill TEACHER into STUDENT on synthesized images and save the student."""
    import torch

    from synth.data import input_range
    from synth.checkpoint import load_model, save_checkpoint
    from synth.data import load_dataset, load_synthesized
    from synth.distill import DistillConfig, adi_distill, distill, teacher_logits
    from synth.errors import UserError
    from synth.inversion import settings_for
    from synth.models import batchnorm_layers, build, count_parameters

    if (data_dir is None) == (not data_free):
        raise UserError("give exactly one of --data DIR or --data-free")
    model = load_model(teacher)
    meta = model.checkpoint_info["dataset"]
    torch.manual_seed(seed)
    student = build(student_spec, model.input_shape, model.num_classes)
    config = DistillConfig(epochs=epochs, temperature=temperature, alpha=alpha, lr=lr,
                           rounds=rounds, images_per_round=images_per_round,
                           adi_weight=adi_weight, seed=seed, device=device,
                           progress=not as_json)
    try:
        real = load_dataset(meta["name"], seed=meta.get("seed", 0)) if meta.get("name") else None
    except UserError:
        real = None
    if data_free:
        if not batchnorm_layers(model):
            raise UserError(f"teacher {teacher} has no BatchNorm layers: --data-free needs them")
        value_range = input_range(meta)
        inv = settings_for(model, value_range=value_range, device=device, **(
            {"iterations": iterations, "min_iterations": min(iterations, 100)} if iterations else {}))
        metrics = adi_distill(student, model, value_range, config, inv, data=real)
    else:
        synth_set = load_synthesized(data_dir, model.input_shape, option="--data",
                                     owner="teacher", seed=seed)
        train_x = torch.cat([synth_set.x_train, synth_set.x_val])
        if real is None:  # report agreement with the teacher on the held-out synthesized slice
            real = synth_set
            real.x_test, real.y_test = synth_set.x_val, teacher_logits(model, synth_set.x_val).argmax(1)
            train_x = synth_set.x_train
        metrics = distill(student, model, train_x, real, config)
        metrics.pop("history", None)
    metrics.update(parameters=count_parameters(student), evaluated_on=real.name if real else None)
    save_checkpoint(out, student, dataset=meta, metrics=metrics,
                    extra={"distill_config": config.to_dict(), "teacher": str(teacher)})
    metrics["checkpoint"] = str(out)
    emit(metrics, as_json)
