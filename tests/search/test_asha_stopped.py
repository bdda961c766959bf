"""Trials ASHA stops early (``nnsynth search --asha``): what the searcher learns from them,
what the summary counts, what the Pareto front shows.  No Ray runtime: the searchers are
driven through their Tune methods as Tune calls them (a stopped trial completes with its
last report, an earlier epoch's accuracy, ``trial_final`` False)."""
import json

import numpy as np
import pytest

from search.costs import CostModel
from search.evolution import EvolutionConfig
from search.predictors import BoostedTreesConfig, BoostedTreesPredictor, accuracy_logit
from search.searchers import DONE_KEY, ChameleonSearcher, LocalBOSearcher, SteerageSearcher
from search.space import load_space

SMALL = EvolutionConfig(population=12, generations=3)


def _make(cls, **kw):
    extra = {SteerageSearcher: {"predictor": BoostedTreesPredictor(
        BoostedTreesConfig(n_estimators=20))}}.get(cls, {})
    kw = {"n_initial": 4, "batch_size": 1, "seed": 0, "evolution": SMALL, "max_trials": None,
          "cost_model": CostModel((1, 8, 8), 10), **extra, **kw}
    return cls(load_space("convnet"), **kw)


def _final(spec):     # accuracy after full training, in (0, 1): wider and deeper is better
    return float(1 - 1 / (1 + sum(spec["widths"]) / 64 + 0.2 * len(spec["widths"])))


def _spy(searcher):
    """Record the targets of every predictor fit."""
    fits, fit = [], searcher.predictor.fit

    def spy(x, y, **kw):
        fits.append(np.asarray(y, dtype=float).copy())
        return fit(x, y, **kw)
    searcher.predictor.fit = spy
    return fits


def _run(searcher, n, stop):
    """``n`` trials of 3 epochs: each reports epoch 1 (half its final accuracy); those
    ``stop(i)`` picks are stopped there by ASHA, the others report their final figure."""
    finals, stopped = {}, []
    for i in range(n):
        cfg = searcher.suggest(f"t{i}")
        spec = json.loads(cfg["spec"])
        early = {"accuracy": 0.5 * _final(spec), "epoch": 1, DONE_KEY: False}
        if stop(i):
            # Tune: a STOP decision skips on_trial_result and completes with the last report
            searcher.on_trial_complete(f"t{i}", early)
            stopped.append(cfg["spec"])
        else:
            searcher.on_trial_result(f"t{i}", early)
            final = {"accuracy": _final(spec), DONE_KEY: True}
            searcher.on_trial_result(f"t{i}", final)
            searcher.on_trial_complete(f"t{i}", final)
            finals[cfg["spec"]] = final["accuracy"]
    return finals, stopped


@pytest.mark.parametrize("cls", [SteerageSearcher, ChameleonSearcher, LocalBOSearcher])
def test_a_stopped_trial_is_no_final_observation_and_budgets_are_not_mixed(cls):
    # a stopped trial's epoch-1 accuracy went into the history beside full trainings' and
    # the predictor fitted both as one (an architecture was as good as its partial figure)
    s = _make(cls)
    fits = _spy(s)
    finals, stopped = _run(s, 5, stop=lambda i: i % 2 == 1)     # 3 finished, 2 stopped
    assert dict(s.history) == finals and s.stopped == stopped
    # too few full trainings (3 < n_initial): BOHB models the epoch-1 budget, which every
    # trial reached, stopped or not; only epoch-1 figures in it
    assert len(fits) == 1 and len(fits[-1]) == 4 == len(s.partial[1]) - 1
    for i in range(5, 8):                           # three more trained to the end
        cfg = s.suggest(f"t{i}")
        assert cfg["spec"] not in stopped           # a stopped spec is never proposed again
        spec = json.loads(cfg["spec"])
        s.on_trial_result(f"t{i}", {"accuracy": 0.5 * _final(spec), "epoch": 1,
                                    DONE_KEY: False})
        s.on_trial_complete(f"t{i}", {"accuracy": _final(spec), DONE_KEY: True})
        finals[cfg["spec"]] = _final(spec)
    s.suggest("t8")
    # 6 full trainings >= n_initial: the full budget alone, without the stopped trials
    assert len(fits[-1]) == 6 == len(finals)
    if cls is SteerageSearcher:                     # the logits of the final accuracies
        np.testing.assert_allclose(fits[-1], accuracy_logit(np.array([v for _, v in s.history])))
        assert sorted(v for _, v in s.history) == sorted(finals.values())


def test_stopped_trials_and_lower_budgets_survive_save_and_restore(tmp_path):
    a = _make(SteerageSearcher)
    _run(a, 6, stop=lambda i: i in (1, 2, 4))
    a.save(str(tmp_path / "state.json"))
    b = _make(SteerageSearcher, seed=7)
    b.restore(str(tmp_path / "state.json"))
    assert b.stopped == a.stopped and b.partial == a.partial and b.history == a.history
    assert a.suggest("t6") == b.suggest("t6")       # same model, same budget after restore


def test_an_intermediate_report_without_an_epoch_is_ignored():
    s = _make(SteerageSearcher)
    s.suggest("t0")
    s.on_trial_result("t0", {"accuracy": 0.3, DONE_KEY: False})
    s.on_trial_complete("t0", {"accuracy": 0.3, DONE_KEY: False})
    assert s.history == [] and s.partial == {} and len(s.stopped) == 1


def _row(trial_id, accuracy, checkpoint=None, **more):
    return {"trial_id": trial_id, "spec": json.dumps({"family": "mlp", "hidden": [4]}),
            "accuracy": accuracy, "test_accuracy": 0.5, "parameters": 10,
            "nonzero_parameters": 10, "flops": 100, "nonzero_flops": 100, "epochs": 3,
            "wall_seconds": 1.0, "stopped_early": False, "checkpoint": checkpoint,
            "finished_at": 1.0, "device": "cpu", "selected_on": "real_val", **more}


def _stopped(trial_id, accuracy, **more):   # as ResultsCallback writes one
    return {"trial_id": trial_id, "spec": json.dumps({"family": "mlp", "hidden": [8]}),
            "accuracy": accuracy, "epochs": 1, "stopped_early": True, **more}


def _search_dir(tmp_path):
    from search.results import append_result
    ckpt = tmp_path / "models" / "a.pt"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"model a")
    table = tmp_path / "results.parquet"
    append_result(table, _row("a", 0.5, str(ckpt)))
    append_result(table, _stopped("b", 0.75))
    append_result(table, _stopped("c", 0.25))
    return table


def test_summary_counts_finished_and_stopped_trials_apart(tmp_path):
    # --trials 3 --asha: "3 trials" where one was trained to the end and two stopped
    from search.run import SearchConfig, summarize, trials_text
    _search_dir(tmp_path)
    summary = summarize(tmp_path, SearchConfig(dataset="digits", asha=True, hardware=False,
                                               trials=3))
    assert (summary["trials"], summary["trials_finished"],
            summary["trials_stopped_early"]) == (3, 1, 2)
    assert trials_text(summary) == "3 trials (1 trained to the end, 2 stopped early by ASHA)"
    assert summary["pareto_front"] == ["a"]         # the stopped rows are not on it
    assert trials_text({"trials": 4, "trials_finished": 4,
                        "trials_stopped_early": 0}) == "4 trials"


def test_the_search_command_says_how_many_were_stopped(tmp_path, monkeypatch):
    from click.testing import CliRunner
    import search.run
    from deploy.cli.main import cli
    _search_dir(tmp_path)

    def fake_run(config, out, **kw):
        return search.run.summarize(tmp_path, config)
    monkeypatch.setattr(search.run, "run_search", fake_run)
    r = CliRunner().invoke(cli, ["search", "--out", str(tmp_path), "--asha", "--no-hardware",
                                 "--trials", "3", "--space", "mlp"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("3 trials (1 trained to the end, 2 stopped early by ASHA) in")


def test_pareto_front_and_plot_leave_out_stopped_trials(tmp_path, monkeypatch):
    # a stopped row with costs (an epoch's accuracy at 50 MACs) dominated the trained one
    import matplotlib.pyplot as plt
    from search.results import append_result, pareto_front, plot_pareto, read_results
    table = tmp_path / "results.parquet"
    append_result(table, _row("a", 0.5, "a.pt"))
    append_result(table, _stopped("b", 0.75, flops=50))
    assert pareto_front(read_results(table), x="flops")["trial_id"].tolist() == ["a"]
    figures, close = [], plt.close
    monkeypatch.setattr(plt, "close", figures.append)
    plot_pareto(table, tmp_path / "pareto.png")
    legend = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    close(figures[0])
    assert legend[0] == "trials (1; 1 stopped early, not shown)"


def test_a_stopped_trial_replayed_after_a_kill_is_not_reported_final(tmp_path, monkeypatch):
    # a trial ASHA stopped, recorded in results.parquet just before a kill, reruns on resume:
    # it replayed its row as final, and the searcher took its epoch's accuracy as trained
    from search.results import append_result
    from tests.search._trial import run_trial_here
    append_result(tmp_path / "results.parquet", _stopped("t1", 0.75))
    reports = run_trial_here(monkeypatch, "t1", {"spec": _stopped("t1", 0)["spec"]},
                             {"out_dir": str(tmp_path)})
    assert len(reports) == 1 and reports[0][DONE_KEY] is False and reports[0]["epoch"] == 1
    s = _make(SteerageSearcher)
    s.suggest("t1")
    s.on_trial_result("t1", reports[0])
    s.on_trial_complete("t1", reports[0])
    assert s.history == [] and s.partial[1] and len(s.stopped) == 1
