"""``nnsynth grow-prune --threads N`` records the thread count its run used in the checkpoint
(``synth.workflows.grow_prune_checkpoint``'s ``threads``, saved with the result), so a rerun
that reports the finished result at --out gives that run's count; a checkpoint saved before
the count was recorded gives none, as every reported rerun did since h289 (0a6ec64)."""
import json

import torch
from click.testing import CliRunner

from deploy.cli.main import cli


def _grow_prune(out, threads):
    done = CliRunner().invoke(cli, [
        "grow-prune", "--dataset", "iris", "--model", '{"family": "mlp", "hidden": [4]}',
        "--epochs", "1", "--min-steps", "0", "--prune-steps", "1", "--retrain-epochs", "1",
        "--retrain-min-steps", "0", "--no-distill", "--threads", str(threads),
        "--out", str(out), "--json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_reported_rerun_gives_the_saved_runs_thread_count(tmp_path):
    out = tmp_path / "g.pt"
    first = _grow_prune(out, 1)
    assert first["threads"] == 1
    assert torch.load(out, weights_only=True)["metrics"]["threads"] == 1   # recorded
    again = _grow_prune(out, 2)
    assert "is the finished result of this same command" in again["warning"]
    assert again["threads"] == 1                   # the saved run's, not this process's 2
    assert {k: v for k, v in again.items() if k != "warning"} == \
        {k: v for k, v in first.items() if k != "warning"}
    # a checkpoint saved before the count was recorded: reported with none
    payload = torch.load(out, weights_only=True)
    del payload["metrics"]["threads"]
    torch.save(payload, out)
    older = _grow_prune(out, 2)
    assert "is the finished result of this same command" in older["warning"]
    assert "threads" not in older
