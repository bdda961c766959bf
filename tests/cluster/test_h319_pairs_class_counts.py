"""``cluster.pairs.run_synthesis`` merges the pairs' shards per target class by counts, the
shards a resumed job keeps on disk as well, and ``nnsynth invert --json`` reports fidelity per
class by the set's class names (h319): the warning (the one ``nnsynth run``'s synthesis stage
says, and invert's) names the class the teacher cannot be made to see."""
import json

from click.testing import CliRunner

from cluster.pairs import merge_results, run_synthesis
from deploy.cli.main import cli
from synth.checkpoint import load_model
from synth.data import input_range
from synth.inversion import balanced_labels, settings_for, synthesize
from tests.synth.test_h319_per_class_fidelity import BLIND, blind_checkpoint

NONE_OF_TEN = {"synthesized": 10, "hits": 0, "fidelity": 0.0}


def test_per_class_fidelity_by_name_through_the_pairs(ray_local, tmp_path):
    teacher, out = blind_checkpoint(tmp_path), tmp_path / "inv"
    model = load_model(teacher)   # the settings nnsynth invert derives (so that it resumes)
    value_range = input_range(model.checkpoint_info["dataset"])
    config = settings_for(model, value_range=value_range, iterations=60).replace(
        adi_weight=0.0, early_stop=True)
    # an ADI shard's rounds (one per batch) merge into one result: every round's classes
    short = settings_for(model, value_range=value_range, iterations=5)
    rounds = [synthesize(model, balanced_labels(n, 3, offset=n), short,
                         pixel_range=value_range, warn=False) for n in (3, 4)]
    assert merge_results(rounds).stats["class_counts"]["synthesized"] == [2, 3, 2]
    made = run_synthesis(teacher, out, 30, 1, config, shard_size=15, progress=False)
    assert made["written"] == 2   # two shards of 15, their counts summed
    assert list(made["class_fidelity"]) == ["setosa", "versicolor", "virginica"]
    assert made["class_fidelity"][BLIND] == NONE_OF_TEN
    assert sum(r["synthesized"] for r in made["class_fidelity"].values()) == 30
    assert f"; classes below 0.95: {BLIND} (0.00)" in made["warning"], made["warning"]
    kept = run_synthesis(teacher, out, 30, 1, config, shard_size=15, progress=False)
    assert kept["skipped"] == 2 and kept["class_fidelity"] == made["class_fidelity"]
    assert kept["warning"] == made["warning"]
    done = CliRunner().invoke(cli, ["invert", "--teacher", str(teacher), "--num-images", "30",
                                    "--shard-size", "15", "--iterations", "60", "--out",
                                    str(out), "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["skipped"] == 2, summary   # resumed: the set on disk, measured again
    assert summary["class_fidelity"] == made["class_fidelity"]
    assert summary["class_fidelity"][BLIND] == NONE_OF_TEN
    assert sum(r["hits"] for r in summary["class_fidelity"].values()) == round(
        summary["fidelity"] * 30)
    assert f"; classes below 0.95: {BLIND} (0.00)" in summary["warning"], summary["warning"]
    assert summary["preset"] == "tabular" and "preset_note" not in summary
