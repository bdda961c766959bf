"""``nnsynth search --min-steps`` (SearchConfig.min_steps, default 60): a trial's epochs are
raised where they make fewer optimizer steps on a small training split, as train's are.  No
Ray runtime: the trial runs in this process (tests/search/_trial.py)."""
import json

import pytest

from synth.errors import ConfigError, UserError


def _trial_on_iris(monkeypatch, tmp_path, **fields):
    from search.run import SearchConfig
    from tests.search._trial import run_trial_here
    (tmp_path / "models").mkdir(exist_ok=True)
    settings = {**SearchConfig(space="mlp", dataset="iris", hardware=False,
                               **fields).to_dict(), "out_dir": str(tmp_path), "data_seed": 0}
    spec = json.dumps({"family": "mlp", "hidden": [32]}, sort_keys=True)
    return run_trial_here(monkeypatch, f"t{len(fields)}", {"spec": spec}, settings)


def test_a_search_trial_on_a_small_set_makes_the_minimum_steps(monkeypatch, tmp_path):
    # 3 epochs of iris' 108 training inputs in batches of 64 were 6 SGD steps: the trials
    # ranked models of 53-97% test (mean 0.797 over 10 mlp-space members; 0.957 at 60 steps)
    reports = _trial_on_iris(monkeypatch, tmp_path)
    final = reports[-1]
    assert (final["epochs"], final["epochs_requested"], final["min_steps"]) == (30, 3, 60)
    assert [r["epoch"] for r in reports[:-1]] == list(range(1, 30))   # ASHA's, per epoch
    assert final["test_accuracy"] >= 0.9, final
    exact = _trial_on_iris(monkeypatch, tmp_path, min_steps=0)[-1]
    assert (exact["epochs"], exact["epochs_requested"], exact["min_steps"]) == (3, 3, 0)
    from search.results import append_result, read_results
    for row in (final, exact):
        append_result(tmp_path / "results.parquet", row)
    table = read_results(tmp_path / "results.parquet")
    assert list(table["epochs_requested"]) == [3, 3] and list(table["min_steps"]) == [60, 0]


def test_a_search_begun_before_the_floor_resumes_without_one(tmp_path):
    # its trials trained exactly --epochs: resumed, the new ones do too (and a config of
    # another floor is refused as any other changed setting)
    from search.run import SearchConfig, check_same_settings
    saved = tmp_path / "search_config.json"
    old = SearchConfig(space="mlp", dataset="iris").to_dict()
    del old["min_steps"]
    saved.write_text(json.dumps(old))
    check_same_settings(saved, SearchConfig(space="mlp", dataset="iris", min_steps=0))
    with pytest.raises(UserError, match="began with min_steps 0; the config given has "
                                        "min_steps 60"):
        check_same_settings(saved, SearchConfig(space="mlp", dataset="iris"))
    with pytest.raises(ConfigError, match="min_steps"):
        SearchConfig(min_steps=-1)


def test_a_table_of_a_stopped_trial_then_a_finished_one_reads(tmp_path):
    # an --asha search of iris (its trials now 30 epochs, rungs at 1, 4, 16) wrote a trial
    # ASHA stopped, with no model, then a finished one: the stopped row's model_spec was
    # read back as NaN and the summary failed, "row 0's model_spec 'nan' is not a model spec"
    from search.results import append_result, read_results
    path = tmp_path / "results.parquet"
    spec = json.dumps({"family": "mlp", "hidden": [16]})
    append_result(path, {"trial_id": "a", "spec": spec, "accuracy": 0.33, "epochs": 1,
                         "stopped_early": True})
    append_result(path, {"trial_id": "b", "spec": spec, "model_spec": spec, "accuracy": 1.0,
                         "test_accuracy": 0.93, "parameters": 10, "epochs": 30,
                         "epochs_requested": 3, "min_steps": 60, "stopped_early": False})
    table = read_results(path)
    assert list(table["trial_id"]) == ["a", "b"] and table["model_spec"][1] == spec
