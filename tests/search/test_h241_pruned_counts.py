"""The constraints of a search whose trials grow and prune (``SearchConfig.grow_prune``) hold
for the parameters the pruning left (helper 241): they were checked on the dense count of the
saved model (``parameters``: every weight of the compacted layers, the cut connections among
them), so 'parameters>=20000' kept a model of 21,379 weights of which 5,000 were nonzero, and
'parameters<=10000' refused it.  Now a grown-and-pruned trial's row says so (``grow_pruned``)
and the constraints read ``nonzero_parameters`` and ``nonzero_flops`` there
(``search.feasibility.measured_figures``), in the summary, the progress lines, the searcher's
feasibility and a warm start; the summary says which count it checked."""
import json

from search.feasibility import measured_figures
from search.results import append_result, read_results
from search.run import SearchConfig, save_space, summarize, trials_text, warm_start
from search.searchers import DONE_KEY, SEARCHERS
from search.space import load_space, parse_constraint

SPEC = {"bn": False, "dropout": 0.0, "family": "mlp", "hidden": [128, 128, 32]}
OTHER = {"bn": True, "dropout": 0.0, "family": "mlp", "hidden": [128, 128, 512]}
GROW_PRUNE = {"prune_steps": 2, "prune_fraction": 0.5, "retrain_epochs": 1}


def _row(tmp_path, trial_id, spec, accuracy, parameters, nonzero, **extra):
    ckpt = tmp_path / "models" / f"{trial_id}.pt"
    ckpt.parent.mkdir(exist_ok=True)
    ckpt.write_bytes(f"model {trial_id}".encode())
    return {"trial_id": trial_id, "spec": json.dumps(spec, sort_keys=True),
            "accuracy": accuracy, "test_accuracy": accuracy, "parameters": parameters,
            "nonzero_parameters": nonzero, "flops": parameters, "nonzero_flops": nonzero,
            "latency_ms": parameters / 1e6, "energy_mj": 0.001, "epochs": 2,
            "wall_seconds": 1.0, "stopped_early": False, "checkpoint": str(ckpt),
            "finished_at": 1.0, "device": "cpu", "selected_on": "real_val", **extra}


def _search(tmp_path, constraint, **row_extra):
    save_space(tmp_path, load_space("mlp"))
    for row in (_row(tmp_path, "a", SPEC, 0.9, 21379, 5000, **row_extra),
                _row(tmp_path, "b", OTHER, 0.8, 88000, 25000, **row_extra)):
        append_result(tmp_path / "results.parquet", row)
    return SearchConfig(dataset="iris", space="mlp", trials=2, searcher="random",
                        grow_prune=GROW_PRUNE, constraints=(constraint,))


def test_a_lower_bound_holds_for_the_nonzero_parameters(tmp_path):
    from deploy.cli.commands.search import summary_text
    summary = summarize(tmp_path, _search(tmp_path, "parameters>=20000", grow_pruned=True))
    # a: 21,379 weights, 5,000 of them nonzero: below the bound (it was the best)
    assert summary["best_trial"] == "b" and summary["trials_outside_constraints"] == 1
    assert summary["constraints_counted"] == "nonzero"
    assert summary["best_parameters"] == 88000 and summary["best_nonzero_parameters"] == 25000
    assert "(on its nonzero parameters and MACs)" in trials_text(summary)
    assert "(88,000 parameters, 25,000 nonzero, latency" in summary_text(summary)


def test_an_upper_bound_holds_for_the_nonzero_parameters(tmp_path):
    summary = summarize(tmp_path, _search(tmp_path, "parameters<=10000", grow_pruned=True))
    assert summary["best_trial"] == "a" and summary["trials_outside_constraints"] == 1


def test_a_table_without_the_column_is_counted_as_the_search_pruned(tmp_path):
    """Rows written before ``grow_pruned``: the search's grow_prune says."""
    config = _search(tmp_path, "parameters>=20000")
    assert "grow_pruned" not in read_results(tmp_path / "results.parquet") or read_results(
        tmp_path / "results.parquet")["grow_pruned"].isna().all()
    assert summarize(tmp_path, config)["best_trial"] == "b"
    # without grow_prune the dense counts are the model's
    dense = summarize(tmp_path, config.replace(grow_prune=None))
    assert dense["best_trial"] == "a" and dense["constraints_counted"] == "all"


def test_the_searcher_learns_a_pruned_trial_below_the_bound_infeasible():
    s = SEARCHERS["random"](load_space("mlp"), batch_size=1, n_initial=2, seed=0,
                            constraints=[parse_constraint("parameters>=20000")])
    out = s.suggest("t0")
    s.on_trial_complete("t0", {"accuracy": 0.9, "parameters": 21379, "nonzero_parameters": 5000,
                               "grow_pruned": True, DONE_KEY: True})
    assert out["spec"] in s.infeasible
    out = s.suggest("t1")   # not pruned: its dense count is its count
    s.on_trial_complete("t1", {"accuracy": 0.9, "parameters": 21379, "nonzero_parameters": 5000,
                               "grow_pruned": False, DONE_KEY: True})
    assert out["spec"] not in s.infeasible


def test_a_warm_start_tells_the_nonzero_counts(tmp_path):
    _search(tmp_path, "parameters>=20000")
    told = []

    class Recorder:
        def tell(self, config, value, figures):
            told.append(figures)
    warm_start(Recorder(), read_results(tmp_path / "results.parquet"), pruned=True)
    assert [f["parameters"] for f in told] == [5000, 25000]
    assert measured_figures({"parameters": 7, "nonzero_parameters": 3})["parameters"] == 7


def test_a_grow_prune_trial_reports_its_nonzero_parameters(tmp_path, monkeypatch):
    """The trial itself: the compacted model keeps cut connections as zero weights, so its
    dense count is above what pruning left; the row says it was grown and pruned."""
    from synth.checkpoint import load_model
    from synth.models import count_parameters
    from tests.search._trial import run_trial_here
    config = SearchConfig(dataset="iris", epochs=1, min_steps=0, hardware=False,
                          grow_prune=GROW_PRUNE)
    settings = {**config.to_dict(), "out_dir": str(tmp_path), "data_seed": 0}
    final = run_trial_here(monkeypatch, "p1", {"spec": json.dumps(SPEC, sort_keys=True)},
                           settings)[-1]
    assert final[DONE_KEY] is True and final["grow_pruned"] is True
    saved = load_model(final["checkpoint"])
    assert final["nonzero_parameters"] == count_parameters(saved, nonzero=True)
    assert final["nonzero_parameters"] < final["parameters"]
    assert measured_figures(final)["parameters"] == final["nonzero_parameters"]
