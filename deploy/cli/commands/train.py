"""``nnsynth train``: train a model on a data set and write a checkpoint."""
import click

from cluster.limits import MAX_BATCH_SIZE
from synth.choices import MAX_MIN_STEPS, MIN_STEPS
from deploy.cli.options import (checkpoint_out, dataset_name, device_option, emit, given,
                                json_option, RegistryChoice, seed_option, show_progress)


@click.command("train")
@click.option("--dataset", required=True, callback=dataset_name,
              help="Data set name (see `nnsynth datasets`).")
@click.option("--model", "model_spec", required=True, help="Variant name or JSON spec.")
@click.option("--epochs", type=click.IntRange(min=1), default=15, show_default=True,
              help="Passes over the training split (raised where they make fewer than "
                   "--min-steps optimizer steps).")
@click.option("--min-steps", type=click.IntRange(0, MAX_MIN_STEPS), default=MIN_STEPS,
              show_default=True,
              help="At least this many optimizer steps: where --epochs over a small training "
                   "split make fewer, the epochs are raised (the result's epochs are the ones "
                   "that ran, epochs_requested the --epochs given; -v logs it).  15 epochs of "
                   "iris' 108 training inputs were 60 steps, test 80%.  0: exactly --epochs.")
@click.option("--batch-size", type=click.IntRange(1, MAX_BATCH_SIZE), default=32,
              show_default=True, help="Samples per optimizer step.")
@click.option("--lr", type=float, default=0.02, show_default=True,
              help="Learning rate (cosine-annealed over the epochs).")
@click.option("--optimizer", type=RegistryChoice("synth.choices.OPTIMIZERS"), default="sgd",
              show_default=True, help="Optimizer (sgd: with momentum).")
@click.option("--fixed-point", "fixed_point", default=None, metavar="INT.FRAC",
              help="Train in fixed point: weights, layer outputs, gradients and optimizer state "
                   "on a grid of INT integer (sign included) and FRAC fraction bits; 4.16 is "
                   "SPRING's 20 bits.  Default: fp32.")
@click.option("--rounding", type=RegistryChoice("synth.choices.ROUNDINGS"), default="stochastic",
              show_default=True,
              help="Rounding onto the fixed-point grid in training.  Validation and the "
                   "reported test accuracy round to nearest, as `nnsynth eval` and the ONNX "
                   "export do.")
@click.option("--scaling", type=RegistryChoice("synth.choices.SCALINGS"), default="fixed",
              show_default=True,
              help="Gradients and optimizer state on the same grid as the weights, or each "
                   "tensor with its own power-of-two scale (dynamic fixed point: for large "
                   "batches, and needed by Adam).")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              callback=checkpoint_out, help="Checkpoint path.")
@seed_option
@device_option
@json_option
def command(dataset, model_spec, epochs, min_steps, batch_size, lr, optimizer, fixed_point,
            rounding, scaling, out, seed, device, as_json):
    """Train MODEL on DATASET (best epoch on validation is kept) and save a checkpoint;
    with --fixed-point, at reduced precision (e.g. SPRING's 4.16 with stochastic rounding;
    fixed_point.rounding is the training's, val/test accuracy are rounded to nearest).

    Figures: flops is the multiply-accumulates (MACs) per sample of the model, every weight
    counted, as `nnsynth eval` prints it (a FLOP count of one multiply and one add each is
    twice that)."""
    from synth.errors import UserError
    from synth.quant import QuantConfig
    from synth.train import TrainConfig
    from synth.workflows import train_checkpoint

    ignored = given("rounding", "scaling")
    if fixed_point is None and ignored:   # fp32 training: nothing is rounded or scaled
        raise UserError(f"{' and '.join(ignored)} set the fixed-point training; without "
                        f"--fixed-point INT.FRAC the model trains in float32 (drop "
                        f"{' and '.join(ignored)}, or give --fixed-point)")
    quant = (QuantConfig.from_format(fixed_point, rounding=rounding, gradient_scaling=scaling,
                                     state_scaling=scaling, seed=seed)
             if fixed_point is not None else None)
    if quant is not None and optimizer == "adam" and scaling == "fixed":
        raise UserError("--optimizer adam with --fixed-point needs --scaling per_tensor: Adam's "
                        "second moment underflows a fixed grid")
    config = TrainConfig(epochs=epochs, min_steps=min_steps, batch_size=batch_size, lr=lr,
                         optimizer=optimizer, seed=seed, device=device, progress=show_progress())
    emit(train_checkpoint(dataset, model_spec, out, config, quant=quant), as_json)
