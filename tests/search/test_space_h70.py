"""Probe 7b (helper 70): the custom-space API with values and names a user writes in Python."""
import math
import zlib

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


# a conditional space of 182 members: 'mom' only under sgd, 'beta' only under adam/rms
COND = {"opt": {"choice": ["sgd", "adam", "rms"]},
        "mom": {"int": [0, 9], "when": {"opt": "sgd"}},
        "beta": {"choice": [0.9, 0.99], "when": {"opt": ["adam", "rms"]}},
        "l": {"list": [1, 2, 3], "length": [0, 2]}}


def test_members_lists_a_finite_space_and_nothing_else():
    """Counted here independently: (10 + 2 + 2) optimizer settings x (1 + 3 + 9) lists."""
    members = Space(COND).members()
    assert len(members) == 14 * 13
    assert len({str(sorted(m.items())) for m in members}) == len(members)
    assert all(Space(COND).contains(m) for m in members)
    assert Space({"x": {"float": [0.0, 1.0]}}).members() is None
    assert Space({"x": {"int": [0, 10 ** 9]}}).members() is None


@pytest.mark.parametrize("searcher", ["random", "chameleon", "steerage", "localbo"])
def test_a_budget_larger_than_the_space_evaluates_every_member_once(searcher):
    """Random search stopped at 11 of a 14-member conditional space (a member under two
    conditions is drawn 1 time in 32, and 20 misses ended the search with 86 trials left);
    chameleon stopped at 94 of a 100-member flat space and steerage at 158 of COND's 182:
    the evolution met only seen members and the searcher said nothing new was left.  The
    best member could be among those never evaluated."""
    space = {"opt": {"choice": ["sgd", "adam"]}, "mom": {"int": [0, 1], "when": {"opt": "sgd"}},
             "nest": {"choice": ["a", "b"], "when": {"opt": "sgd"}},
             "deep": {"int": [5, 6], "when": {"nest": "b"}},
             "l": {"list": [1], "length": [0, 1]}}
    spaces = [(space, 14), (COND, 182)] if searcher != "chameleon" else [
        ({"a": {"choice": [1, 2, 3, 4, 5]}, "b": {"int": [0, 19]}}, 100), (space, 14)]
    for sp, size in spaces:
        value = lambda c: float(zlib.crc32(str(sorted(c.items())).encode()) % 997)  # noqa: E731
        r = optimize(value, sp, trials=size + 20, searcher=searcher, seed=2,
                     **({"n_initial": 2} if searcher != "random" else {}))
        keys = [str(sorted(c.items())) for c, _ in r.history]
        assert len(keys) == len(set(keys)) == size, (searcher, size)
        assert r.best_value == max(value(m) for m in Space(sp).members())
