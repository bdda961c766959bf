"""A one-value range (low == high): a knob pinned, as a one-value choice is."""
import numpy as np
import pytest

from search.searchers import SEARCHERS
from search.space import Space
from synth.errors import ConfigError

PINNED = {"n": {"int": [4, 4]}, "lr": {"float": [0.3, 0.3], "log": True},
          "u": {"int": [8, 8], "log": True}, "f": {"float": [0.5, 0.5]},
          "k": {"choice": ["a", "b"]}}


def test_a_one_value_range_is_a_fixed_value():
    """{int: [4, 4]} was 'must be [low, high] with low < high' while {choice: [4]} worked."""
    space = Space(PINNED)
    rng = np.random.default_rng(0)
    for _ in range(5):
        spec = space.sample(rng)
        assert {k: spec[k] for k in "n lr u f".split()} == {"n": 4, "lr": 0.3, "u": 8, "f": 0.5}
        assert isinstance(spec["n"], int) and isinstance(spec["u"], int)
        assert space.contains(spec) and space.decode(space.encode([spec])[0]) == spec
        child = space.mutate(spec, rng)
        assert child["k"] != spec["k"] and space.contains(child)   # the one knob that moves
    assert not space.contains(dict(spec, n=5)) and not space.contains(dict(spec, lr=0.31))
    rows = space.sample_rows(rng, 6)
    assert all(space.contains(s) for s in space.from_rows(space.mutate_rows(rows, rng)))
    ints = Space({"n": {"int": [4, 4]}, "u": {"int": [8, 8], "log": True},
                  "k": {"choice": ["a", "b"]}})
    assert ints.members() == [{"n": 4, "u": 8, "k": "a"}, {"n": 4, "u": 8, "k": "b"}]


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_searchers_exhaust_a_space_with_pinned_ranges(name):
    kw = {} if name == "random" else {"n_initial": 2}
    s = SEARCHERS[name](PINNED, max_trials=6, seed=0, **kw)
    asked = []
    while (cfg := s.ask()) is not None:
        asked.append(cfg["k"])
        s.tell(cfg, 0.5)
    assert sorted(asked) == ["a", "b"]


@pytest.mark.parametrize("raw", [{"x": {"int": [5, 4]}}, {"x": {"float": [0.0, 0.0], "log": True}}])
def test_a_reversed_or_nonpositive_log_range_is_still_refused(raw):
    with pytest.raises(ConfigError, match="low <= high"):
        Space(raw)
