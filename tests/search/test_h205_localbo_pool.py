"""localbo's random pool under a bound few members meet (helper 205).

The global pool keeps the members its draws found from one proposal to the next and draws
the missing ones anew; under a bound few members meet it never filled, so every proposal
drew two members per missing one (~450 priced for 2-4 within the bound: 5-7 s a proposal on
one core for tiny's convnet space on mnist with parameters>=2000000).  Now a proposal stops
drawing after ``global_pool // 2`` draws outside the bounds; the draws that find members are
those they were (unconstrained, the proposals are unchanged).
"""
import numpy as np

from search.evolution import sample_feasible
from search.searchers import SEARCHERS
from search.space import load_space
from tests.search.test_h194_few_members_meet import FEW, SPACE, ProductCosts


def test_a_proposal_prices_a_bounded_number_of_random_draws():
    costs = ProductCosts()
    searcher = SEARCHERS["localbo"](SPACE, constraints=[FEW], cost_model=costs, seed=0,
                                    batch_size=2, n_initial=4)
    asked, priced = [], []
    for _ in range(12):
        before = len(costs.priced)
        spec = searcher.ask()
        assert spec is not None
        priced.append(len(costs.priced) - before)
        asked.append(spec)
        searcher.tell(spec, spec["d"] + (spec["c"] == "y"))
    assert all(s["a"] * s["b"] >= 9801 for s in asked), asked
    assert len({(s["a"], s["b"], s["c"], s["d"]) for s in asked}) == 12
    # the guided proposals (asks 4, 6, 8, 10): the local pool's edits (<= 3 x 48) and at most
    # 128 random draws outside the bound: 239, 217, 216, 213 members (before: 623, 594, 601,
    # 599)
    guided = priced[4::2]
    assert max(guided) <= 3 * 48 + 128 + 8, priced


def test_the_limit_changes_no_draw_that_finds_members():
    space = load_space(SPACE)
    plain = sample_feasible(space, lambda s: True, np.random.default_rng(1), 50, set(), 2)
    capped = sample_feasible(space, lambda s: True, np.random.default_rng(1), 50, set(), 2,
                             max_infeasible=3)
    assert capped == plain and len(plain) == 50
    few = sample_feasible(space, lambda s: s["a"] > 90, np.random.default_rng(1), 50, set(),
                          2, max_infeasible=20)
    assert len(few) < 50 and all(s["a"] > 90 for s in few)


def test_unconstrained_proposals_are_unchanged():
    """Fixed seed, no constraints: the first 10 proposals, as before the limit."""
    searcher = SEARCHERS["localbo"](SPACE, seed=4, batch_size=2, n_initial=4)
    asked = []
    for _ in range(10):
        spec = searcher.ask()
        asked.append((spec["a"], spec["b"], spec["c"], round(spec["d"], 6)))
        searcher.tell(spec, spec["d"] + (spec["c"] == "y"))
    assert asked == EXPECTED, asked


EXPECTED = [(94, 52, "z", 0.080836), (61, 38, "z", 0.801901), (18, 87, "x", 0.902215),
            (48, 44, "y", 0.788947), (37, 15, "y", 0.962983), (12, 61, "y", 0.987273),
            (1, 61, "y", 1.0), (1, 61, "y", 0.987273), (8, 24, "y", 0.005487),
            (2, 83, "y", 0.497033)]
