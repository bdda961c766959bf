"""A .ts file without @classLabel orders number labels as numbers, as a table does.

Sorted as text, labels 1..10 were the classes '1', '10', '2', ...: `nnsynth secret
--class-names one,two,...,ten` (words in class order) named label 10 'two', and the same
windows read from a CSV table (integers in numeric order) had other class numbers."""
import numpy as np

from synth.data import load_dataset
from tests._cli import json_result, one_error_line, run


def _ts(path, labels, steps=6, seed=0):
    rng = np.random.default_rng(seed)
    lines = ["@problemName x", "@univariate true", "@equalLength true", "@data"]
    for lab in labels:
        lines.append(",".join(f"{v:.3f}" for v in rng.standard_normal(steps)) + f":{lab}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_number_labels_are_classes_in_numeric_order(tmp_path):
    labels = [str(k) for k in range(1, 11)] * 5
    data = load_dataset(f"ts:{_ts(tmp_path / 'n.ts', labels)}")
    assert data.class_names == [str(k) for k in range(1, 11)]
    # the labels keep their series: class i is the label class_names[i]
    x, y = data.split("all")
    assert sorted(np.bincount(y.numpy()).tolist()) == [5] * 10


def test_label_order():
    from synth.sequences import label_order
    assert label_order(["10", "2", "-1", "2", "7.5"]) == ["-1", "2", "7.5", "10"]
    assert label_order(["b", "10", "a", "2"]) == ["10", "2", "a", "b"]   # not all numbers
    assert label_order(["nan", "1"]) == ["1", "nan"]   # nan is no number to order by


def test_secret_class_names_follow_the_numeric_classes(tmp_path):
    path = _ts(tmp_path / "s.ts", ["2", "10"] * 6)
    got = json_result(run(["-q", "secret", "--dataset", f"ts:{path}", "--class-names",
                           "two,ten", "--json"]))
    data = load_dataset(f"ts:{path}")
    assert data.class_names == ["2", "10"]
    assert got["class_names"] == ["two", "ten"]


def test_too_few_series_for_the_classes_is_one_line(tmp_path):
    """30 series of 10 classes (3 each, which the per-class check lets through): scikit-learn's
    'test_size = 6 should be greater or equal to the number of classes' was a traceback."""
    path = _ts(tmp_path / "t.ts", [str(k) for k in range(1, 11)] * 3)
    line = one_error_line(run(["-q", "train", "--dataset", f"ts:{path}", "--model",
                               "convnet1d_small", "--epochs", "1", "--min-steps", "0", "--out",
                               str(tmp_path / "m.pt")]))
    assert "30 series are too few" in line and "10 classes" in line, line


def test_the_split_is_drawn_as_before_the_numeric_order(tmp_path):
    """The classes' order changed, not the split: a checkpoint trained on such a file before
    (its recorded seed) keeps its test split; drawn on the numeric indices, its 'test'
    series would have been ones it trained on."""
    from synth.data_splits import stratified_splits
    from synth.sequences import read_ts
    labels = [str(k) for k in range(1, 11)] * 5
    path = _ts(tmp_path / "n.ts", labels, seed=1)
    series, read, classes = read_ts(path)
    assert classes == sorted(set(labels))            # the text order the split is drawn by
    y_text = np.array([classes.index(lab) for lab in read])
    for seed in (0, 3):
        data = load_dataset(f"ts:{path}", seed=seed)
        _, _, test = stratified_splits(np.zeros(len(read)), y_text, seed)
        raw = np.stack([series[i] for i in test])
        back = (data.x_test.numpy() * np.asarray(data.std)[:, None]
                + np.asarray(data.mean)[:, None])
        assert np.allclose(back, raw, atol=1e-4)
        assert [data.class_names[k] for k in data.y_test.tolist()] == [read[i] for i in test]


def test_a_pair_without_class_labels_orders_numbers_too_and_a_declared_order_stays(tmp_path):
    labels = [str(k) for k in (2, 10, 7)] * 5
    folder = tmp_path / "pair"
    folder.mkdir()
    _ts(folder / "P_TRAIN.ts", labels, seed=2)
    _ts(folder / "P_TEST.ts", labels, seed=3)
    assert load_dataset(f"ts:{folder}").class_names == ["2", "7", "10"]
    text = (tmp_path / "d.ts")
    _ts(text, labels)
    text.write_text(text.read_text().replace("@data", "@classLabel true 10 2 7\n@data"))
    assert load_dataset(f"ts:{text}").class_names == ["10", "2", "7"]   # as declared
