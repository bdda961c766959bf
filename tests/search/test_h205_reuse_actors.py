"""Tune trials reuse their actors (helper 205): ``search.run.REUSE_ACTORS``.

Ray 2.60 starts a fresh actor (a worker process) for every trial unless the Tuner's
``reuse_actors`` is set; one ``nnsynth search`` took 48 s instead of 38 s.  A trial run in a
process an earlier trial used must give what it gives in a fresh one (``train_candidate``
seeds torch, sets its threads and loads its data itself): the same seed gives the same
table with reuse on, twice, and equal to the table of fresh processes.
"""
import json

import pytest

import search.run
from search.results import read_results
from search.run import SearchConfig, run_search

# the figures a trial measures (its id, times and checkpoint path differ from run to run)
MEASURED = ["spec", "model_spec", "accuracy", "real_val_accuracy", "test_accuracy",
            "parameters", "nonzero_parameters", "flops", "nonzero_flops", "epochs"]


@pytest.fixture(scope="module")
def ray_session(ray_local):
    return ray_local


def _search(out, reuse: bool, monkeypatch) -> tuple[list, list]:
    """(the measured rows in trial order, the worker process of each trial)."""
    monkeypatch.setattr(search.run, "REUSE_ACTORS", reuse)
    # one trial at a time: each after the first may run in the process the last one left
    config = SearchConfig(space="mlp", dataset="iris", trials=2, concurrency=1, n_initial=2,
                          searcher="random", epochs=2, hardware=False, seed=3)
    run_search(config, out, progress=False)
    table = read_results(out / "results.parquet").sort_values("finished_at")
    pids = []
    for trial in table["trial_id"]:
        (result,) = (out / "tune").glob(f"*{trial}*/result.json")
        pids.append(json.loads(result.read_text().splitlines()[-1])["pid"])
    return table[MEASURED].to_dict("records"), pids


def test_trials_reuse_actors_and_give_what_fresh_processes_give(ray_session, tmp_path,
                                                               monkeypatch):
    reused, pids = _search(tmp_path / "a", True, monkeypatch)
    assert len(reused) == 2 and len({r["spec"] for r in reused}) == 2
    assert len(set(pids)) == 1, pids          # a later trial ran in an earlier one's process
    again, _ = _search(tmp_path / "b", True, monkeypatch)
    fresh, fresh_pids = _search(tmp_path / "c", False, monkeypatch)
    assert len(set(fresh_pids)) == 2, fresh_pids
    assert again == reused
    assert fresh == reused
