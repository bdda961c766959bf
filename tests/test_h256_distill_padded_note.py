"""distill and prune of a teacher whose set holds shorter series than its input (a model of
a .ts set left-padded to 6 steps, grown and pruned on a file whose longest series has 4:
its record names that file) say that the figures are of left-padded series, as eval's
result does (helper 256).  Both padded the set (checkpoint_dataset) and reported its
accuracies without the 'note' that ``nnsynth eval --model`` gives of the same set."""
import pytest
import torch

from synth.checkpoint import read_checkpoint
from synth.data import write_parquet
from tests._cli import json_result, run
from tests.test_h254_short_series_updates import _json, _write


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    """(folder, teacher): g.pt, a model of Own.ts (4-6 steps) grown and pruned on Short.ts
    (3-4 steps), and syn/, 40 inputs synthesized for it."""
    tmp = tmp_path_factory.mktemp("h256_distill")
    own = _write(tmp / "Own.ts", [4 + i % 3 for i in range(40)], ["up", "down"], 0)
    short = _write(tmp / "Short.ts", [3 + i % 2 for i in range(40)], ["up", "down"], 1)
    _json(["train", "--dataset", own, "--model", '{"family": "mlp", "hidden": [16]}',
           "--epochs", "3", "--min-steps", "0", "--out", str(tmp / "m.pt")])
    _json(["grow-prune", "--model", str(tmp / "m.pt"), "--dataset", short, "--prune-steps",
           "1", "--retrain-epochs", "0", "--no-compact", "--out", str(tmp / "g.pt")])
    (tmp / "syn").mkdir()
    write_parquet(tmp / "syn" / "part-0.parquet", torch.randn(
        40, 2, 6, generator=torch.Generator().manual_seed(0)), torch.arange(40) % 2,
        read_checkpoint(tmp / "g.pt")["dataset"])
    return tmp, tmp / "g.pt"


def test_distill_and_prune_say_the_teachers_set_was_padded(teacher):
    from synth.dfprune import PruneConfig
    from synth.distill import DistillConfig
    from synth.workflows import distill_checkpoint, prune_checkpoint
    tmp, model = teacher
    shown = _json(["eval", "--model", str(model)])["note"]
    assert "(at most 4 steps) were left-padded" in shown
    # nnsynth distill's and prune's library calls (distill's training in this process, not
    # on Ray Train workers)
    distilled = distill_checkpoint(model, '{"family": "mlp", "hidden": [8]}', tmp / "d.pt",
                                   DistillConfig(epochs=1, min_steps=0, progress=False),
                                   synth_dir=tmp / "syn")
    assert distilled["note"] == shown and distilled["teacher_test_accuracy"] is not None
    pruned = prune_checkpoint(model, tmp / "p.pt", PruneConfig(
        ratio=0.25, importance="magnitude", progress=False), kd_steps=0)
    assert pruned["note"] == shown and pruned["pruned_test_accuracy"] is not None
    # the student is scored by eval on the same padded series, with the same note
    assert json_result(run(["-q", "eval", "--model", str(tmp / "d.pt"), "--json"]))[
        "note"] == shown
