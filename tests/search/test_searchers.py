"""Searchers without Ray: suggest / complete in batches, constraints, save / restore."""
import json

import numpy as np
import pytest

from search.costs import CostModel
from search.evolution import EvolutionConfig
from search.searchers import (DONE_KEY, ChameleonSearcher, LocalBOSearcher, RandomSearcher,
                              SteerageSearcher)
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
    kw = {"max_trials": 10, "batch_size": 3, **kw}
    return cls(space, n_initial=4, seed=seed, evolution=SMALL,
               cost_model=CostModel((1, 8, 8), 10), **{**extra, **kw})


def _drive(searcher, start, stop):
    for i in range(start, stop):
        cfg = searcher.suggest(f"t{i}")
        if cfg == "FINISHED":
            return i
        searcher.on_trial_complete(f"t{i}", {"accuracy": _objective(json.loads(cfg["spec"]))})
    return stop


@pytest.mark.parametrize("cls", [SteerageSearcher, ChameleonSearcher, LocalBOSearcher,
                                 RandomSearcher])
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


def test_given_constraints_add_to_the_spaces_own():
    """A searcher given constraints (search --constraint) kept only those: the space
    file's own 'parameters<=3000' was dropped and wider members were proposed."""
    space = load_space({**load_space("convnet").definition, "constraints": ["parameters<=3000"]})
    s = RandomSearcher(space, n_initial=4, max_trials=8, batch_size=4, seed=0,
                       cost_model=CostModel((1, 8, 8), 10),
                       constraints=[parse_constraint("flops<=1e9"),
                                    parse_constraint("parameters<=3000")])
    assert [str(c) for c in s.constraints] == ["parameters<=3000", "flops<=1e+09"]
    for i in range(8):
        spec = json.loads(s.suggest(f"t{i}")["spec"])
        assert s.cost_model.costs(spec)["parameters"] <= 3000


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


def _lookup_table():
    """A tiny custom space and a lookup objective with one optimum (a, 7, 0.2)."""
    space = {"kind": {"choice": ["a", "b", "c", "d"]}, "n": {"int": [0, 9]},
             "scale": {"choice": [0.1, 0.2, 0.3]}}
    table = {(k, n, s): -(n - 7) ** 2 - 3.0 * (k != "a") - 10 * abs(s - 0.2)
             for k in "abcd" for n in range(10) for s in (0.1, 0.2, 0.3)}
    return space, lambda c: table[(c["kind"], c["n"], c["scale"])]


def _first_hit(name, seed, cap, **options):
    """Trials until ask/tell on the lookup reaches its optimum (None: not within cap)."""
    from search.searchers import SEARCHERS
    space, objective = _lookup_table()
    s = SEARCHERS[name](space, mode="min", seed=seed, batch_size=1, n_initial=5, **options)
    asked = set()
    for i in range(cap):
        cfg = s.ask()
        key = json.dumps(cfg, sort_keys=True)
        assert key not in asked   # never asks for a configuration twice
        asked.add(key)
        s.tell(cfg, -objective(cfg))   # minimizing the negated objective: the same search
        if cfg == {"kind": "a", "n": 7, "scale": 0.2}:
            return i + 1
    return None


@pytest.mark.parametrize("name", ["localbo", "steerage"])
def test_ask_tell_finds_the_optimum_of_a_lookup(name):
    options = {}
    if name == "steerage":
        options.update(predictor=BoostedTreesPredictor(BoostedTreesConfig(n_estimators=40)),
                       evolution=SMALL)
    assert _first_hit(name, 0, 60, **options) is not None   # 120 configurations in all


def test_optimize_runs_a_plain_objective_and_localbo_beats_random():
    from search.optimize import optimize
    space, objective = _lookup_table()
    result = optimize(objective, space, trials=12, searcher="localbo", seed=0, n_initial=5)
    assert len(result.history) == 12
    assert result.best_value == max(v for _, v in result.history)
    assert result.best_config == max(result.history, key=lambda h: h[1])[0]
    bo = [_first_hit("localbo", seed, 60) or 61 for seed in range(3)]
    rnd = [_first_hit("random", seed, 120) or 121 for seed in range(3)]
    assert np.median(bo) < np.median(rnd), (bo, rnd)


def test_tell_failures_and_warm_start_points():
    space, objective = _lookup_table()
    s = LocalBOSearcher(space, n_initial=2, max_trials=4)
    for i in range(4):
        cfg = s.ask()
        s.tell(cfg, None if i == 1 else objective(cfg))   # a failed evaluation
    assert s.ask() is None and len(s.history) == 3 and len(s.failed) == 1
    s.tell({"kind": "a", "n": 7, "scale": 0.2}, 0.0)      # a warm-start point, never asked
    assert s.history[-1] == (json.dumps({"kind": "a", "n": 7, "scale": 0.2}, sort_keys=True,
                                        separators=(",", ":")), 0.0)


def test_localbo_on_model_family_and_candidates():
    s = _make(LocalBOSearcher, max_trials=None)
    _drive(s, 0, 8)
    assert s.refits >= 1 and len({k for k, _ in s.history}) == 8
    space = load_space("convnet")
    rng = np.random.default_rng(0)
    cands = [space.sample(rng) for _ in range(300)]
    c = LocalBOSearcher(space, n_initial=3, candidates=cands, local=8, global_pool=16, top_k=2)
    keys = {json.dumps(x, sort_keys=True, separators=(",", ":")) for x in cands}
    for _ in range(8):
        cfg = c.ask()
        assert json.dumps(cfg, sort_keys=True, separators=(",", ":")) in keys
        c.tell(cfg, _objective(cfg))


def test_refit_growth_refits_on_growth_and_after_restore(tmp_path):
    """With ``refit_growth`` the predictor is refitted once the results grew by that
    fraction (every new result at first), and a restored searcher refits before proposing."""
    s = _make(SteerageSearcher, max_trials=None, batch_size=1, refit_growth=0.5)
    _drive(s, 0, 14)          # 14 results: fitted at 4, 6 and 9 (the next at 14)
    assert s.refits == 3 and s._fit_size == 9
    s.save(str(tmp_path / "state.json"))
    r = _make(SteerageSearcher, max_trials=None, batch_size=1, refit_growth=0.5)
    r.restore(str(tmp_path / "state.json"))
    _drive(r, 14, 15)
    assert r.refits == 4 and r._fit_size == 14
    with pytest.raises(Exception, match="refit_growth"):
        _make(SteerageSearcher, refit_growth=-1.0)


def test_chameleon_uses_the_numpy_gp_with_tied_lengthscales():
    from search.predictors import FastGPPredictor
    s = ChameleonSearcher(load_space("convnet"), batch_size=1, n_initial=3, seed=0,
                          evolution=SMALL, max_trials=6)
    assert isinstance(s.predictor, FastGPPredictor)
    assert _drive(s, 0, 6) == 6 and s.refits == 3
    d = len(np.unique(load_space("convnet").feature_groups()))
    assert s.predictor.theta_.shape == (d + 2,)


def test_localbo_pools_persist_unseen_and_bounded():
    """The neighbour pools of lasting incumbents grow by local // 4 per proposal up to
    4 * local, the random pool stays at global_pool, and neither holds a seen member."""
    space, objective = _lookup_table()
    s = LocalBOSearcher(space, n_initial=3, top_k=2, local=8, global_pool=12, seed=0)
    for _ in range(25):
        cfg = s.ask()
        s.tell(cfg, objective(cfg))
    seen = {k for k, _ in s.history}
    last = {s.history[-1][0]}                 # proposed from the pools after their cleanup
    assert set(s._neighbours) <= seen and len(s._neighbours) <= 2
    for pool in s._neighbours.values():
        assert len(pool) <= 32 and set(pool) & seen <= last
    assert len(s._random_pool) <= 12 and set(s._random_pool) & seen <= last


@pytest.mark.parametrize("cls", [SteerageSearcher, ChameleonSearcher, LocalBOSearcher])
def test_restore_mid_search_proposes_what_the_original_would(cls, tmp_path):
    """State the searchers keep between proposals (the last fit's size under refit_growth,
    the numpy GP's hyperparameters, localbo's pools) travels with save/restore: after a
    restore the next proposals are the uninterrupted searcher's."""
    from search.predictors import FastGPPredictor
    extra = {"refit_growth": 0.3} if cls is SteerageSearcher else {}
    if cls is ChameleonSearcher:
        extra["predictor"] = FastGPPredictor()
    a = _make(cls, max_trials=None, batch_size=1, **extra)
    _drive(a, 0, 13)
    a.save(str(tmp_path / "state.json"))
    if cls is ChameleonSearcher:
        extra["predictor"] = FastGPPredictor()
    b = _make(cls, seed=99, max_trials=None, batch_size=1, **extra)
    b.restore(str(tmp_path / "state.json"))
    for i in range(13, 17):
        ca, cb = a.suggest(f"t{i}"), b.suggest(f"t{i}")
        assert ca == cb, i
        for s in (a, b):
            s.on_trial_complete(f"t{i}", {"accuracy": _objective(json.loads(ca["spec"]))})


def test_localbo_counts_shared_choice_values_with_one_lengthscale_per_set():
    """LocalBO's GP sees, besides the one-hot positions, how many parameters take each value
    of a shared choice set (a cell's operation counts), the counts of one set sharing one
    lengthscale; a space without shared sets gets no extra column."""
    ops = ["conv", "pool", "skip"]
    space = load_space({f"e{i}": {"choice": ops} for i in range(3)})
    s = LocalBOSearcher(space, seed=0)
    spec = {"e0": "conv", "e1": "skip", "e2": "conv"}
    row = s.features([spec])[0]
    assert row.shape == (12,) and list(row[9:]) == [2.0, 0.0, 1.0]
    groups = s._groups(12)
    assert len(set(groups[9:])) == 1 and len(set(groups)) == 4
    assert LocalBOSearcher(space, seed=0, choice_counts=False).features([spec]).shape == (1, 9)
    net = load_space("convnet").sample(np.random.default_rng(0))
    assert _make(LocalBOSearcher).features([net]).shape == load_space("convnet").features([net]).shape


def test_evolve_rows_finds_the_best_of_a_flat_space_and_skips_excluded():
    from search.evolution import evolve_rows
    from search.space import Space, spec_key
    space = Space({f"e{i}": {"choice": ["a", "b", "c", "d", "e"]} for i in range(6)})
    target = np.array([3, 1, 4, 1, 0, 2])

    def score(rows):  # the number of positions matching the target: one optimum
        return (rows == target).sum(1).astype(float)

    best = space.from_rows(target[None])[0]
    out = evolve_rows(space, score, np.random.default_rng(0), 3, [], set(),
                      EvolutionConfig(population=32, generations=30))
    assert out[0] == best and len({spec_key(s) for s in out}) == 3
    # an excluded (already seen) member is never returned, even when seeded
    again = evolve_rows(space, score, np.random.default_rng(0), 3, [best], {spec_key(best)},
                        EvolutionConfig(population=32, generations=30))
    assert best not in again and score(space.to_rows(again)).max() == 5
    # deterministic for a seed
    assert again == evolve_rows(space, score, np.random.default_rng(0), 3, [best],
                                {spec_key(best)}, EvolutionConfig(population=32, generations=30))


def test_chameleon_and_steerage_evolve_rows_on_flat_spaces():
    space, objective = _lookup_table()
    for cls in (ChameleonSearcher, SteerageSearcher):
        extra = {"predictor": BoostedTreesPredictor(BoostedTreesConfig(n_estimators=40))} \
            if cls is SteerageSearcher else {}
        s = cls(space, mode="min", seed=0, batch_size=1, n_initial=5, evolution=SMALL, **extra)
        assert s._rows_ok()
        asked = []
        for _ in range(25):
            cfg = s.ask()
            assert load_space(space).contains(cfg) and cfg not in asked
            asked.append(cfg)
            s.tell(cfg, -objective(cfg))
        # the predictor guides it: better than the random start on average
        values = [objective(c) for c in asked]
        assert np.mean(values[5:]) > np.mean(values[:5]), values


def test_single_thread_is_reentrant_and_restores_the_thread_count():
    import torch
    from search.predictors import single_thread
    before = torch.get_num_threads()
    with single_thread():
        with single_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 1    # the inner one left the outer's limit alone
    assert torch.get_num_threads() == before


def test_large_candidate_sets_score_a_bounded_pool_near_the_best(monkeypatch):
    """With more unseen candidates than ``max_scored``, chameleon's GP scores at most that
    many per proposal (the nearest eighth to the best result, the rest random), and still
    proposes only unseen members; below it, all of them."""
    import itertools
    from search.space import spec_key
    space = {f"p{i}": {"choice": ["a", "b", "c", "d"]} for i in range(5)}   # 1,024 members
    cands = [{f"p{i}": v for i, v in enumerate(vals)}
             for vals in itertools.product("abcd", repeat=5)]
    value = lambda c: float(sum(v == "a" for v in c.values()))   # noqa: E731
    s = ChameleonSearcher(space, seed=0, batch_size=1, n_initial=4, candidates=cands,
                          max_scored=64)
    scored = []
    real = s._acquire
    monkeypatch.setattr(s, "_acquire", lambda x, best: scored.append(len(x)) or real(x, best))
    seen = set()
    for _ in range(12):
        cfg = s.ask()
        assert spec_key(cfg) not in seen
        seen.add(spec_key(cfg))
        s.tell(cfg, value(cfg))
    assert scored and max(scored) == 64
    # the 8 nearest to the best are in the pool: the best's unseen neighbours get scored
    best = max(s.history, key=lambda h: h[1])[0]
    pool = s._scored_pool(s._unseen_candidates(s._seen()),
                          s.features([json.loads(best)])[0])
    _, x, _ = s.candidate_table()
    dist = np.abs(x - s.features([json.loads(best)])[0]).sum(1)
    unseen = s._unseen_candidates(s._seen())
    assert np.sort(dist[unseen])[:8].max() >= np.sort(dist[pool])[7]
    assert len(pool) == 64 and len(set(pool)) == 64 and set(pool) <= set(unseen)
    small = ChameleonSearcher(space, seed=0, candidates=cands, max_scored=4096)
    assert len(small._scored_pool(np.arange(1024), np.zeros(20))) == 1024
    with pytest.raises(Exception, match="max_scored must be >= 8"):
        ChameleonSearcher(space, candidates=cands, max_scored=2)


def test_an_objective_that_returns_no_number_is_a_one_line_error():
    """optimize() and tell() called float() on the value: a 400-digit int was an
    OverflowError and a string a ValueError traceback from inside the loop."""
    from search.optimize import optimize
    from synth.errors import ConfigError
    space, objective = _lookup_table()
    for bad in (10 ** 400, "0.9", [0.9], {"acc": 0.9}):
        with pytest.raises(ConfigError, match="the objective returned .* expected a number"):
            optimize(lambda cfg, bad=bad: bad, space, trials=3, searcher="random")
        s = LocalBOSearcher(space, n_initial=2, max_trials=4)
        cfg = s.ask()
        with pytest.raises(ConfigError, match="expected a number"):
            s.tell(cfg, bad)
        assert not s.history and not s.failed       # nothing recorded from it
    # NumPy and 0-d torch scalars are numbers; NaN and inf are failed evaluations
    import torch
    result = optimize(lambda cfg: torch.tensor(objective(cfg)), space, trials=3,
                      searcher="random")
    assert isinstance(result.best_value, float)
    for failed in (float("nan"), np.inf, None):
        result = optimize(lambda cfg, f=failed: f, space, trials=2, searcher="random")
        assert result.best_value is None and all(v is None for _, v in result.history)
