"""Odd and hostile *contents* in every data-set loader (helper h309): csv:, parquet: (a plain
table and nnsynth's own layout), images:, ts: and text:.  Each file either loads with the
values it holds (checked, not only that it loaded) or is one line naming the file and what
was expected -- never trained on silently (a NaN feature made a NaN loss and a garbage
model).  Most cases pin what the loaders did already; those marked "was:" failed before
h309's fixes:

* a pandas-written Parquet table of a few thousand columns took minutes to load (pandas'
  index metadata, a JSON of every column, was parsed once a column: 3,000 columns 45 s);
* a text: file of UTF-16 without its byte-order mark (or a binary file that decodes) was
  read as single letters, a language model of the alphabet, silently;
* a CSV feature written with a no-break space, '1_000' or non-ASCII digits was "has string
  values", naming neither row nor value; a CSV of UTF-16 without its byte-order mark was
  "line 22 has 1 fields";
* nnsynth's own Parquet layout: a null label was "labels must be integers, got float64",
  no rows "0 values for 0 rows do not match input_shape", and a NaN input named no row;
* text labels spelling one number two ways ('1' and '1.0': a .ts file without @classLabel,
  a Parquet string column, a CSV column with a word in it) were two classes without a word
  (a CSV column of '01' and '1' is warned of since h283);
* a .ts @classLabel listing a class no series has said "has 0 series; stratified splits
  need >= 3 per class";
* a CSV label cell '1e999999999' hung the load (an exact Fraction of it is 10**999999999);
* a table holding its labels twice ('label' names, 'target' codes) trained on the second as
  a feature, silently: it is warned of.
"""
from __future__ import annotations

import json
import logging
import time

import numpy as np
import pytest
import torch

from synth.data import load_dataset
from synth.errors import TooFewClasses, UserError


def _one_line(e) -> str:
    text = str(e.value)
    assert "\n" not in text and "Traceback" not in text, text
    return text


def _refused(name: str, *words: str, kind=UserError) -> str:
    with pytest.raises(kind) as e:
        load_dataset(name)
    text = _one_line(e)
    for w in words:
        assert w in text, (w, text)
    return text


def _rows(data) -> list[tuple]:
    """Every sample of a tabular set in raw units (normalization undone) with its class
    name, sorted: what the file holds, whatever the split."""
    x, y = data.split("all")
    raw = x.double() * torch.tensor(data.std).double() + torch.tensor(data.mean).double()
    return sorted((tuple(round(v, 3) + 0.0 for v in r.tolist()), data.class_names[int(c)])
                  for r, c in zip(raw, y))


def _csv(tmp_path, text: str, name: str = "t.csv", encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return f"csv:{path}"


ROWS = [(float(i), float(i * i % 7), i % 2) for i in range(20)]


def _table(header="a,b,label", rows=ROWS, end="\n") -> str:
    return header + end + "".join(f"{a:g},{b:g},{c}{end}" for a, b, c in rows)


def _expected(rows=ROWS, names=("0", "1")):
    return sorted(((a, b), names[c]) for a, b, c in rows)


# --------------------------------------------------------------------------- csv:
@pytest.mark.parametrize("cell, said", [
    ("nan", "empty cells"), ("NA", "empty cells"), ("", "empty cells"),
    ("inf", "NaN or infinite"), ("-Infinity", "NaN or infinite"), ("1e400", "NaN or infinite"),
])
def test_csv_missing_or_infinite_feature_names_file_column_and_row(tmp_path, cell, said):
    text = _table().replace("\n3,2,1\n", f"\n{cell},2,1\n")
    name = _csv(tmp_path, text)
    line = _refused(name, said, "t.csv", "feature column 'a'", "data row 4")
    assert line.startswith("CSV data set ")


@pytest.mark.parametrize("variant", ["bom", "crlf", "bom_crlf", "trailing_blank_lines",
                                     "cr_only", "tabs_bom_crlf", "quoted_header"])
def test_csv_bom_line_endings_and_trailing_lines_load_the_same_values(tmp_path, variant):
    text = _table()
    if "bom" in variant:
        text = "\ufeff" + text
    if "crlf" in variant:
        text = text.replace("\n", "\r\n")
    if variant == "cr_only":
        text = text.replace("\n", "\r")
    if "tabs" in variant:
        text = text.replace(",", "\t")
    if variant == "trailing_blank_lines":
        text += "\n\n  \n"
    if variant == "quoted_header":
        text = "\ufeff" + text.replace("a,b,label", '"a","b","label"', 1)
    data = load_dataset(_csv(tmp_path, text))
    assert data.extra.get("feature_names", ["a", "b"]) == ["a", "b"]   # not '\ufeffa'
    assert _rows(data) == _expected()


def test_csv_float_labels_are_the_classes_integer_labels_are(tmp_path):
    as_ints = load_dataset(_csv(tmp_path, _table(), "i.csv"))
    floats = [(a, b, c) for a, b, c in ROWS]
    text = "a,b,label\n" + "".join(f"{a:g},{b:g},{c + 1:.1f}\n" for a, b, c in floats)
    as_floats = load_dataset(_csv(tmp_path, text, "f.csv"))
    assert as_floats.class_names == ["1", "2"] and as_ints.class_names == ["0", "1"]
    assert _rows(as_floats) == _expected(names=("1", "2"))
    mixed = "a,b,label\n" + "".join(f"{a:g},{b:g},{c + 1}{'.0' if i % 3 else ''}\n"
                                    for i, (a, b, c) in enumerate(floats))
    assert _rows(load_dataset(_csv(tmp_path, mixed, "m.csv"))) == _expected(names=("1", "2"))


def test_csv_labels_with_spaces_around_them_are_one_class(tmp_path):
    text = "a,b,label\n" + "".join(f"{a:g},{b:g},{[' cat', 'cat ', 'dog'][i % 3]}\n"
                                   for i, (a, b, _) in enumerate(ROWS))
    data = load_dataset(_csv(tmp_path, text))
    assert data.class_names == ["cat", "dog"]
    assert [c for _, c in sorted(_rows(data))] == [
        ["cat", "cat", "dog"][i % 3] for i in range(20)]


@pytest.mark.parametrize("labels, kind, said", [
    (["0"] * 20, TooFewClasses, "1 class"),
    ([str(i % 2) for i in range(19)] + ["2"], UserError, "class '2' has 1"),
])
def test_csv_one_class_or_a_class_of_one_row_is_said(tmp_path, labels, kind, said):
    text = "a,b,label\n" + "".join(f"{i},{i * 3 % 7},{c}\n" for i, c in enumerate(labels))
    _refused(_csv(tmp_path, text), said, "t.csv", kind=kind)


@pytest.mark.parametrize("text, said", [
    ("a,a,label\n1,2,0\n3,4,1\n", "column 'a' twice"),
    ("a,b,label\n", "has 0 rows"),
    ("\ufeffa,b,label\r\n", "has 0 rows"),
    ("label\n0\n1\n", "at least one feature column"),
])
def test_csv_repeated_columns_header_only_and_no_feature_are_refused(tmp_path, text, said):
    _refused(_csv(tmp_path, text), said, "t.csv")


def test_csv_single_feature_loads_its_values(tmp_path):
    text = "a,label\n" + "".join(f"{a:g},{c}\n" for a, _, c in ROWS)
    data = load_dataset(_csv(tmp_path, text))
    assert data.input_shape == (1,)
    assert _rows(data) == sorted(((a,), str(c)) for a, _, c in ROWS)


def test_csv_wider_than_the_limit_is_refused_from_its_header(tmp_path):
    header = ",".join(f"f{i}" for i in range(100_000)) + ",label\n"
    text = header + ",".join("1" for _ in range(100_000)) + ",0\n"
    start = time.monotonic()
    _refused(_csv(tmp_path, text), "100,001 columns", "limit is 16,384")
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("cell, shown", [("3\u00a0", "'3\\xa0'"), ("1_003", "'1_003'"),
                                         ("\uff13", "'\uff13'")])
def test_csv_number_python_reads_but_pyarrow_does_not_names_its_row(tmp_path, cell, shown):
    # was: "feature column 'a' must hold numbers in every row, has string values"
    text = _table().replace("\n3,2,1\n", f"\n{cell},2,1\n")
    line = _refused(_csv(tmp_path, text), "feature column 'a'", "data row 4", "ASCII digits")
    assert shown in line, line


def test_csv_of_utf16_without_byte_order_mark_is_named(tmp_path):
    # was: "cannot be parsed: line 22 has 1 fields, expected 3 (as many as its first row)"
    name = _csv(tmp_path, _table(), encoding="utf-16-le")
    _refused(name, "t.csv", "NUL bytes", "UTF-16 without its byte-order mark")


def test_csv_text_labels_spelling_one_number_two_ways_are_warned_of(tmp_path, caplog):
    # was: classes '1', '1.0' and 'cat', silently
    text = "a,b,label\n" + "".join(f"{a:g},{b:g},{['1', '1.0', 'cat'][i % 3]}\n"
                                   for i, (a, b, _) in enumerate(ROWS))
    with caplog.at_level(logging.WARNING):
        data = load_dataset(_csv(tmp_path, text))
    assert data.class_names == ["1", "1.0", "cat"]
    said = [r.getMessage() for r in caplog.records if "spell one number two ways" in
            r.getMessage()]
    assert len(said) == 1 and "('1' and '1.0')" in said[0], said


@pytest.mark.parametrize("cell, said", [("1e999999999", "NaN or infinite values such as"),
                                         ("1e-999999999", "fractional values such as")])
def test_csv_label_of_a_huge_exponent_is_refused_at_once(tmp_path, cell, said):
    # was: a hang (Fraction('1e999999999') computes 10**999999999); > 60 s, unbounded
    text = "a,b,label\n" + "".join(f"{a:g},{b:g},{cell if i == 4 else c + 1}\n"
                                   for i, (a, b, c) in enumerate(ROWS))
    start = time.monotonic()
    _refused(_csv(tmp_path, text), said, repr(cell))
    assert time.monotonic() - start < 10


def test_text_labels_of_a_huge_exponent_load_at_once(tmp_path):
    # the spelling check reads text labels as numbers: bounded as the CSV one is
    import pyarrow as pa
    label = pa.array(["1e99999999" if i % 2 else "1e-99999999" for i in range(20)])
    start = time.monotonic()
    data = load_dataset(_parquet(tmp_path, a=A, b=B, label=label))
    assert data.class_names == ["1e-99999999", "1e99999999"]
    assert time.monotonic() - start < 10


def test_csv_labels_spelled_one_way_are_not_warned_of(tmp_path, caplog):
    text = "a,b,label\n" + "".join(f"{a:g},{b:g},{['1', '2', 'cat'][i % 3]}\n"
                                   for i, (a, b, _) in enumerate(ROWS))
    with caplog.at_level(logging.WARNING):
        load_dataset(_csv(tmp_path, text))
    assert not [r for r in caplog.records if "two ways" in r.getMessage()]


def test_csv_label_column_written_twice_is_warned_of(tmp_path, caplog):
    # was: 'target' (the classes as codes) read as a feature beside 'label', silently: the
    # model learnt the answer from it
    text = "a,target,label\n" + "".join(f"{a:g},{c + 5},{'cat' if c else 'dog'}\n"
                                        for a, _, c in ROWS)
    with caplog.at_level(logging.WARNING):
        data = load_dataset(_csv(tmp_path, text))
    assert data.input_shape == (2,)   # read by the rules still: a feature
    said = [r.getMessage() for r in caplog.records if "gives the answer away" in r.getMessage()]
    assert len(said) == 1 and "'target'" in said[0] and "'label'" in said[0], said


def test_csv_a_feature_named_y_of_other_values_is_not_warned_of(tmp_path, caplog):
    text = "x,y,label\n" + "".join(f"{a:g},{b:g},{c}\n" for a, b, c in ROWS)
    with caplog.at_level(logging.WARNING):
        load_dataset(_csv(tmp_path, text))
    assert not [r for r in caplog.records if "gives the answer away" in r.getMessage()]


# --------------------------------------------------------------------------- parquet: plain
def _parquet(tmp_path, name="t.parquet", **columns) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq
    path = tmp_path / name
    pq.write_table(pa.table(columns), path)
    return f"parquet:{path}"


A = np.arange(20, dtype=np.float64)
B = A * 3 % 7
LABELS = np.arange(20) % 2


@pytest.mark.parametrize("a, said", [
    ([None] + A[1:].tolist(), "1 empty cells"),
    (np.r_[np.nan, A[1:]], "NaN or infinite"),
    (np.r_[A[:3], np.inf, A[4:]], "NaN or infinite"),
    (np.r_[np.float16(np.nan), A[1:]].astype(np.float16), "NaN or infinite"),
])
def test_parquet_null_or_nan_feature_names_file_column_and_row(tmp_path, a, said):
    import pyarrow as pa
    name = _parquet(tmp_path, a=pa.array(a), b=B, label=LABELS)
    row = "data row 4" if np.isinf(np.asarray(a, dtype=float)[3]) else "data row 1"
    _refused(name, said, "t.parquet", "feature column 'a'", row)


@pytest.mark.parametrize("a, said", [
    ([[x, x] for x in A], "'list<element: double>' values"),
    ([{"p": x} for x in A], "struct<p: double>"),
    ([str(x) for x in A], "'string' values"),
])
def test_parquet_nested_or_string_feature_is_refused(tmp_path, a, said):
    import pyarrow as pa
    _refused(_parquet(tmp_path, a=pa.array(a), b=B, label=LABELS), said, "feature column 'a'")


@pytest.mark.parametrize("label, names", [
    (LABELS + 1.0, ["1", "2"]),                                  # floats 1.0/2.0
    ((LABELS + 1).astype(np.float32), ["1", "2"]),
    (LABELS.astype(bool), ["0", "1"]),
    ([" dog" if c else "cat " for c in LABELS], ["cat", "dog"]),
])
def test_parquet_label_types_load_their_classes(tmp_path, label, names):
    import pyarrow as pa
    data = load_dataset(_parquet(tmp_path, a=A, b=B, label=pa.array(label)))
    assert data.class_names == names
    assert _rows(data) == sorted(((a, b), names[c]) for a, b, c in zip(A, B, LABELS))


@pytest.mark.parametrize("label, said", [
    ([None] + LABELS[1:].tolist(), "1 empty cells"),
    (np.r_[np.nan, LABELS[1:]], "NaN or infinite"),
    (LABELS + 0.5, "fractional"),
    ([[int(c)] for c in LABELS], "one value a row"),
    ([b"x" if c else b"y" for c in LABELS], "bytes, not text"),
])
def test_parquet_labels_of_another_type_are_refused(tmp_path, label, said):
    import pyarrow as pa
    _refused(_parquet(tmp_path, a=A, b=B, label=pa.array(label)), said, "t.parquet")


def test_parquet_string_labels_spelling_one_number_two_ways_are_warned_of(tmp_path, caplog):
    # was: classes '1' and '1.0', silently
    import pyarrow as pa
    label = pa.array(["1.0" if i % 3 else "1" for i in range(20)])
    with caplog.at_level(logging.WARNING):
        data = load_dataset(_parquet(tmp_path, a=A, b=B, label=label))
    assert data.class_names == ["1", "1.0"]
    said = [r.getMessage() for r in caplog.records if "spell one number two ways" in
            r.getMessage()]
    assert len(said) == 1 and "t.parquet" in said[0], said


def test_parquet_repeated_column_no_rows_single_feature(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    twice = tmp_path / "twice.parquet"
    pq.write_table(pa.Table.from_arrays([pa.array(A), pa.array(B), pa.array(LABELS)],
                                        names=["a", "a", "label"]), twice)
    _refused(f"parquet:{twice}", "column 'a' twice")
    _refused(_parquet(tmp_path, "empty.parquet", a=A[:0], b=B[:0], label=LABELS[:0]),
             "has 0 rows")
    one = load_dataset(_parquet(tmp_path, "one.parquet", a=A, label=LABELS))
    assert one.input_shape == (1,)
    assert _rows(one) == sorted(((a,), str(c)) for a, c in zip(A, LABELS))


def test_parquet_wide_pandas_table_loads_in_bounded_time(tmp_path):
    # was: pandas' index metadata (a JSON naming every column) parsed once a column:
    # 3,000 columns took 45 s, the 16,384 allowed about 20 minutes
    import pandas as pd
    frame = pd.DataFrame({f"f{i}": np.arange(12) * (i % 5 + 1.0) for i in range(4000)})
    frame["label"] = np.arange(12) % 2
    frame.index = frame.index + 5   # a stored index, as a filtered frame's
    path = tmp_path / "wide.parquet"
    frame.to_parquet(path)
    start = time.monotonic()
    data = load_dataset(f"parquet:{path}")
    took = time.monotonic() - start
    assert data.input_shape == (4000,) and data.class_names == ["0", "1"]
    assert took < 10, took   # 2 s here after the fix, 80 s before


# --------------------------------------------------------------------------- parquet: nnsynth's
def _own(tmp_path, x, label, name="own.parquet") -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq
    meta = dict(input_shape=[1, 2, 2], num_classes=2, class_names=["a", "b"], mean=[0.0],
                std=[1.0])
    table = pa.table({"x": x, "label": label}).replace_schema_metadata(
        {b"nnsynth": json.dumps(meta).encode()})
    pq.write_table(table, tmp_path / name)
    return f"parquet:{tmp_path / name}"


def test_own_layout_null_label_is_named_as_one(tmp_path):
    # was: "labels must be integers, got float64"
    import pyarrow as pa
    x = pa.array([[float(i)] * 4 for i in range(20)])
    _refused(_own(tmp_path, x, pa.array([None] + [i % 2 for i in range(1, 20)])),
             "column label has 1 empty cells", "data row 1", "own.parquet")


def test_own_layout_without_rows_is_said(tmp_path):
    # was: "0 values for 0 rows do not match input_shape (1, 2, 2)"
    import pyarrow as pa
    _refused(_own(tmp_path, pa.array([], type=pa.list_(pa.float32())),
                  pa.array([], type=pa.int64())), "holds no rows", "own.parquet")


def test_own_layout_nan_or_null_input_names_its_row(tmp_path):
    import pyarrow as pa
    rows = [[float(i)] * 4 for i in range(20)]
    rows[6] = [1.0, None, 2.0, 3.0]
    _refused(_own(tmp_path, pa.array(rows), pa.array([i % 2 for i in range(20)])),
             "column x holds NaN or infinite values", "1 of 80", "data row 7")


# --------------------------------------------------------------------------- images:
def _images(root, spec: dict):
    from PIL import Image
    for rel, (mode, size, value) in spec.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new(mode, size, value).save(path)
    return f"images:{root}"


GRAY = {f"{c}/{i}.png": ("L", (4, 4), 20 * i + (120 if c == "b" else 0))
        for c in "ab" for i in range(5)}


def test_images_mixed_modes_in_one_class_load_as_rgb_with_their_values(tmp_path):
    spec = dict(GRAY)
    spec.update({"a/rgb.png": ("RGB", (4, 4), (255, 0, 0)), "a/p.png": ("P", (4, 4), 3),
                 "b/la.png": ("LA", (4, 4), (50, 255)), "b/one.png": ("1", (4, 4), 1)})
    data = load_dataset(_images(tmp_path, spec))
    assert data.input_shape == (3, 4, 4) and data.class_names == ["a", "b"]
    x, y = data.split("all")
    raw = x * torch.tensor(data.std)[:, None, None] + torch.tensor(data.mean)[:, None, None]
    pixels = sorted(tuple(round(v * 255) for v in r[:, 0, 0].tolist()) for r in raw)
    assert (255, 0, 0) in pixels and (255, 255, 255) in pixels and (50, 50, 50) in pixels
    assert (0, 0, 0) in pixels and len(pixels) == 14


def test_images_odd_folders_and_files(tmp_path):
    # one size: a 5x4 image among 4x4 ones is named with both sizes
    spec = dict(GRAY, **{"a/big.png": ("L", (5, 4), 0)})
    _refused(_images(tmp_path / "sizes", spec), "must share one size", "big.png", "5x4")
    # a class folder without images, and one holding only hidden files
    root = tmp_path / "empty"
    _images(root, GRAY)
    (root / "c").mkdir()
    _refused(f"images:{root}", "class folder 'c' holds no images")
    (root / "c" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    _refused(f"images:{root}", "class folder 'c' holds no images")
    # hidden files among images and beside the class folders are not read
    root = tmp_path / "hidden"
    _images(root, GRAY)
    for junk in (root / ".DS_Store", root / "a" / ".DS_Store", root / "b" / "._0.png"):
        junk.write_bytes(b"\0\0\0\1Bud1")
    data = load_dataset(f"images:{root}")
    assert len(data.split("all")[1]) == 10


def test_images_of_one_pixel_load_their_values(tmp_path):
    spec = {f"{c}/{i}.png": ("L", (1, 1), 20 * i + (120 if c == "b" else 0))
            for c in "ab" for i in range(5)}
    data = load_dataset(_images(tmp_path, spec))
    assert data.input_shape == (1, 1, 1)
    x, y = data.split("all")
    raw = (x.reshape(-1) * data.std[0] + data.mean[0]) * 255
    got = sorted((round(v), data.class_names[int(c)]) for v, c in zip(raw.tolist(), y))
    assert got == sorted((20 * i + (120 if c == "b" else 0), c) for c in "ab" for i in range(5))


# --------------------------------------------------------------------------- ts:
HEADER = ("@problemName p\n@timeStamps false\n@missing {missing}\n@univariate {uni}\n"
          "@equalLength {equal}\n@classLabel true {classes}\n@data\n")


def _ts(tmp_path, body: str, name="p.ts", missing="false", uni="true", equal="true",
        classes="a b") -> str:
    path = tmp_path / name
    path.write_text(HEADER.format(missing=missing, uni=uni, equal=equal, classes=classes)
                    + body, newline="")
    return f"ts:{path}"


SERIES = "".join(f"{i},{i + 1},{2 * i},{i % 3},{i + 4}:{'ab'[i % 2]}\n" for i in range(12))


def test_ts_trailing_missing_values_are_padding_and_values_are_kept(tmp_path):
    data = load_dataset(_ts(tmp_path, SERIES + "7,8,9,?,?:a\n", missing="true", equal="false"))
    assert data.input_shape == (1, 5) and data.extra["lengths"] == [3, 5]
    x, y = data.split("all")
    raw = x[:, 0] * data.std[0] + data.mean[0]
    short = [r for r in raw.tolist() if [round(v, 4) for v in r[2:]] == [7, 8, 9]]
    assert len(short) == 1   # left-padded: its three values last


@pytest.mark.parametrize("row, said", [
    ("1,?,3,4,5:a\n", "missing value inside a series (step 1)"),
    ("?,?,?,?,?:a\n", "a channel has no values"),
    ("1,inf,3,4,5:a\n", "infinite value at step 1"),
    ("1,,3,4,5:a\n", "a value is not a number"),
])
def test_ts_gaps_and_infinite_values_name_the_line(tmp_path, row, said):
    _refused(_ts(tmp_path, SERIES + row, missing="true", equal="false"), said, "p.ts:20")


@pytest.mark.parametrize("body, options, said", [
    (SERIES + "1,2,3:a\n", {}, "@equalLength true, but this series has 3 values"),
    (SERIES + "1,2,3,4,5:c\n", {}, "label 'c' is not in @classLabel"),
    ("".join(f"{i},2:3,{i}:{'ab'[i % 2]}\n" for i in range(6)) + "1,2:a\n",
     {"uni": "false"}, "this series has 1 channels, the first one 2"),
    ("".join(f"{i},2,3:4,{i}:{'ab'[i % 2]}\n" for i in range(6)),
     {"uni": "false", "equal": "false"}, "channels of one series have different lengths"),
    (SERIES.replace("\n", "\n", 1), {"classes": "a"}, "label 'b' is not in @classLabel"),
])
def test_ts_headers_that_lie_and_channels_that_differ_are_refused(tmp_path, body, options,
                                                                  said):
    _refused(_ts(tmp_path, body, **options), said, "p.ts")


def test_ts_class_listed_but_never_seen_is_named(tmp_path):
    # was: "class 'c' has 0 series; stratified splits need >= 3 per class"
    _refused(_ts(tmp_path, SERIES, classes="a b c"),
             "class 'c' is listed in @classLabel, but no series has that label")


def test_ts_bom_and_crlf_load_the_same_values(tmp_path):
    plain = load_dataset(_ts(tmp_path, SERIES, "plain.ts"))
    path = tmp_path / "crlf.ts"
    path.write_bytes(("\ufeff" + HEADER.format(missing="false", uni="true", equal="true",
                                                classes="a b") + SERIES + "\n\n")
                     .replace("\n", "\r\n").encode())
    other = load_dataset(f"ts:{path}")
    assert torch.equal(plain.split("all")[0], other.split("all")[0])
    assert torch.equal(plain.split("all")[1], other.split("all")[1])


def test_ts_labels_spelling_one_number_two_ways_are_warned_of(tmp_path, caplog):
    # was: classes '1', '1.0' and '2', silently
    body = "".join(f"{i},{i + 1},{2 * i}:{['1', '1.0', '2'][i % 3]}\n" for i in range(12))
    path = tmp_path / "n.ts"
    path.write_text("@problemName n\n@univariate true\n@equalLength true\n@data\n" + body)
    with caplog.at_level(logging.WARNING):
        data = load_dataset(f"ts:{path}")
    assert data.class_names == ["1", "1.0", "2"]
    said = [r.getMessage() for r in caplog.records if "spell one number two ways" in
            r.getMessage()]
    assert len(said) == 1 and "('1' and '1.0')" in said[0], said


# --------------------------------------------------------------------------- text:
@pytest.mark.parametrize("encode", [
    lambda t: t.encode("utf-16-le"),                       # UTF-16 without its mark
    lambda t: t.replace(" ", "\0 ").encode(),              # NUL bytes in UTF-8
    lambda t: t.replace(" ", "\0 ").encode("cp1252") + b"\xe9",   # ... in Windows-1252
])
def test_text_file_holding_nul_characters_is_refused(tmp_path, encode):
    # was: UTF-16 without its mark read as single letters ('t', 'h', 'e'), vocabulary 11
    from synth.text import load_text
    path = tmp_path / "t.txt"
    path.write_bytes(encode(" ".join(["the cat sat on the mat ."] * 200)))
    with pytest.raises(UserError) as e:
        load_text(f"text:{path}")
    assert "t.txt holds NUL characters" in _one_line(e)


def test_text_file_in_utf16_with_its_mark_or_crlf_still_loads(tmp_path):
    from synth.text import load_text
    text = " ".join(["the cat sat on the mat ."] * 200)
    for name, blob in (("u16.txt", text.encode("utf-16")),
                       ("crlf.txt", ("\ufeff" + text.replace(". ", ".\r\n")).encode())):
        (tmp_path / name).write_bytes(blob)
        data = load_text(f"text:{tmp_path / name}")
        assert data.vocab == ["<unk>", "<eos>", "the", "cat", "mat", "on", "sat"], data.vocab


# --------------------------------------------------------------------------- the CLI
def test_cli_train_on_an_odd_file_is_one_error_line(tmp_path):
    from tests._cli import one_error_line, run
    text = _table().replace("\n3,2,1\n", "\n3\u00a0,2,1\n")
    name = _csv(tmp_path, text)
    line = one_error_line(run(["train", "--dataset", name, "--model", "lenet300_100",
                               "--out", str(tmp_path / "out")]))
    assert line.startswith("error: ") and "data row 4" in line and "t.csv" in line, line
