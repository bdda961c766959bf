"""A bound only a handful of the space's members meet is still searched (helper 194).

Every searcher drew its first proposals at random (40 draws a batch of 2) and kept the ones
within the constraints; when too few members meet a bound for random draws to hit one --
tiny's convnet space on mnist with parameters>=2000000 (~0.35% of members) -- ``ask()`` was
None and Tune's searcher FINISHED with no trial, so ``nnsynth search``/``run --check``
refused a bound that members meet.  Now a searcher whose draws found nothing seeks members
within the bounds (``search.costs.seek_feasible``: descent on the violation toward each
cost's end, then a walk of feasible edits).  Here the costs are a product priced without
building a model (fast): parameters = a * b, latency_ms = a + b.
"""
import pytest

from search.searchers import SEARCHERS
from search.space import HARDWARE_METRICS

SPACE = {"a": {"int": [1, 100]}, "b": {"int": [1, 100]},
         "c": {"choice": ["x", "y", "z"]}, "d": {"float": [0.0, 1.0]}}
FEW = "parameters>=9801"   # a, b in {99, 100}: 4 of the 10,000 (a, b) pairs


class ProductCosts:
    """The cost model's interface (``costs``, ``feasible``), priced by a formula; counts the
    members priced."""

    def __init__(self):
        self.priced = set()

    def costs(self, spec, hardware=None):
        self.priced.add((spec["a"], spec["b"], spec["c"], spec["d"]))
        out = {"parameters": spec["a"] * spec["b"], "flops": spec["a"] * spec["b"]}
        if hardware:
            out["latency_ms"] = float(spec["a"] + spec["b"])
        return out

    def feasible(self, spec, constraints):
        hardware = any(c.metric in HARDWARE_METRICS for c in constraints)
        return all(c.ok(self.costs(spec, hardware)) for c in constraints)


@pytest.mark.parametrize("name", sorted(SEARCHERS))
def test_a_bound_few_members_meet_is_proposed(name):
    """Each searcher's first proposal meets the bound (None before: 40 random draws found no
    member of 4 in 10,000)."""
    searcher = SEARCHERS[name](SPACE, constraints=[FEW], cost_model=ProductCosts(), seed=0,
                               batch_size=2, n_initial=2 if name != "random" else 8)
    spec = searcher.ask()
    assert spec is not None and searcher.space.contains(spec)
    assert spec["a"] * spec["b"] >= 9801, spec


@pytest.mark.parametrize("name", ["localbo", "steerage", "chameleon"])
def test_the_search_goes_on_within_the_bound(name):
    """Past the initial design (6 members for localbo) the guided searchers keep proposing
    distinct members within the bound: 10 told trials, none outside it."""
    searcher = SEARCHERS[name](SPACE, constraints=[FEW], cost_model=ProductCosts(), seed=1,
                               batch_size=2, n_initial=4)
    asked = []
    for _ in range(10):
        spec = searcher.ask()
        assert spec is not None, f"{name} stopped after {len(asked)} proposals"
        asked.append(spec)
        searcher.tell(spec, spec["d"] + (spec["c"] == "y"))
    assert all(s["a"] * s["b"] >= 9801 for s in asked), asked
    assert len({(s["a"], s["b"], s["c"], s["d"]) for s in asked}) == 10


@pytest.mark.parametrize("name", ["localbo", "random"])
def test_bounds_no_member_meets_together_still_propose_nothing(name):
    """parameters >= 9801 needs a + b >= 198: with latency_ms <= 150 no member meets both
    (each alone is met).  The seeking is bounded: ask() is None after a few hundred members
    priced at most, and no proposal breaks a bound."""
    costs = ProductCosts()
    searcher = SEARCHERS[name](SPACE, constraints=[FEW, "latency_ms<=150"], cost_model=costs,
                               seed=0, batch_size=2, n_initial=2 if name != "random" else 8)
    assert searcher.ask() is None
    assert len(costs.priced) <= 40 + 64 + 8, len(costs.priced)


def test_no_seeking_without_constraints(monkeypatch):
    """An unconstrained search proposes as it did: a small space used up ends the search
    without the seeker being asked (its proposals are unchanged: the seeker runs only for a
    constrained search whose draws found nothing)."""
    import search.searchers as searchers

    def refuse(*args, **kwargs):
        raise AssertionError("seek_feasible called without constraints")

    monkeypatch.setattr(searchers, "seek_feasible", refuse)
    space = {"a": {"int": [1, 3]}, "b": 1, "c": "x", "d": 0.0}
    searcher = SEARCHERS["random"](space, cost_model=ProductCosts(), seed=0, batch_size=1)
    asked = [searcher.ask() for _ in range(4)]
    assert sorted(s["a"] for s in asked[:3]) == [1, 2, 3] and asked[3] is None
