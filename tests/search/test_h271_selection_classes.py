"""The test split chooses nothing (helper 271): a search breaks ties among trials of equal
selection accuracy by demoting a model that predicts one class for every input
(``search.results.rank_trials``, helper 270), and it counted those classes on the test inputs
(``predicted_classes``): the test split chose which trial became best.pt.  The trial now also
counts the classes its model predicts on the selection inputs, those ``accuracy`` is measured
on (``selection_predicted_classes``), and the ranking reads that count alone; the test-side
count stays in the table for the report (the summary's one-class warning).

No Ray runtime: the trial runs in this process (tests/search/_trial.py) and the ranking is
of a results table."""
import json
import random

import pandas as pd
import torch

from search.results import COLUMNS, rank_trials
from search.run import SearchConfig
from synth.checkpoint import load_model
from synth.data import load_dataset
from synth.grow_prune import predictions
from tests.search._trial import run_trial_here

SPEC = {"bn": False, "dropout": 0.0, "family": "mlp", "hidden": [16]}
CENTERS = [(0.0, 0.0), (10.0, 0.0), (0.0, 10.0)]


def _row(trial_id, test_classes, selection_classes, kd, parameters=10):
    return {"trial_id": trial_id, "spec": json.dumps(SPEC), "accuracy": 0.5,
            "test_accuracy": 0.5, "parameters": parameters, "val_kd_loss": kd,
            "predicted_classes": test_classes,
            "selection_predicted_classes": selection_classes}


def test_the_tie_break_reads_the_selection_inputs_count_not_the_test_inputs():
    # tied on accuracy: "a" is constant on the test inputs, several classes on the selection
    # inputs; "b" the other way round.  Read on the test inputs, "b" went first
    table = pd.DataFrame([_row("a", 1, 3, 1.0), _row("b", 3, 1, 2.0)])
    assert rank_trials(table)["trial_id"].tolist() == ["a", "b"]
    # the test-side count alone decides nothing: the lower KD loss does
    table = pd.DataFrame([_row("a", 3, 3, 2.0), _row("b", 1, 3, 1.0)])
    assert rank_trials(table)["trial_id"].tolist() == ["b", "a"]
    assert COLUMNS["selection_predicted_classes"] == "int64"


def test_a_table_without_the_selection_count_is_not_ranked_on_the_test_count():
    # written before the column: its rows are not known to be constant on the selection
    # inputs, and their test-side count is not read instead (KD loss, then parameters decide)
    table = pd.DataFrame([_row("a", 3, None, 2.0), _row("b", 1, None, 1.0)]).drop(
        columns=["selection_predicted_classes"])
    assert rank_trials(table)["trial_id"].tolist() == ["b", "a"]


def test_a_trial_counts_the_classes_its_model_predicts_on_the_selection_inputs(
        tmp_path, monkeypatch):
    """A table whose rows state their split: three separated classes in train and test, and
    every validation row (what the trial selects on) near class 0's center: the trained
    model predicts class 0 for every selection input and all three classes on the test
    inputs."""
    rng = random.Random(0)
    lines = ["a,b,label,split"]
    for split, per_class in (("train", 20), ("test", 5)):
        for c, (cx, cy) in enumerate(CENTERS):
            lines += [f"{cx + rng.gauss(0, 1):.4f},{cy + rng.gauss(0, 1):.4f},{c},{split}"
                      for _ in range(per_class)]
    lines += [f"{rng.gauss(0, 0.3):.4f},{rng.gauss(0, 0.3):.4f},{i % 3},val" for i in range(6)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    dataset = f"csv:{tmp_path / 'd.csv'}"
    (tmp_path / "models").mkdir()
    settings = {**SearchConfig(dataset=dataset, epochs=15, hardware=False).to_dict(),
                "out_dir": str(tmp_path), "data_seed": 0}
    final = run_trial_here(monkeypatch, "t1", {"spec": json.dumps(SPEC, sort_keys=True)},
                           settings)[-1]
    model = load_model(final["checkpoint"])
    data = load_dataset(dataset, seed=0)
    on_val = len(torch.unique(predictions(model, data.x_val)))
    on_test = len(torch.unique(predictions(model, data.x_test)))
    assert (on_val, on_test) == (1, 3)   # the case the two counts differ
    assert final["selected_on"] == "real_val"
    assert final["selection_predicted_classes"] == on_val
    assert final["predicted_classes"] == on_test and final["warning"] is None
