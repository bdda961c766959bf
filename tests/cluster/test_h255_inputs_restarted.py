"""``nnsynth invert`` says how many stuck inputs it drew again from noise (h255).

Per-pixel inversion restarts inputs that stall on a wrong class (``synth.inversion``
``restart_missed``, after ``InversionConfig.restart_patience`` checks); each shard's stats
counted them (``inputs_restarted``), but ``nnsynth invert``'s summary (human and --json) said
nothing of them, nor of ``restart_patience`` among the settings it reported, and an ADI shard
of several rounds kept its first round's count only (``cluster.pairs.merge_results``).  A BN
MLP on iris restarts some of its 150 inputs on every seed (tests/synth/test_inversion_restarts)."""
import json

import pytest
import torch
from click.testing import CliRunner

from cluster.pairs import merge_results
from deploy.cli.main import cli
from synth.checkpoint import save_checkpoint
from synth.data import input_range, load_dataset
from synth.inversion import InversionConfig, balanced_labels, settings_for, synthesize
from synth.models import build
from synth.train import TrainConfig, fit


@pytest.fixture(scope="module")
def iris_teacher(tmp_path_factory):
    """(model, checkpoint path): the BN MLP whose inversion sticks without restarts."""
    data = load_dataset("iris")
    torch.manual_seed(0)
    teacher = build({"family": "mlp", "hidden": [32, 16], "bn": True}, data.input_shape,
                    data.num_classes)
    fit(teacher, data, TrainConfig(epochs=40, seed=0, progress=False))
    path = tmp_path_factory.mktemp("iris") / "teacher.pt"
    save_checkpoint(path, teacher.eval(), dataset=data.metadata(), metrics={})
    return teacher, path


def test_a_shard_of_several_rounds_counts_every_rounds_restarts(iris_teacher):
    teacher, _ = iris_teacher
    value_range = input_range(load_dataset("iris").metadata())
    config = settings_for(teacher, value_range=value_range)
    rounds = [synthesize(teacher, balanced_labels(150, 3), config, pixel_range=value_range,
                         seed=seed) for seed in (0, 2)]
    counts = [r.stats["inputs_restarted"] for r in rounds]
    assert all(c > 0 for c in counts), counts
    assert merge_results(rounds).stats["inputs_restarted"] == sum(counts)


@pytest.fixture(scope="module")
def inverted(ray_local, iris_teacher, tmp_path_factory):
    """(its arguments, its folder, its --json summary): one ``nnsynth invert`` of 150 iris
    inputs in two shards of 75 (on one pair), read by both tests below (each ran a job of
    its own: the second invert's summary passes run_synthesis's on)."""
    _, path = iris_teacher
    out = tmp_path_factory.mktemp("iris-inv") / "inv"
    args = ["invert", "--teacher", str(path), "--num-images", "150", "--pairs", "1",
            "--shard-size", "75", "--out", str(out)]
    done = CliRunner().invoke(cli, [*args, "--json"])
    assert done.exit_code == 0, done.output
    return args, out, json.loads(done.stdout.strip().splitlines()[-1])


def test_the_summary_sums_the_shards_restarts(inverted):
    """The summary's count is the sum of every shard's, as each shard's metadata records the
    count its pair reported (``run_synthesis`` writes it with the shard)."""
    from cluster.pairs import shard_restarts
    from synth.data import read_parquet_table
    _, out, summary = inverted
    per_shard = [shard_restarts(read_parquet_table(shard)[1])
                 for shard in sorted(out.glob("shard-*.parquet"))]
    assert len(per_shard) == 2 and summary["inputs_restarted"] == sum(per_shard) > 0, (
        per_shard, summary)


def test_invert_reports_restarts_and_their_patience(inverted):
    args, _, summary = inverted
    assert summary["settings"]["method"] == "deepinversion", summary["settings"]
    assert summary["settings"]["restart_patience"] == InversionConfig().restart_patience
    assert summary["inputs_restarted"] > 0, summary
    # human mode says it too (a rerun resumes the finished job: the set's count, as its
    # shards record it; h258)
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert f"inputs_restarted: {summary['inputs_restarted']}" in again.stdout.splitlines(), (
        again.stdout)
