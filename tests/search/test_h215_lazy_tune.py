"""The ask/tell searchers and ``search.run`` do not import Ray Tune (helper 215).

``search.searchers``' searchers subclassed Tune's ``Searcher``, so ``import search.run`` (and
with it ``nnsynth search --resume`` of a finished search, which answers from results.parquet
without Ray) and every ask/tell use of a searcher imported ``ray.tune``: ~0.9 s of import
alone.  They are plain classes now; ``search.tune_searcher.TuneSearcher`` hands one to Tune,
imported only where Tune runs.
"""
from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_search_run_and_the_searchers_leaves_ray_tune_out():
    code = ("import sys, search.run, search.searchers, search.optimize; "
            "print([m for m in sys.modules if m == 'ray.tune' or m.startswith('ray.tune.')])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]", out


def test_tune_searcher_forwards_to_the_searcher(tmp_path):
    from ray.tune.search import ConcurrencyLimiter, Searcher

    from search.searchers import RandomSearcher
    from search.tune_searcher import TuneSearcher
    inner = RandomSearcher({"x": {"int": [1, 3]}}, metric="loss", mode="min", max_trials=2,
                           n_initial=1, seed=0)
    tuner_side = TuneSearcher(inner)
    assert isinstance(tuner_side, Searcher)
    assert (tuner_side.metric, tuner_side.mode) == ("loss", "min")
    limited = ConcurrencyLimiter(tuner_side, 1, batch=True)
    first = limited.suggest("t0")
    assert json.loads(first["spec"])["x"] in (1, 2, 3)
    limited.on_trial_complete("t0", {"loss": 0.5})
    assert inner.history == [(first["spec"], 0.5)]
    second = tuner_side.suggest("t1")
    tuner_side.on_trial_result("t1", {"loss": 0.25, "trial_final": True})
    assert tuner_side.suggest("t2") == Searcher.FINISHED      # max_trials reached
    tuner_side.save(str(tmp_path / "state.json"))
    again = TuneSearcher(RandomSearcher({"x": {"int": [1, 3]}}, metric="loss", mode="min",
                                        max_trials=2, n_initial=1, seed=5))
    again.restore(str(tmp_path / "state.json"))
    assert again.ask_tell.history == [(first["spec"], 0.5), (second["spec"], 0.25)]

    # as Tune saves and restores an experiment: the wrappers' state and the searcher's file,
    # into a searcher unpickled from the experiment
    from ray.tune.search.search_generator import SearchGenerator
    SearchGenerator(limited).save_to_dir(str(tmp_path), session_str="s")
    fresh = RandomSearcher({"x": {"int": [1, 3]}}, metric="loss", mode="min", max_trials=2,
                           n_initial=1, seed=7)
    restored = SearchGenerator(pickle.loads(pickle.dumps(
        ConcurrencyLimiter(TuneSearcher(fresh), 1, batch=True))))
    restored.restore_from_dir(str(tmp_path))
    assert restored.searcher.searcher.ask_tell.history == inner.history
