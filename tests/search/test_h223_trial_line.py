"""The lines of a search's own progress (no Ray): a trial ASHA stopped, one that failed, one
whose model is outside the constraints, large figures without an exponent, and a resumed
search's start line and numbering, which go on from the trials its table holds."""
import json

from search.results import append_result, failed_trial_line, spec_text, trial_line
from search.run import ERRORS_FILE, SearchConfig, TrialProgress, start_text

SPEC = json.dumps({"family": "mlp", "hidden": [256], "bn": True})


def _row(trial_id: str, accuracy: float, **more) -> dict:
    return {"trial_id": trial_id, "spec": SPEC, "accuracy": accuracy, "test_accuracy": accuracy,
            "parameters": 2563, "nonzero_parameters": 2563, "flops": 2400, "nonzero_flops": 2400,
            "epochs": 3, "wall_seconds": 2.13, "stopped_early": False,
            "checkpoint": f"/x/{trial_id}.pt", "finished_at": 0.0, **more}


def test_trial_lines():
    assert spec_text(SPEC) == "mlp bn=true hidden=[256]"
    line = trial_line(_row("a", 0.9166, latency_ms=0.4123, energy_mj=1234.5), 3, 40, 0.9333)
    assert line == ("trial 3/40  acc 0.917 (best 0.933)  2,563 params  0.412 ms  1,234 mJ  "
                    "2.1 s  mlp bn=true hidden=[256]")
    assert "(best so far)" in trial_line(_row("a", 0.95), 1, 2, 0.95, new_best=True)
    stopped = trial_line({"spec": SPEC, "accuracy": 0.5, "stopped_early": True, "epochs": 1},
                         4, 40, 0.9)
    assert stopped == "trial 4/40  acc 0.500 at epoch 1  stopped early by ASHA  mlp bn=true hidden=[256]"
    outside = trial_line(_row("a", 0.99), 5, 40, 0.9, outside=["parameters<=1000"])
    assert "acc 0.990 (best 0.900)" in outside and "outside parameters<=1000" in outside
    assert failed_trial_line(SPEC, 6, 40, "/e/error.txt") == \
        "trial 6/40  failed  mlp bn=true hidden=[256]  (its error: /e/error.txt)"


def test_a_resumed_search_counts_on(tmp_path, capsys):
    config = SearchConfig(space="mlp", dataset="iris", trials=6, constraints=("parameters<=3000",),
                          hardware=False)
    append_result(tmp_path / "results.parquet", _row("a", 0.8))
    append_result(tmp_path / "results.parquet", _row("b", 0.9, parameters=9000))  # outside
    (tmp_path / ERRORS_FILE).write_text(json.dumps({"c": {"spec": SPEC, "error_file": ""}}))
    assert start_text(config, tmp_path, resume=True) == (
        f"resuming: 2 of 6 trials done, 1 failed (retried where Tune's saved state allows) "
        f"(6 trials, searcher {config.searcher}, 2 at a time, "
        f"no hardware pricing; results in {tmp_path})")
    assert start_text(config, tmp_path, resume=False).startswith("search: 6 trials")
    progress = TrialProgress(tmp_path, config)
    assert (progress.done, progress.best) == (3, 0.8)
    progress.finished(_row("d", 0.85))
    progress.finished(_row("e", 0.85))   # a tie: the summary breaks it (KD loss, size)
    progress.failed({"spec": SPEC, "error_file": ""})
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("trial 4/6  acc 0.850 (best so far)") and \
        err[1].startswith("trial 5/6  acc 0.850 (best 0.850)") and \
        err[2].startswith("trial 6/6  failed"), err
