"""``nnsynth run``'s search stage log line names the searched and the chosen architecture.

With ``search.options.grow_prune`` each trial grows and prunes its model and saves the
compacted result; the search's best figures and ``search/best.pt`` (which refine starts from)
are that model's.  The stage line said only ``best {"hidden": [117, 96, 22]}: accuracy ...``
-- the pruned architecture as if it had been searched, and "accuracy" without saying it is the
accuracy the best is chosen on (helper 146).  It then said "validation accuracy", which the
pipeline's data-free trials measure on the synthesized validation inputs, not real data
(every row here: selected_on "synthetic_val"); the line says so (helper 177).

No Ray: the summary is made by ``search.run.summarize`` from a results table as the trials
write it (two rows: a searched [128, 128, 32] pruned to [117, 96, 22], and another)."""
import json

from deploy.stages import search_stage_line
from search.results import append_result
from search.run import SearchConfig, save_space, summarize
from search.space import load_space

SEARCHED = {"bn": False, "dropout": 0.0, "family": "mlp", "hidden": [128, 128, 32]}
PRUNED = {"bn": False, "dropout": 0.0, "family": "mlp", "hidden": [117, 96, 22]}
OTHER = {"bn": True, "dropout": 0.0, "family": "mlp", "hidden": [128, 128, 512]}


def _row(tmp_path, trial_id, spec, model_spec, accuracy, parameters):
    ckpt = tmp_path / "models" / f"{trial_id}.pt"
    ckpt.parent.mkdir(exist_ok=True)
    ckpt.write_bytes(f"model {trial_id}".encode())
    return {"trial_id": trial_id, "spec": json.dumps(spec, sort_keys=True),
            "model_spec": json.dumps(model_spec, sort_keys=True), "accuracy": accuracy,
            "test_accuracy": accuracy, "parameters": parameters,
            "nonzero_parameters": parameters, "flops": parameters,
            "nonzero_flops": parameters, "latency_ms": 0.001, "energy_mj": 0.001,
            "epochs": 1, "wall_seconds": 1.0, "stopped_early": False,
            "checkpoint": str(ckpt), "finished_at": 1.0, "device": "cpu",
            "selected_on": "synthetic_val"}


def _summary(tmp_path, grow_prune):
    save_space(tmp_path, load_space("mlp"))
    pruned = PRUNED if grow_prune else SEARCHED
    append_result(tmp_path / "results.parquet",
                  _row(tmp_path, "a", SEARCHED, pruned, 0.75, 14116))
    append_result(tmp_path / "results.parquet", _row(tmp_path, "b", OTHER, OTHER, 0.5, 81987))
    config = SearchConfig(dataset="iris", space="mlp", trials=2, grow_prune=grow_prune)
    return summarize(tmp_path, config)


def test_a_grow_prune_search_names_the_searched_and_the_pruned_spec(tmp_path):
    line = search_stage_line(_summary(tmp_path, {"prune_steps": 1, "retrain_epochs": 1}))
    assert line == (f"  2 trials; best grown-and-pruned {json.dumps(PRUNED, sort_keys=True)}, "
                    f"searched as {json.dumps(SEARCHED, sort_keys=True)}: accuracy 0.7500 on "
                    f"the synthesized validation inputs, 14,116 parameters")


def test_a_plain_search_names_one_spec(tmp_path):
    line = search_stage_line(_summary(tmp_path, None))
    assert line == (f"  2 trials; best {json.dumps(SEARCHED, sort_keys=True)}: accuracy "
                    f"0.7500 on the synthesized validation inputs, 14,116 parameters")
