"""Helper 214: a sequence set too small to split, loaded whole (``load_dataset(...,
whole=True)``: `nnsynth eval --split all`), puts every series in its train split
(``synth.data_splits.unsplit``) but recorded the split description "... stratified 72/8/20
by seed" (``Dataset.extra["split"]``, in its metadata).  It now says it was loaded whole.
Failed before."""
from synth.data import load_dataset
from tests.test_h213_ts_split_description import _ts


def test_a_set_loaded_whole_is_not_described_as_stratified(tmp_path):
    one = _ts(tmp_path / "few.ts", ["a", "b", "a", "b", "a"])      # 'b' has 2 series
    data = load_dataset(f"ts:{one}", seed=3, whole=True)
    assert len(data.y_train) == 5 and not len(data.y_val) and not len(data.y_test)
    split = data.extra["split"]
    assert "72/8/20" not in split and "stratified" not in split, split
    assert "the file's own series" in split and "loaded whole" in split, split
    assert data.metadata()["split"] == split
    for name, n in (("P_TRAIN.ts", 3), ("P_TEST.ts", 1)):           # a pair: 'b' has 2
        _ts(tmp_path / name, ["a", "b", "a"][:n])
    split = load_dataset(f"ts:{tmp_path}", whole=True).extra["split"]
    assert split.startswith("published TRAIN and TEST pooled") and "72/8/20" not in split
    # a set that can be split is split as before, whole or not
    big = _ts(tmp_path / "big.ts", ["a", "b"] * 10)
    assert "stratified 72/8/20 by seed" in load_dataset(f"ts:{big}", whole=True).extra["split"]
