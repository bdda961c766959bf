"""Labels and names as the loaders read them (helper h312, follow-ups of h309's probe).  Each
case marked "was:" failed before h312:

* a Parquet float label column of 0 and 1e300 was "class names must be strings of at most
  200 characters" (1e300 taken as the integer 10**300), and one of 2.0**62 loaded as class
  '4611686018427388000', which is not the float's value: beyond 2**53 a float is no exact
  integer class, refused naming the column, row and value (whole floats up to 2**53 are the
  integers they are, as a CSV's '2.0' is class 2); a CSV label '1e300' is refused as a
  number too long for a class name, not by the name check;
* a Parquet timestamp, date, time or duration label column loaded as classes named
  '1970-01-01 00:00:00.000': refused naming the column, its type and the label types
  accepted, as such a feature column is (a CSV's dates, which pyarrow reads as dates, too);
* an image class folder 'b ' was a class named 'b ' where a CSV label 'b ' is class 'b': a
  class is the folder's name without the spaces around it, and folders 'b' and 'b ' are
  refused naming both;
* an error naming a value escaped it twice: a no-break space showed as '3\\\\xa0' (printable's
  escape, repr'd), now '3\\xa0', and a byte of a folder name that is not UTF-8 as '\\xe9',
  not Python's '\\udce9'.
"""
from __future__ import annotations

import datetime
import decimal
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from synth.data import load_dataset
from synth.errors import UserError

A = np.arange(20, dtype=np.float64)
B = A * 3 % 7
LABELS = np.arange(20) % 2
ACCEPTED = "labels must be integers, text, true/false or whole numbers (floats, decimals)"


def _refused(name: str, *words: str) -> str:
    with pytest.raises(UserError) as e:
        load_dataset(name)
    text = str(e.value)
    assert "\n" not in text and "Traceback" not in text, text
    for w in words:
        assert w in text, (w, text)
    return text


def _parquet(tmp_path, label, name="t.parquet", label_name="label") -> str:
    path = tmp_path / name
    pq.write_table(pa.table({"a": A, "b": B, label_name: label}), path)
    return f"parquet:{path}"


def _csv(tmp_path, labels, name="t.csv") -> str:
    path = tmp_path / name
    path.write_text("a,b,label\n" + "".join(f"{a:g},{b:g},{c}\n"
                                            for a, b, c in zip(A, B, labels)))
    return f"csv:{path}"


# --------------------------------------------------------------------------- 1: float labels
@pytest.mark.parametrize("big, shown", [(1e300, "1e+300"), (-1e300, "-1e+300"),
                                        (2.0 ** 62, "4.611686018427388e+18"),
                                        (2.0 ** 53 + 2, "9007199254740994.0")])
def test_parquet_float_label_beyond_2_53_is_refused_naming_column_row_value(tmp_path, big,
                                                                            shown):
    # was: 1e300 "class names must be strings of at most 200 characters", 2.0**62 a class
    # named '4611686018427388000' (its repr's digits, not its value 4611686018427387904)
    label = pa.array(np.where(LABELS, big, 0.0))
    line = _refused(_parquet(tmp_path, label), "t.parquet", "label column 'label'",
                    f"the first {shown} in data row 2", "beyond ±2**53", "integers or text")
    assert "class names" not in line


def test_parquet_whole_float_labels_up_to_2_53_are_the_integers_they_are(tmp_path):
    label = pa.array(np.where(LABELS, 2.0 ** 53, -3.0))
    data = load_dataset(_parquet(tmp_path, label))
    assert data.class_names == ["-3", "9007199254740992"]   # exact, in numeric order
    _refused(_parquet(tmp_path, pa.array(np.where(LABELS, 2.5, 0.0)), "f.parquet"),
             "fractional")


def test_csv_label_too_long_for_a_class_name_is_refused_as_such(tmp_path):
    # was: "class names must be strings of at most 200 characters, got '1000...0'"
    cells = ["1e300" if i == 5 else str(c) for i, c in enumerate(LABELS)]
    line = _refused(_csv(tmp_path, cells), "label column 'label' holds '1e300' (data row 6)",
                    "301 digits", "at most 200 characters")
    assert "class names must be" not in line
    # the text is exact: an integer of 31 digits is a class still (as before)
    data = load_dataset(_csv(tmp_path, ["1e30" if c else "0" for c in LABELS], "ok.csv"))
    assert data.class_names == ["0", str(10 ** 30)]


# --------------------------------------------------------------------------- 2: date/time labels
DATES = [
    (pa.array([datetime.datetime(1970, 1, 1 + int(c)) for c in LABELS], pa.timestamp("ms")),
     "'timestamp[ms]'"),
    (pa.array([datetime.datetime(2020, 1, 1 + int(c), tzinfo=datetime.timezone.utc)
               for c in LABELS], pa.timestamp("us", tz="UTC")), "'timestamp[us, tz=UTC]'"),
    (pa.array([datetime.date(1970, 1, 1 + int(c)) for c in LABELS]), "'date32[day]'"),
    (pa.array([datetime.time(1, int(c)) for c in LABELS]), "'time64[us]'"),
    (pa.array([datetime.timedelta(seconds=int(c)) for c in LABELS]), "'duration[us]'"),
]


@pytest.mark.parametrize("label, kind", DATES)
def test_parquet_date_or_time_labels_are_refused_naming_column_and_type(tmp_path, label,
                                                                        kind):
    # was: classes named '1970-01-01 00:00:00.000' and '1970-01-02 00:00:00.000'
    _refused(_parquet(tmp_path, label), "t.parquet", f"label column 'label' holds {kind} "
             "values: dates, times and durations are no classes", ACCEPTED)
    # as a feature column of those values is
    path = tmp_path / "f.parquet"
    pq.write_table(pa.table({"a": label, "b": B, "label": LABELS}), path)
    _refused(f"parquet:{path}", "feature column 'a' must hold numbers", kind)


def test_date_labels_of_a_category_or_the_last_column_are_refused(tmp_path):
    # a pandas category of dates: its values are dates
    cat = DATES[2][0].dictionary_encode()
    _refused(_parquet(tmp_path, cat), "label column 'label' holds 'date32[day]' values")
    # the last column taken as the labels by the rule: the message says so
    line = _refused(_parquet(tmp_path, DATES[0][0], "when.parquet", label_name="when"),
                    "label column 'when' holds 'timestamp[ms]'", "else the last: here 'when'")
    assert line.endswith(ACCEPTED)


def test_csv_date_labels_are_refused(tmp_path):
    # pyarrow reads a CSV column of dates as dates: was classes '2020-01-01', '2020-01-02'
    _refused(_csv(tmp_path, [f"2020-01-0{1 + c}" for c in LABELS]),
             "label column 'label' holds 'date32[day]' values", ACCEPTED)


def test_decimal_and_bool_labels_still_load(tmp_path):
    dec = pa.array([decimal.Decimal("2.00") if c else decimal.Decimal("10") for c in LABELS])
    assert load_dataset(_parquet(tmp_path, dec)).class_names == ["2", "10"]
    flags = pa.array(LABELS.astype(bool))
    assert load_dataset(_parquet(tmp_path, flags, "b.parquet")).class_names == ["0", "1"]


# --------------------------------------------------------------------------- 3: image folders
def _images(root, folders) -> str:
    for k, folder in enumerate(folders):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        for i in range(5):
            Image.new("L", (4, 4), 30 * k + 5 * i).save(os.path.join(root, folder, f"{i}.png"))
    return f"images:{root}"


def test_image_class_folder_names_lose_the_spaces_around_them(tmp_path):
    # was: classes 'a' and 'b ', where a CSV label 'b ' is class 'b'
    data = load_dataset(_images(tmp_path / "one", ["a", "b ", "\xa0c"]))
    assert data.class_names == ["a", "b", "c"]
    assert np.bincount(data.split("all")[1].numpy()).tolist() == [5, 5, 5]
    inner = load_dataset(_images(tmp_path / "two", ["left\xa0hand", "foot"]))   # as h307's
    assert inner.class_names == ["foot", "left\xa0hand"]


def test_image_class_folders_of_one_name_but_spaces_are_refused(tmp_path):
    # was: two classes, 'b' and 'b ', of one name as a CSV reads it
    _refused(_images(tmp_path, ["a", "b", "b "]),
             "class folders 'b' and 'b ' are one class name 'b'", "merge or rename one")


def test_split_folders_of_one_class_with_and_without_spaces_are_one_class(tmp_path):
    data = load_dataset(_images(tmp_path, ["train/a", "train/b ", "test/a", "test/b"]))
    assert data.class_names == ["a", "b"] and len(data.y_test) == 10


# --------------------------------------------------------------------------- 4: escaped once
def test_a_no_break_space_in_a_csv_number_is_escaped_once(tmp_path):
    # was: '3\\\\xa0' (printable's backslash escaped again by repr)
    path = tmp_path / "n.csv"
    path.write_text("a,b,label\n" + "".join(
        f"{'3' + chr(0xa0) if i == 3 else f'{a:g}'},{b:g},{c}\n"
        for i, (a, b, c) in enumerate(zip(A, B, LABELS))))
    line = _refused(f"csv:{path}", "feature column 'a'", "data row 4")
    assert "such as '3\\xa0'" in line and "\\\\" not in line, line


def test_a_column_name_with_a_control_character_is_escaped_once(tmp_path):
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"a\tb": [str(x) for x in A], "label": LABELS}), path)
    line = _refused(f"parquet:{path}", "feature column 'a\\tb'")
    assert "\\\\" not in line, line


def test_a_folder_name_that_is_not_utf8_shows_its_byte_once(tmp_path):
    # was: class folder 'caf\\udce9' (repr of Python's surrogate)
    _images(tmp_path, ["a", "b"])
    os.mkdir(os.fsdecode(os.fsencode(str(tmp_path)) + b"/caf\xe9"))
    line = _refused(f"images:{tmp_path}", "class folder 'caf\\xe9' holds no images")
    assert "udc" not in line and "\\\\" not in line, line


def test_quoted_escapes_once():
    from synth.files import quoted
    assert quoted("3\xa0") == "'3\\xa0'"
    assert quoted(os.fsdecode(b"caf\xe9")) == "'caf\\xe9'"
    assert quoted("a\\udce9") == "'a\\\\udce9'"   # a backslash written in the name: kept
    assert quoted("plain") == "'plain'" and quoted(12) == "12"


def test_a_model_and_a_table_whose_columns_differ_name_them_escaped_once():
    # was: missing 'a\\\\xa0' (checkpoint.columns_differ_detail, short_repr(printable(...)))
    from synth.checkpoint import columns_differ_detail
    assert columns_differ_detail(["a\xa0", "b"], ["b", "c\t"]) == \
        "missing 'a\\xa0'; unexpected 'c\\t'"


def test_a_fractional_label_names_its_row(tmp_path):
    """h312 left it: a fractional float label said the value but not where it is."""
    labels = LABELS.astype(np.float64)
    labels[6] = 0.5
    pq.write_table(pa.table({"a": A, "b": B, "label": labels}), tmp_path / "t.parquet")
    with pytest.raises(UserError, match=r"fractional values such as '0\.5' \(data row 7;"):
        load_dataset(f"parquet:{tmp_path / 't.parquet'}")
    (tmp_path / "t.csv").write_text("a,label\n" + "".join(
        f"{i},{0.5 if i == 11 else i % 2}\n" for i in range(20)))
    with pytest.raises(UserError, match=r"fractional values such as '0\.5' \(data row 12;"):
        load_dataset(f"csv:{tmp_path / 't.csv'}")
