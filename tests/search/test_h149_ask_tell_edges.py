"""Hostile objectives on the ask/tell loop (helper 149).

- Values far beyond float32 (an objective of 1e300, or of 1e-300): steerage's boosted trees
  take float32 labels, and its first fit raised XGBoostError 'Label contains NaN, infinity
  or a value too large' (1e-300 became labels of 0, a constant fit: no error, so those
  cases passed before too); the GP's standardization overflowed (a RuntimeWarning).
- An objective that raises: ``optimize`` lost every evaluation made before it without a
  word; now ``catch=`` counts the named errors as failed evaluations (as Optuna's does) and
  any other error carries a note of the evaluations done and the best so far."""
import pytest

from search.optimize import optimize
from search.searchers import SEARCHERS
from synth.errors import ConfigError

SPACE = {"a": {"int": [0, 30]}}


@pytest.mark.parametrize("name", list(SEARCHERS))
@pytest.mark.parametrize("unit", [1e300, 1e-300])
def test_values_beyond_float32_are_searched(name, unit):
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error", RuntimeWarning)   # no overflow either
        result = optimize(lambda c: unit * (c["a"] - 15), SPACE, trials=14, searcher=name,
                          n_initial=6 if name != "random" else 1)
    assert len(result.history) == 14
    assert result.best_value == max(v for _, v in result.history) > 0


@pytest.mark.parametrize("name", ["localbo", "random"])
def test_an_objective_that_raises(name):
    def objective(config):
        if config["a"] % 3 == 0:
            raise RuntimeError("diverged")
        return config["a"]
    result = optimize(objective, SPACE, trials=12, searcher=name, catch=(RuntimeError,))
    assert len(result.history) == 12
    assert all((v is None) == (c["a"] % 3 == 0) for c, v in result.history)
    assert result.best_value == max(v for _, v in result.history if v is not None)
    with pytest.raises(RuntimeError) as e:
        optimize(objective, SPACE, trials=30, searcher=name)
    assert any("optimize: the objective raised for" in n and "evaluations (best" in n
               for n in e.value.__notes__)
    with pytest.raises(ConfigError, match="catch must be a tuple of exception types"):
        optimize(objective, SPACE, trials=3, searcher=name, catch=RuntimeError)
