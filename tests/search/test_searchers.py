"""Searchers without Ray: suggest / complete in batches, constraints, save / restore."""
import json

import numpy as np
import pytest

from search.costs import CostModel
from search.evolution import EvolutionConfig
from search.searchers import DONE_KEY, ChameleonSearcher, RandomSearcher, SteerageSearcher
from search.predictors import BoostedTreesConfig, BoostedTreesPredictor, GPConfig, GPPredictor
from search.space import load_space, parse_constraint

SMALL = EvolutionConfig(population=12, generations=3)


def _objective(spec):  # a deterministic stand-in for accuracy: wider and deeper is better
    return float(np.log2(sum(spec["widths"])) + 0.3 * len(spec["widths"]))


def _make(cls, seed=0, **kw):
    space = load_space("convnet")
    extra = {ChameleonSearcher: {"predictor": GPPredictor(GPConfig(iterations=15,
                                                                   warm_iterations=3))},
             SteerageSearcher: {"predictor": BoostedTreesPredictor(
                 BoostedTreesConfig(n_estimators=40))}}.get(cls, {})
    kw = {"max_trials": 10, **kw}
    return cls(space, batch_size=3, n_initial=4, seed=seed, evolution=SMALL,
               cost_model=CostModel((1, 8, 8), 10), **extra, **kw)


def _drive(searcher, start, stop):
    for i in range(start, stop):
        cfg = searcher.suggest(f"t{i}")
        if cfg == "FINISHED":
            return i
        searcher.on_trial_complete(f"t{i}", {"accuracy": _objective(json.loads(cfg["spec"]))})
    return stop


@pytest.mark.parametrize("cls", [SteerageSearcher, ChameleonSearcher, RandomSearcher])
def test_suggest_complete_finish_and_restore(cls, tmp_path):
    a = _make(cls)
    assert _drive(a, 0, 6) == 6
    a.save(str(tmp_path / "state.json"))
    b = _make(cls, seed=99)           # a different seed: restore must overwrite its state
    b.restore(str(tmp_path / "state.json"))
    assert b.history == a.history and b.queue == a.queue
    ca = [a.suggest("t6"), a.suggest("t7")]
    cb = [b.suggest("t6"), b.suggest("t7")]
    assert ca == cb                   # same proposals after restore
    for s in (a, b):
        for i, cfg in zip((6, 7), ca):
            s.on_trial_complete(f"t{i}", {"accuracy": _objective(json.loads(cfg["spec"]))})
    assert _drive(a, 8, 20) == 10     # max_trials reached
    keys = [k for k, _ in a.history]
    assert len(keys) == 10 and len(set(keys)) == 10   # never proposes a spec twice
    if cls is not RandomSearcher:
        assert a.refits >= 1


def test_predictor_searchers_beat_their_random_start():
    s = _make(SteerageSearcher, max_trials=None)
    _drive(s, 0, 4)
    first = max(v for _, v in s.history)
    _drive(s, 4, 10)
    assert max(v for _, v in s.history[4:]) >= first


def test_constraints_are_respected_and_errors_recorded():
    limit = parse_constraint("parameters<=3000")
    s = _make(SteerageSearcher, constraints=[limit])
    costs = s.cost_model
    for i in range(8):
        cfg = s.suggest(f"t{i}")
        spec = json.loads(cfg["spec"])
        assert costs.costs(spec)["parameters"] <= 3000
        s.on_trial_complete(f"t{i}", None if i == 0 else {"accuracy": 0.5}, error=(i == 0))
    assert len(s.failed) == 1 and len(s.history) == 7


def test_final_result_counts_once_and_rerun_after_restore(tmp_path):
    s = _make(SteerageSearcher)
    cfg = s.suggest("t0")
    s.on_trial_result("t0", {"accuracy": 0.1, DONE_KEY: False})  # per-epoch: ignored
    assert s.history == []
    s.on_trial_result("t0", {"accuracy": 0.9, DONE_KEY: True})
    s.on_trial_complete("t0", {"accuracy": 0.9})
    assert len(s.history) == 1
    # a trial Tune restarts after a restore is learned from its config
    s.on_trial_result("x9", {"accuracy": 0.7, DONE_KEY: True, "config": cfg})
    assert len(s.history) == 2


def test_chameleon_rejects_unknown_acquisition():
    with pytest.raises(ValueError, match="acquisition"):
        ChameleonSearcher(load_space("convnet"), acquisition="pi")


@pytest.mark.parametrize("cls", [ChameleonSearcher, SteerageSearcher, RandomSearcher])
def test_latency_and_energy_constraints_are_priced_on_hwsim(cls):
    """A latency or energy constraint prices every candidate on hwsim (the cost model needs
    no ``hardware`` flag for it), and every proposal meets it."""
    import hwsim
    import torch
    from synth.models import build
    space = load_space("mlp")
    limits = [parse_constraint("latency_ms<=0.005"), parse_constraint("energy_mj<=1")]
    extra = {ChameleonSearcher: {"predictor": GPPredictor(GPConfig(iterations=10,
                                                                   warm_iterations=2))},
             SteerageSearcher: {"predictor": BoostedTreesPredictor(
                 BoostedTreesConfig(n_estimators=20))}}.get(cls, {})
    s = cls(space, batch_size=1, n_initial=2, max_trials=5, seed=1, evolution=SMALL,
            cost_model=CostModel((4,), 3), constraints=limits, **extra)
    for i in range(5):
        spec = json.loads(s.suggest(f"t{i}")["spec"])
        torch.manual_seed(0)
        assert hwsim.price(build(spec, (4,), 3), (4,))["latency_ms"] <= 0.005
        s.on_trial_complete(f"t{i}", {"accuracy": 0.3 + 0.1 * len(spec["hidden"])})
    assert len(s.history) == 5 and s.refits == (0 if cls is RandomSearcher else 3)


def test_n_initial_below_what_a_predictor_needs_is_refused_up_front():
    """n_initial 1 used to pass and then fail every run after its first trial (a predictor
    needs 2 results); the minimum is named before any work, and 2 works."""
    from search.run import SearchConfig
    from synth.errors import ConfigError
    for cls in (ChameleonSearcher, SteerageSearcher):
        with pytest.raises(ConfigError, match="n_initial must be >= 2"):
            cls(load_space("convnet"), n_initial=1)
        s = _make(cls, max_trials=4)
        s.n_initial = 2
        assert _drive(s, 0, 4) == 4 and s.refits >= 1
    with pytest.raises(ConfigError, match="n_initial must be >= 2"):
        SearchConfig(searcher="chameleon", n_initial=1)
    SearchConfig(searcher="random", n_initial=1)          # no predictor: 1 is fine


def test_constraint_errors_are_one_line_and_up_front():
    from search.run import SearchConfig
    from synth.errors import ConfigError, UserError
    with pytest.raises(ConfigError, match="metric 'latency' unknown"):
        SearchConfig(constraints=("latency<=0.5",))
    with pytest.raises(ConfigError, match="needs hwsim pricing"):
        SearchConfig(constraints=("latency_ms<=0.5",), hardware=False)
    with pytest.raises(UserError, match="needs latency_ms, which was not measured"):
        parse_constraint("latency_ms<=0.5").ok({"parameters": 10, "flops": 20})
