"""``nnsynth grow-prune --threads N`` rerun on a finished --out reports the saved result, which
does not record the thread count its run used: the rerun gave its own N as if the saved run
had used it (h289).  The count is now left out of a reported result."""
import json

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


def test_a_reported_rerun_gives_no_thread_count_of_its_own(tmp_path):
    out = tmp_path / "g.pt"
    first = _grow_prune(out, 1)
    assert first["threads"] == 1                       # the run's own count
    again = _grow_prune(out, 2)
    assert "is the finished result of this same command" in again["warning"]
    # was 2: the rerun's, not the run's; h289 left it out, h295 records the run's in the
    # checkpoint (tests/deploy/test_h295_grow_prune_threads.py)
    assert again["threads"] == 1
    assert {k: v for k, v in again.items() if k != "warning"} == \
        {k: v for k, v in first.items() if k != "warning"}
