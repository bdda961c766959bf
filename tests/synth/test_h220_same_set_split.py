"""A checkpoint's own set named another way keeps the checkpoint's recorded split.

``nnsynth eval --model m.pt --dataset ts:sets/`` (the folder m.pt was trained on, with a
trailing slash), ``ts:sets/A`` (its one pair by name), a relative spelling or a link to it
was taken for another set and split with seed 0: for a model trained with --seed 3 the
"test" split held samples it trained on (a sequence convnet's 0.83 read 0.78, no warning);
grow-prune from such a checkpoint retrained and reported on that leaky split too."""
import os

import numpy as np

from synth.checkpoint import recorded_split_seed
from synth.data_registry import same_dataset
from tests._cli import json_result, run


def _ts_pair(folder, n=30, steps=12, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in (("TRAIN", n), ("TEST", n // 2)):
        lines = ["@problemName A", "@univariate false", "@dimensions 2",
                 "@equalLength true", "@classLabel true 3 7 10", "@data"]
        for i in range(rows):
            k = i % 3
            s = rng.standard_normal((2, steps)) + k
            lines.append(":".join(",".join(f"{v:.4f}" for v in ch) for ch in s)
                         + f":{['3', '7', '10'][k]}")
        (folder / f"A_{split}.ts").write_text("\n".join(lines) + "\n")
    return folder


def test_spellings_of_one_ts_set_keep_the_recorded_seed(tmp_path, monkeypatch):
    sets = _ts_pair(tmp_path / "sets")
    _ts_pair(tmp_path / "other")
    (tmp_path / "link").symlink_to(sets)
    meta = {"name": f"ts:{sets}", "split_seed": 3}
    monkeypatch.chdir(tmp_path)
    for same in (f"ts:{sets}/", f"ts:{sets}/A", "ts:sets", "ts:./sets/", "ts:link",
                 f"ts:{sets}[0,1]"):
        assert same_dataset(same, meta["name"]), same
        assert recorded_split_seed(meta, same, default=0) == 3, same
    for other in (f"ts:{tmp_path / 'other'}", "basicmotions", f"csv:{sets}"):
        assert not same_dataset(other, meta["name"]), other
        assert recorded_split_seed(meta, other, default=0) == 0, other


def test_a_csv_file_named_two_ways_is_one_set(tmp_path, monkeypatch):
    (tmp_path / "t.csv").write_text("a,b,label\n1,2,x\n")
    monkeypatch.chdir(tmp_path)
    meta = {"name": f"csv:{tmp_path / 't.csv'}", "split_seed": 5}
    assert recorded_split_seed(meta, "csv:t.csv", default=0) == 5
    assert recorded_split_seed(meta, "csv:./t.csv", default=0) == 5
    assert recorded_split_seed(meta, "csv:u.csv", default=0) == 0


def test_eval_of_the_own_ts_set_spelt_otherwise_scores_its_test_split(tmp_path):
    sets = _ts_pair(tmp_path / "sets")
    ckpt = tmp_path / "m.pt"
    json_result(run(["-q", "train", "--dataset", f"ts:{sets}", "--model", "convnet1d_small",
                     "--epochs", "1", "--min-steps", "0",
                     "--seed", "3", "--out", str(ckpt), "--json"]))
    own = json_result(run(["-q", "eval", "--model", str(ckpt), "--json"]))
    assert own["split_seed"] == 3
    for name in (f"ts:{sets}/", f"ts:{sets}/A"):
        got = json_result(run(["-q", "eval", "--model", str(ckpt), "--dataset", name,
                               "--json"]))
        assert got["split_seed"] == 3, name
        assert (got["accuracy"], got["loss"]) == (own["accuracy"], own["loss"]), name
    assert os.path.exists(ckpt)


def test_incremental_takes_one_set_spelt_two_ways_as_one(tmp_path):
    """--old ts:sets --new ts:sets/ was two sets: --old-fraction refused ('are two'), and
    without it 'old and new data hold the same training samples'.  It is one set, split."""
    import pytest

    from synth import workflows
    from synth.errors import UserError
    from synth.incremental import IncrementalConfig
    sets = _ts_pair(tmp_path / "sets")
    with pytest.raises((UserError, FileNotFoundError, OSError)) as caught:
        workflows.incremental_checkpoint(tmp_path / "missing.pt", f"ts:{sets}", f"ts:{sets}/",
                                         IncrementalConfig(), old_fraction=0.5)
    assert "are two" not in str(caught.value)
    assert "missing.pt" in str(caught.value)   # it went on to read the model
