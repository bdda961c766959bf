"""Predictor-guided searchers are no worse than random on simple wide-range spaces.

Each searcher gets the same budget (30 evaluations, ``search.optimize``) on a cheap
synthetic objective over a space with a wide range (an integer range 1..10**12, a float
range of 2e9, log ranges of 12 decades, one mixed with a categorical), over the same few
seeds; its median best must be at least random search's.

STEERAGE's boosted trees (xgboost's ``hist`` method) split between two results at the
larger one, so the incumbent's leaf (the predicted best region) reached only up to its
right-hand neighbour: every later proposal crowded just right of the incumbent, and with the
optimum to its left steerage's median best was 2.5x worse than random's ("int-peak": -2.66
against -1.06).  The trees here have 40 rounds, not 150, to keep this file fast.

On "mixed" only chameleon is held to it: steerage and localbo are bimodal there at 30
trials (a run either finds the optimum or settles on the first good region the random start
found), and their medians move around random's with the number of seeds (15 seeds:
steerage -0.014, localbo -0.0046, random -0.014; 11 seeds: -0.020, -0.031, -0.018).  That
is their exploitation, not the range's width: the same shape on [0, 1] ranges runs the same.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from search.optimize import optimize
from search.predictors import BoostedTreesConfig, BoostedTreesPredictor

SEEDS = (0, 1, 2)
TRIALS = 30
GUIDED = ("steerage", "chameleon", "localbo")

SHAPES = {
    # a peak at 1.23e11 in an integer range 1..10**12 (plain, not log)
    "int-peak": ({"n": {"int": [1, 10**12]}}, lambda c: -abs(c["n"] - 123456789012) / 1e10),
    "int-quadratic": ({"n": {"int": [1, 10**12]}},
                      lambda c: -100 * ((c["n"] - 3e11) / 1e12) ** 2),
    "float-peak": ({"x": {"float": [-1e9, 1e9]}}, lambda c: -abs(c["x"] - 3e8) / 1e9),
    "log-int": ({"n": {"int": [1, 10**12], "log": True}},
                lambda c: -(math.log10(c["n"]) - 7) ** 2),
    "log-float": ({"x": {"float": [1e-6, 1e6], "log": True}},
                  lambda c: -(math.log10(c["x"]) - 2) ** 2),
    "mixed": ({"n": {"int": [1, 10**12]}, "a": {"choice": ["x", "y", "z"]},
               "x": {"float": [0, 1e6]}},
              lambda c: -((c["n"] - 3e11) / 1e12) ** 2 - (c["a"] != "y")
              - ((c["x"] - 2e5) / 1e6) ** 2),
}


def median_best(searcher: str, space: dict, objective, seeds=SEEDS) -> float:
    def options():
        if searcher == "steerage":
            return {"predictor": BoostedTreesPredictor(BoostedTreesConfig(n_estimators=40))}
        return {}
    return float(np.median([optimize(objective, space, trials=TRIALS, searcher=searcher,
                                     seed=seed, **options()).best_value for seed in seeds]))


@pytest.mark.parametrize("shape", list(SHAPES))
def test_guided_searchers_are_no_worse_than_random(shape):
    space, objective = SHAPES[shape]
    # mixed: chameleon is bimodal too (n kept in its low decades in ~1 run of 5), so 3 seeds
    # fail whenever two of them land there (seeds 0-2 did once x, a float range from 0, was
    # seen on the log scale, h106); over 40 seeds its median was -9.5e-5 before, -8.9e-5
    # after, random's -0.0175: 9 seeds hold it to that
    seeds = range(9) if shape == "mixed" else SEEDS
    baseline = median_best("random", space, objective, seeds)
    for searcher in GUIDED if shape != "mixed" else ("chameleon",):
        got = median_best(searcher, space, objective, seeds)
        assert got >= baseline, (f"{searcher} on {shape}: median best {got:.4g} < random's "
                                 f"{baseline:.4g}")


# Ranges far from zero: xgboost keeps features as float32 (24 bits), which cannot tell
# 1e9 from 1e9 + 1 (its step there is 64): every member of a float range [1e9, 1e9 + 1]
# was one value to the trees, their prediction a constant, and steerage searched blind
# (median best -0.154 against random's -0.104 over 5 seeds).
OFFSET = {
    "offset-float": ({"x": {"float": [1e9, 1e9 + 1]}}, lambda c: -abs(c["x"] - 1e9 - 0.123) * 10),
}


def test_boosted_trees_tell_apart_values_of_a_range_far_from_zero():
    x = 1e9 + np.linspace(0.0, 1.0, 40)[:, None]
    y = -(x[:, 0] - 1e9 - 0.3) ** 2
    pred = BoostedTreesPredictor(BoostedTreesConfig(n_estimators=40)).fit(x, y).predict(x)
    assert np.ptp(pred) > 0.5 * np.ptp(y)
    assert abs(x[np.argmax(pred), 0] - 1e9 - 0.3) < 0.1


@pytest.mark.parametrize("shape", list(OFFSET))
def test_guided_searchers_are_no_worse_than_random_on_a_range_far_from_zero(shape):
    space, objective = OFFSET[shape]
    baseline = median_best("random", space, objective)
    for searcher in GUIDED:
        got = median_best(searcher, space, objective)
        assert got >= baseline, (f"{searcher} on {shape}: median best {got:.4g} < random's "
                                 f"{baseline:.4g}")
