"""``nnsynth export``: a checkpoint to ONNX, checked against PyTorch with onnxruntime."""
import click

from deploy.cli.options import dataset_name, echo_notes, emit, json_option, onnx_out
from deploy.onnx_export import DEFAULT_RTOL, DEFAULT_TOLERANCE, FIXED_POINT_TOLERANCE_STEPS
from synth.errors import UserError
from synth.files import printable


def utf8_path(path: str, option: str) -> None:
    """Refuse a path that is not UTF-8 text (a name of bytes another encoding wrote, which
    Python holds as surrogates): torch.onnx, onnx and onnxruntime take paths as UTF-8
    strings, and such an --out was a TypeError traceback after the model was traced."""
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        raise UserError(f"{option} {printable(path)}: its path holds bytes that are not UTF-8 "
                        f"text, and ONNX files are written by a UTF-8 name; rename the folder "
                        f"or choose another {option}") from None


@click.command("export")
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False),
              help="Checkpoint written by nnsynth.")
@click.option("--out", required=True, type=click.Path(dir_okay=False), callback=onnx_out,
              help="ONNX file to write.")
@click.option("--dataset", default=None, callback=dataset_name,
              help="Data set to check the export on (default: the checkpoint's own).")
@click.option("--compact/--no-compact", default=True, show_default=True,
              help="Make a masked (grow-and-prune) model small and dense before export.")
@click.option("--tolerance", type=click.FloatRange(min=0, min_open=True),
              default=DEFAULT_TOLERANCE, show_default=True,
              help="Absolute part of the allowed |logit difference| on the test split: each "
                   "logit within tolerance + rtol x its sample's largest |logit| (numpy's "
                   "allclose atol and rtol, on the sample's scale).  A fixed-point checkpoint "
                   f"raises it to {FIXED_POINT_TOLERANCE_STEPS} steps of its grid when that is "
                   "larger (onnxruntime may round to the other side).")
@click.option("--rtol", type=click.FloatRange(min=0), default=DEFAULT_RTOL, show_default=True,
              help="Relative part of the allowed |logit difference|, a fraction of the "
                   "sample's largest |logit| (float32 rounding grows with it).")
@json_option
def command(model_path, out, dataset, compact, tolerance, rtol, as_json):
    """Export MODEL to ONNX and compare onnxruntime with PyTorch on its data set's test split.

    A checkpoint trained with `nnsynth train --fixed-point` is exported with its weights on the
    grid and every Linear/Conv1d/Conv2d output rounded to nearest on it (Mul/Floor/Clip nodes).

    The file's metadata_props say how to feed it (printed, and under "metadata" with --json):
    input_shape, kind, class_names (output order), feature_names (a table's columns, in input
    order), the training mean and std, value_range, pixel_scale (an image set's raw value of a
    full-scale pixel: digits' 16) and a preprocessing line: the model takes
    x_normalized = (x - mean) / std per feature or channel.

    parameters and nonzero_parameters count the PyTorch model exported (compacted);
    onnx_weights counts the values the ONNX file stores (its floating-point initializers):
    fewer where a BatchNorm is folded into the convolution before it, more where one stays a
    BatchNormalization node (after a Linear layer), which stores its running mean and
    variance as well."""
    from deploy.onnx_export import export_checkpoint, metadata_line
    utf8_path(out, "--out")
    result, notes = export_checkpoint(model_path, out, compact, tolerance, dataset, rtol)
    echo_notes(notes, result, as_json)
    if as_json:
        emit(result, True)
        return
    # the check's figures in 3 significant digits: key: value lines show 4 decimals, and a
    # difference of 9.5e-07 read "max_abs_diff: 0.0000", a 4.16 model's tolerance of 16 grid
    # steps (0.000244) "0.0002"
    emit({**result, **{k: f"{result[k]:.3g}" for k in ("max_abs_diff", "max_rel_diff",
                                                       "tolerance", "rtol")}}, False)
    click.echo(metadata_line(result["metadata"]))
