"""The loggers of nnsynth's data-set readers, which a caller can quiet (``quiet_sets``), and
a result's warnings as separate lines (``Warnings``, ``join_warnings``, ``warning_lines``).

A set read only to compare with (the model's own training split, which ``nnsynth eval``
of another file reads to count the samples it trained on: ``synth.workflows.
trained_samples``) goes through the same loaders as a set scored, and their lines about it
(a CSV's test rows repeating training rows, a column constant in training) were printed
beside the set scored, and with --json were in its 'warning'.  ``load_dataset(...,
quiet=True)`` and ``checkpoint_dataset(..., quiet=True)`` read a set without them: the
readers log through ``set_logger``, whose lines below ERROR are dropped while such a read
runs.  The flag is a context variable, as the loaders' ``recorded`` and ``whole`` are
(``synth.data_registry``): it holds in the read that asked for it, not in another thread's
(holding the ``synth`` logger at ERROR did, and a logger given its own level ignored it).
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
from typing import Iterator

_QUIET = contextvars.ContextVar("nnsynth_quiet_sets", default=False)
# nnsynth's top-level loggers, one a package: the CLI's -v/-q sets their level
# (``deploy.cli.options.configure_output``), which Ray Train workers follow
# (``cluster.train.caller_log_levels``)
LOGGERS = ("synth", "hwsim", "cluster", "search", "deploy")


class SetLogger(logging.LoggerAdapter):
    """A reader's logger: ``logging.getLogger(name)``'s records, less those below ERROR
    while a quiet read runs (``quiet_sets``)."""

    def log(self, level, msg, *args, **kwargs):
        if level >= logging.ERROR or not _QUIET.get():
            # the record names the reader's line, not this one
            kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
            super().log(level, msg, *args, **kwargs)


def set_logger(name: str) -> SetLogger:
    """The logger ``name`` for a module that reads data sets (its lines are of a set)."""
    return SetLogger(logging.getLogger(name), {})


@contextlib.contextmanager
def quiet_sets(quiet: bool = True) -> Iterator[None]:
    """Within it (``quiet`` True), the readers' lines about the sets read below ERROR are
    not logged; ``quiet`` False leaves an enclosing quiet read as it is."""
    if not quiet or _QUIET.get():
        yield
        return
    token = _QUIET.set(True)
    try:
        yield
    finally:
        _QUIET.reset(token)


class Warnings(str):
    """A result's warnings (or notes) as one value: each warning a line of its own
    (``lines``), the value itself those lines joined by '; ' -- what ``--json``, a
    summary and every reader of a result's 'warning' read before, and read now (a str: old
    JSON and new JSON alike).  One warning may hold '; ' itself ('the split lacks a class;
    lower --split-seed or give more rows'): joined, nothing told it from two, and the human
    output's said-once filter (``deploy.cli.options.unsaid``) printed 'A; B' as 'B' where
    'A' alone had been logged as another warning.  Kept as lines, each warning is shown or
    left out whole.  Made by ``join_warnings``; pickles and copies as itself."""

    lines: tuple[str, ...]

    def __new__(cls, lines=()):
        lines = tuple(dict.fromkeys(str(line) for line in lines if line))
        self = super().__new__(cls, "; ".join(lines))
        self.lines = lines
        return self

    def __reduce__(self):
        return (Warnings, (self.lines,))


def warning_lines(value) -> list[str]:
    """The warnings of a result's value: a ``Warnings``' lines, a list's items (their own
    lines), a str as one warning (a text joined before h302 cannot be split safely: a
    warning may hold '; '), None or '' none."""
    if not value:
        return []
    if isinstance(value, Warnings):
        return list(value.lines)
    if isinstance(value, (list, tuple)):
        return [line for v in value for line in warning_lines(v)]
    return [str(value)]


def join_warnings(*values) -> Warnings | None:
    """``values`` (warnings, ``Warnings``, lists of them, None) as one ``Warnings``, each
    warning once and in order, or None when there is none: the one way results join
    warnings (and notes)."""
    lines = [line for v in values for line in warning_lines(v)]
    return Warnings(lines) if lines else None
