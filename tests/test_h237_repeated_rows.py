"""A user's table whose val or test rows repeat a training row is said so when it loads.

A CSV of 120 rows with its first 10 appended again, rows 0-1 marked val and 2-19 test:
``nnsynth train --dataset csv:split.csv`` reported val_accuracy 1.0 and test_accuracy
0.6667 with no word that both val rows and 8 of the 18 test rows were copies of training
rows (the appended ones), so those accuracies were partly on rows the model trained on."""
import logging

from synth.data import load_dataset

HEAD = "f0,f1,label,split\n"


def _row(i, split):
    return f"{i},{i % 7},{'ab'[i % 2]},{split}\n"


def test_copies_across_splits_are_warned(tmp_path, caplog):
    path = tmp_path / "dup.csv"
    rows = [_row(i, "val" if i < 2 else "test" if i < 8 else "train") for i in range(40)]
    rows += [_row(i, "train") for i in range(5)]          # rows 0-4 again, in train
    path.write_text(HEAD + "".join(rows))
    with caplog.at_level(logging.WARNING):
        load_dataset(f"csv:{path}")
    assert (f"CSV data set {path}: 2 of its 2 val rows and 3 of its 6 test rows repeat a "
            f"training row (the same feature values): their accuracy is not on unseen rows"
            in caplog.text), caplog.text


def test_one_copy_and_parquet(tmp_path, caplog):
    import pyarrow as pa
    import pyarrow.parquet as pq
    n = 30
    f0 = [float(i) for i in range(n)] + [7.0]
    split = ["test" if i < 6 else "train" for i in range(n)] + ["test"]   # row 7 again
    pq.write_table(pa.table({"f0": f0, "label": [i % 2 for i in range(n + 1)],
                             "split": split}), tmp_path / "t.parquet")
    with caplog.at_level(logging.WARNING):
        load_dataset(f"parquet:{tmp_path / 't.parquet'}")
    assert "1 of its 7 test rows repeats a training row" in caplog.text, caplog.text


def test_no_copies_or_copies_in_one_split_are_not_warned(tmp_path, caplog):
    path = tmp_path / "ok.csv"
    rows = [_row(i, "val" if i < 2 else "test" if i < 8 else "train") for i in range(40)]
    rows += [_row(i, "train") for i in range(20, 25)]     # copies of training rows only
    path.write_text(HEAD + "".join(rows))
    with caplog.at_level(logging.WARNING):
        load_dataset(f"csv:{path}")
        load_dataset("iris")                              # a bundled set: not a user's table
    assert "repeat" not in caplog.text, caplog.text
