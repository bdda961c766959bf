"""A search's best among trials tied on accuracy (helper 270): ``nnsynth run tiny``'s two
trials both scored 2 of 13 synthesized validation samples (0.1538), the tie went to the lower
KD loss, and that was a 5,426-parameter model predicting one class for every test input
(test 0.100): search/best.pt, the model the pipeline refines and exports, was the constant one
while a 158-parameter trial predicting 3 classes had tied with it.  Within a tie a model
that predicts several classes now comes first (``search.results.rank_trials``; counted on the
selection inputs since helper 271, ``selection_predicted_classes``); accuracy
still comes first, and the constraints still decide which trials compete.

No Ray runtime: the summary is made from the results table as ``run_search`` leaves it."""
import json

import pandas as pd

from search.results import append_result, rank_trials
from search.run import SearchConfig, save_space, summarize
from search.space import load_space

SPEC = {"bn": False, "dropout": 0.0, "family": "mlp", "hidden": [16]}


def _row(tmp_path, trial_id, accuracy, classes, kd, parameters, latency=0.01):
    ckpt = tmp_path / "models" / f"{trial_id}.pt"
    ckpt.parent.mkdir(exist_ok=True)
    ckpt.write_bytes(f"model {trial_id}".encode())
    return {"trial_id": trial_id, "spec": json.dumps(SPEC, sort_keys=True),
            "accuracy": accuracy, "test_accuracy": 0.1, "parameters": parameters,
            "nonzero_parameters": parameters, "flops": parameters, "nonzero_flops": parameters,
            "latency_ms": latency, "energy_mj": 0.001, "epochs": 2, "wall_seconds": 1.0,
            "stopped_early": False, "checkpoint": str(ckpt), "finished_at": 1.0,
            "device": "cpu", "selected_on": "synthetic_val", "val_kd_loss": kd,
            # the tiny preset's models predicted as many classes on the selection inputs (the
            # count the tie-break reads since helper 271) as on the test inputs
            "predicted_classes": classes, "selection_predicted_classes": classes,
            "warning": "the model predicts class '0' for every test sample" if classes == 1
            else None}


def _summary(tmp_path, *rows, constraints=()):
    save_space(tmp_path, load_space("mlp"))
    for row in rows:
        append_result(tmp_path / "results.parquet", row)
    return summarize(tmp_path, SearchConfig(dataset="digits", space="mlp", trials=len(rows),
                                            searcher="random", constraints=constraints))


def test_the_tiny_presets_tie_goes_to_the_model_that_predicts_several_classes(tmp_path):
    # the tiny preset's two rows, as results.parquet held them (trial order, figures)
    summary = _summary(tmp_path, _row(tmp_path, "small", 2 / 13, 3, 3.619864, 158, 0.001012),
                       _row(tmp_path, "constant", 2 / 13, 1, 3.588817, 5426, 0.060714))
    assert summary["best_trial"] == "small" and summary["best_predicted_classes"] == 3
    assert "warning" not in summary
    assert (tmp_path / "best.pt").read_bytes() == b"model small"   # what the pipeline refines
    assert summary["pareto_front"] == ["small"]


def test_a_tie_is_the_same_count_of_correct_samples_not_the_same_float(tmp_path):
    # 7/13 summed per sample, or a float32 mean, is not 7/13 to the last bit: one count of
    # correct samples, a tie
    import numpy as np
    for noisy in (sum([1 / 13] * 7), float(np.float32(7 / 13))):
        assert noisy != 7 / 13
        table = pd.DataFrame([_row(tmp_path, "constant", max(noisy, 7 / 13), 1, 1.0, 10),
                              _row(tmp_path, "several", min(noisy, 7 / 13), 4, 2.0, 20)])
        assert rank_trials(table)["trial_id"].tolist() == ["several", "constant"]


def test_accuracy_still_comes_first_and_kd_breaks_the_rest(tmp_path):
    table = pd.DataFrame([_row(tmp_path, "worse", 1 / 13, 5, 0.5, 10),
                          _row(tmp_path, "constant", 3 / 13, 1, 3.0, 10),
                          _row(tmp_path, "high_kd", 2 / 13, 3, 2.0, 10),
                          _row(tmp_path, "low_kd", 2 / 13, 2, 1.0, 99)])
    # a constant model one sample better is better on what the search selects on (and the
    # summary warns of it, test_h241); among the non-constant, the KD loss decides
    assert rank_trials(table)["trial_id"].tolist() == ["constant", "low_kd", "high_kd", "worse"]


def test_a_non_constant_trial_outside_the_constraints_is_not_picked(tmp_path):
    summary = _summary(tmp_path, _row(tmp_path, "slow", 2 / 13, 3, 3.6, 158, latency=0.5),
                       _row(tmp_path, "constant", 2 / 13, 1, 3.9, 5426, latency=0.05),
                       constraints=("latency_ms<=0.1",))
    assert summary["best_trial"] == "constant" and summary["trials_outside_constraints"] == 1
    assert summary["warning"].startswith("the best trial constant is a constant model")
    assert summary["pareto_front"] == ["constant"]


def test_a_table_without_the_class_count_ranks_as_before(tmp_path):
    rows = [_row(tmp_path, "a", 0.5, 1, 2.0, 10), _row(tmp_path, "b", 0.5, 3, 1.0, 10)]
    table = pd.DataFrame(rows).drop(columns=["predicted_classes", "selection_predicted_classes",
                                             "val_kd_loss"])
    table.loc[0, "parameters"] = 50
    assert rank_trials(table)["trial_id"].tolist() == ["b", "a"]   # fewest parameters
    table = pd.DataFrame(rows).astype({"selection_predicted_classes": "Int64"})
    table.loc[0, "selection_predicted_classes"] = pd.NA            # not known: not demoted
    assert rank_trials(table)["trial_id"].tolist() == ["b", "a"]   # lower KD loss
