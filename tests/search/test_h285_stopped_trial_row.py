"""The row of a trial ASHA stopped says what training it was asked for: its epochs are the
epoch it reached, and epochs_requested / min_steps are the search's, as a finished trial's
row gives them (h285).  They were null: the per-epoch reports, the last of which the results
callback writes for a stopped trial, carried neither (an --asha search of iris read
epochs_requested NaN, min_steps NaN beside its finished trials' 2 and 60).  No Ray runtime:
the trial runs in this process (tests/search/_trial.py)."""
import json


def test_a_stopped_trials_report_says_the_epochs_asked_and_the_floor(monkeypatch, tmp_path):
    from search.results import append_result, read_results
    from search.run import SearchConfig
    from search.searchers import DONE_KEY
    from tests.search._trial import run_trial_here
    (tmp_path / "models").mkdir()
    settings = {**SearchConfig(space="mlp", dataset="iris", hardware=False, epochs=2,
                               min_steps=12).to_dict(), "out_dir": str(tmp_path),
                "data_seed": 0}
    spec = json.dumps({"family": "mlp", "hidden": [8]}, sort_keys=True)
    reports = run_trial_here(monkeypatch, "t0", {"spec": spec}, settings)
    final, per_epoch = reports[-1], reports[:-1]
    assert (final["epochs"], final["epochs_requested"], final["min_steps"]) == (6, 2, 12)
    assert [r["epoch"] for r in per_epoch] == [1, 2, 3, 4, 5]
    assert all((r["epochs_requested"], r["min_steps"]) == (2, 12) for r in per_epoch)
    # stopped at its second epoch: the callback writes that report (search.run's
    # on_trial_complete), amended with its id, spec and the epoch reached
    stopped = {**per_epoch[1], "trial_id": "t1", "spec": spec, "stopped_early": True,
               "epochs": per_epoch[1]["epoch"]}
    assert not stopped[DONE_KEY]
    append_result(tmp_path / "results.parquet", stopped)
    row = read_results(tmp_path / "results.parquet").iloc[0]
    assert (row["epochs"], row["epochs_requested"], row["min_steps"]) == (2, 2, 12)
