"""Validated, frozen configuration dataclasses.

DESIGN: one frozen dataclass per component, validated in ``__post_init__``;
dicts only at the edges (YAML, CLI, Tune ``param_space``) through one
``from_dict`` that rejects unknown keys.  Subclass ``Config`` and call the
``check_*`` helpers from ``validate``.
"""
from __future__ import annotations

import dataclasses
import numbers
import reprlib
from typing import Any, Mapping

from synth.errors import ConfigError


def plain_number(value):
    """A NumPy integer or real scalar as Python's int or float (anything else as it is):
    Python's ints do not overflow where NumPy's int32 wraps (2 x 2^30 MACs summed to a
    negative count) and serialize to JSON.  NumPy bools are left to the caller."""
    if type(value).__module__ != "numpy":
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    return float(value) if isinstance(value, numbers.Real) else value


@dataclasses.dataclass(frozen=True)
class Config:
    """Base for component configs: ``from_dict``/``to_dict`` and validation hooks."""

    def __post_init__(self) -> None:
        self._plain_numbers()
        self.validate()       # first: a component's own check names its section
        self._check_flags()

    def _plain_numbers(self) -> None:
        """A NumPy integer or real scalar, alone or in a list or tuple, becomes Python's int
        or float: ``Config(epochs=np.int64(8))`` (a value from np.arange, a grid, a
        DataFrame row) was refused as 'epochs must be an integer, got np.int64(8)', and one
        that passed as a number (np.float32) made the config's JSON (``to_dict``, a saved
        checkpoint's metadata) fail to serialize.  NumPy bools are _check_flags'."""
        plain = plain_number
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, (list, tuple)):
                new = type(value)(plain(v) for v in value)
                if any(a is not b for a, b in zip(new, value)):
                    object.__setattr__(self, f.name, new)
            elif plain(value) is not value:
                object.__setattr__(self, f.name, plain(value))

    def _check_flags(self) -> None:
        """Every field declared ``bool`` holds True or False: a quoted "no" or "false" from
        YAML, a 0/1 or a list was taken for its truth value ("no" is a true string) in any
        component whose validate() did not check it by hand.  A NumPy bool becomes a bool."""
        for f in dataclasses.fields(self):
            if f.type not in ("bool", bool):
                continue
            value = getattr(self, f.name)
            if type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):
                object.__setattr__(self, f.name, bool(value))
            elif not isinstance(value, bool):
                hint = " (write true or false, unquoted)" if isinstance(value, str) else ""
                raise ConfigError(f"{f.name} must be true or false, got "
                                  f"{short_repr(value)}{hint}")

    def validate(self) -> None:  # overridden by subclasses
        pass

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None, where: str = "") -> "Config":
        """Build from a plain dict; unknown keys are rejected by name."""
        prefix = f"{where}." if where else ""
        if values is not None and not isinstance(values, Mapping):
            raise ConfigError(f"{where or cls.__name__} must be a mapping of key: value, got "
                              f"{short_repr(values)}")
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted((k for k in values if k not in known), key=str)
        if unknown:
            raise ConfigError(
                f"unknown config key '{prefix}{short_repr(unknown[0], 60).strip(chr(39))}' for "
                f"{cls.__name__}; known keys: {', '.join(sorted(known))}")
        for f in dataclasses.fields(cls):   # a list where a scalar is due stays a list, so
            # its error shows what the file has ("got [2]", not "got (2,)")
            if (f.name in values and isinstance(values[f.name], list)
                    and annotation(f.type).replace(" | None", "") not in SCALAR_TYPES):
                values[f.name] = tuple(values[f.name])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in dataclasses.asdict(self).items()}

    def replace(self, **changes: Any) -> "Config":
        return dataclasses.replace(self, **changes)


# field annotations (``from __future__ import annotations``: strings) of one number, string or flag
SCALAR_TYPES = frozenset({"int", "float", "str", "bool", "int | float"})



def annotation(t: Any) -> str:
    """A field's annotation as written: a string under postponed evaluation, else its name."""
    return t if isinstance(t, str) else getattr(t, "__name__", str(t))


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple, _REPR.maxset = 3, 4, 6, 6, 6
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 60, 60, 40
MAX_REPR = 120


def short_repr(value: Any, limit: int = MAX_REPR) -> str:
    """``repr(value)`` bounded in time, memory and length, for error messages: a value a user
    gave (a YAML alias bomb, a 10^6-element list) is shown by its first few items."""
    try:
        text = _REPR.repr(value)
    except Exception:  # a repr that fails: name the type only
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_name(name: str, value: Any) -> None:
    """A name that becomes one path component (a run or sweep name): a non-empty string,
    not ``.`` or ``..``, without path separators or NUL, at most 128 characters, all of them
    printable (a newline, an escape sequence or a bidi override in a run directory's name
    broke the one-line messages that name it, or rewrote the terminal they were shown in)."""
    import os
    bad = (not isinstance(value, str) or not value or value in (".", "..") or len(value) > 128
           or any(sep and sep in value for sep in ("/", "\\", os.sep, os.altsep, "\0"))
           or not value.isprintable())
    if bad:
        raise value_error(name, value, "must be a file name (1-128 printable characters, not "
                          "'.' or '..', no '/' or '\\')")


def range_message(name: str, value: Any, low: float | None = None, high: float | None = None,
                  *, low_open: bool = False, high_open: bool = False,
                  integer: bool = False) -> str | None:
    """check_range's one-line message about ``value`` under ``name``, or None when the value
    is in the range (a caller that names the value otherwise, the CLI by its option, words
    it the same way)."""
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    lo = "-inf" if low is None else f"{low}"
    hi = "inf" if high is None else f"{high}"
    brackets = ("(" if low_open or low is None else "[") + f"{lo}, {hi}" + (
        ")" if high_open or high is None else "]")
    # value != value: NaN, without math.isnan's float conversion (an int of 400 digits
    # from a YAML or JSON file would raise OverflowError there, a traceback)
    if isinstance(value, bool) or not ok_type:
        # with the range where there is one: 'rows must be an integer, got True' (an
        # accelerator file's) did not say which integers (h310)
        kind = "an integer" if integer else "a number"
        within = f" in {brackets}" if low is not None or high is not None else ""
        return f"{name} must be {kind}{within}, got {short_repr(value)}"
    if value != value:   # NaN: a number of the right type, in no range (the range is said)
        return f"{name} must be a number in {brackets}, got {short_repr(value)}"
    lo_bad = low is not None and (value <= low if low_open else value < low)
    hi_bad = high is not None and (value >= high if high_open else value > high)
    # an unbounded side still takes finite values only: --replay-ratio inf passed and was an
    # OverflowError (int(inf)) deep in the update, --components inf likewise in SCANN
    infinite = isinstance(value, float) and value in (float("inf"), float("-inf"))
    if lo_bad or hi_bad or infinite:
        finite = "" if lo_bad or hi_bad else "a finite number "
        return f"{name} must be {finite}in {brackets}, got {short_repr(value)}"
    return None


def shown_below(value: float, threshold: float, digits: int = 3) -> str:
    """``value`` (below ``threshold``) in ``digits`` decimals, or in as many more as show it
    below: a fidelity of 1,899 of 2,000 inputs (0.9495) read "0.950 (below 0.95)" in 3.
    Shared by synth.inversion.fidelity_warning and ``nnsynth invert --min-fidelity``."""
    for shown in range(digits, 17):
        text = f"{value:.{shown}f}"
        if float(text) < threshold:
            return text
    return repr(value)


def check_range(name: str, value: Any, low: float | None = None, high: float | None = None,
                *, low_open: bool = False, high_open: bool = False, integer: bool = False) -> None:
    """Raise ConfigError naming ``name``, the allowed range and ``value`` when out of range;
    the error carries them as fields too (``ConfigError.field``, ``value``, ``low``...)."""
    bounds = dict(low=low, high=high, low_open=low_open, high_open=high_open, integer=integer)
    message = range_message(name, value, **bounds)
    if message is not None:
        raise ConfigError(message, field=name, value=value, **bounds)


# The largest seed: scikit-learn's and NumPy's legacy random_state take [0, 2^32 - 1], and
# some callers add a small offset per repeat (seed + r), so one bit is kept free.
MAX_SEED = 2 ** 31 - 1


# The most inputs in one batch, wherever a batch size is a setting (training, distillation,
# inversion, the generator, search trials...): a batch larger than its data set trains on the
# whole set, and a batch of 10^9 indices is 8 GB before the first input is gathered.
MAX_BATCH_SIZE = 100_000


def check_batch_size(name: str, value: Any, low: int = 1) -> None:
    """A batch size: an integer in [low, MAX_BATCH_SIZE]."""
    check_range(name, value, low, MAX_BATCH_SIZE, integer=True)


def check_seed(name: str, value: Any) -> None:
    """A random seed: an integer in [0, MAX_SEED] (2^32 was a scikit-learn traceback)."""
    check_range(name, value, 0, MAX_SEED, integer=True)


def value_error(name: str, value: Any, expected: str, *, got: str | None = None,
                field: str | None = None) -> ConfigError:
    """The ConfigError ``{name} {expected}, got {got}`` about ``value`` (``got``: how it is
    shown, ``short_repr(value)`` by default), carrying ``field`` (``name`` by default;
    ``name[]`` for one value of the list ``name``), ``value``, ``expected`` and ``got``, so
    that a caller words it by its own name for the value (the CLI by the option typed:
    ``--baselines: each value must be among mlp, ..., got 'svm'``) without reading the
    message.  For an error that is no range error (check_range's carry their range)."""
    got = short_repr(value) if got is None else got
    return ConfigError(f"{name} {expected}, got {got}", field=field or name, value=value,
                       expected=expected, got=got)


def check_choice(name: str, value: Any, choices) -> None:
    try:
        ok = value in choices
    except TypeError:  # an unhashable value against a dict or set of choices
        ok = False
    if not ok:
        raise value_error(name, value, f"must be one of {', '.join(map(str, choices))}")
