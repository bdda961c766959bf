"""Tune trials reuse their actors, and a finished search resumes without Ray (helper 205).

Ray 2.60 starts a fresh actor (a worker process) for every trial unless the Tuner's
``reuse_actors`` is set (``search.run.REUSE_ACTORS``); one ``nnsynth search`` took 48 s
instead of 38 s.  A trial run in a process an earlier trial used must give what it gives in
a fresh one (``train_candidate`` seeds torch, sets its threads and loads its data itself):
the same seed gives with reuse on the table that fresh processes give.

``nnsynth search --resume`` of a search that had finished started Ray and restored Tune's
experiment only to print the summary of its saved results (``search.run.search_finished``).
"""
import json

import pytest

import search.run
from search.results import read_results
from search.run import SearchConfig, run_search

# the figures a trial measures (its id, times and checkpoint path differ from run to run)
MEASURED = ["spec", "model_spec", "accuracy", "real_val_accuracy", "test_accuracy",
            "parameters", "nonzero_parameters", "flops", "nonzero_flops", "epochs"]
# one trial at a time: the second may run in the process the first one left
CONFIG = SearchConfig(space="mlp", dataset="iris", trials=2, concurrency=1, n_initial=2,
                      searcher="random", epochs=2, hardware=False, seed=3)


@pytest.fixture(scope="module")
def ray_session(ray_local):
    return ray_local


def _search(out) -> tuple[list, list, dict]:
    """(the measured rows in trial order, the worker process of each trial, the summary)."""
    summary = run_search(CONFIG, out, progress=False)
    table = read_results(out / "results.parquet").sort_values("finished_at")
    pids = []
    for trial in table["trial_id"]:
        (result,) = (out / "tune").glob(f"*{trial}*/result.json")
        pids.append(json.loads(result.read_text().splitlines()[-1])["pid"])
    return table[MEASURED].to_dict("records"), pids, summary


@pytest.fixture(scope="module")
def finished(ray_session, tmp_path_factory):
    """A finished search with reuse on (the default): (its directory, rows, pids, summary)."""
    out = tmp_path_factory.mktemp("h205") / "a"
    return (out, *_search(out))


def test_trials_reuse_actors_and_give_what_fresh_processes_give(finished, tmp_path,
                                                               monkeypatch):
    _, reused, pids, _ = finished
    assert len(reused) == 2 and len({r["spec"] for r in reused}) == 2
    assert len(set(pids)) == 1, pids          # the second trial ran in the first one's process
    monkeypatch.setattr(search.run, "REUSE_ACTORS", False)
    fresh, fresh_pids, _ = _search(tmp_path / "c")
    assert len(set(fresh_pids)) == 2, fresh_pids
    assert fresh == reused


def _no_ray(monkeypatch):
    """Starting or joining Ray, or running Tune, fails the test."""
    import importlib

    import ray
    connect_module = importlib.import_module("cluster.connect")   # cluster.connect: the function

    def refuse(*a, **k):
        raise AssertionError("Ray was started")
    monkeypatch.setattr(ray, "init", refuse)
    monkeypatch.setattr(connect_module, "connect", refuse)
    monkeypatch.setattr(search.run, "_fit_interruptibly", refuse)


def test_a_finished_search_resumes_from_its_results_without_ray(finished, monkeypatch):
    out, rows, _, summary = finished
    _no_ray(monkeypatch)
    again = run_search(None, out, resume=True, progress=False)
    assert {**again, "wall_seconds": None} == {**summary, "wall_seconds": None}
    assert len(read_results(out / "results.parquet")) == len(rows)   # nothing ran

    from click.testing import CliRunner
    from deploy.cli.commands.search import summary_text
    from deploy.cli.main import cli
    r = CliRunner().invoke(cli, ["search", "--resume", str(out)])
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == summary_text(summary)
    r = CliRunner().invoke(cli, ["search", "--resume", str(out), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout.splitlines()[-1])["best_spec"] == summary["best_spec"]


def test_what_counts_as_finished(tmp_path):
    """A row for every trial asked for (stopped ones count) and no failed trial; a failed
    trial is retried by a resume, and a short table may be an interrupted search."""
    from search.results import append_result
    from search.run import ERRORS_FILE, search_finished
    from tests.search.test_asha_stopped import _row, _stopped
    config = CONFIG.replace(trials=3)
    table = tmp_path / "results.parquet"
    assert not search_finished(tmp_path, config)                 # nothing ran yet
    append_result(table, _row("a", 0.5, "a.pt"))
    append_result(table, _stopped("b", 0.25))
    assert not search_finished(tmp_path, config)                 # 2 of 3
    (tmp_path / ERRORS_FILE).write_text(json.dumps({"c": {"spec": "{}", "error_file": ""}}))
    assert not search_finished(tmp_path, config)                 # c failed: a resume retries
    append_result(table, _row("c", 0.75, "c.pt"))                # ... and it finished
    assert search_finished(tmp_path, config)
    assert not search_finished(tmp_path, config.replace(trials=4))


def test_a_search_that_ran_every_runnable_member_is_finished(tmp_path, monkeypatch):
    """--trials 4 --constraint parameters<=40 on iris: one of the 12 members fits, its one
    trial is the whole search.  The members are counted once for the resume's check and its
    summary (each is built to be priced)."""
    from search.costs import CostModel
    from search.results import append_result
    from search.run import runnable_members, save_space, search_finished, searchable_space
    from tests.search.test_asha_stopped import _row
    space = {"family": "mlp", "params": {"hidden": {"list": [4, 8, 16], "length": [1, 2]}}}
    save_space(tmp_path, searchable_space(space))
    append_result(tmp_path / "results.parquet", _row("a", 0.5, "a.pt"))
    config = SearchConfig(space=space, dataset="iris", trials=4, hardware=False,
                          constraints=("parameters<=40",))
    priced, feasible = [], CostModel.feasible
    monkeypatch.setattr(CostModel, "feasible",
                        lambda self, *a: priced.append(1) or feasible(self, *a))
    assert search_finished(tmp_path, config)
    counted = len(priced)
    assert counted == 12 and runnable_members(tmp_path, config, 4) == 1
    assert len(priced) == counted                       # the summary's count: kept
    assert not search_finished(tmp_path, config.replace(constraints=("parameters<=70",)))
