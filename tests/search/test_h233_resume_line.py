"""A resumed search's start line counts its failed trials apart from the done ones (h233):
a 2-trial search whose trials both failed resumed with 'resuming: 2 of 2 trials done', then
retried both from Tune's saved state."""
import json

from search.results import append_result
from search.run import ERRORS_FILE, SearchConfig, start_text

SPEC = json.dumps({"family": "mlp", "hidden": [4]})


def _config(trials):
    return SearchConfig(space="mlp", dataset="iris", trials=trials, hardware=False)


def test_failed_trials_are_not_done(tmp_path):
    (tmp_path / ERRORS_FILE).write_text(json.dumps(
        {t: {"spec": SPEC, "error_file": ""} for t in ("a", "b")}))
    line = start_text(_config(2), tmp_path, resume=True)
    assert line.startswith("resuming: 0 of 2 trials done, 2 failed (retried where Tune's "
                           "saved state allows) (2 trials,"), line


def test_without_failures_the_line_is_as_it_was(tmp_path):
    append_result(tmp_path / "results.parquet", {
        "trial_id": "a", "spec": SPEC, "accuracy": 0.9, "test_accuracy": 0.9, "parameters": 10,
        "nonzero_parameters": 10, "flops": 10, "nonzero_flops": 10, "epochs": 1,
        "wall_seconds": 1.0, "stopped_early": False, "checkpoint": "/x/a.pt",
        "finished_at": 0.0})
    line = start_text(_config(3), tmp_path, resume=True)
    assert line.startswith("resuming: 1 of 3 trials done (3 trials,"), line
    assert "failed" not in line
