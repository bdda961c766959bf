"""The model registry and the interface every family shares.

A *spec* is a JSON-able dict ``{"family": name, ...hyperparameters}``; a *variant* is a
name for a spec (``lenet5_bn``, ``resnet18``) in the timm style.  ``resolve_spec`` turns a
variant name, a JSON string or a dict into a complete spec (defaults filled), and
``build`` makes the module.  Every model is a ``SpecModel``: it carries its spec and
exposes its BatchNorm layers and its prunable (Linear/Conv1d/Conv2d) layers the same way.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import math
import numbers
from typing import Any, Callable

import torch
from torch import nn

from synth.config import check_range, short_repr
from synth.device import module_device
from synth.errors import ConfigError, UserError
from synth.meta_shapes import shape_on_meta
from synth.modes import in_mode

_FAMILIES: dict[str, tuple[Callable[..., nn.Module], dict, str]] = {}
_VARIANTS: dict[str, dict] = {}


class SpecModel(nn.Module):
    """Base of all families: remembers its spec, input shape and class count."""

    def __init__(self, spec: dict, input_shape: tuple[int, ...], num_classes: int):
        super().__init__()
        self.spec = copy.deepcopy(spec)
        self.input_shape = tuple(int(s) for s in input_shape)
        self.num_classes = int(num_classes)

    def batchnorm_layers(self) -> list[nn.modules.batchnorm._BatchNorm]:
        return batchnorm_layers(self)

    def prunable_layers(self) -> list[tuple[str, nn.Module]]:
        return prunable_layers(self)


def batchnorm_layers(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """BatchNorm layers in forward (registration) order."""
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


# The layers whose weights are masked, pruned and grown connection by connection: a Conv1d
# (weight out x in x k, the convnet1d family) as a Conv2d (out x in x kh x kw), filters
# being output channels in both.  Also the layers fixed point rounds (synth.quant).
PRUNABLE = (nn.Linear, nn.Conv1d, nn.Conv2d)


def not_built(model: nn.Module, what: str, families=None) -> str | None:
    """Why ``what`` (an operation that rebuilds the model from its spec: structured pruning,
    compaction, a checkpoint) cannot take ``model``: a module of the user's, not built by
    ``build`` (no spec, or one naming no registered family); None where it can.  Such a module
    read 'got None' (h324)."""
    spec = getattr(model, "spec", None)
    family = spec.get("family") if isinstance(spec, dict) else None
    if isinstance(model, SpecModel) and family in _FAMILIES:
        return None
    held = (f"its spec names family {short_repr(family)}, which is not registered"
            if spec is not None else "it has no spec")
    return (f"{what} needs a model built by synth.models.build (families: "
            f"{', '.join(families or sorted(_FAMILIES))}); the {type(model).__name__} was "
            f"not: {held}")


def logits_of(out: Any, model: nn.Module | None = None, who: str = "the model") -> torch.Tensor:
    """``out``, a model's forward output, where it is the logits: one tensor.  A module of the
    user's whose forward returns a tuple (logits and features, torchvision's aux logits) or a
    dict ({"logits": ...}) is refused in one line naming it and what is expected: it was a
    TypeError or AttributeError traceback deep in evaluation, training, KD or the ONNX check
    (h324)."""
    if isinstance(out, torch.Tensor):
        return out
    name = f" ({type(model).__name__})" if model is not None else ""
    raise UserError(f"{who}{name}'s forward returns a {type(out).__name__}, not a tensor: "
                    f"nnsynth needs a forward that returns the logits, one tensor (N, classes); "
                    f"wrap the module so that it returns them (e.g. out[0] or out['logits'])")


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(qualified name, module) for every Linear, Conv1d and Conv2d (``PRUNABLE``), in
    registration order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, PRUNABLE)]


_RANKS: dict[str, int] = {}     # family -> the input rank it takes (absent: any)
_LAYERS: dict[str, Callable[[dict], int]] = {}   # family -> layers its spec builds (absent:
                                                # its lists' lengths bound them)
_VALUE_RANGES: dict[str, dict[str, tuple[float, float]]] = {}   # family -> key -> [low, high)
_CLASS_LIMITS: dict[str, int] = {}   # family -> the most outputs it may have (absent: MAX_CLASSES)
_TAKES: dict[str, str] = {}   # family -> what one sample is, in its wrong-kind error (absent:
                              # INPUT_KINDS' words for its rank)


@dataclasses.dataclass(frozen=True)
class InputKind:
    """What one sample of a data set is, by the rank of its shape: the one table behind the
    model families' wrong-kind errors, ``nnsynth run``'s data check (deploy.stages), the ONNX
    export's ``kind`` and summary.md's unit (deploy.onnx_export, deploy.summary)."""
    kind: str    # the word recorded with the data (a sequence set's metadata "kind", ONNX's)
    one: str     # one input in a report: "ms/image", "the 36 test rows"
    many: str    # in messages, with the layout: "images (channels, height, width)"


INPUT_KINDS = {1: InputKind("features", "row", "feature vectors (features,)"),
               2: InputKind("sequence", "sequence", "sequences (channels, steps)"),
               3: InputKind("image", "image", "images (channels, height, width)")}


def input_kind(input_shape) -> InputKind:
    """``INPUT_KINDS`` of a sample shape's rank; another rank is ``unknown``."""
    rank = len(tuple(input_shape))
    return INPUT_KINDS.get(rank) or InputKind("unknown", "input", f"{rank}-d samples")


def register_family(name: str, defaults: dict, description: str, input_rank: int | None = None,
                    layers: Callable[[dict], int] | None = None,
                    ranges: dict[str, tuple[float, float]] | None = None,
                    max_classes: int | None = None, takes: str | None = None):
    """Decorator for ``fn(spec, input_shape, num_classes) -> SpecModel``; ``input_rank`` (if
    given) is the number of sample dimensions the family takes (2: sequences, 3: images);
    ``layers`` (if given) counts the layers a complete spec builds where a number in it (not
    a list's length) sets the depth, so ``resolve_spec`` can bound it (MAX_LAYERS);
    ``ranges`` maps each number key to the half-open ``[low, high)`` it must lie in (each
    value of a list key: widths, kernels; ``WIDTH``, ``SIDE``, ``DEPTH``, ``PROBABILITY``),
    checked by ``resolve_spec`` and by a search space over the family (``value_range``);
    every family states one for every number its builder takes
    (tests/synth/test_h218_family_ranges.py).  ``max_classes``: the most outputs a model of
    the family may have where it is not ``MAX_CLASSES`` (a language model's vocabulary).
    ``takes``: what one sample is, with its layout, where ``INPUT_KINDS``' words for the
    rank would mislead (a language model's rank-1 sample is token ids, not features)."""
    def wrap(fn):
        _FAMILIES[name] = (fn, dict(defaults), description)
        if takes is not None:
            _TAKES[name] = takes
        if max_classes is not None:
            _CLASS_LIMITS[name] = int(max_classes)
        if input_rank is not None:
            _RANKS[name] = int(input_rank)
        if layers is not None:
            _LAYERS[name] = layers
        if ranges:
            _VALUE_RANGES[name] = {k: (float(lo), float(hi)) for k, (lo, hi) in ranges.items()}
        return fn
    return wrap


def value_range(family: str, key: str) -> tuple[float, float] | None:
    """The half-open ``[low, high)`` a number ``key`` of ``family``'s specs must lie in, or
    None where the family states none."""
    return _VALUE_RANGES.get(family, {}).get(key)


def value_ranges(family: str) -> dict[str, tuple[float, float]]:
    """Every range ``family`` declares, by key (a copy)."""
    return dict(_VALUE_RANGES.get(family, {}))


def check_in_range(family: str, key: str, value: Any) -> str | None:
    """Why ``value`` is outside ``family``'s range for ``key`` ("must be in [0, 1)"), or None
    (within it, no range stated, or not a number: ``_check_value`` names that).  A list
    (widths, kernels: one value per layer, nested for hlstm's gates) is within it when each
    of its numbers is ("values must each be in [1, 100000000]").  An integer key's range is
    written closed, as the integers it holds: [1, MAX_WIDTH + 1) is "[1, 100000000]"."""
    bounds = value_range(family, key)
    if bounds is None:
        return None
    low, high = bounds
    if _integer_key(family, key):
        text = f"[{math.ceil(low)}, {math.ceil(high) - 1}]"
    else:
        text = f"[{low:g}, {high:g})"
    if all(low <= v < high for v in _numbers(value)):
        return None
    return (f"values must each be in {text}" if isinstance(value, (list, tuple))
            else f"must be in {text}")


def _integer_key(family: str, key: str) -> bool:
    """A key whose default is an integer or a list of them (widths, depths, kernels)."""
    default = _FAMILIES.get(family, (None, {}, ""))[1].get(key)
    return isinstance(default, (numbers.Integral, list)) and not isinstance(default, bool)


def _numbers(value: Any, depth: int = 0):
    """The real numbers in ``value`` (a number, or a list of them nested up to 4 deep);
    anything else is ``_check_value``'s to name."""
    if isinstance(value, (list, tuple)):
        if depth < 4:
            for v in value:
                yield from _numbers(v, depth + 1)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        yield value


def check_input_rank(family: str, input_shape: tuple, where: str = "the data",
                     hint: str = "") -> None:
    """One-line error when a family meets data of the wrong kind (a sequence set given to an
    image model, or the reverse).  ``where`` names what the shape came from (an option, where
    no data set is involved: hwsim's ``--input-shape``); ``hint`` ends the line."""
    rank = _RANKS.get(family)
    if rank is not None and len(input_shape) != rank:
        takes = _TAKES.get(family) or INPUT_KINDS[rank].many
        raise UserError(f"model family {family!r} takes {takes}; {where} has "
                        f"input shape {tuple(input_shape)} ({input_kind(input_shape).many})"
                        f"{hint}")


def register_variant(name: str, spec: dict) -> None:
    _VARIANTS[name] = dict(spec)


def list_families() -> dict[str, str]:
    return {k: v[2] for k, v in _FAMILIES.items()}


def list_variants() -> dict[str, dict]:
    return {k: resolve_spec(v) for k, v in _VARIANTS.items()}


def looks_like_path(text: str) -> bool:
    """A --model value that names a file (a checkpoint), not a variant: a path separator or
    a checkpoint's suffix."""
    return "/" in text or "\\" in text or text.lower().endswith((".pt", ".pth", ".ckpt"))


def resolve_spec(spec: Any) -> dict:
    """A variant name, a JSON object string, or a dict -> a complete spec dict."""
    if isinstance(spec, str):
        text = spec.strip()
        if text.startswith("{"):
            from synth.errors import ConfigError
            from synth.files import load_json_text
            try:
                spec = load_json_text(text)
            except ConfigError as e:     # a key given twice (json keeps the last, silently),
                raise UserError(f"model spec {e}") from None   # nested too deep
            except json.JSONDecodeError as e:
                raise UserError(f"model spec is not valid JSON: {e.msg} at column {e.colno}") from None
        elif text in _VARIANTS:
            spec = _VARIANTS[text]
        elif looks_like_path(text):   # a checkpoint named where a spec was expected
            import os
            from synth.files import missing_input
            expected = (f"variants: {', '.join(sorted(_VARIANTS))}; or a JSON spec like "
                        f"'{{\"family\": \"mlp\", \"hidden\": [64]}}'")
            if os.path.lexists(text) and not os.path.isfile(text):   # a FIFO, a device, a
                # folder, a link loop: named as what it is (it was "a file", or "no such file")
                raise missing_input(text, "model", f"a variant name or JSON spec here "
                                                   f"({expected})")
            what = ("no such file" if not os.path.lexists(text) else
                    "a file, where a variant name or JSON spec is expected here")
            raise UserError(f"model {short_repr(text)}: {what} ({expected})")
        elif text in _FAMILIES:   # a family's name, which is not itself a variant
            raise UserError(f"model {short_repr(text)} is a family, not a variant: give its "
                            f"spec as JSON, '{{\"family\": \"{text}\"}}' for its defaults, or a "
                            f"variant ({', '.join(sorted(_VARIANTS))})")
        else:
            raise UserError(f"unknown model {short_repr(text)}; variants: {', '.join(sorted(_VARIANTS))}; "
                            f"or give a JSON spec like '{{\"family\": \"mlp\", \"hidden\": [64]}}'")
    if not isinstance(spec, dict) or "family" not in spec:
        raise UserError(f"model spec must be a dict with a 'family' key, got {short_repr(spec)}")
    family = spec["family"]
    if family not in _FAMILIES:
        raise UserError(f"unknown model family {short_repr(family)}; known: {', '.join(sorted(_FAMILIES))}")
    defaults = _FAMILIES[family][1]
    unknown = sorted(set(spec) - set(defaults) - {"family"})
    if unknown:
        raise UserError(f"unknown key {short_repr(unknown[0])} in {family} spec; known: "
                        f"{', '.join(sorted(defaults))}")
    for key in sorted(set(spec) - {"family"}):   # the same key named on every run
        _check_value(family, key, spec[key], defaults[key])
    full = {"family": family, **copy.deepcopy(defaults)}
    full.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in spec.items()})
    if family in _LAYERS:
        try:
            layers = _LAYERS[family](full)
        except (TypeError, ValueError):   # a malformed value: the builder names it
            layers = 0
        if layers > MAX_LAYERS:   # checked before the build, which makes each layer in turn
            raise UserError(f"{family} spec builds {layers:,} layers; the limit is "
                            f"{MAX_LAYERS:,}")
    for key in sorted(set(spec) - {"family"}):   # after the layer count, which says more
        outside = check_in_range(family, key, spec[key])
        if outside:   # a dropout of 1.5 was the build's 'does not fit input shape' (or a skip)
            raise UserError(f"{family} spec key {key!r} {outside}, got {short_repr(spec[key])}")
    return full


def _integers(v: Any, depth: int = 0) -> bool:
    """An integer or a (nested) list of integers; bools are not integers here."""
    if isinstance(v, (list, tuple)):
        return depth < 4 and all(_integers(x, depth + 1) for x in v)
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _longest(v: Any) -> int:
    """The length of the longest list in ``v`` (nested lists included; 0 for a number)."""
    if isinstance(v, (list, tuple)):
        return max([len(v)] + [_longest(x) for x in v])
    return 0


def _check_value(family: str, key: str, value: Any, default: Any) -> None:
    """A spec value of the default's kind: a bool for a bool, a finite number for a float, a
    string for a string, a flat list of integers for a list (widths, kernels, strides,
    depths, hidden: one per layer; ``[[64]]`` or ``64`` for mlp's hidden was the build's
    "does not fit input shape: int() argument must be ...") and integers for an integer
    (one number, or hlstm's per-layer, per-gate lists; its builder checks the structure).
    Without this a width of 8.5 was cut to 8, ``true`` built a width of 1 and a NaN dropout
    trained a model."""
    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(default, list):   # every builder reads one integer per layer
        ok = isinstance(value, (list, tuple)) and all(_integers(v, 4) for v in value)
        want = "integers (a list, one per layer)"
    elif isinstance(default, numbers.Integral):
        ok, want = _integers(value), "integers (a number or a list)"
    elif isinstance(default, float):
        # by comparison, not math.isfinite: an int of 400 digits would overflow a float
        ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
              and -math.inf < value < math.inf)
        want = "a finite number"
    elif isinstance(default, str):
        ok, want = isinstance(value, str), "a string"
    else:
        return
    if not ok:
        raise UserError(f"{family} spec key {key!r} must be {want}, got {short_repr(value)}")
    if isinstance(value, (list, tuple)) and _longest(value) > MAX_LAYERS:
        # one layer per entry: a 100,000-entry list (a 300 kB checkpoint) built 100,000
        # modules on the meta device for minutes before the parameter count was checked
        raise UserError(f"{family} spec key {key!r} lists {_longest(value):,} values (one "
                        f"per layer); the limit is {MAX_LAYERS:,}")


# Bounds checked before any weight is allocated (a spec or checkpoint from a user is data).
# MAX_PARAMETERS: 100 M float32 weights = 400 MB, 4x ResNet-50; raise it with the
# NNSYNTH_MAX_PARAMETERS environment variable for larger models.
MAX_PARAMETERS = 100_000_000
MAX_INPUT_ELEMENTS = 1 << 24      # values in one sample (3x2048x2048 fits)
MAX_INPUT_DIMS = 4
MAX_CLASSES = 100_000
# Layers (or blocks) one spec builds: each is made in turn (on the meta device first) before
# the parameter count can be checked, so a depth of 10**9 at width 1 (few parameters each)
# ran for ever.  The deepest published ResNet, ResNet-1202, has 600 blocks; 1,024 blocks of
# width 1 take about 25 s to build here.
MAX_LAYERS = 1024

# The ranges the families declare (``register_family(ranges=...)``, half-open [low, high)),
# checked when a spec is resolved and when a search space over a family is loaded.
# A layer's units or channels: each has a weight at least, so a wider layer is over the
# default parameter limit by itself (``nnsynth scann --hidden`` is bounded the same way).
MAX_WIDTH = MAX_PARAMETERS
# A kernel, a stride or a frame is a length along one dimension of a sample: none is longer
# than a sample's values (a longer kernel covers padding only, a longer stride one position).
MAX_SIDE = MAX_INPUT_ELEMENTS
WIDTH = (1, MAX_WIDTH + 1)          # widths, hidden sizes, channels: [1, MAX_WIDTH]
SIDE = (1, MAX_SIDE + 1)            # kernels, strides, frames: [1, MAX_SIDE]
DEPTH = (1, MAX_LAYERS + 1)         # blocks in one stage: [1, MAX_LAYERS]
PROBABILITY = (0.0, 1.0)            # dropout: 1 drops every unit


def round_units(value: float, least: int = 1) -> int:
    """A number of units, channels or features scaled by a fraction (a width times a
    compression or keep ratio): rounded half up, and at least ``least`` so that no layer
    is left without units.  The one rule for every such count: Python's ``round`` rounds a
    half to the even neighbour, so a width scaled to 2.5 kept 2 units and one scaled to 3.5
    kept 4.  A product within 1e-9 below a half counts as the half it stands for
    (``5 * (1 - 0.9)`` is 0.49999999999999994)."""
    return max(int(least), math.floor(float(value) + 0.5 + 1e-9))


def max_parameters() -> int:
    import os
    text = os.environ.get("NNSYNTH_MAX_PARAMETERS", "")
    if not text:
        return MAX_PARAMETERS
    try:
        value = int(text)
    except ValueError:
        raise UserError(f"NNSYNTH_MAX_PARAMETERS must be an integer, got {short_repr(text)}") from None
    if value < 1:
        raise UserError(f"NNSYNTH_MAX_PARAMETERS must be >= 1, got {value}")
    return value


def meta_shell(make: Callable[[], nn.Module], what: Callable[[], str]) -> nn.Module:
    """``make()`` on the meta device (shapes only, no memory), for ``check_parameter_count``.
    A size beyond what a tensor can describe (a width of 10^11: 4 x 10^22 elements) is the
    parameter limit's one-line UserError, not torch's 'Storage size calculation overflowed'
    traceback, nor its TypeError 'Overflow when unpacking long long' for a size past 2^63
    (``nnsynth symbiotic --widths 99999999999999999999999``)."""
    try:
        with torch.device("meta"):
            return make()
    except (RuntimeError, TypeError) as e:
        if "overflow" not in str(e).lower():
            raise
        raise UserError(f"{what()} has more parameters than a tensor can hold; the limit is "
                        f"{max_parameters():,} (NNSYNTH_MAX_PARAMETERS)") from None


class ParameterLimitError(UserError):
    """A model over ``max_parameters()``: its ``count`` of parameters and the ``limit``, so
    that a caller can tell it by the setting that made the model so large
    (``synth.scann.check_base_size``: --hidden) without reading the message."""

    def __init__(self, message: str, count: int | None = None, limit: int | None = None):
        super().__init__(message)
        self.count, self.limit = count, limit


def check_parameter_count(shell: nn.Module, what: Callable[[], str]) -> int:
    """``shell``'s parameter count (a module made on the meta device: no memory); above
    ``max_parameters()`` a one-line ParameterLimitError that begins with ``what()`` (called
    only then)."""
    count = sum(p.numel() for p in shell.parameters())
    limit = max_parameters()
    if count > limit:
        raise ParameterLimitError(f"{what()} has {count:,} parameters; the limit is {limit:,} "
                                  f"(set NNSYNTH_MAX_PARAMETERS to raise it)", count, limit)
    return count


def class_limit(spec: Any) -> int:
    """The most classes (outputs) a model of ``spec``'s family may have: MAX_CLASSES, or the
    family's own (``register_family(max_classes=)``: a language model's vocabulary, one
    output a word, is bounded by the text reader's distinct words instead)."""
    family = spec.get("family") if isinstance(spec, dict) else None
    return _CLASS_LIMITS.get(family, MAX_CLASSES) if isinstance(family, str) else MAX_CLASSES


def check_shape(input_shape: Any, num_classes: Any, where: str = "model",
                max_classes: int = MAX_CLASSES) -> tuple[tuple[int, ...], int]:
    """(input_shape, num_classes) as ints, or a one-line UserError naming ``where``: 1 to 4
    positive dimensions of at most MAX_INPUT_ELEMENTS values, 2 to ``max_classes`` classes
    (``class_limit``)."""
    ok = (isinstance(input_shape, (list, tuple)) and 1 <= len(input_shape) <= MAX_INPUT_DIMS
          and all(isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_INPUT_ELEMENTS
                  for d in input_shape))
    if ok:
        size = 1
        for d in input_shape:
            size *= d
        ok = size <= MAX_INPUT_ELEMENTS
    if not ok:
        raise UserError(f"{where}: input_shape must be 1-{MAX_INPUT_DIMS} positive integers of "
                        f"at most {MAX_INPUT_ELEMENTS:,} values in all, got {short_repr(input_shape)}")
    try:   # check_range's error and fields (the CLI names --num-classes), after ``where``
        check_range("num_classes", num_classes, 2, max_classes, integer=True)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}", field=e.field, value=e.value, low=e.low, high=e.high,
                          low_open=e.low_open, high_open=e.high_open,
                          integer=e.integer) from None
    return tuple(input_shape), num_classes


def build(spec: Any, input_shape, num_classes: int, *, meta: bool = False) -> SpecModel:
    """Build the module for ``spec`` (variant name, JSON string or dict).

    The model is first made on PyTorch's meta device (shapes only, no memory) and its
    parameter count checked against ``max_parameters()`` before a single weight is
    allocated.  ``meta=True`` returns that shape-only model (used to check a checkpoint's
    state dict before loading it); otherwise the real model runs one forward pass on two
    zero samples, so a spec that does not fit the input fails here, by name.  (The meta
    device's forward pass would import sympy, seconds per command: it is not used.)"""
    full = resolve_spec(spec)
    if isinstance(input_shape, (list, tuple)):
        input_shape = tuple(int(s) if hasattr(s, "__index__") and not isinstance(s, bool) else s
                            for s in input_shape)
    input_shape, num_classes = check_shape(input_shape, int(num_classes)
                                           if hasattr(num_classes, "__index__") else num_classes,
                                           max_classes=class_limit(full))
    check_input_rank(full["family"], input_shape)
    make = _FAMILIES[full["family"]][0]

    def what() -> str:
        return f"model spec {short_repr(json.dumps(full), 200)}"
    errors = (RuntimeError, ValueError, TypeError, OverflowError, IndexError)
    try:
        shell = meta_shell(lambda: make(full, input_shape, num_classes), what)
    except errors as e:
        raise unbuilt(full, input_shape, num_classes, e, what()) from None
    check_parameter_count(shell, what)
    if meta:
        return shell
    check_steps(shell, input_shape, what)
    fits = fits_on_meta(shell, input_shape, lambda: short_repr(json.dumps(full), 200))
    try:
        model = make(full, input_shape, num_classes)
    except errors as e:
        raise unbuilt(full, input_shape, num_classes, e, what()) from None
    if fits:   # the shapes fit, within the work limits: no arithmetic needed to know it
        return model
    try:
        model.eval()
        with torch.no_grad(), bounded_work(model, input_shape, CHECK_SAMPLES,
                                           lambda: short_repr(json.dumps(full), 200)):
            model(torch.zeros((CHECK_SAMPLES,) + input_shape, dtype=input_dtype(model)))
        model.train()
    except WorkLimitError:
        raise
    except errors as e:   # the layers, made, meet the input: what does not fit is its shape
        raise UserError(f"{what()} does not fit input shape {input_shape}: "
                        f"{str(e).splitlines()[0][:200]}") from None
    return model


def unbuilt(full: dict, input_shape: tuple, num_classes: int, error: Exception,
            what: str) -> UserError:
    """The one-line error for a complete spec ``full`` whose builder raised ``error`` while
    making its layers (before any input ran through them, so not about the input shape: it
    said "does not fit input shape" of a pool 'median' or an hlstm gate_hidden of the wrong
    length).  The builder's own UserError names the key (``convnet pool must be avg, max or
    flatten, got 'median'``; lstm's frame beyond the input's steps names the steps); any
    other error names the key whose default, in its place, builds or fails otherwise, and
    that default (lenet5 channels [6]: 'not enough values to unpack'); where no key does, the
    builder ran its layers on the input shape and that is what does not fit."""
    text = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
    if isinstance(error, UserError):   # the builder's, or meta_shell's (naming the spec)
        return UserError(text if text.startswith(what) else f"{what}: {text}")
    family, defaults = full["family"], _FAMILIES[full["family"]][1]
    for key in sorted(k for k in defaults if full.get(k) != defaults[k]):
        try:
            with torch.device("meta"):
                _FAMILIES[family][0]({**full, key: copy.deepcopy(defaults[key])},
                                     input_shape, num_classes)
        except Exception as other:   # noqa: BLE001 -- the same error: not this key
            if str(other).splitlines()[:1] == str(error).splitlines()[:1]:
                continue   # (another error: this key's, and then something else's too)
        return UserError(f"{what}: {family} spec key {key!r} cannot be built from "
                         f"{short_repr(full[key])} ({text}); expected a value like its "
                         f"default {json.dumps(defaults[key])}")
    # no one key: the builder ran its layers on the input (lenet5's 5x5 kernels on 8x8)
    return UserError(f"{what} does not fit input shape {tuple(input_shape)}: {text}")


class _ShapesByFormula(torch.overrides.TorchFunctionMode):
    """Answers the calls ``synth.meta_shapes.shape_on_meta`` knows (convolutions, norms,
    ReLU, pools, Linear, adds, concatenations) by their output-size formulas; torch's own
    meta kernels for them import sympy (seconds a process)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = shape_on_meta(func, args, kwargs)
        return func(*args, **kwargs) if out is None else out


def fits_on_meta(shell: nn.Module, input_shape: tuple, what: Callable[[], str]) -> bool:
    """build()'s fit check on the meta device: ``shell`` (made there) runs CHECK_SAMPLES
    samples of ``input_shape`` under ``bounded_work``'s limits, shapes only.  True when it
    ran (the spec fits the input, within MAX_SAMPLE_VALUES and MAX_SAMPLE_MACS); a
    WorkLimitError when a layer exceeds them; False when the pass did not run on meta
    tensors (a shape error, data-dependent code, a tensor made off the meta device): the
    real pass then says why, as before.  The real pass's time was its arithmetic: a 300 kB
    checkpoint of resnet8_w16 recording input (3, 2048, 2048) took 315 s to build, within
    the limits; a 1000-layer convnet on 8x8 inputs 21 s."""
    modes = [(m, m.training) for m in shell.modules()]
    shell.eval()
    try:
        with torch.no_grad(), bounded_work(shell, input_shape, CHECK_SAMPLES, what), \
                _ShapesByFormula():
            shell(torch.zeros((CHECK_SAMPLES,) + tuple(input_shape), device="meta",
                              dtype=input_dtype(shell)))
        return True
    except WorkLimitError:
        raise
    except Exception:   # noqa: BLE001 -- any failure: the real pass decides, as before
        return False
    finally:
        for m, training in modes:
            m.training = training


# build()'s fit check runs the model on CHECK_SAMPLES zero samples.  Its work is bounded as
# it runs (``bounded_work``): a checkpoint of 329 kB whose resnet8_w16 records input_shape
# (1, 4096, 4096) (within MAX_INPUT_ELEMENTS) made a stem output of 16 x 4096 x 4096 values a
# sample and took 70-100 s and 8.7 GB before the shape mismatch with its data was reported.
# The limits are per sample: the resnet18 variant (stride-1 stem) on a 3 x 1024 x 1024 image
# (the largest images:<dir> side, synth.data.MAX_IMAGE_SIDE) makes 6.7e7 values in its
# stem and 5.7e11 multiply-accumulates a sample; on ImageNet's 3 x 224 x 224 1/21 of that.
# hwsim prices one sample within the same MAX_SAMPLE_MACS (hwsim.workload.MAX_EXTRACT_MACS,
# counted up front on the meta device for any module: build_priced).
CHECK_SAMPLES = 2
MAX_SAMPLE_VALUES = 1 << 27     # values of one layer's output a sample (the 2: 1 GiB of fp32)
MAX_SAMPLE_MACS = 1 << 40       # multiply-accumulates of a sample (~1.1e12: a minute or two)
# Steps a recurrent layer loops over in Python (one call per step): the longest series the
# .ts reader accepts (synth.sequences.MAX_SERIES_VALUES, one channel).  An lstm checkpoint
# recording 16,000,000 steps would have run for many minutes.
MAX_RECURRENT_STEPS = 1 << 22


class WorkLimitError(UserError):
    """build()'s fit check would exceed MAX_SAMPLE_VALUES, MAX_SAMPLE_MACS or
    MAX_RECURRENT_STEPS (a caller that read the shape from a file names the file)."""


def input_dtype(model: nn.Module) -> torch.dtype:
    """The dtype of ``model``'s samples: its class's ``INPUT_DTYPE`` (a language model's
    token ids, ``synth.models.lm``), else float32.  The fit check and ``count_flops`` run
    zero samples of it (an embedding refuses float zeros)."""
    return getattr(model, "INPUT_DTYPE", torch.float32)


def check_steps(model: nn.Module, input_shape: tuple, what: Callable[[], str]) -> None:
    """A one-line WorkLimitError when ``model`` has a recurrent layer (a Python loop over the
    steps: ``synth.models.RecurrentLayer``, whose ``LOOPS_OVER_STEPS`` says so without this
    module importing the one that registers it) and the input's steps (its last dimension) exceed
    MAX_RECURRENT_STEPS."""
    steps = int(input_shape[-1])
    if steps > MAX_RECURRENT_STEPS and any(getattr(m, "LOOPS_OVER_STEPS", False)
                                           for m in model.modules()):
        raise WorkLimitError(f"{what()} on input shape {tuple(input_shape)}: {steps:,} steps; "
                             f"the limit is {MAX_RECURRENT_STEPS:,} (a shorter sequence)")


def _conv_out(m: nn.modules.conv._ConvNd, x: torch.Tensor) -> int | None:
    """Values a Conv1d/Conv2d/Conv3d's output will have for input ``x`` (N, C, *spatial), from
    torch's output-size formula; None where it cannot be told (the call fails by itself)."""
    spatial = x.shape[2:]
    if len(spatial) != len(m.kernel_size):
        return None
    size = x.shape[0] * m.out_channels
    for d, n in enumerate(spatial):
        k, s, dil = m.kernel_size[d], m.stride[d], m.dilation[d]
        if isinstance(m.padding, str):
            out = n if m.padding == "same" else (n - dil * (k - 1) - 1) // s + 1
        elif isinstance(m, nn.modules.conv._ConvTransposeNd):
            out = (n - 1) * s - 2 * m.padding[d] + dil * (k - 1) + m.output_padding[d] + 1
        else:
            out = (n + 2 * m.padding[d] - dil * (k - 1) - 1) // s + 1
        size *= max(out, 0)
    return size


class bounded_work:
    """A context in which ``model``'s Linear and convolution layers check, before each runs,
    the values of their output (each at most MAX_SAMPLE_VALUES a sample) and the
    multiply-accumulates of the pass so far (at most MAX_SAMPLE_MACS a sample; counted as
    ``count_flops`` does), else a
    one-line WorkLimitError naming ``what()``, the input shape and the layer: nothing larger
    is allocated, and the work done before the refusal is within the limit."""

    def __init__(self, model: nn.Module, input_shape: tuple, samples: int,
                 what: Callable[[], str]):
        self.model, self.input_shape, self.samples, self.what = model, input_shape, samples, what
        self.macs, self.hooks = 0, []

    def _refuse(self, name: str, m: nn.Module, amount: str, limit: int) -> None:
        raise WorkLimitError(f"model spec {self.what()} on input shape {self.input_shape}: "
                             f"layer {name} ({type(m).__name__}) would {amount} a sample; "
                             f"the limit is {limit:,} (a smaller input shape or model)")

    def _hook(self, name: str):
        def pre(m, args):
            x = args[0] if args and isinstance(args[0], torch.Tensor) else None
            if x is None:
                return
            if isinstance(m, nn.Linear):
                rows = x.numel() // max(m.in_features, 1)
                values, macs = rows * m.out_features, rows * m.in_features * m.out_features
            else:
                values = _conv_out(m, x)
                if values is None:
                    return
                per = math.prod(m.weight.shape[1:])   # in/groups x taps (transposed: out/groups)
                macs = (x.numel() if isinstance(m, nn.modules.conv._ConvTransposeNd)
                        else values) * per
            n = self.samples
            if values > n * MAX_SAMPLE_VALUES:
                self._refuse(name, m, f"make {values // n:,} output values", MAX_SAMPLE_VALUES)
            self.macs += macs
            if self.macs > n * MAX_SAMPLE_MACS:
                self._refuse(name, m, f"bring the pass to {self.macs // n:,} "
                             f"multiply-accumulates", MAX_SAMPLE_MACS)
        return pre

    def __enter__(self):
        for name, m in self.model.named_modules():
            if isinstance(m, (nn.Linear, nn.modules.conv._ConvNd)):
                self.hooks.append(m.register_forward_pre_hook(self._hook(name)))
        return self

    def __exit__(self, *exc):
        for h in self.hooks:
            h.remove()
        return False


def count_parameters(model: nn.Module, nonzero: bool = False) -> int:
    """Trainable parameters, a tensor shared by several modules (tied weights) counted once;
    with ``nonzero`` only entries that are not exactly zero, of every parameter (after masks,
    for masked layers that expose an effective ``weight``).  The nonzero count read only
    tensors named weight and bias, once per module holding them: a tied embedding and
    decoder counted twice (90 nonzero of 53 parameters) and torch's GRU (``weight_ih_l0``)
    none (0 of 165) (h290)."""
    if not nonzero:
        return sum(p.numel() for p in model.parameters())
    from torch.nn.utils import parametrize
    total, seen = 0, set()
    for m in model.modules():   # a masked tensor: its effective value, its original once
        if parametrize.is_parametrized(m):
            for name, chain in m.parametrizations.items():
                originals = {id(q) for q in chain.parameters(recurse=False)}
                if originals - seen:
                    seen |= originals
                    total += int((getattr(m, name) != 0).sum())
    for p in model.parameters():   # the rest (parameters() gives a shared tensor once)
        if id(p) not in seen:
            seen.add(id(p))
            total += int((p != 0).sum())
    return total


def count_flops(model: nn.Module, input_shape) -> int:
    """Multiply-accumulates of Linear and convolution layers for one sample (dense count); a
    Linear called once per step of a recurrent layer counts once per step.  A convolution
    (1-, 2- or 3-d) costs ``out_channels x output positions x in_channels/groups x taps``:
    every output value is one dot product with a weight row (out, in/groups, *kernel); a
    transposed one ``in_channels x input positions x out_channels/groups x taps`` (every
    input value is scattered through its weights, (in, out/groups, *kernel))."""
    macs = 0
    hooks = []

    def conv_hook(m, inp, out):
        nonlocal macs
        per = math.prod(m.weight.shape[1:])   # in/groups x taps (transposed: out/groups x taps)
        values = inp[0][0] if isinstance(m, nn.modules.conv._ConvTransposeNd) else out[0]
        macs += int(values.numel() * per)

    def lin_hook(m, inp, out):   # once per row: (1, T, in) inputs (all steps of a sequence)
        nonlocal macs
        macs += int(inp[0].numel() // m.in_features) * m.in_features * m.out_features

    for m in model.modules():
        if isinstance(m, nn.modules.conv._ConvNd):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(lin_hook))
    try:
        with torch.no_grad(), in_mode(model, False):
            model(torch.zeros((1,) + tuple(input_shape), device=module_device(model),
                              dtype=input_dtype(model)))
    finally:
        for h in hooks:
            h.remove()
    return macs
