"""Three input/output problems helper 143 fixed (found by an earlier probe):

1. ``ts:<dir>`` whose X_TRAIN.ts / X_TEST.ts is not a regular file (a named pipe, a folder)
   said "must hold exactly one *_TRAIN.ts with its *_TEST.ts; found ['X_TEST.ts',
   'X_TRAIN.ts']": both are there; the message now names the file and what it is.
2. A table's split column was case- and space-sensitive ('Train', 'TEST ' refused) while its
   labels ignore surrounding spaces; now any case, spaces stripped, and anything else still a
   one-line error naming the column, the bad values and what is expected.
3. Human output printed a string value's control characters as they are: an --out path
   holding a newline printed on two lines.  Now escaped, one value a line.
"""
import csv
import os

import numpy as np
import pytest

from deploy.cli.options import emit
from synth.data import load_dataset
from synth.errors import UserError
from tests._cli import json_result, one_error_line, run


# -- 1. ts:<dir> with a pair that is not two regular files ------------------------------------

@pytest.mark.timeout(60)   # before the fix a FIFO X_TRAIN.ts with a regular X_TEST.ts hung
@pytest.mark.parametrize("odd", ["TRAIN", "TEST", "both"])
def test_ts_folder_names_the_file_that_is_a_fifo(tmp_path, odd):
    for split in ("TRAIN", "TEST"):
        f = tmp_path / f"X_{split}.ts"
        if odd in (split, "both"):
            os.mkfifo(f)
        else:   # a regular file: never read, the check comes first (a FIFO would block)
            f.write_text("@problemName X\n@data\n1,2,3:a\n")
    with pytest.raises(UserError) as e:
        load_dataset(f"ts:{tmp_path}")
    message = str(e.value)
    first = "X_TRAIN.ts" if odd != "TEST" else "X_TEST.ts"
    assert f"{tmp_path / first} is a named pipe (FIFO)" in message, message
    assert "must hold exactly one" not in message


def test_ts_folder_names_a_folder_in_place_of_test(tmp_path):
    (tmp_path / "X_TRAIN.ts").write_text("@problemName X\n@data\n1,2,3:a\n")
    (tmp_path / "X_TEST.ts").mkdir()
    line = one_error_line(run(["train", "--dataset", f"ts:{tmp_path}", "--model", "mlp_small",
                               "--out", str(tmp_path / "m.pt")]))
    assert f"{tmp_path / 'X_TEST.ts'} is a folder" in line, line


def test_ts_folder_without_its_test_file_keeps_its_message(tmp_path):
    (tmp_path / "X_TRAIN.ts").write_text("@problemName X\n@data\n1,2,3:a\n")
    with pytest.raises(UserError, match=r"must hold exactly one \*_TRAIN.ts with its "
                                        r"\*_TEST.ts; found \['X_TRAIN.ts'\]"):
        load_dataset(f"ts:{tmp_path}")


# -- 2. split column values in any case, spaces stripped -----------------------------------

def _table(n=60):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).round(3)
    y = np.tile([0, 1], n // 2)
    return x, y


def _csv(path, header, splits):
    x, y = _table(len(splits))
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows([[*r, c, s] for r, c, s in zip(x, y, splits)])
    return path


SPLITS = ["Train", " TRAIN ", "train"] * 14 + ["Val ", "VAL"] * 4 + [" Test", "TEST "] * 5


def test_csv_split_values_in_any_case_with_spaces(tmp_path):
    f = _csv(tmp_path / "t.csv", ["a", "b", "c", "label", "Split"], SPLITS)
    data = load_dataset(f"csv:{f}")
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (42, 8, 10)


def test_parquet_table_split_values_in_any_case_with_spaces(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    x, y = _table(len(SPLITS))
    pq.write_table(pa.table({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "label": y,
                             "split": SPLITS}), tmp_path / "t.parquet")
    data = load_dataset(f"parquet:{tmp_path / 't.parquet'}")
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (42, 8, 10)
    # the same rows as the lowercase spelling of the column
    f = _csv(tmp_path / "low.csv", ["a", "b", "c", "label", "split"],
             [s.strip().lower() for s in SPLITS])
    low = load_dataset(f"csv:{f}")
    for split in ("train", "val", "test"):
        assert np.array_equal(data.split(split)[1].numpy(), low.split(split)[1].numpy())


def test_other_split_values_are_one_line_naming_column_values_and_expected(tmp_path):
    splits = ["train"] * 50 + ["dev", "holdout", "dev", "tra in", "x", "y", "z"] + ["test"] * 3
    f = _csv(tmp_path / "t.csv", ["a", "b", "c", "label", "Split"], splits)
    line = one_error_line(run(["train", "--dataset", f"csv:{f}", "--model", "mlp_small",
                               "--out", str(tmp_path / "m.pt")]))
    assert "column Split must hold 'train', 'val' or 'test'" in line, line
    assert "'dev', 'holdout', 'tra in', ..." in line and "in 7 of 60 rows" in line, line
    assert "data row 51" in line, line


# -- 3. human output: one value, one line ---------------------------------------------------

def test_key_value_output_escapes_a_newline_in_a_value(capsys):
    emit({"checkpoint": "out/a\nb.pt", "note": "bell\x07 esc\x1b[2J", "epochs": 1}, False)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["checkpoint: out/a\\nb.pt", "note: bell\\x07 esc\\x1b[2J", "epochs: 1"]


def test_human_text_keeps_its_own_lines_and_escapes_the_values_it_quotes(capsys):
    result = {"model": "dir\nname.pt", "out_dir": "dir\n", "layers": [{"name": "fc\r1"}]}
    human = "dir\nname.pt: 3 layers\nfc\r1 in dir\n\nend"
    emit(result, False, human)
    assert capsys.readouterr().out.splitlines() == [
        "dir\\nname.pt: 3 layers", "fc\\r1 in dir\\n", "end"]


def test_train_then_hwsim_eval_print_a_newline_path_on_one_line(tmp_path):
    out = tmp_path / "a\nb.pt"
    result = run(["train", "--dataset", "iris", "--model", "mlp_small", "--epochs", "1",
                  "--min-steps", "0",
                  "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"checkpoint: {tmp_path}/a\\nb.pt" in result.output.splitlines(), result.output
    assert json_result(run(["hwsim", "eval", "--model", str(out), "--json"]))["model"]
    shown = run(["hwsim", "eval", "--model", str(out)])
    assert shown.exit_code == 0, shown.output
    first = shown.output.splitlines()[0]
    assert "a\\nb.pt" in first and "batch 1:" in first, shown.output
