"""An integer range took 3.0 for the value 3 (a member) but a searcher recorded it as another
configuration than 3 (spec_key '{"n":3.0}' vs '{"n":3}'): told 3.0, it suggested and
evaluated 3 again, and the space's members never counted 3 as evaluated."""
import numpy as np
import pytest

from search import searchers
from search.space import Space, spec_key
from synth.errors import ConfigError


def _space():
    return Space({"n": {"int": [1, 3]}, "lr": {"float": [0.5, 2.0]}, "c": {"choice": [1, 2]},
                  "w": {"list": [1, 2], "length": [1, 2]}, "fx": 3})


def test_canonical_writes_a_member_as_the_space_does():
    s = _space()
    told = {"n": 3.0, "lr": 1, "c": np.int64(2), "w": [2.0, np.int64(1)], "fx": 3.0}
    assert s.contains(told)
    canon = s.canonical(told)
    assert canon == {"n": 3, "lr": 1.0, "c": 2, "w": [2, 1], "fx": 3}
    assert spec_key(canon) == '{"c":2,"fx":3,"lr":1.0,"n":3,"w":[2,1]}'
    assert [type(canon[k]) for k in ("n", "lr", "c", "fx")] == [int, float, int, int]
    assert told["n"] == 3.0 and isinstance(told["n"], float)     # the caller's dict untouched
    # a decoded member is already canonical, and encodes like its told twin
    member = s.decode(s.encode([canon])[0])
    assert s.canonical(member) == member and spec_key(member) == spec_key(canon)
    assert (s.encode([told]) == s.encode([canon])).all()


@pytest.mark.parametrize("value", [3.5, np.float64(2.5), True, np.True_, "3", float("nan"),
                                   float("inf")])
def test_a_non_integer_is_no_member_of_an_int_range(value):
    s = Space({"n": {"int": [1, 3]}})
    assert not s.contains({"n": value})
    srch = searchers.RandomSearcher(s, metric="acc", mode="max", seed=0)
    with pytest.raises(ConfigError, match="not a member"):
        srch.tell({"n": value}, 0.5)


def test_numpy_numbers_are_the_numbers_they_are():
    """A warm start read from a results table (pandas: np.int64) was refused for an int
    range ('n = 3 is not an integer in [1, 3]'), and a choice's np.int64 was a TypeError
    from json in tell."""
    s = Space({"n": {"int": [1, 3]}, "c": {"choice": [1, 2]}})
    assert s.contains({"n": np.int64(3), "c": np.int64(1)})
    srch = searchers.RandomSearcher(s, metric="acc", mode="max", seed=0)
    srch.tell({"n": np.int64(3), "c": np.int64(1)}, 0.5)
    assert srch.history == [('{"c":1,"n":3}', 0.5)]


@pytest.mark.parametrize("name", ["RandomSearcher", "ChameleonSearcher", "LocalBOSearcher"])
def test_a_told_integral_float_is_not_suggested_again(name):
    s = Space({"n": {"int": [1, 3]}})
    srch = getattr(searchers, name)(s, metric="acc", mode="max", seed=0, n_initial=2,
                                    max_trials=10)
    srch.tell({"n": 3.0}, 0.5)
    asked = []
    while (a := srch.ask()) is not None:
        asked.append(a)
        srch.tell(a, 0.1)
    assert sorted(a["n"] for a in asked) == [1, 2]       # 3 was evaluated once, as 3.0
    assert {k for k, _ in srch.history} == {spec_key(m) for m in s.members()}


def test_candidates_and_tell_agree_on_integral_floats():
    s = Space({"n": {"int": [1, 3]}, "lr": {"float": [0.5, 2.0]}})
    srch = searchers.RandomSearcher(s, metric="acc", mode="max", seed=0, max_trials=10,
                                    candidates=[{"n": 1.0, "lr": 1}, {"n": 2, "lr": 1.0}])
    srch.tell({"n": 1, "lr": 1.0}, 0.5)
    asked = []
    while (a := srch.ask()) is not None:
        asked.append(a)
        srch.tell(a, 0.1)
    assert asked == [{"n": 2, "lr": 1.0}]
