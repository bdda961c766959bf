"""A resumed search runs this nnsynth's results callback, not the one Tune unpickled (h233).

Tune pickles the run config's callbacks with the experiment, and ``ResultsCallback``'s class
(defined in a function) by value: ``Tuner.restore`` brought back the code of the nnsynth that
began the search.  A search begun before the per-trial progress lines (41be8ca) resumed
without them, and one begun before a failed trial was recorded resumed without recording
its failures.  ``search.run.current_results_callback`` puts the current one in its place."""
import json

import pytest

from search.run import ERRORS_FILE, RESULTS_CALLBACK, current_results_callback


def _old_results(path: str):
    """A callback as an early nnsynth pickled it: same class name, no failure record."""
    from ray.tune import Callback

    class _Results(Callback):
        def __init__(self, path):
            self.path = path

        def on_trial_complete(self, iteration, trials, trial, **info):
            pass
    _Results.__qualname__ = RESULTS_CALLBACK
    return _Results(path)


def _failing(config):
    raise RuntimeError("this trial always fails")


def test_the_callback_is_replaced_in_place(tmp_path):
    """No Ray: the run config of a (not yet run) Tuner; other callbacks are kept."""
    from ray import tune

    class Other(tune.Callback):
        pass
    results = str(tmp_path / "results.parquet")
    old, other = _old_results(results), Other()
    tuner = tune.Tuner(_failing, run_config=tune.RunConfig(
        name="t", storage_path=str(tmp_path), callbacks=[other, old]))
    current_results_callback(tuner, "/elsewhere/results.parquet")
    callbacks = tuner._local_tuner.get_run_config().callbacks
    assert callbacks[0] is other and callbacks[1] is not old
    assert type(callbacks[1]).__qualname__ == RESULTS_CALLBACK
    assert hasattr(callbacks[1], "on_trial_error") and callbacks[1].path == results
    current_results_callback(object(), results)   # no local tuner (Ray client): left alone


def test_a_restored_search_records_with_the_current_callback(tmp_path, ray_local):
    """A trial that failed under the old callback (nothing recorded) fails again after the
    restore, and the current callback records it in ERRORS_FILE."""
    from ray import tune
    results = str(tmp_path / "results.parquet")
    tune.Tuner(_failing, tune_config=tune.TuneConfig(num_samples=1),
               run_config=tune.RunConfig(name="tune", storage_path=str(tmp_path), verbose=0,
                                         callbacks=[_old_results(results)])).fit()
    assert not (tmp_path / ERRORS_FILE).exists()
    tuner = tune.Tuner.restore(str(tmp_path / "tune"), trainable=_failing,
                               resume_errored=True)
    current_results_callback(tuner, results)
    tuner.fit()
    errors = json.loads((tmp_path / ERRORS_FILE).read_text())
    assert len(errors) == 1, errors


if __name__ == "__main__":
    pytest.main([__file__, "-q"])
