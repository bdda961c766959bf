"""``nnsynth export``: a checkpoint to ONNX, checked against PyTorch with onnxruntime."""
import click

from deploy.cli.options import emit, json_option, onnx_out
from deploy.onnx_export import DEFAULT_TOLERANCE, FIXED_POINT_TOLERANCE_STEPS


@click.command("export")
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False),
              help="Checkpoint written by nnsynth.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=onnx_out,
              help="ONNX file to write.")
@click.option("--compact/--no-compact", default=True, show_default=True,
              help="Make a masked (grow-and-prune) model small and dense before export.")
@click.option("--tolerance", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_TOLERANCE, show_default=True,
              help="Max |logit difference| on the test split; a fixed-point checkpoint raises "
                   f"it to {FIXED_POINT_TOLERANCE_STEPS} steps of its grid when that is larger "
                   "(onnxruntime may round to the other side).")
@json_option
def command(model_path, out, compact, tolerance, as_json):
    """Export MODEL to ONNX and compare onnxruntime with PyTorch on its data set's test split.

    A checkpoint trained with `nnsynth train --fixed-point` is exported with its weights on the
    grid and every Linear/Conv2d output rounded to nearest on it (Mul/Floor/Clip nodes)."""
    from deploy.onnx_export import export_and_verify, fixed_point_tolerance
    from synth.checkpoint import checkpoint_dataset, load_model
    from synth.models import count_parameters

    model = load_model(model_path)
    data = checkpoint_dataset(model, source=f"checkpoint {model_path}")
    from synth.quant import attach_inference, checkpoint_quant
    quant = checkpoint_quant(model)            # read before compaction builds a new module
    if compact:
        from synth.masked import masked_layers
        if masked_layers(model):
            from synth.compact import compact as make_compact
            model = make_compact(model)
    if quant:  # `nnsynth train --fixed-point`: the graph rounds every layer output to nearest
        attach_inference(model, quant, rounding="nearest")
        tolerance = fixed_point_tolerance(tolerance, quant.frac_bits)
    split = data.held_out()                    # test; val for a synthesized set
    result = export_and_verify(model, out, *data.split(split), tolerance)
    result["checked_on"] = f"{data.name} {split}"
    if quant:
        result["fixed_point"] = f"{quant.format} nearest"
    result.update(parameters=count_parameters(model),
                  nonzero_parameters=count_parameters(model, nonzero=True))
    emit(result, as_json)
