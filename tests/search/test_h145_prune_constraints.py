"""A search whose trials grow and prune (``SearchConfig.grow_prune``): the summary reported
the searched architecture beside the pruned model's parameters, latency and checkpoint, and
chose its best without checking the constraints on those figures (helper 145).

Reproduced on iris (mlp space, 2 random trials, 2 epochs, ``grow_prune`` of 3 steps of 50%
with dead-weight removal, ``constraints=("parameters>=20000",)``): the summary said
best_spec hidden [128, 128, 32] (21,379 parameters as searched) with best_parameters 14,116,
those of the [117, 96, 22] grow-and-prune had compacted it to, which best.pt holds -- below
the bound the search was asked to keep, while the other trial's pruned model (81,987) met it.

No Ray runtime: a trial runs in this process (``tests.search._trial``) and the summary is made
from the results table as ``run_search`` leaves it."""
import json

import pytest

from search.results import append_result
from search.run import SearchConfig, save_space, summarize, trials_text
from search.searchers import DONE_KEY
from search.space import load_space
from synth.errors import UserError

SEARCHED = {"bn": False, "dropout": 0.0, "family": "mlp", "hidden": [128, 128, 32]}
PRUNED = {"bn": False, "dropout": 0.0, "family": "mlp", "hidden": [117, 96, 22]}
OTHER = {"bn": True, "dropout": 0.0, "family": "mlp", "hidden": [128, 128, 512]}
GROW_PRUNE = {"prune_steps": 3, "prune_fraction": 0.5, "retrain_epochs": 1,
              "remove_dead": True}


def _row(tmp_path, trial_id, spec, model_spec, accuracy, parameters, latency_ms):
    ckpt = tmp_path / "models" / f"{trial_id}.pt"
    ckpt.parent.mkdir(exist_ok=True)
    ckpt.write_bytes(f"model {trial_id}".encode())
    return {"trial_id": trial_id, "spec": json.dumps(spec, sort_keys=True),
            "model_spec": json.dumps(model_spec, sort_keys=True), "accuracy": accuracy,
            "test_accuracy": accuracy, "parameters": parameters,
            # the figures the constraints of a pruning search read are the nonzero ones
            # (search.feasibility.measured_figures, h241): here the same as the dense
            "nonzero_parameters": parameters, "flops": parameters,
            "nonzero_flops": parameters, "latency_ms": latency_ms, "energy_mj": 0.001,
            "epochs": 2, "wall_seconds": 1.0, "stopped_early": False,
            "checkpoint": str(ckpt), "finished_at": 1.0, "device": "cpu",
            "selected_on": "real_val"}


def _search(tmp_path, **config):
    """The reproduced search's directory: its two trials' rows as the trials wrote them."""
    save_space(tmp_path, load_space("mlp"))
    for row in (_row(tmp_path, "a", SEARCHED, PRUNED, 0.667, 14116, 0.00382),
                _row(tmp_path, "b", OTHER, OTHER | {"hidden": [120, 100, 400]}, 0.417,
                     81987, 0.0182)):
        append_result(tmp_path / "results.parquet", row)
    return SearchConfig(dataset="iris", space="mlp", trials=2, grow_prune=GROW_PRUNE,
                        **config)


def test_a_trial_pruned_below_a_lower_bound_is_not_the_best(tmp_path):
    config = _search(tmp_path, constraints=("parameters>=20000",))
    summary = summarize(tmp_path, config)
    assert summary["best_trial"] == "b"
    assert summary["best_parameters"] == 81987 >= 20000
    assert (tmp_path / "best.pt").read_bytes() == b"model b"
    assert summary["trials_outside_constraints"] == 1
    assert summary["constraints"] == ["parameters>=20000"]
    assert trials_text(summary) == (
        "2 trials (1 left a grown-and-pruned model outside the constraints "
        "parameters>=20000 (on its nonzero parameters and MACs): not eligible for best, nor "
        "on the Pareto front)")
    # trial a (lower latency, higher accuracy) dominated b; it is outside, b is the front
    assert summary["pareto_front"] == ["b"]


def test_the_summary_names_the_searched_and_the_pruned_architecture(tmp_path):
    from deploy.cli.commands.search import summary_text
    summary = summarize(tmp_path, _search(tmp_path, constraints=("parameters>=1000",)))
    assert summary["best_trial"] == "a" and summary["trials_outside_constraints"] == 0
    # best_spec is best.pt's architecture, the one best_parameters and best_latency_ms measure
    assert summary["best_spec"] == PRUNED and summary["best_parameters"] == 14116
    assert summary["best_searched_spec"] == SEARCHED and summary["grow_pruned"] is True
    line = summary_text(summary)
    assert (f"(14,116 parameters, 14,116 nonzero, latency 0.00382 ms of the grown-and-pruned "
            f"{json.dumps(PRUNED, sort_keys=True)}, searched as "
            f"{json.dumps(SEARCHED, sort_keys=True)})") in line
    assert "outside the constraints" not in trials_text(summary)


def test_no_trial_within_the_constraints_after_pruning_is_one_line(tmp_path):
    config = _search(tmp_path, constraints=("parameters>=100000",))
    with pytest.raises(UserError) as e:
        summarize(tmp_path, config)
    text = str(e.value)
    assert "\n" not in text
    assert "no trial's model meets parameters>=100000 (largest 81,987 nonzero)" in text
    assert "grow-and-prune shrank them" in text
    assert not (tmp_path / "best.pt").exists()


def test_a_table_without_model_spec_reads_spec(tmp_path):
    """A results table written before the model_spec column: the spec is what was saved."""
    save_space(tmp_path, load_space("mlp"))
    row = _row(tmp_path, "a", SEARCHED, SEARCHED, 0.7, 21379, 0.005)
    del row["model_spec"]
    append_result(tmp_path / "results.parquet", row)
    summary = summarize(tmp_path, SearchConfig(dataset="iris", space="mlp", trials=1))
    assert summary["best_spec"] == summary["best_searched_spec"] == SEARCHED
    assert summary["grow_pruned"] is False


def test_a_grow_prune_trial_records_the_pruned_models_spec(tmp_path, monkeypatch):
    """The trial itself: its row's ``spec`` is the searched one, ``model_spec`` the compacted
    model it saved and measured (21,379 parameters as searched)."""
    from synth.checkpoint import load_model
    from synth.models import build, count_parameters
    from tests.search._trial import run_trial_here
    config = SearchConfig(dataset="iris", epochs=2, min_steps=0, hardware=False,
                          grow_prune=GROW_PRUNE)
    settings = {**config.to_dict(), "out_dir": str(tmp_path), "data_seed": 0}
    final = run_trial_here(monkeypatch, "p1", {"spec": json.dumps(SEARCHED, sort_keys=True)},
                           settings)[-1]
    assert final[DONE_KEY] is True
    assert json.loads(final["spec"]) == SEARCHED
    saved = load_model(final["checkpoint"])
    assert json.loads(final["model_spec"]) == saved.spec
    assert final["parameters"] == count_parameters(saved) < count_parameters(
        build(SEARCHED, (4,), 3))
    assert saved.spec["hidden"] != SEARCHED["hidden"]
