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

from cluster.pairs import merge_results, run_synthesis
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


def test_the_summary_sums_the_shards_restarts(ray_local, iris_teacher, tmp_path):
    _, path = iris_teacher
    per_shard = []
    config = settings_for(iris_teacher[0], value_range=input_range(
        load_dataset("iris").metadata()))
    summary = run_synthesis(path, tmp_path / "set", 150, pairs=2, config=config,
                            shard_size=75, seed=0,
                            on_shard=lambda info, pool: per_shard.append(
                                info["stats"]["inputs_restarted"]))
    assert len(per_shard) == 2 and summary["inputs_restarted"] == sum(per_shard) > 0


def test_invert_reports_restarts_and_their_patience(ray_local, iris_teacher, tmp_path):
    _, path = iris_teacher
    args = ["invert", "--teacher", str(path), "--num-images", "150", "--out",
            str(tmp_path / "inv")]
    done = CliRunner().invoke(cli, [*args, "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["settings"]["method"] == "deepinversion", summary["settings"]
    assert summary["settings"]["restart_patience"] == InversionConfig().restart_patience
    assert summary["inputs_restarted"] > 0, summary
    # human mode says it too (a rerun resumes the finished job: the set's count, as its
    # shards record it; h258)
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert f"inputs_restarted: {summary['inputs_restarted']}" in again.stdout.splitlines(), (
        again.stdout)
