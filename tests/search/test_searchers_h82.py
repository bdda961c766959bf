"""Searcher state files and objective values, as a notebook user meets them."""
import json

import numpy as np
import pytest

from search.optimize import optimize
from search.searchers import SEARCHERS
from synth.errors import ConfigError, UserError

SPACE = {"a": {"choice": ["x", "y", "z"]}, "n": {"int": [1, 50]},
         "lr": {"float": [1e-4, 1.0], "log": True}}
OTHER = {"b": {"choice": [1, 2, 3]}, "m": {"int": [1, 9]}}


def _kw(name):
    return {} if name == "random" else {"n_initial": 4}


def _searcher(name, space=SPACE, steps=6):
    s = SEARCHERS[name](space, seed=3, **_kw(name))
    for _ in range(steps):
        c = s.ask()
        s.tell(c, c["n"] / 50 if "n" in c else 0.5)
    return s


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_a_state_file_that_is_not_a_state_is_one_line(name, tmp_path):
    """restore() of another JSON file (a list, a state cut short, a damaged entry) raised
    AttributeError, KeyError, ValueError or TypeError from deep inside, and a half-read state
    was left behind."""
    good = tmp_path / "state.json"
    _searcher(name).save(str(good))
    state = json.loads(good.read_text())
    damaged = {"list": [1, 2], "kind-only": {"kind": state["kind"]},
               "history": {**state, "history": [[1]]}, "rng": {**state, "rng": "x"},
               "pending": {**state, "pending": [1]}, "not json": "{"}
    s = _searcher(name)
    before = (list(s.history), s.suggested)
    for label, text in damaged.items():
        path = tmp_path / f"{label}.json"
        path.write_text(text if isinstance(text, str) else json.dumps(text))
        with pytest.raises(UserError) as e:
            s.restore(str(path))
        assert "\n" not in str(e.value) and str(path) in str(e.value), (label, e.value)
        assert (s.history, s.suggested) == before, label


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_a_state_of_another_space_is_refused(name, tmp_path):
    """A searcher restored from another space's state took its history in and proposed its
    configurations (localbo asked {'a': 'y', 'n': 45} of a space of b and m), or told
    back, a ConfigError naming a configuration the user never gave."""
    path = tmp_path / "state.json"
    _searcher(name).save(str(path))
    other = SEARCHERS[name](OTHER, seed=3, **_kw(name))
    with pytest.raises(UserError, match="is of another space: it holds .* is missing"):
        other.restore(str(path))
    assert not other.history
    same = SEARCHERS[name](SPACE, seed=3, **_kw(name))
    same.restore(str(path))                     # its own space: taken in
    assert len(same.history) == 6


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_an_objective_returning_a_bool_is_refused(value):
    """An objective returning a comparison (acc > 0.9) was scored 1.0 or 0.0 without a word."""
    with pytest.raises(ConfigError, match="the objective returned .* expected a number"):
        optimize(lambda c: value, SPACE, trials=3, searcher="random")
    s = SEARCHERS["random"](SPACE, seed=0)
    with pytest.raises(ConfigError, match="expected a number"):
        s.tell(s.ask(), value)
    assert not s.history and not s.failed


WIDE = {"w": {"list": list(range(1, 11)), "length": [1, 256]},
        "k": {"list": [1, 3, 5], "length": "w"}}


def test_the_feature_cache_is_bounded_in_floats_not_rows():
    """The features kept by spec key were cleared at 200,000 rows whatever their width: on
    a 522-column space (a list of up to 256 layers) localbo held ~100 new rows a suggestion,
    0.8 GB after ~2,000 suggestions.  Bounded by ``feature_cache_floats`` (128 MB)."""
    s = SEARCHERS["localbo"](WIDE, seed=0)
    s.feature_cache_floats = 50 * s.space.dim       # a small bound: about 50 rows here
    rng = np.random.default_rng(0)
    from search.space import spec_key
    specs = [s.space.sample(rng) for _ in range(300)]
    keys = [spec_key(c) for c in specs]
    x = s.features(specs[:40], keys[:40])
    for i in range(40, 300, 20):
        chunk = slice(i - 10, i + 20)               # half seen before, half new
        np.testing.assert_array_equal(s.features(specs[chunk], keys[chunk]),
                                      s.features(specs[chunk]))
        cache = s._feature_cache
        assert len(cache) * x.shape[1] <= s.feature_cache_floats, (i, len(cache))
    assert 0 < len(s._feature_cache) <= 50


@pytest.mark.parametrize("name", sorted(SEARCHERS))
@pytest.mark.parametrize("option, value, message", [
    ("mode", "maximize", "mode must be one of max, min, got 'maximize'"),
    ("mode", None, "mode must be one of max, min, got None"),
    ("metric", 5, "metric must be the name of the reported value, got 5"),
    ("batch_size", 2.5, "batch_size must be an integer in [1, inf), got 2.5"),
    ("max_trials", 0, "max_trials must be in [1, inf), got 0"),
    ("max_trials", -1, "max_trials must be in [1, inf), got -1"),
    ("max_trials", True, "max_trials must be an integer in [1, inf), got True"),
    ("n_initial", True, "n_initial must be an integer in [1, inf), got True"),
    ("seed", "a", "seed must be an integer in [0, inf), got 'a'"),
    ("seed", -1, "seed must be in [0, inf), got -1"),
    ("seed", 1.5, "seed must be an integer in [0, inf), got 1.5")])
def test_searcher_options_are_checked_in_one_line(name, option, value, message):
    """mode='maximize' and metric=5 were AssertionErrors from Ray's Searcher, batch_size=2.5
    and seed='a' TypeErrors from numpy, seed=-1 a ValueError; max_trials 0 or -1 gave a
    searcher that never asked, True one that asked once, mode=None one that maximized."""
    with pytest.raises(ConfigError) as e:
        SEARCHERS[name](SPACE, **{option: value})
    assert str(e.value) == message


def test_a_seed_of_none_or_numpy_integers_are_still_taken():
    s = SEARCHERS["random"](SPACE, seed=None, max_trials=None)
    assert s.ask() is not None
    a = SEARCHERS["random"](SPACE, seed=np.int64(4), max_trials=np.int64(3),
                            batch_size=np.int32(2))
    b = SEARCHERS["random"](SPACE, seed=4, max_trials=3, batch_size=2)
    assert [a.ask() for _ in range(4)] == [b.ask() for _ in range(4)]
    assert isinstance(a.seed, int) and a.ask() is None
