"""A --synth set left-padded to its model's steps is said in the command's result (h262).

Since h258 a --synth Parquet of shorter series than a left-padded teacher's is fitted to it
as a --dataset is (``synth.checkpoint.synthesized_for``), but its padding was only an info
line: no result of distill, prune, continual or a search said that the inputs were padded,
where a --dataset's result carries eval's note (``synth.workflows.note_padding``).  Now the
--synth set's note joins the result's "note" through the same function."""
import pytest
import torch

from search.run import SearchConfig, check_teacher_inputs, data_note
from search.trial import real_data
from synth.data import load_dataset, write_parquet
from synth.distill import DistillConfig
from synth.dfprune import PruneConfig
from synth.workflows import distill_checkpoint, prune_checkpoint
from tests._cli import json_result, run
from tests.test_h254_short_series_updates import _write


@pytest.fixture(scope="module")
def padded(tmp_path_factory):
    """(a teacher of left-padded 4-6 step series, the user's Parquet of 3-4 step series)."""
    tmp = tmp_path_factory.mktemp("h262")
    own = _write(tmp / "Own.ts", [4 + i % 3 for i in range(40)], ["up", "down"], 0)
    short = load_dataset(_write(tmp / "Short.ts", [3 + i % 2 for i in range(40)],
                                ["up", "down"], 1))
    json_result(run(["-q", "train", "--dataset", own, "--model", "mlp_small", "--epochs", "1",
                     "--min-steps", "0",
                     "--out", str(tmp / "t.pt"), "--json"]))
    (tmp / "mine").mkdir()
    write_parquet(tmp / "mine" / "part-0.parquet",
                  torch.cat([short.x_train, short.x_val, short.x_test]),
                  torch.cat([short.y_train, short.y_val, short.y_test]), short.metadata())
    return tmp / "t.pt", tmp / "mine"


def _said(mine) -> str:
    return (f"the series of --synth {mine} (at most 4 steps) were left-padded with the "
            f"padding value to the model's 6 steps")


def test_prune_and_distill_say_their_synth_set_was_padded(padded, tmp_path):
    teacher, mine = padded
    pruned = prune_checkpoint(teacher, tmp_path / "p.pt",
                              PruneConfig(ratio=0.5, importance="magnitude", device="cpu"),
                              synth_dir=mine, kd_steps=0)
    assert _said(mine) in pruned["note"], pruned
    student = distill_checkpoint(teacher, "mlp_small", tmp_path / "s.pt",
                                 DistillConfig(epochs=1, min_steps=0, device="cpu"),
                                 synth_dir=mine)
    assert _said(mine) in student["note"], student


def test_a_search_summary_says_its_synth_set_was_padded(padded):
    teacher, mine = padded
    config = SearchConfig(teacher=str(teacher), data=str(mine), dataset=f"parquet:{mine}",
                          space="mlp", epochs=1, trials=1, searcher="random", hardware=False)
    synthetic = check_teacher_inputs(config)
    noted = data_note(real_data(config.dataset, 0, config.teacher), config, synthetic)
    # the real set (the same short series) and the --synth set: each said, joined
    assert noted["note"].startswith(f"the series of parquet:{mine} (at most 4 steps)")
    assert noted["note"].endswith(_said(mine) + ", as the shorter series of its training "
                                  "set were")



def test_continual_says_its_synth_set_was_padded(padded, tmp_path):
    from synth.continual import ContinualConfig
    from synth.workflows import continual_checkpoint
    teacher, mine = padded
    new = _write(tmp_path / "New.ts", [4 + i % 3 for i in range(45)], ["up", "down", "flat"], 3)
    result = continual_checkpoint(str(teacher), new, ["flat"], tmp_path / "n.pt",
                                  ContinualConfig(method="deepinversion", epochs=1, min_steps=0,
                                                  progress=False), synth_dir=mine)
    assert _said(mine) in result["note"], result
