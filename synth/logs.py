"""The loggers of nnsynth's data-set readers, which a caller can quiet (``quiet_sets``).

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
