"""ONNX export of (compacted) nnsynth models, verified with onnxruntime.

``export_onnx(model, path)`` writes an ONNX graph with a dynamic batch axis
(``input`` -> ``logits``) atomically; ``verify_onnx(path, model, x)`` runs the same inputs
through onnxruntime and PyTorch and checks that they agree, as ``numpy.allclose`` does with
``rtol`` + ``atol``, but relative to each sample's output scale: every logit within
``tolerance + rtol * s`` of PyTorch's, ``s`` the sample's largest |logit| (by default
1e-6 + 1e-5 s, on the test split).  float32 rounding is relative to the scale of what
is summed: an absolute 1e-4 alone failed logits in the hundreds spuriously and let outputs
of 1e-5 differ by ten times their size; relative to each logit itself, a logit near 0
among logits in the thousands differed by 1e-3 of its own size.

The file carries what a deployer needs to feed it (``onnx_metadata``, in the model's
``metadata_props``, lists JSON-encoded): the input shape and kind, the class names in output
order, a table's feature columns in input order, the training normalization (mean/std per
feature or channel) and a one-line ``preprocessing`` recipe: the model takes normalized
inputs, x_normalized = (x - mean) / std.

Masks are folded in before export: a grow-and-prune model exports its *effective*
(masked) weights, and a compacted model exports its smaller dense layers.  We use the
TorchScript exporter (``dynamo=False``): it needs no extra package (the torch.export
path needs ``onnxscript``) and covers every layer type in ``synth.models``.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from synth.errors import UserError
from synth.logs import join_warnings
from synth.files import atomic_path

if TYPE_CHECKING:   # annotations only: torch and numpy are imported where they are used
    import numpy as np
    import torch

OPSET = 17
# PyTorch vs onnxruntime, float32: |difference| <= DEFAULT_TOLERANCE + DEFAULT_RTOL * s, s the
# sample's largest |logit|.  Measured: at most 1.4e-6 s (mlp, lenet5, convnet, resnet18, lstm,
# hlstm with logits of 1e-5 to 9e3: 0.002 apart at 5.5e3), so DEFAULT_RTOL leaves a margin of 7
DEFAULT_TOLERANCE = 1e-6   # the absolute part: outputs of about 0 (all logits near 0)
DEFAULT_RTOL = 1e-5        # relative to the sample's largest |logit|
# a fixed-point model rounds every layer output to its grid: onnxruntime and PyTorch can land
# on either side of a rounding boundary, so its tolerance is at least this many grid steps
FIXED_POINT_TOLERANCE_STEPS = 16
MAX_ONNX_BYTES = 2 << 30   # protobuf's limit on one message: a larger file is no ONNX model


def _is_own_onnx_file(path: Path) -> bool:
    """True when ``path`` is an ONNX model ``export_onnx`` could have written: its graph
    takes ``input`` and gives ``logits`` alone (the names of every nnsynth export, with or
    without ``onnx_metadata``).  Any parseable graph counted: --out naming the user's own
    model (torch.onnx.export of another network) was replaced without a word.  Larger than
    protobuf's 2 GB, it is not one and is not read.  Only a regular file is read: --out
    naming a named pipe (or /dev/stdout under ``| cat``) hung here for ever, waiting for a
    writer or for the end of the pipe."""
    import stat

    import onnx
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode) or st.st_size >= MAX_ONNX_BYTES:
            return False
        graph = onnx.load_model(str(path), load_external_data=False).graph
    except Exception:   # onnx raises protobuf's DecodeError, or others, for any other file
        return False
    return (len(graph.node) > 0 and "input" in [i.name for i in graph.input]
            and [o.name for o in graph.output] == ["logits"])


def check_onnx_out(path: str | os.PathLike, option: str = "--out") -> Path:
    """``path`` can take an ONNX export: nothing is there yet, or an nnsynth export
    (replaced)."""
    from synth.files import check_replaceable
    return check_replaceable(path, option, _is_own_onnx_file, "an ONNX model nnsynth exported")


UNIT = {"image": "channel", "sequence": "channel", "features": "feature"}


def _preprocessing(kind: str, meta: dict) -> str:
    """One line: how a raw input becomes what the model takes (``onnx_metadata``)."""
    if not meta.get("mean") or not meta.get("std"):
        return ("the checkpoint records no normalization: give the inputs as the model was "
                "trained on them")
    unit = UNIT.get(kind, "feature or channel")
    text = f"x_normalized = (x - mean) / std per {unit}"
    if kind == "image":   # synth.data: full scale is 1 (8-bit / 255, 16-bit / 65535; sklearn's
        # digits / 16), as input_range takes it
        scale = pixel_scale(meta)
        scaled = (f"raw pixels / {scale:g} (a full-scale pixel is {scale:g})" if scale else
                  "pixels scaled to [0, 1] (full scale = 1, e.g. 8-bit / 255, 16-bit / 65535)")
        text = f"{scaled}, then {text}; input (N, C, H, W)"
    elif kind == "sequence":
        text += "; input (N, C, T)"
        if meta.get("padding"):
            text += f"; padding: {meta['padding']}"
    elif kind == "features":
        text += (", columns in feature_names order" if meta.get("feature_names") else "")
        text += "; input (N, F)"
    return text + "; output: logits in class_names order"


def pixel_scale(meta: dict) -> float | None:
    """The raw value of a full-scale pixel an image set records (``pixel_scale``: digits' 16,
    mnist5k's 255), else None (a record without one, or one that is no positive number)."""
    import math
    value = meta.get("pixel_scale")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return value if math.isfinite(value) and 0 < value <= 1 << 32 else None


def onnx_metadata(meta: dict | None, input_shape, extra: dict | None = None) -> dict:
    """The ``metadata_props`` of an export (str -> str; lists JSON-encoded) from ``meta``, a
    checkpoint's data-set record (``Dataset.metadata()``): the nnsynth version, input and
    output names, input shape and kind, class names, feature names (a user's table), the
    training mean and std, the raw value range and the one-line ``preprocessing``."""
    import json
    from importlib.metadata import PackageNotFoundError, version
    from synth.models.registry import input_kind
    meta = dict(meta or {})
    try:
        own = version("nnsynth")
    except PackageNotFoundError:   # a source tree that is not installed
        own = "unknown"
    shape = [int(d) for d in input_shape]
    kind = input_kind(shape).kind    # by the rank of one sample's shape
    props = {"nnsynth_version": own, "input_name": "input", "output_name": "logits",
             "input_shape": shape, "kind": kind}
    for key in ("dataset", "class_names", "feature_names", "mean", "std", "value_range",
                "layout"):
        value = meta.get("name" if key == "dataset" else key)
        if value is not None and value != []:
            props[key] = value
    if kind == "image" and pixel_scale(meta):
        props["pixel_scale"] = pixel_scale(meta)
    props["preprocessing"] = _preprocessing(kind, meta)
    props.update(extra or {})
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in props.items()}


def metadata_line(props: dict) -> str:
    """A short human line naming what ``onnx_metadata`` wrote."""
    import json
    classes = json.loads(props.get("class_names", "[]"))
    features = json.loads(props.get("feature_names", "[]"))
    parts = [f"{props['kind']} input {tuple(json.loads(props['input_shape']))}",
             f"{len(classes)} class names" if classes else "no class names",
             *([f"{len(features)} feature names"] if features else []),
             f"preprocessing: {props['preprocessing']}"]
    return f"ONNX metadata ({len(props)} keys): " + "; ".join(parts)


def plain_weights(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` itself, or for a masked (grow-and-prune, ``--no-compact``) model a new one of
    its spec whose layers hold the effective weights (original * mask, zeros where pruned) as
    plain parameters: what the export traces.  The recurrent families compute a masked
    weight once per call (``parametrize.cached()``), which the tracer refuses ("Cannot trace
    a model while caching parametrizations": a traceback for every masked lstm or hlstm),
    and a plain weight puts the zeros themselves in the file, not an original and a mask to
    multiply.  Rebuilt from the spec (``synth.models.build``): a deep copy shares its
    parametrized classes with ``model``, and removing the parametrization from the copy
    strips ``weight`` from ``model`` too.  Each module's forward hooks (a fixed-point model's
    output rounding, ``synth.quant.attach_inference``) are carried over."""
    from synth.masked import add_hooks, masked_layers, module_hooks, plain_state
    from synth.models import build
    if not masked_layers(model) or getattr(model, "spec", None) is None:
        return model
    state, _ = plain_state(model)
    plain = build(model.spec, model.input_shape, model.num_classes)
    plain.load_state_dict(state)
    return add_hooks(plain, module_hooks(model))


def export_onnx(model: torch.nn.Module, path: str | os.PathLike,
                input_shape: tuple[int, ...] | None = None, opset: int = OPSET,
                metadata: dict | None = None) -> Path:
    """Write ``model`` (eval mode, CPU, float32) as ONNX with a dynamic batch axis, with
    ``metadata`` (str -> str, ``onnx_metadata``) in its ``metadata_props``, atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        write_onnx(model, tmp, input_shape, opset, metadata)
    return path


def write_onnx(model: torch.nn.Module, file: str | os.PathLike,
               input_shape: tuple[int, ...] | None = None, opset: int = OPSET,
               metadata: dict | None = None) -> None:
    """``export_onnx``'s work, written straight to ``file`` (a temporary name the caller
    owns, e.g. from ``synth.files.atomic_path``)."""
    import torch   # numpy and torch are imported where used: the CLI checks --out as it parses
    input_shape = tuple(input_shape or getattr(model, "input_shape", ()))
    if not input_shape:
        raise UserError("export_onnx needs input_shape (the model has no .input_shape)")
    from synth.models import logits_of
    from synth.modes import in_mode
    device = next(model.parameters()).device
    dummy = torch.zeros((1,) + input_shape)
    traced = plain_weights(model)
    try:   # eval mode for the export; each submodule's own mode (a frozen BN) given back
        with in_mode(traced.cpu()), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            with torch.no_grad():   # one tensor of logits, the file's one output: a tuple
                logits_of(traced(dummy), model)   # or dict was written as several outputs
            torch.onnx.export(traced, (dummy,), str(file), dynamo=False, opset_version=opset,
                              input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
            if metadata:   # the graph is untouched: only the model's key/value strings
                import onnx
                proto = onnx.load_model(str(file))
                onnx.helper.set_model_props(proto, {str(k): str(v)
                                                    for k, v in metadata.items()})
                onnx.save_model(proto, str(file))
    finally:
        model.to(device)


def onnx_session(path: str | os.PathLike):
    """An onnxruntime CPU session for ``path`` (checked with onnx.checker first)."""
    import onnx
    import onnxruntime as ort
    path = Path(path)
    if not path.is_file():
        raise UserError(f"ONNX file not found: {path}")
    try:
        onnx.checker.check_model(str(path))
    except Exception as e:  # onnx raises its own ValidationError types
        raise UserError(f"{path} is not a valid ONNX model: {str(e).splitlines()[0]}") from None
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_predict(path_or_session, x: torch.Tensor, batch_size: int = 1024) -> np.ndarray:
    """Logits from onnxruntime for a float tensor ``x`` of shape (N, *input_shape)."""
    import numpy as np
    session = (onnx_session(path_or_session) if isinstance(path_or_session, (str, Path))
               else path_or_session)
    name = session.get_inputs()[0].name
    x = x.detach().cpu().float().numpy()
    return np.concatenate([session.run(None, {name: x[i:i + batch_size]})[0]
                           for i in range(0, len(x), batch_size)], axis=0)


def verify_onnx(path: str | os.PathLike, model: torch.nn.Module, x: torch.Tensor,
                y: torch.Tensor | None = None, batch_size: int = 1024, *,
                tolerance: float = DEFAULT_TOLERANCE, rtol: float = DEFAULT_RTOL) -> dict:
    """Compare onnxruntime with PyTorch on ``x``: max |logit difference|, the largest one
    relative to its sample's largest |logit| (``max_rel_diff``), ``within_tolerance`` (every
    logit within ``tolerance + rtol * s``, ``s`` its sample's largest PyTorch |logit|; NaN
    never is) with the worst logit's difference and scale (``worst_diff``, ``worst_scale``),
    and (with ``y``) both accuracies and how many predictions disagree."""
    import numpy as np
    import torch

    from synth.models import logits_of
    from synth.modes import in_mode
    device = next(model.parameters()).device
    with in_mode(model), torch.no_grad():   # each submodule's own mode given back after
        torch_logits = torch.cat([logits_of(model(x[i:i + batch_size].to(device)), model).cpu()
                                  for i in range(0, len(x), batch_size)]).numpy()
    ort_logits = onnx_predict(path, x, batch_size)
    diff = np.abs(ort_logits - torch_logits).reshape(len(x), -1)
    scale = np.abs(torch_logits).reshape(len(x), -1).max(1, keepdims=True, initial=0.0)
    allowed = tolerance + rtol * scale
    ratio = diff / allowed                       # > 1: outside; NaN (a NaN logit): the worst
    worst = (np.unravel_index(np.argmax(np.where(np.isnan(ratio), np.inf, ratio)), diff.shape)
             if diff.size else None)
    result = {"samples": int(len(x)),
              "max_abs_diff": float(diff.max()) if diff.size else 0.0,
              "max_rel_diff": float((diff / np.where(scale > 0, scale, 1.0)).max())
              if diff.size else 0.0,
              "within_tolerance": bool(np.all(diff <= allowed)),
              "worst_diff": float(diff[worst]) if worst else 0.0,
              "worst_scale": float(scale[worst[0], 0]) if worst else 0.0,
              "prediction_mismatches": int((ort_logits.argmax(1) != torch_logits.argmax(1)).sum())}
    if y is not None:
        labels = y.cpu().numpy()
        result["onnx_accuracy"] = float((ort_logits.argmax(1) == labels).mean())
        result["torch_accuracy"] = float((torch_logits.argmax(1) == labels).mean())
    return result


def fixed_point_tolerance(tolerance: float, frac_bits: int) -> float:
    """``tolerance`` raised to ``FIXED_POINT_TOLERANCE_STEPS`` steps of a grid with
    ``frac_bits`` fractional bits (16 * 2^-8 = 0.0625 for a 4.8 format)."""
    return max(tolerance, FIXED_POINT_TOLERANCE_STEPS * 2.0 ** -frac_bits)


def export_and_verify(model: torch.nn.Module, path: str | os.PathLike, x: torch.Tensor,
                      y: torch.Tensor | None = None,
                      tolerance: float = DEFAULT_TOLERANCE, metadata: dict | None = None, *,
                      rtol: float = DEFAULT_RTOL) -> dict:
    """``export_onnx`` then ``verify_onnx``; raises when a logit differs by more than
    ``tolerance + rtol * s``, ``s`` its sample's largest |logit| (``numpy.allclose``'s
    ``atol`` and ``rtol``, on the sample's scale).  The export is verified under a temporary
    name and only then replaces ``path``: a bad export is never left behind, and a file already at ``path`` is kept.
    ``metadata`` (``onnx_metadata``: how to feed the model) goes into the file's
    ``metadata_props`` and is returned under ``"metadata"``."""
    from synth.config import check_range
    check_range("tolerance", tolerance, 0, None, low_open=True)   # NaN passed every check
    check_range("rtol", rtol, 0, None)
    path = check_onnx_out(path, "ONNX file")
    metadata = dict(metadata or {})
    # written and checked under atomic_path's temporary name, which replaces path only when
    # the block ends without an error (and takes the mode of a file it replaces: a private
    # export stays private).  Its own temporary name and os.replace made a 0600 file 0644,
    # failed a name within 15 characters of the file system's limit, and named that
    # temporary file in a write error.
    with atomic_path(path) as candidate:
        write_onnx(model, candidate, metadata=metadata)
        check = verify_onnx(candidate, model, x, y, tolerance=tolerance, rtol=rtol)
        diff, scale = check.pop("worst_diff"), check.pop("worst_scale")
        if not check.pop("within_tolerance"):
            raise UserError(f"ONNX export of {path.name} differs from PyTorch by {diff:.3g} "
                            f"on a sample whose largest |logit| is {scale:.3g}: more than "
                            f"tolerance {tolerance:g} + rtol {rtol:g} x {scale:.3g}")
    check.update(path=str(path), tolerance=tolerance, rtol=rtol,
                 bytes=path.stat().st_size, metadata=metadata)
    return check


def export_checkpoint(model_path: str | os.PathLike, out: str | os.PathLike,
                      compact: bool = True, tolerance: float = DEFAULT_TOLERANCE,
                      dataset: str | None = None, rtol: float = DEFAULT_RTOL,
                      ) -> tuple[dict, list[str]]:
    """``nnsynth export``: the checkpoint at ``model_path`` exported to ``out`` and checked
    against PyTorch on its data set's held-out split (test; val for a synthesized set), or
    ``dataset``'s (a checkpoint saved by the user's own code may record none).  Returns
    (result, notes), as ``synth.workflows.evaluate_checkpoint`` does: the notes are lines
    for the user (a set whose class names are not the model's, scored by index); result["note"]
    says a --no-compact (``compact`` False) was a no-op: the model has no masks.

    A masked (grow-and-prune) model is compacted first when ``compact``; a fixed-point one
    (``nnsynth train --fixed-point``) is exported with every layer output rounded to nearest
    on its grid (``synth.quant.INFERENCE_ROUNDING``, as ``nnsynth eval`` and train's test
    accuracy round it), its (absolute) tolerance raised by ``fixed_point_tolerance``."""
    from synth.checkpoint import checkpoint_dataset, load_model, padded_note
    from synth.models import count_parameters
    from synth.quant import INFERENCE_ROUNDING, attach_inference, checkpoint_quant
    model = load_model(model_path)
    meta = model.checkpoint_info.get("dataset") or {}   # read before compaction: a new module
    # its classes matched to the outputs by name, case ignored (checkpoint.in_model_order)
    data = checkpoint_dataset(model, dataset, source=f"checkpoint {model_path}")
    name, split = dataset or data.name, data.held_out()
    x, y = data.split(split)
    loaded = model
    quant = checkpoint_quant(model)            # read before compaction builds a new module
    from synth.masked import masked_layers
    masked = bool(masked_layers(model))
    if compact:
        if masked:
            from synth.compact import check_compactable, compact as make_compact
            check_compactable(model.spec["family"], "; pass --no-compact to export it masked")
            model = make_compact(model)
    if quant:
        attach_inference(model, quant, INFERENCE_ROUNDING)
        tolerance = fixed_point_tolerance(tolerance, quant.frac_bits)
    # eval's notes of the split it checks on, of the model exported (onnx_accuracy on a file
    # of the model's own training rows read as held out: eval said so, export did not)
    from synth.workflows import scored_notes
    _, notes = scored_notes(loaded, data, dataset, scored=model, split_option=False)
    fixed = f"{quant.format} {INFERENCE_ROUNDING}" if quant else None
    metadata = onnx_metadata(meta, model.input_shape, {"fixed_point": fixed} if quant else None)
    result = export_and_verify(model, out, x, y, tolerance, metadata, rtol=rtol)
    result["checked_on"] = f"{data.name} {split}"
    if quant:
        result["fixed_point"] = fixed
    # parameters: the PyTorch model's (exported after compaction); onnx_weights: what the
    # file holds, which the exporter makes smaller by folding each BatchNorm into the layer
    # before it (convnet_small: 5,178 parameters, 5,130 weights in the file)
    result.update(parameters=count_parameters(model),
                  nonzero_parameters=count_parameters(model, nonzero=True),
                  onnx_weights=onnx_weight_count(result["path"]))
    said = [padded_note(data, name)]
    if not compact and not masked:   # the flag was a no-op, and nothing said so (a
        # "note: " line of the result, with --json its "note")
        said.append(f"--no-compact: {model_path} has no masks to keep (not a "
                    f"grow-and-prune model): exported as it is, as without the flag")
    if any(said):
        result["note"] = join_warnings(said)
    return result, notes


def onnx_weight_count(path: str | os.PathLike) -> int:
    """The weights the ONNX file at ``path`` holds: the elements of its floating-point
    initializers (``onnx``; the tensors' data are not read).  Fewer than the PyTorch model's
    parameters where a BatchNorm was folded into the Conv before it (its scale and shift go
    into that layer's weight and bias); more where one follows a Linear layer: the exporter
    keeps it a BatchNormalization node, whose running mean and variance are initializers too
    (an mlp [32, 16] with bn: 2,970 values for 2,874 parameters, h290).  A tensor equal to
    another is stored once (a fresh BatchNorm's running mean and variance, its 0s and 1s)."""
    import math

    import onnx
    tp = onnx.TensorProto   # an integer initializer is a shape or an index, not a weight
    floats = (tp.FLOAT, tp.DOUBLE, tp.FLOAT16, tp.BFLOAT16)
    graph = onnx.load(str(path), load_external_data=False).graph
    return sum(math.prod(t.dims) for t in graph.initializer if t.data_type in floats)
