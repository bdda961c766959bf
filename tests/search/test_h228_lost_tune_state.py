"""Helper 228: a search resumed without its Tune state (its tune/ folder deleted, its
storage_path gone) runs only the trials it still lacks, with a searcher told the ones it has.
It ran every trial it was asked for again, beside the rows it kept, from a searcher that knew
none of them: a 3-trial iris search stopped after 1, tune/ deleted, resumed with 'trial 2/3',
'trial 3/3', 'trial 4/3' (the first architecture trained again) and '4 trials'.

No Ray: the searches are written as ``run_search`` writes them (test_h216's ``_search``)."""
import importlib
import json

import pytest

from search.costs import CostModel
from search.results import append_result, read_results
from search.run import (ERRORS_FILE, SearchConfig, make_searcher, run_search, saved_space,
                        trials_left, warm_start)
from tests.search.test_h216_search_state import NoRay, _search


@pytest.fixture
def no_ray(monkeypatch):
    def refuse(*a, **k):
        raise NoRay
    monkeypatch.setattr(importlib.import_module("cluster.connect"), "connect", refuse)


def test_a_search_whose_lost_trials_cannot_be_retried_is_summarized(tmp_path, no_ray):
    """2 trials: one finished, one failed; Tune's state (which a retry needs) is gone."""
    out = _search(tmp_path / "s", rows=1, trials=2)
    (out / ERRORS_FILE).write_text(json.dumps({"t9": {"spec": "{}", "error_file": ""}}))
    assert trials_left(out, SearchConfig.from_dict(json.loads(
        (out / "search_config.json").read_text()))) == 0
    summary = run_search(None, out, resume=True, progress=False)      # Ray not started
    assert (summary["trials"], summary["trials_errored"]) == (1, 1)
    (out / ERRORS_FILE).unlink()                                      # one to run: Ray
    with pytest.raises(NoRay):
        run_search(None, out, resume=True, progress=False)


def _row(trial_id: str, hidden: list, **more) -> dict:
    return {**dict(trial_id=trial_id, accuracy=0.5 + len(hidden) / 10, test_accuracy=0.5,
                spec=json.dumps({"family": "mlp", "hidden": hidden, "bn": False,
                                 "dropout": 0.0}), parameters=100, nonzero_parameters=100,
                flops=100, nonzero_flops=100, epochs=2, wall_seconds=1.0, stopped_early=False,
                checkpoint=f"/x/{trial_id}.pt", finished_at=0.0, device="cpu"), **more}


def test_a_new_searcher_is_told_the_trials_run(tmp_path):
    out = _search(tmp_path / "s", rows=0, trials=4)
    for row in (_row("a", [16]), _row("b", [32, 16]),
                _row("c", [64], stopped_early=True),       # ASHA's: an epoch's figure
                _row("d", [7])):                            # not of the space (edited since)
        append_result(out / "results.parquet", row)
    config = SearchConfig(space="mlp", dataset="iris", trials=5, searcher="localbo",
                          n_initial=2, hardware=False)
    searcher = make_searcher(config, saved_space(out), CostModel((4,), 3))
    warm_start(searcher, read_results(out / "results.parquet"))
    assert sorted(json.loads(k)["hidden"] for k, _ in searcher.history) == [[16], [32, 16]]
    assert [json.loads(k)["hidden"] for k in searcher.failed] == [[64]]
    assert trials_left(out, config) == 1
