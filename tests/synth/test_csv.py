"""``csv:<path>``: a user's own table as a data set (a header row, numeric features, a label
column), read as it is and refused in one line when it is not a table of numbers."""
import csv
import gzip

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from synth.data import load_dataset
from synth.errors import UserError


def _write(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def wine_csv(tmp_path_factory):
    import sklearn.datasets as skd
    d = skd.load_wine()
    rows = [list(r) + [d.target_names[t]] for r, t in zip(d.data, d.target)]
    return _write(tmp_path_factory.mktemp("csv") / "wine.csv", list(d.feature_names) + ["class"],
                  rows)


def test_a_csv_table_is_the_same_set_as_its_bundled_twin(wine_csv):
    ours, bundled = load_dataset(f"csv:{wine_csv}", seed=3), load_dataset("wine", seed=3)
    assert ours.input_shape == (13,) and ours.class_names == ["class_0", "class_1", "class_2"]
    for split in ("train", "val", "test"):
        xa, ya = ours.split(split)
        xb, yb = bundled.split(split)
        assert torch.equal(ya, yb) and torch.allclose(xa, xb)
    assert ours.metadata()["value_range"] == bundled.metadata()["value_range"]


def test_label_column_by_name_or_last_and_a_split_column(tmp_path):
    rng = np.random.default_rng(0)
    rows = [[int(c), *rng.normal(size=3).round(3), "train" if i < 40 else "val" if i < 50
             else "test"] for i, c in enumerate(np.tile([7, 2], 30))]
    f = _write(tmp_path / "t.csv", ["y", "a", "b", "c", "split"], rows)
    data = load_dataset(f"csv:{f}")
    assert data.input_shape == (3,) and data.class_names == ["2", "7"]   # numeric order
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (40, 10, 10)
    assert data.y_train[0].item() == 1                                  # 7 is class 1
    g = _write(tmp_path / "last.csv", ["a", "b", "kind"], [[i, -i, "ab"[i % 2]] for i in range(40)])
    assert load_dataset(f"csv:{g}").class_names == ["a", "b"]


@pytest.mark.parametrize("header, rows, expected", [
    (["a", "b", "label"], [[1, "", "x"], [2, 3, "y"]] * 10, "feature column 'b'"),
    (["a", "b", "label"], [[1, "q", "x"], [2, 3, "y"]] * 10, "feature column 'b'"),
    (["a", "label"], [[1, "x"]] * 20, "at least 2 are needed"),
    (["a", "label"], [[1, 0.5], [2, 1]] * 10, "fractional"),
    (["a", "label"], [[1, "x"], [2, "y"]] + [[3, "y"]] * 20, "too few rows per class"),
    (["label"], [["x"], ["y"]] * 10, "at least one feature column"),
    (["a", "label", "split"], [[1, "x", "train"], [2, "y", "dev"]] * 10, "column split"),
    (["a", "label"], [[1, "x"], ["inf", "y"]] * 10, "NaN or infinite"),
])
def test_bad_tables_are_one_line_errors(tmp_path, header, rows, expected):
    f = _write(tmp_path / "bad.csv", header, rows)
    with pytest.raises(UserError, match=expected):
        load_dataset(f"csv:{f}")


def test_compressed_or_binary_or_oversized_files_are_refused_unread(tmp_path, wine_csv,
                                                                   monkeypatch):
    gz = tmp_path / "w.csv"
    gz.write_bytes(gzip.compress(wine_csv.read_bytes()))   # a bomb would hide in here
    with pytest.raises(UserError, match="compressed"):
        load_dataset(f"csv:{gz}")
    noise = tmp_path / "noise.csv"
    noise.write_bytes(np.random.default_rng(0).bytes(3000))
    # random bytes hold NUL bytes: refused as not text (h309) before the parser reads them
    with pytest.raises(UserError, match="holds NUL bytes: it is not text") as e:
        load_dataset(f"csv:{noise}")
    assert str(e.value).isascii() and str(e.value).isprintable()
    import synth.data_csv   # where the CSV reader reads its limit (synth.data re-exports it)
    monkeypatch.setattr(synth.data_csv, "MAX_CSV_BYTES", 1000)
    with pytest.raises(UserError, match="the limit is 1,000"):
        load_dataset(f"csv:{wine_csv}")


def test_train_and_eval_a_csv_set_through_the_cli(tmp_path, wine_csv):
    from deploy.cli.main import cli
    out = tmp_path / "m.pt"
    r = CliRunner().invoke(cli, ["train", "--dataset", f"csv:{wine_csv}", "--model",
                                 "mlp_small", "--epochs", "2", "--min-steps", "0",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["eval", "--model", str(out), "--json"])
    assert r.exit_code == 0 and f"csv:{wine_csv}" in r.output, r.output
    r = CliRunner().invoke(cli, ["train", "--dataset", f"csv:{tmp_path / 'none.csv'}",
                                 "--model", "mlp_small", "--out", str(tmp_path / "n.pt")])
    assert r.exit_code == 2 and "CSV file not found" in r.output and "Traceback" not in r.output
