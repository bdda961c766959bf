"""``nnsynth invert``'s ``inputs_restarted`` is the whole set's, resumed or not (h258).

993cf0a summed the stuck inputs drawn again from noise over the shards a run wrote, so a
rerun of an interrupted job counted only the shards it wrote (and a rerun of a finished one
0): the figure hung on whether the job had been interrupted.  Each shard now records its
count in its metadata (``synthesis.inputs_restarted``, written with it), and the summary sums
the set's shards.  The human summary also prints the settings used (a dict, which its
key: value lines left out), as one ``settings:`` line."""
import json

from click.testing import CliRunner

from cluster.pairs import shard_path
from deploy.cli.main import cli
from synth.data import read_parquet_table
from tests.cluster import test_h255_inputs_restarted

iris_teacher = test_h255_inputs_restarted.iris_teacher   # the fixture: h255's BN MLP of iris


def test_a_resumed_job_reports_the_restarts_of_the_whole_set(ray_local, iris_teacher, tmp_path):
    _, path = iris_teacher
    out = tmp_path / "inv"
    args = ["invert", "--teacher", str(path), "--num-images", "150", "--shard-size", "75",
            "--out", str(out)]
    done = CliRunner().invoke(cli, [*args, "--json"])
    assert done.exit_code == 0, done.output
    total = json.loads(done.stdout.strip().splitlines()[-1])["inputs_restarted"]
    assert total > 0
    shard_path(out, 1).unlink()     # the job interrupted before its second shard was written
    again = CliRunner().invoke(cli, args)   # human mode: the rerun resumes it
    assert again.exit_code == 0, again.output
    lines = again.stdout.splitlines()
    assert "skipped: 1" in lines and f"inputs_restarted: {total}" in lines, again.stdout
    settings = next((line for line in lines if line.startswith("settings: ")), again.stdout)
    assert "restart_patience=8" in settings.split() and "method=deepinversion" in settings
    # each shard's count is in its metadata, written with it
    from cluster.pairs import shard_restarts
    counts = [shard_restarts(read_parquet_table(shard_path(out, i))[1]) for i in (0, 1)]
    assert counts[0] > 0 and sum(counts) == total, (counts, total)


def test_the_settings_line():
    from deploy.cli.commands.invert import settings_line
    assert settings_line({"iterations": 2000, "lr": 0.09854681796312333, "flip": False,
                          "lengths": [4, 6], "min_fidelity": None,
                          "generator": {"steps": 100, "lr": 0.01}}) == (
        "iterations=2000 lr=0.0985468 flip=False lengths=[4,6] min_fidelity=none "
        "generator=(2 settings, in --json)")
