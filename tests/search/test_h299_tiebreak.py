"""Which trial a search calls best when its validation split ties them (h299).  A grow-and-
prune search of wine (15 validation rows) kept validation accuracy 1.0 on all six trials and
the tie went to the fewest parameters: a [16] mlp pruned to 2 hidden units, 0.861 test, where
the others scored 0.944-1.0 (h292's wine seed 1).  ``SearchConfig.tiebreak`` "val_loss"
decides such ties on the validation loss (results.parquet's ``val_loss``, which the trial
records), then parameters; "parameters" is the rule before it, which a search begun before
the setting keeps on --resume (benchmarks/results/search_tiebreak.md measures both).

No Ray runtime: the summary is made from the results table as ``run_search`` leaves it."""
import json

import pytest
import torch

from search.choices import DEFAULT_TIEBREAK, LEGACY_TIEBREAK, TIEBREAKS
from search.results import append_result, rank_trials, read_results
from search.run import (SearchConfig, as_begun, check_same_settings, save_space,
                        saved_settings, summarize)
from search.space import load_space

SPEC = {"bn": True, "dropout": 0.0, "family": "mlp", "hidden": [16]}


def _row(tmp_path, trial_id, parameters, val_loss, se=None, accuracy=1.0, test=1.0):
    ckpt = tmp_path / "models" / f"{trial_id}.pt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    ckpt.write_bytes(f"model {trial_id}".encode())
    return {"trial_id": trial_id, "spec": json.dumps(SPEC, sort_keys=True),
            "accuracy": accuracy, "test_accuracy": test, "parameters": parameters,
            "nonzero_parameters": parameters, "flops": parameters, "nonzero_flops": parameters,
            "epochs": 8, "wall_seconds": 1.0, "stopped_early": False, "checkpoint": str(ckpt),
            "finished_at": 1.0, "device": "cpu", "selected_on": "real_val",
            "val_loss": val_loss, "val_loss_se": se, "predicted_classes": 3,
            "selection_predicted_classes": 3,
            "grow_pruned": True}


# wine seed 1's six trials (h292's search, rerun: run_search of SearchConfig(dataset="wine",
# space="mlp", searcher="random", trials=6, grow_prune={}, hardware=False, seed=1)): every one
# 15 of 15 validation rows; (id, parameters, validation loss, its standard error, test
# accuracy).  The
# 41-parameter one, pruned to 2 hidden units, has the highest loss
WINE_S1 = [("b847dbd7", 41, 0.210925, 0.059317, 0.861),
           ("fd4ae66d", 10022, 0.006365, 0.002990, 0.972),
           ("9518e26d", 677, 0.003180, 0.002028, 0.972),
           ("cb4a5499", 207, 0.017501, 0.006771, 0.972),
           ("303d0799", 1327, 0.008721, 0.006793, 0.972),
           ("71b69781", 345, 0.062992, 0.020820, 0.944)]


def _summary(tmp_path, rows, **config):
    save_space(tmp_path, load_space("mlp"))
    for row in rows:
        append_result(tmp_path / "results.parquet", row)
    return summarize(tmp_path, SearchConfig(dataset="wine", space="mlp", trials=len(rows),
                                            searcher="random", hardware=False, **config))


def test_a_validation_tie_goes_to_the_lower_validation_loss(tmp_path):
    rows = [_row(tmp_path, *r[:4], test=r[4]) for r in WINE_S1]
    table = read_results(_summary(tmp_path, rows, tiebreak="val_loss")["results"])
    assert list(rank_trials(table, "val_loss")["trial_id"]) == [
        "9518e26d", "fd4ae66d", "303d0799", "cb4a5499", "71b69781", "b847dbd7"]
    # one standard error: the smallest within it of the lowest loss (SE 0.002028 there:
    # 0.003180 + 0.002028 = 0.005208 keeps 9518e26d alone)
    assert rank_trials(table, "one_se").iloc[0]["trial_id"] == "9518e26d"
    # the rule before: the fewest parameters, the 0.861 model (rank_trials' own default)
    assert rank_trials(table, "parameters").iloc[0]["trial_id"] == "b847dbd7"
    assert rank_trials(table)["trial_id"].iloc[0] == "b847dbd7"
    summary = _summary(tmp_path / "again", [_row(tmp_path / "again", *r[:4], test=r[4])
                                            for r in WINE_S1], tiebreak="val_loss")
    assert summary["best_trial"] == "9518e26d" and summary["best_test_accuracy"] == 0.972
    assert (tmp_path / "again" / "best.pt").read_bytes() == b"model 9518e26d"
    default = _summary(tmp_path / "default", [_row(tmp_path / "default", *r[:4], test=r[4])
                                              for r in WINE_S1])   # SearchConfig's default
    assert default["best_trial"] == "9518e26d" and default["tiebreak"] == "one_se"
    old = _summary(tmp_path / "old", [_row(tmp_path / "old", *r[:4], test=r[4])
                                      for r in WINE_S1], tiebreak="parameters")
    assert old["best_trial"] == "b847dbd7" and old["best_test_accuracy"] == 0.861


def test_accuracy_still_comes_first_and_parameters_break_equal_losses(tmp_path):
    rows = [_row(tmp_path, "better", 900, 0.5, accuracy=1.0),
            _row(tmp_path, "lower_loss", 10, 0.01, accuracy=14 / 15),
            _row(tmp_path, "same_loss_big", 500, 0.5, accuracy=1.0),
            _row(tmp_path, "no_loss", 5, None, accuracy=1.0)]   # a diverged model: last
    for row in rows:
        append_result(tmp_path / "results.parquet", row)
    table = read_results(tmp_path / "results.parquet")
    assert list(rank_trials(table, "val_loss")["trial_id"]) == [
        "same_loss_big", "better", "no_loss", "lower_loss"]
    with pytest.raises(ValueError, match="tiebreak must be one of"):
        rank_trials(table, "size")


def test_one_standard_error_takes_the_smallest_model_the_loss_cannot_tell_apart(tmp_path):
    rows = [_row(tmp_path, "big", 2000, 0.010, 0.005), _row(tmp_path, "small", 300, 0.014, 0.004),
            _row(tmp_path, "tiny", 13, 0.200, 0.050),
            _row(tmp_path, "worse", 5, 0.001, 0.0, accuracy=14 / 15)]
    for row in rows:
        append_result(tmp_path / "results.parquet", row)
    table = read_results(tmp_path / "results.parquet")
    # within 0.010 + 0.005 of the lowest loss: big and small; the smaller first
    assert list(rank_trials(table, "one_se")["trial_id"]) == ["small", "big", "tiny", "worse"]
    assert list(rank_trials(table, "val_loss")["trial_id"]) == ["big", "small", "tiny", "worse"]
    assert rank_trials(table, "parameters").iloc[0]["trial_id"] == "tiny"


def test_the_data_free_kd_loss_still_decides_first(tmp_path):
    # a data-free search's ties went to the lower KD loss (val_kd_loss); under either rule
    rows = [{**_row(tmp_path, "kd_low", 900, 0.9), "val_kd_loss": 0.1},
            {**_row(tmp_path, "kd_high", 10, 0.01), "val_kd_loss": 0.2}]
    for row in rows:
        append_result(tmp_path / "results.parquet", row)
    table = read_results(tmp_path / "results.parquet")
    for rule in TIEBREAKS:
        assert rank_trials(table, rule).iloc[0]["trial_id"] == "kd_low"


def test_the_rule_is_recorded_and_a_search_begun_before_keeps_its_own(tmp_path):
    assert SearchConfig().tiebreak == DEFAULT_TIEBREAK == "one_se"
    assert LEGACY_TIEBREAK == "parameters"
    config = SearchConfig(dataset="wine", space="mlp", trials=2, searcher="random")
    assert config.to_dict()["tiebreak"] == "one_se"     # saved in search_config.json
    with pytest.raises(Exception, match="tiebreak must be one of one_se, val_loss, parameters"):
        SearchConfig(tiebreak="size")
    # a search_config.json saved before the setting: resumed with the rule it began with
    saved = tmp_path / "search_config.json"
    old = {k: v for k, v in config.to_dict().items() if k != "tiebreak"}
    saved.write_text(json.dumps(old))
    assert saved_settings(saved)["tiebreak"] == "parameters"
    assert SearchConfig.from_dict(saved_settings(saved)).tiebreak == "parameters"
    # the pipeline's path: its options set no tiebreak, so the search resumes as begun
    begun = as_begun(tmp_path, config, {})
    assert begun.tiebreak == "parameters"
    check_same_settings(saved, begun)                     # not a changed setting
    asked = config.replace(tiebreak="val_loss")          # the caller's own rule wins
    assert as_begun(tmp_path, asked, {"tiebreak": "val_loss"}).tiebreak == "val_loss"
    saved.write_text(json.dumps(config.to_dict()))        # begun with the setting: its own
    assert as_begun(tmp_path, config, {}).tiebreak == "one_se"


def test_the_trial_records_its_validation_loss(tmp_path, monkeypatch):
    from synth.checkpoint import load_model
    from synth.data import load_dataset
    from synth.train import evaluate
    from tests.search._trial import run_trial_here
    config = SearchConfig(dataset="iris", space="mlp", epochs=1, min_steps=0, trials=1,
                          searcher="random", hardware=False)
    settings = {**config.to_dict(), "out_dir": str(tmp_path), "data_seed": 0}
    spec = {"bn": False, "dropout": 0.0, "family": "mlp", "hidden": [8]}
    final = run_trial_here(monkeypatch, "v1", {"spec": json.dumps(spec, sort_keys=True)},
                           settings)[-1]
    data = load_dataset("iris", seed=0)
    model = load_model(final["checkpoint"]).eval()
    expected = evaluate(model, data.x_val, data.y_val)["loss"]
    assert final["val_loss"] == pytest.approx(expected, rel=1e-6) and final["val_loss"] > 0
    with torch.no_grad():
        each = torch.nn.functional.cross_entropy(model(data.x_val), data.y_val,
                                                 reduction="none").double()
    assert final["val_loss_se"] == pytest.approx(float(each.std()) / len(each) ** 0.5,
                                                 rel=1e-6)
    append_result(tmp_path / "results.parquet", final)
    assert read_results(tmp_path / "results.parquet")["val_loss"].iloc[0] == final["val_loss"]
