"""h175: the ask/tell API and optimize() used as a user would.

Each test failed before its fix: a candidates generator proposed nothing, optimize's and the
searchers' options failed as TypeErrors or AttributeErrors (or were taken silently: a
constraint optimize could not price) instead of one-line ConfigErrors."""
import numpy as np
import pytest

from search.costs import CostModel
from search.optimize import optimize
from search.searchers import SEARCHERS
from search.space import spec_key
from synth.errors import ConfigError

FLAT = {"a": {"int": [0, 100]}, "b": {"choice": ["x", "y"]}}


@pytest.mark.parametrize("name", list(SEARCHERS))
def test_a_candidates_generator_is_searched(name):
    cands = [{"a": a, "b": "x"} for a in range(0, 100, 10)]
    result = optimize(lambda c: c["a"], FLAT, trials=4, searcher=name, n_initial=2,
                      candidates=(c for c in cands))
    assert len(result.history) == 4
    assert all(c in cands for c, _ in result.history)


def test_one_configuration_as_candidates_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="candidates must be a list of configurations"):
        optimize(lambda c: c["a"], FLAT, trials=2, candidates={"a": 1, "b": "x"})


@pytest.mark.parametrize("options, message", [
    ({"top_k": 3}, "'top_k' is not an option of the random searcher"),
    ({"n_inital": 3}, "'n_inital' is not an option of the random searcher"),
    ({"max_trials": 10}, "optimize takes trials=N, not max_trials"),
])
def test_optimize_names_an_option_it_does_not_take(options, message):
    with pytest.raises(ConfigError, match=message):
        optimize(lambda c: c["a"], FLAT, trials=2, searcher="random", **options)


def test_an_objective_that_is_no_function_is_refused_before_any_work():
    with pytest.raises(ConfigError, match="objective must be a function"):
        optimize(None, FLAT, trials=2)


@pytest.mark.parametrize("name, options, message", [
    ("steerage", {"refit_growth": "x"}, "refit_growth must be a number"),
    ("steerage", {"max_scored": 10.5}, "max_scored must be an integer"),
    ("steerage", {"max_scored": "x"}, "max_scored must be an integer"),
    ("localbo", {"top_k": 2.5}, "top_k must be an integer"),
    ("localbo", {"local": "x"}, "local must be an integer"),
    ("localbo", {"global_pool": 0}, "global_pool must be in"),
    ("localbo", {"xi": "x"}, "xi must be a number"),
    ("chameleon", {"beta": "x"}, "beta must be a number"),
    ("chameleon", {"xi": float("nan")}, "xi must be a number"),
    ("steerage", {"evolution": [4]}, "evolution must be an EvolutionConfig or a mapping"),
    ("steerage", {"evolution": {"population": 1}}, "population must be in"),
    ("steerage", {"evolution": {"populaton": 4}}, "unknown config key 'evolution.populaton'"),
    ("localbo", {"constraints": [5]}, "constraints holds 5"),
    ("localbo", {"constraints": ["params<=5"]}, "metric 'params' unknown"),
])
def test_a_searcher_option_of_the_wrong_kind_is_one_line(name, options, message):
    with pytest.raises(ConfigError, match=message):
        SEARCHERS[name](FLAT, **options)


def test_constraints_and_evolution_as_users_write_them():
    s = SEARCHERS["steerage"](FLAT, constraints="parameters<=5", evolution={"population": 4})
    assert [str(c) for c in s.constraints] == ["parameters<=5"]
    assert s.evolution.population == 4
    s = SEARCHERS["localbo"](FLAT, constraints=["latency_ms<=0.5", "parameters<=9"],
                             top_k=np.int64(2))
    assert [str(c) for c in s.constraints] == ["latency_ms<=0.5", "parameters<=9"]
    assert s.top_k == 2 and isinstance(s.top_k, int)


MLP = {"family": "mlp", "params": {"hidden": {"list": [16, 32, 64], "length": [1, 2]}},
       "constraints": ["parameters<=400"]}


def test_optimize_refuses_constraints_it_cannot_price():
    """optimize tells no figures: without a cost model the constraints held nothing (a
    515-parameter [64] was proposed under parameters<=400)."""
    with pytest.raises(ConfigError, match="parameters<=400 need cost_model="):
        optimize(lambda c: sum(c["hidden"]), MLP, trials=4)
    result = optimize(lambda c: sum(c["hidden"]), MLP, trials=6, n_initial=2,
                      cost_model=CostModel((4,), 3))
    # [16] has 131 parameters, [32] 259; [64] and every two-layer member exceed 400
    assert sorted(spec_key(c) for c, _ in result.history) == sorted(
        spec_key({"bn": False, "dropout": 0.0, "family": "mlp", "hidden": [h]}) for h in (16, 32))
