"""A resumed search whose Tune state cannot be restored ends in one line (search.run).

Tune logs "Failed to restore the run state" when a resumed experiment's searcher cannot be
restored (a damaged searcher-state file: ``PredictorSearcher.restore`` raises) and goes on
with an experiment it cannot run: ``nnsynth search --resume`` of a localbo search whose
searcher-state file was cut in half waited until killed (10 minutes, no trial).  The filter
``search.run`` puts on Tune's controller logger during ``fit()`` raises the error instead.
"""
import inspect
import logging
import sys

import pytest

from search.run import _restore_failed
from synth.errors import UserError


def _record(msg, error):
    try:
        raise error
    except type(error):
        return logging.LogRecord("ray.tune.execution.tune_controller", logging.ERROR, __file__,
                                 1, msg, None, sys.exc_info())


def test_a_failed_restore_raises_its_error():
    own = UserError("searcher state s.pkl unreadable: truncated")
    with pytest.raises(UserError, match="^searcher state s.pkl unreadable"):
        _restore_failed(_record("Failed to restore the run state.", own))
    with pytest.raises(UserError, match=r"Tune state cannot be restored \(AttributeError: x"):
        _restore_failed(_record("Failed to restore the run state.", AttributeError("x")))
    assert _restore_failed(_record("Restarting experiment.", ValueError("y")))


def test_the_filter_is_on_the_logger_tune_fails_with():
    """The coupling to Ray's own words and logger (Ray 2.60's TuneController)."""
    from ray.tune.execution import tune_controller
    assert tune_controller.logger.name == "ray.tune.execution.tune_controller"
    assert 'logger.exception("Failed to restore the run state.")' in \
        inspect.getsource(tune_controller.TuneController.__init__)
    assert "_restore_failed" in inspect.getsource(
        __import__("search.run", fromlist=["_fit_interruptibly"])._fit_interruptibly)
