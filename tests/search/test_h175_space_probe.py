"""h175: custom spaces as users write them.

Each test failed before its fix: a list tied to one declared after it was a KeyError at the
first sample (and from `nnsynth search --space`), and scoring rows of a choice of thousands
of values built a k x k identity per call (3.2 GB for 20,000 words)."""
import tracemalloc

import numpy as np
import pytest

from search.optimize import optimize
from search.searchers import SEARCHERS
from search.space import Space


TIED_FIRST = {"kernels": {"list": [1, 3], "length": "widths"},
              "widths": {"list": [8, 16], "length": [1, 3]},
              "pool": {"choice": ["avg", "max"]}}


def test_a_list_tied_to_one_declared_after_it_follows_it():
    space = Space(TIED_FIRST)
    rng = np.random.default_rng(0)
    for _ in range(20):
        spec = space.sample(rng)
        assert space.contains(spec) and len(spec["kernels"]) == len(spec["widths"])
    # (2 widths x 2 kernels)^n for n = 1..3, times 2 pools
    assert len(space.members()) == 2 * (4 + 16 + 64)
    # a model family's space is sampled when it is built: that was the KeyError
    family = Space({"family": "convnet", "params": TIED_FIRST})
    assert family.contains(family.sample(rng))


@pytest.mark.parametrize("name", list(SEARCHERS))
def test_a_tied_first_space_is_searched(name):
    space = Space(TIED_FIRST)
    result = optimize(lambda c: sum(c["widths"]) + sum(c["kernels"]), TIED_FIRST, trials=8,
                      searcher=name, n_initial=3)
    assert len(result.history) == 8 and all(space.contains(c) for c, _ in result.history)


def test_scoring_rows_of_a_large_choice_does_not_build_an_identity():
    """row_features of 4 rows of a 5,000-value choice: 200 MB (np.eye(5000)) before."""
    space = Space({"word": {"choice": [f"w{i}" for i in range(5000)]}, "x": {"float": [0, 1]}})
    rows = space.sample_rows(np.random.default_rng(0), 4)
    tracemalloc.start()
    try:
        x = space.row_features(rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2 ** 20
    assert np.array_equal(x, space.features(space.from_rows(rows)))


def test_numbers_of_a_choice_are_encoded_by_value_not_by_listing():
    """[64, 8, 32] was encoded 0, 1, 2: a predictor saw 8 between 64 and 32 (chameleon found
    the optimum of a quadratic in four shuffled choices in 0 of 20 runs, 14 sorted)."""
    shuffled = Space({"u": {"choice": [64, 8, 32]}, "w": {"choice": [0.5, -1, 2]}})
    ordered = Space({"u": {"choice": [8, 32, 64]}, "w": {"choice": [-1, 0.5, 2]}})
    specs = [{"u": u, "w": w} for u in (8, 32, 64) for w in (-1, 0.5, 2)]
    assert np.array_equal(shuffled.features(specs), ordered.features(specs))
    assert shuffled.encode([{"u": 8, "w": -1}]).tolist() == [[0.0, 0.0]]
    for spec, row in zip(specs, shuffled.encode(specs)):
        assert shuffled.decode(row) == spec
    rows = shuffled.to_rows(specs)
    assert np.array_equal(shuffled.row_features(rows), shuffled.features(specs))
    # categorical values keep their listed positions (two values: one column)
    pair = Space({"act": {"choice": ["relu", "gelu"]}})
    assert pair.encode([{"act": "gelu"}]).tolist() == [[1.0]]


@pytest.mark.parametrize("definition, message", [
    ({"params": {"int": [1, 5]}}, "space.params declares a parameter"),
    ({"name": {"choice": ["a", "b"]}, "params": {"x": {"int": [1, 2]}}},
     "space.name declares a parameter"),
    ({"family": {"choice": ["gaussian", "poisson"]}, "size": {"int": [8, 12]}},
     "space.family declares a parameter"),
    ({"name": 3, "params": {"x": {"int": [1, 2]}}}, "space.name must be a string"),
])
def test_a_parameter_named_as_a_family_spaces_key_is_refused(definition, message):
    """{params: {int: [1, 5]}} was a space fixing 'int' to [1, 5], and a choice named
    'name' beside params was dropped, without a word."""
    from synth.errors import ConfigError
    with pytest.raises(ConfigError, match=message):
        Space(definition)
    # a family's own params and name are as before
    assert Space({"family": "mlp", "name": "m", "params": {"hidden": {"list": [8]}}}).params
