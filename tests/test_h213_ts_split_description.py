"""Helper 213: the split a sequence set records (``Dataset.extra["split"]``, in its metadata
and checkpoints) is described truthfully: a single .ts file with no TEST file recorded
"published TRAIN and TEST pooled", as if a published pair had been read.  Failed before."""
from pathlib import Path

import numpy as np

from synth.data import load_dataset


def _ts(path: Path, labels):
    rng = np.random.default_rng(len(labels))
    rows = "".join(",".join(f"{v:.3f}" for v in rng.normal(size=6) + i % 2) + f":{lab}\n"
                   for i, lab in enumerate(labels))
    path.write_text("@problemName P\n@univariate true\n@classLabel true a b\n@data\n" + rows)
    return path


def test_a_single_ts_file_is_not_described_as_a_pooled_pair(tmp_path):
    one = _ts(tmp_path / "mine.ts", ["a", "b"] * 10)
    split = load_dataset(f"ts:{one}", seed=3).extra["split"]
    assert "published" not in split and "pooled" not in split, split
    assert "the file's own series" in split and "72/8/20" in split and "seed" in split


def test_a_train_test_pair_is_still_described_as_pooled(tmp_path):
    for name, n in (("P_TRAIN.ts", 12), ("P_TEST.ts", 6)):
        _ts(tmp_path / name, ["a", "b"] * (n // 2))
    split = load_dataset(f"ts:{tmp_path}").extra["split"]
    assert split == "published TRAIN and TEST pooled, stratified 72/8/20 by seed"
