"""A trial whose measured model breaks a constraint (grow-and-prune shrank it below a lower
bound after the searcher priced the proposal) is learned as infeasible by every registered
searcher (helper 149; ``search.feasibility``).

Before: ``search --grow-prune`` with ``parameters>=20000`` rejected the pruned models in
its summary (h145), but the searcher took each trial's accuracy as a plain observation and
went on proposing architectures whose pruned models fall below the bound.

The trials here are driven through the searchers' Tune interface, as ``run_search`` drives
them, without Ray or training: a trial's measured model is its proposal with every hidden
width halved (a stand-in for grow-and-prune, counted by building that model), and its
accuracy grows as the model shrinks (pruned models keep their accuracy: the pull toward the
region the bound forbids)."""
import json
import math

import pytest

from search.costs import CostModel
from search.evolution import EvolutionConfig
from search.searchers import DONE_KEY, SEARCHERS
from search.space import load_space, parse_constraint
from synth.models import build, count_parameters

BOUND = 20000
SHAPE, CLASSES = (4,), 3
# the built-in mlp space without its bn choice (258 members, each priced once: ~10 ms each)
SPACE = {"family": "mlp", "params": {"hidden": {"list": [16, 32, 64, 128, 256, 512],
                                                "length": [1, 3]}, "bn": False}}


def _pruned(spec: dict) -> dict:
    return {**spec, "hidden": [max(1, w // 2) for w in spec["hidden"]]}


def _measure(spec: dict) -> dict:
    params = count_parameters(build(_pruned(spec), SHAPE, CLASSES))
    return {"accuracy": 1.0 / (1.0 + math.log10(params) / 10), "parameters": params,
            DONE_KEY: True}


def _run(name: str, trials: int, seed: int = 0):
    """(measured parameters of each trial in order, the searcher)."""
    extra = {"global_pool": 64, "local": 24} if name == "localbo" else {}
    s = SEARCHERS[name](load_space(SPACE), batch_size=1, n_initial=6, seed=seed, **extra,
                        constraints=[parse_constraint(f"parameters>={BOUND}")],
                        cost_model=CostModel(SHAPE, CLASSES),
                        evolution=EvolutionConfig(population=16, generations=3))
    measured = []
    for t in range(trials):
        out = s.suggest(f"t{t}")
        if not isinstance(out, dict):
            break
        result = _measure(json.loads(out["spec"]))
        s.on_trial_complete(f"t{t}", result)
        measured.append(result["parameters"])
    return measured, s


@pytest.mark.parametrize("name", list(SEARCHERS))
def test_a_pruned_model_below_the_bound_stops_the_region_being_proposed(name):
    measured, s = _run(name, 18)
    late = measured[8:]
    # the first trials teach it; afterwards hardly a proposal prunes below the bound (those
    # that do are just under it).  Before: 10 of these 10 did (steerage, chameleon,
    # localbo), 6 with random search
    assert sum(p < BOUND for p in measured[:8]) >= 1
    assert sum(p < BOUND for p in late) <= 2, (name, late)
    assert len(s.infeasible) == sum(p < BOUND for p in measured)
    assert all(k not in dict(s.history) for k in s.infeasible)


@pytest.mark.parametrize("name", ["steerage", "chameleon", "localbo"])
def test_an_infeasible_observation_is_fitted_below_every_feasible_one(name, tmp_path):
    """Deb's rule, without a cost model (ask/tell, figures told): the searcher fits an
    infeasible result below every feasible one, however high its value, and climbs to the
    bound.  Before, the values beyond the bound drew it there: of the 24 guided proposals,
    16 (localbo), 17 (chameleon) and 24 (steerage) were beyond it."""
    space = load_space({"x": {"int": [0, 100]}})
    bound = [parse_constraint("parameters<=60")]
    s = SEARCHERS[name](space, batch_size=1, n_initial=6, seed=0, constraints=bound)
    xs = []
    for t in range(30):
        config = s.ask()
        s.tell(config, config["x"] / 100, figures={"parameters": config["x"]})
        xs.append(config["x"])
    assert sum(x > 60 for x in xs[6:]) <= 4, xs
    assert sorted(json.loads(k)["x"] for k in s.infeasible) == sorted(x for x in xs if x > 60)
    assert all(json.loads(k)["x"] <= 60 for k, _ in s.history)
    assert max(json.loads(k)["x"] for k, _ in s.history) >= 50
    s.save(str(tmp_path / "state.json"))
    again = SEARCHERS[name](space, batch_size=1, n_initial=6, seed=0, constraints=bound)
    again.restore(str(tmp_path / "state.json"))
    assert again.infeasible == s.infeasible and again.suggest("next") == s.suggest("next")


def test_figures_that_meet_the_bounds_or_are_unmeasured_are_plain_observations():
    space = load_space({"x": {"int": [0, 100]}})
    s = SEARCHERS["random"](space, constraints=[parse_constraint("parameters>=10")])
    s.tell({"x": 3}, 0.5, figures={"parameters": 12})
    s.tell({"x": 4}, 0.6, figures={"parameters": float("nan")})   # not measured
    s.tell({"x": 5}, 0.7)
    assert not s.infeasible and len(s.history) == 3
    s.tell({"x": 6}, 0.9, figures={"parameters": 9})
    assert list(s.infeasible) == ['{"x":6}'] and len(s.history) == 3
