"""ask/tell with configurations outside the space, for every searcher."""
import json

import numpy as np
import pytest

from search.searchers import SEARCHERS
from search.space import Space
from synth.errors import ConfigError

SPACE = {"kind": {"choice": ["a", "b", "c"]}, "n": {"int": [1, 9]},
         "scale": {"float": [0.1, 1.0], "log": True},
         "mom": {"float": [0.0, 0.9], "when": {"kind": "a"}},
         "widths": {"list": [8, 16], "length": [1, 3]}, "k": {"list": [1, 3], "length": "widths"},
         "bn": True}
GOOD = {"kind": "b", "n": 3, "scale": 0.5, "widths": [8], "k": [3], "bn": True}

BAD = [
    (dict(GOOD, kind="z"), "kind = 'z' is not one of ['a', 'b', 'c']"),
    (dict(GOOD, n=30), "n = 30 is not an integer in [1, 9]"),
    (dict(GOOD, n=2.5), "n = 2.5 is not an integer in [1, 9]"),
    (dict(GOOD, scale=5.0), "scale = 5.0 is not a number in [0.1, 1]"),
    (dict(GOOD, extra=1), "'extra' is not a key of the space"),
    ({k: v for k, v in GOOD.items() if k != "n"}, "n is missing"),
    (dict(GOOD, mom=0.5), "mom = 0.5 is given, but it applies only when kind in ['a']"),
    (dict(GOOD, kind="a"), "mom is missing"),
    (dict(GOOD, bn=False), "bn is fixed to True in the space, got False"),
    (dict(GOOD, widths=[8, 32], k=[3, 3]), "widths holds 32, not one of [8, 16]"),
    (dict(GOOD, k=[3, 3]), "k has 2 values; it is as long as widths (1)"),
    (dict(GOOD, widths=[], k=[]), "widths has 0 values; its length is in [1, 3]"),
    (dict(GOOD, widths=8), "widths = 8 is not a list"),
    (["kind", "a"], "a configuration is a mapping of named values"),
]


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_tell_refuses_a_configuration_outside_the_space(name):
    """tell() recorded any configuration; the next ask() (the predictor's encoding) raised
    ValueError 'tuple.index(x): x not in tuple' (the random searcher kept it silently)."""
    kw = {} if name == "random" else {"n_initial": 3}
    s = SEARCHERS[name](SPACE, max_trials=8, seed=0, **kw)
    for i in range(3):
        cfg = s.ask()
        s.tell(cfg, 0.1 * (i + 1))
    for bad, message in BAD:
        with pytest.raises(ConfigError) as e:
            s.tell(bad, 0.9)
        text = str(e.value)
        assert "\n" not in text and text.startswith("tell: ") and message in text, text
    assert len(s.history) == 3 and not s.failed
    s.tell(GOOD, 0.2)                           # a member never asked for: a warm start
    assert s.history[-1] == (json.dumps(GOOD, sort_keys=True, separators=(",", ":")), 0.2)
    for _ in range(2):
        cfg = s.ask()
        assert Space(SPACE).contains(cfg), cfg
        s.tell(cfg, 0.3)


def test_a_bool_is_not_taken_for_a_number_choice():
    """True == 1: {width: true} was a member of {choice: [1, 2]} and encoded as 1."""
    space = Space({"width": {"choice": [1, 2]}, "flag": {"choice": [False, True]}})
    assert not space.contains({"width": True, "flag": False})
    assert not space.contains({"width": 1, "flag": 0})
    assert space.contains({"width": 1, "flag": False})
    assert space.contains({"width": 2.0, "flag": True})   # JSON numbers: 2.0 is 2


def test_optimize_hands_the_objective_a_copy():
    """An objective that popped a key from its configuration changed what optimize told the
    searcher and returned as best_config."""
    from search.optimize import optimize

    def objective(cfg):
        n = cfg.pop("n")
        return -abs(n - 4) - cfg["scale"]
    result = optimize(objective, {k: SPACE[k] for k in ("kind", "n", "scale")}, trials=6,
                      searcher="random", seed=0)
    assert all("n" in c for c, _ in result.history) and "n" in result.best_config
    assert np.isfinite(result.best_value)


@pytest.mark.parametrize("value", [0.1, 0.7])
def test_equal_results_give_the_gp_the_same_uncertainty_whatever_their_rounding(value):
    """Seven results of 0.1 accuracy have a logit std of 4e-16 (float noise), seven of 0.7
    exactly 0: the first was standardized by 4e-16 and the GP's predicted std was 1e-17
    (expected improvement 0 everywhere), the second by 1 (std 0.02)."""
    from search.predictors import FastGPPredictor, accuracy_logit
    x = np.random.default_rng(0).random((7, 3))
    gp = FastGPPredictor().fit(x, accuracy_logit(np.full(7, value)))
    _, std = gp.predict(np.random.default_rng(1).random((4, 3)), return_std=True)
    assert gp.y_std_ == 1.0 and std.min() > 1e-3, std
