"""The one exception type for mistakes a user can fix.

Every package raises ``UserError`` (or a subclass) with a one-line message that
names the thing at fault and what was expected; the CLI prints that line and
exits non-zero without a traceback.  ``ValueError`` is its base so that library
callers can catch it the usual way.
"""
from __future__ import annotations

from typing import Any


class UserError(ValueError):
    """Bad input: a path, a config value, a shape, a file's contents.

    ``cli``: the line as a command-line user reads it, where the library's words are not
    (a remedy by a parameter, ``class_names={...}``, that the command line gives by an
    option, ``--class-names``); the CLI shows it in place of the message.  None: the
    message is for both."""

    cli: str | None = None

    def __init__(self, *args: Any, cli: str | None = None) -> None:
        super().__init__(*args)
        if cli is not None:
            self.cli = cli


class ConfigError(UserError):
    """A configuration key or value is invalid.

    An error about one value also says what it is about, so a caller can tell it in its own
    words without reading the message (the CLI names the option the user typed:
    ``--epochs must be in [1, 100000]`` for TrainConfig's ``epochs``): ``field`` (the name
    checked, e.g. ``epochs`` or ``scaling.num_workers``; ``name[]``: one value of the list
    ``name``) and ``value`` (the value received).  A range error
    (``synth.config.check_range``) carries its range: ``low``/``high`` (the bounds; None:
    unbounded), ``low_open``/``high_open`` and ``integer``.  Any other error about a value
    (``synth.config.value_error``: a value not among the choices, a name given twice...)
    carries ``expected`` (what the value must be, as the message words it after the name:
    ``must be one of max, min``) and ``got`` (how the message shows the value: ``'mlp'
    twice``); ``expected`` is None for a range error.  ``field`` is None for every other
    config error (an unknown key...).  The fields travel with a pickled error (a Ray
    worker's): they are instance attributes."""

    def __init__(self, message: Any = "", *, field: str | None = None, value: Any = None,
                 low: float | None = None, high: float | None = None, low_open: bool = False,
                 high_open: bool = False, integer: bool = False, expected: str | None = None,
                 got: str | None = None) -> None:
        super().__init__(message)
        self.field, self.value = field, value
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open
        self.integer = integer
        self.expected, self.got = expected, got


class OutputsOverflow(UserError):
    """A model's outputs are NaN or infinite on the inputs it was checked on (finite weights
    of 3e38 overflow float32 in the forward pass): the model is at fault, not its data, so a
    caller that turns a data set's errors into 'does not load here' lets it through."""


class TooFewClasses(ConfigError):
    """A data set of fewer than 2 classes (a class list of one, a file whose labels hold one
    class, an image folder of one class folder): ``found`` is the number of classes it holds.
    A caller that needs more of a set than a model of 2 outputs does (``nnsynth continual``'s
    --new-dataset: the model's old classes and the new ones) says so by its option."""

    def __init__(self, message: Any = "", *, found: int = 0) -> None:
        super().__init__(message)
        self.found = found
