"""A user's own data set (csv:, parquet:, images:) as real users write them: duplicate column
names, labels of uint64, NaN or infinite values, labels with spaces around them, overflowing
features, a path given without its prefix.  Each loads as what it says or is one line naming
the file, the column and what was expected (h109)."""
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from synth.data import check_dataset_name, load_dataset
from synth.errors import ConfigError, UserError

N = 40


def _one_line(e) -> str:
    text = str(e.value)
    assert "\n" not in text and "Traceback" not in text, text
    return text


def _labels():
    return np.arange(N) % 2


# --------------------------------------------------------------------------- duplicate columns
def test_plain_parquet_with_a_column_twice_is_one_line(tmp_path):
    # pyarrow writes two columns 'a'; reading them was KeyError 'Column a does not exist'
    t = pa.table([pa.array(np.arange(N, dtype=float)), pa.array(-np.arange(N, dtype=float)),
                  pa.array(_labels())], names=["a", "a", "label"])
    pq.write_table(t, tmp_path / "d.parquet")
    with pytest.raises(UserError, match="twice") as e:
        load_dataset(f"parquet:{tmp_path / 'd.parquet'}")
    assert "'a'" in _one_line(e) and "d.parquet" in str(e.value)


@pytest.mark.parametrize("twice", ["x", "label"])
def test_nnsynth_parquet_with_a_column_twice_is_one_line(tmp_path, twice):
    x = pa.FixedSizeListArray.from_arrays(pa.array(np.zeros(N * 4, np.float32)), 4)
    y = pa.array(_labels())
    columns = {"x": [x, x, y], "label": [x, y, y]}[twice]
    names = {"x": ["x", "x", "label"], "label": ["x", "label", "label"]}[twice]
    meta = dict(input_shape=[4], num_classes=2, class_names=["a", "b"], mean=[0.0] * 4,
                std=[1.0] * 4)
    t = pa.table(columns, names=names).replace_schema_metadata(
        {b"nnsynth": json.dumps(meta).encode()})
    pq.write_table(t, tmp_path / "s.parquet")
    with pytest.raises(UserError, match="twice") as e:
        load_dataset(f"parquet:{tmp_path}")
    assert f"'{twice}'" in _one_line(e)


def test_cli_train_on_a_parquet_with_a_column_twice_exits_2(tmp_path):
    from click.testing import CliRunner

    from deploy.cli.main import cli
    t = pa.table([pa.array(np.arange(N, dtype=float)), pa.array(-np.arange(N, dtype=float)),
                  pa.array(_labels())], names=["a", "a", "label"])
    pq.write_table(t, tmp_path / "d.parquet")
    r = CliRunner().invoke(cli, ["train", "--dataset", f"parquet:{tmp_path / 'd.parquet'}",
                                 "--model", "mlp_small", "--epochs", "1", "--min-steps", "0",
                                 "--out", str(tmp_path / "m.pt")])
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and "twice" in r.output


# --------------------------------------------------------------------------- labels
def test_uint64_labels_keep_their_values_as_class_names(tmp_path):
    # cast to int64, 2**63 + 5 was the class '-9223372036854775803'
    big = np.where(_labels() == 0, 2**63 + 5, 2**63 + 6).astype(np.uint64)
    pq.write_table(pa.table({"a": np.arange(N, dtype=float), "label": pa.array(big)}),
                   tmp_path / "d.parquet")
    data = load_dataset(f"parquet:{tmp_path / 'd.parquet'}")
    assert data.class_names == [str(2**63 + 5), str(2**63 + 6)]


def test_boolean_labels_are_still_named_0_and_1(tmp_path):
    pq.write_table(pa.table({"a": np.arange(N, dtype=float), "label": _labels() == 1}),
                   tmp_path / "d.parquet")
    assert load_dataset(f"parquet:{tmp_path / 'd.parquet'}").class_names == ["0", "1"]


def test_nan_float_label_is_named_as_nan_not_fractional(tmp_path):
    label = _labels().astype(float)
    label[3] = np.nan   # a NaN value, not a null (pyarrow, polars)
    pq.write_table(pa.table({"a": np.arange(N, dtype=float),
                             "label": pa.array(label, from_pandas=False)}),
                   tmp_path / "d.parquet")
    with pytest.raises(UserError, match="NaN or infinite") as e:
        load_dataset(f"parquet:{tmp_path / 'd.parquet'}")
    assert "fractional" not in _one_line(e) and "row 4" in str(e.value)


def test_infinite_csv_label_is_named_as_infinite(tmp_path):
    rows = "".join(f"{i},{'inf' if i == 5 else i % 2}\n" for i in range(N))
    (tmp_path / "d.csv").write_text("a,label\n" + rows)
    with pytest.raises(UserError, match="NaN or infinite") as e:
        load_dataset(f"csv:{tmp_path / 'd.csv'}")
    assert "fractional" not in _one_line(e)


def test_text_labels_with_spaces_around_them_are_one_class(tmp_path):
    # 'cat' and 'cat ' (a trailing space in some cells) were two classes of the same animal;
    # ', cat' after a delimiter and a space named the class ' cat'
    rows = "".join(f"{i}, {-i}, {'cat' if i % 2 else 'dog'}{' ' if i % 5 == 0 else ''}\n"
                   for i in range(N))
    (tmp_path / "d.csv").write_text("a, b, label\n" + rows)
    data = load_dataset(f"csv:{tmp_path / 'd.csv'}")
    assert data.num_classes == 2 and data.class_names == ["cat", "dog"]


def test_blank_labels_count_every_blank_cell(tmp_path):
    rows = "".join(f"{i},{['a', 'b', ' ', '  '][i % 4]}\n" for i in range(N))
    (tmp_path / "d.csv").write_text("x,label\n" + rows)
    with pytest.raises(UserError, match="20 empty cells"):
        load_dataset(f"csv:{tmp_path / 'd.csv'}")


# --------------------------------------------------------------------------- features
def test_nan_feature_names_its_column_and_row(tmp_path):
    b = np.arange(N, dtype=float)
    b[7] = np.nan   # a NaN value, not a null: the message named no column
    pq.write_table(pa.table({"a": np.arange(N, dtype=float), "b": pa.array(b, from_pandas=False),
                             "label": _labels()}), tmp_path / "d.parquet")
    with pytest.raises(UserError, match="NaN or infinite") as e:
        load_dataset(f"parquet:{tmp_path / 'd.parquet'}")
    assert "column 'b'" in _one_line(e) and "row 8" in str(e.value)


def test_csv_number_beyond_float64_names_its_column(tmp_path):
    rows = "".join(f"{i},{'1e400' if i == 3 else i},{i % 2}\n" for i in range(N))
    (tmp_path / "d.csv").write_text("a,b,label\n" + rows)
    with pytest.raises(UserError, match="infinite") as e:
        load_dataset(f"csv:{tmp_path / 'd.csv'}")
    assert "column 'b'" in _one_line(e) and "row 4" in str(e.value)


def test_feature_too_large_to_normalize_names_its_column(tmp_path):
    pq.write_table(pa.table({"a": np.arange(N, dtype=float),
                             "big": np.linspace(-1, 1, N) * 1e300, "label": _labels()}),
                   tmp_path / "d.parquet")
    with pytest.raises(UserError, match="too large") as e:
        load_dataset(f"parquet:{tmp_path / 'd.parquet'}")
    assert "'big'" in _one_line(e)


# --------------------------------------------------------------------------- paths
@pytest.mark.parametrize("suffix,prefix", [(".csv", "csv"), (".parquet", "parquet"),
                                           (".ts", "ts"), (".txt", "text")])
def test_a_path_without_its_prefix_is_told_the_prefix(tmp_path, suffix, prefix):
    path = tmp_path / f"mine{suffix}"
    path.write_text("")
    with pytest.raises(ConfigError, match="unknown data set") as e:
        check_dataset_name(str(path))
    assert f"{prefix}:{path}" in _one_line(e)


def test_images_without_class_folders_say_so(tmp_path):
    for i in range(4):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / f"{i}.png")
    with pytest.raises(UserError, match="found 0") as e:
        load_dataset(f"images:{tmp_path}")
    assert "4 images" in _one_line(e) and "subfolder" in str(e.value)


def test_decimal_labels_are_whole_numbers_in_numeric_order(tmp_path):
    # cast to text, Decimal('9.00') and Decimal('10.00') were classes '10.00' < '9.00' (text
    # order), where a CSV of the same numbers has classes '9', '10'
    import decimal
    label = [decimal.Decimal("9.00") if i % 2 else decimal.Decimal("10.00") for i in range(N)]
    pq.write_table(pa.table({"a": np.arange(N, dtype=float), "label": pa.array(label)}),
                   tmp_path / "d.parquet")
    data = load_dataset(f"parquet:{tmp_path / 'd.parquet'}")
    assert data.class_names == ["9", "10"]
