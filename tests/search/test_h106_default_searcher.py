"""``SearchConfig``'s default searcher is localbo (the fewest trials on every tabular problem
of benchmarks/results/search_efficiency.md), and it searches the model-family spaces
``nnsynth search`` uses as Tune drives it: a batch of ``concurrency`` suggestions, the
config's ``n_initial`` random ones first, resource constraints priced by the cost model.
No Ray runtime: the searcher is driven through its Tune methods."""
import json

import pytest

from search.costs import CostModel
from search.run import SearchConfig, make_searcher
from search.searchers import DONE_KEY, LocalBOSearcher
from search.space import load_space, parse_constraint


def test_the_default_searcher_is_localbo():
    assert SearchConfig().searcher == "localbo"
    assert SearchConfig(searcher="steerage").searcher == "steerage"


# a constraint prices every candidate by building it (~30 ms a convnet on this machine, and
# localbo scores ~400 at its first fit): the test constrains the mlp space only
@pytest.mark.parametrize("space, shape, classes, constraints", [
    ("convnet", (1, 8, 8), 10, ()), ("mlp", (4,), 3, ("parameters<=30000",))])
def test_default_searcher_searches_family_spaces(space, shape, classes, constraints):
    config = SearchConfig(space=space, trials=8, n_initial=4, concurrency=2,
                          constraints=constraints, hardware=False)
    cost_model = CostModel(shape, classes)
    family = load_space(space)
    searcher = make_searcher(config, family, cost_model)
    assert isinstance(searcher, LocalBOSearcher)
    limits = [parse_constraint(c) for c in constraints]
    specs = []
    for i in range(config.trials):
        spec = json.loads(searcher.suggest(f"t{i}")["spec"])
        assert family.contains(spec) and cost_model.feasible(spec, limits), spec
        specs.append(spec)
        # a bigger network scores higher, up to the limit
        value = cost_model.costs(spec)["parameters"] / 30000
        searcher.on_trial_complete(f"t{i}", {"accuracy": value, DONE_KEY: True})
    assert searcher.refits >= (config.trials - config.n_initial) // config.concurrency - 1
    assert len({json.dumps(s, sort_keys=True) for s in specs}) == config.trials
