"""grow-prune's retraining floor (--retrain-min-steps) past the epoch limit is refused before
the dense training, naming retrain_min_steps (h285): it was found as the first pruning step
began, after the dense training, and the line said 'min_steps ... (lower min_steps)', the
dense training's option, whose lowering does not help."""
from click.testing import CliRunner

from deploy.cli.main import cli


def test_an_unmakeable_retraining_floor_is_refused_first_and_named(tmp_path):
    out = tmp_path / "g.pt"
    done = CliRunner().invoke(cli, ["grow-prune", "--dataset", "iris", "--model", "mlp_small",
                                    "--min-steps", "0", "--retrain-min-steps", "1000000",
                                    "--out", str(out)])
    assert done.exit_code == 2, done.output
    assert ("--retrain-min-steps 1,000,000 needs 500,000 passes over 108 inputs; the limit is "
            "100,000 (lower --retrain-min-steps)") in done.output   # the option typed (h288)
    assert list(tmp_path.iterdir()) == []    # no dense training ran (nor its state was kept)
