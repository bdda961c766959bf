"""grow-prune's warning that pruning starts below --target-accuracy is in the result's
'warning' (--json, the checkpoint's metrics), not only on stderr.

``nnsynth grow-prune --dataset csv:odd.csv --model odd.pt --target-accuracy 0.9 --json``
said 'warning: pruning starts from validation accuracy 0.5455, below the floor 0.9000 ...'
on stderr; the JSON, which carries the run's other warnings, had no 'warning' key."""
import torch

from tests._cli import json_result, run


def test_the_floor_warning_is_in_the_result(tmp_path, caplog):
    result = json_result(run(["-q", "grow-prune", "--dataset", "iris", "--model", "mlp_small",
                              "--epochs", "1", "--min-steps", "0", "--target-accuracy", "1.0",
                              "--prune-steps", "1",
                              "--retrain-epochs", "0", "--out", str(tmp_path / "g.pt"),
                              "--json"]))
    start = result["history"][0]["val_accuracy"]
    assert start < 1.0
    line = (f"pruning starts from validation accuracy {start:.4f}, below the floor 1.0000 "
            f"(--target-accuracy)")
    assert line in result["warning"], result
    assert caplog.text.count(line) == 1   # said once
    saved = torch.load(tmp_path / "g.pt", weights_only=True)["metrics"]
    assert line in saved["warning"]


def test_no_floor_warning_above_the_floor(tmp_path):
    result = json_result(run(["-q", "grow-prune", "--dataset", "iris", "--model", "mlp_small",
                              "--epochs", "1", "--min-steps", "0", "--target-accuracy", "0.01",
                              "--prune-steps", "1",
                              "--retrain-epochs", "0", "--out", str(tmp_path / "g.pt"),
                              "--json"]))
    assert "pruning starts from" not in result.get("warning", ""), result
