"""Probe 7b (helper 70): the custom-space API with values and names a user writes in Python."""
import math

import numpy as np
import pytest

from search.optimize import optimize
from search.space import Space
from synth.errors import ConfigError


def test_a_choice_of_tuples_is_refused_not_handed_back_as_lists():
    """The objective received [3, 3] for a choice declared (3, 3): not a member of the space
    (a lookup keyed by the tuple missed, ``== (3, 3)`` was False), without a word."""
    with pytest.raises(ConfigError, match=r"space\.k\.choice\[0\] holds a tuple") as e:
        optimize(lambda c: 1.0, {"k": {"choice": [(3, 3), (5, 5)]}}, trials=2,
                 searcher="random")
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match=r"space\.pad holds a tuple"):
        Space({"pad": (1, 2), "k": {"choice": [1, 3]}})


@pytest.mark.parametrize("value", [math.sin, object()])
def test_a_value_that_is_not_json_is_one_line_not_a_typeerror(value):
    """A function or an object as a choice was a TypeError from json.dumps at the first ask."""
    with pytest.raises(ConfigError, match=r"space\.act\.choice\[1\] holds .* configurations "
                                          r"are JSON values"):
        optimize(lambda c: 1.0, {"act": {"choice": ["relu", value]}}, trials=2,
                 searcher="random")


def test_numpy_scalars_are_ordinary_values():
    """np.arange's values as choices were a TypeError (int64 is not JSON serializable) and
    np.int64 range bounds were refused as not integers."""
    seen = []
    r = optimize(lambda c: seen.append(c) or float(c["a"] + c["b"]),
                 {"a": {"choice": list(np.arange(1, 4))},
                  "b": {"int": [np.int64(0), np.int64(2)]}},
                 trials=20, searcher="random", mode="max")
    assert r.best_value == 5.0 and r.best_config == {"a": 3, "b": 2}
    assert all(type(c["a"]) is int and type(c["b"]) is int for c in seen)
    assert len(seen) == 9   # the whole space, each member once, then it stops


def test_two_names_that_are_one_key_are_refused():
    """{1: ..., "1": ...}: both became the key '1' and the choice never appeared in a
    configuration."""
    with pytest.raises(ConfigError, match="names '1' twice"):
        Space({1: {"choice": [1, 2]}, "1": {"int": [3, 5]}})
    assert Space({1: {"choice": [1, 2]}}).params[0].name == "1"   # alone: as before
