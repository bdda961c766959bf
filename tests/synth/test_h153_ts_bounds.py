"""Reading a user's .ts file is bounded in memory and time whatever the file holds (h153).

The reader held the whole file, its lines and every value as a Python string: 1.3 GB and
52 s for a 48 MB file of one 12M-step series (h150's probe).  Each hostile file here is
refused at the line that crosses a bound, before the rest is read; bounds too large to
reach in a quick test are lowered through the module's constants (set with raising=False,
so that the reader before these bounds, which had none of them, runs the same file)."""
import tracemalloc

import numpy as np
import pytest

import synth.sequences as seq
from synth.data import load_dataset
from synth.errors import UserError
from synth.sequences import read_ts

HEADER = "@problemName P\n@classLabel true a b c\n@data\n"
ROWS = "".join(f"{i},{i + 1},{i + 2}:{'abc'[i % 3]}\n" for i in range(9))


def _write(path, text):
    path.write_text(text)
    return path


def _refused(path, *words, reader=read_ts, max_mb=None):
    """The one-line error of reading ``path``, holding every one of ``words``; with
    ``max_mb``, the reading's peak of traced allocations stays under it."""
    tracemalloc.start()
    try:
        with pytest.raises(UserError) as e:
            reader(path)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()
    msg = str(e.value)
    assert "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    if max_mb is not None:
        assert peak < max_mb, f"{peak:.0f} MB"
    return msg


def test_a_series_over_the_values_bound_is_refused_before_it_is_parsed(tmp_path):
    """One series of 4,194,305 values (an 8 MB line): every value was a Python string,
    ~250 MB, and the series was read.  Now its commas are counted first."""
    p = _write(tmp_path / "long.ts", HEADER + "0," * 4_194_304 + "0:a\n" + ROWS)
    _refused(p, ":4:", "4,194,305 values", "limit is 4,194,304", max_mb=64)


def test_repeated_question_marks_count_as_values(tmp_path):
    """A value and then 4,194,304 '?' (padding of a shorter series): each '?' was read by
    Python one by one; they count towards the series' values as they are held."""
    p = _write(tmp_path / "q.ts", HEADER + "1," + "?," * 4_194_303 + "?:a\n" + ROWS)
    _refused(p, ":4:", "4,194,305 values", "'?' included", max_mb=64)
    # under the bound: the padding is parsed with the numbers and dropped
    p = _write(tmp_path / "q2.ts", HEADER + "1.5," + "?," * 99_999 + "?:a\n" + ROWS)
    series, labels, _ = read_ts(p)
    assert series[0].tolist() == [[1.5]] and labels[0] == "a" and len(series) == 10


def test_many_channels_are_refused_before_they_are_split(tmp_path):
    """A header declaring huge dimensions and rows that have them: 16,385 channels a row
    (each channel was parsed and checked on its own: 10**6 channels took 18 s a row)."""
    n = 16_385
    row = ":".join(["0"] * n)
    p = _write(tmp_path / "wide.ts", f"@problemName P\n@dimensions {n}\n@classLabel true a b c"
               f"\n@data\n" + "".join(f"{row}:{c}\n" for c in "abcabcabc"))
    _refused(p, ":5:", "16,385 channels", "limit is 16,384")


def test_a_long_line_is_refused_at_the_line_bound(tmp_path, monkeypatch):
    """A line without a newline (a 500 MB one was read whole, with copies): reading stops
    at MAX_TS_LINE characters (lowered here to 1 MiB; the line is 3 MB)."""
    monkeypatch.setattr(seq, "MAX_TS_LINE", 1 << 20, raising=False)
    p = _write(tmp_path / "line.ts", HEADER + ROWS + "1," * 1_500_000 + "1:a")
    _refused(p, ":13:", "line longer than 1,048,576 characters", max_mb=16)


def test_many_tiny_series_are_refused_at_the_series_bound(tmp_path, monkeypatch):
    """Millions of one-step series (3 million took 108 s and 1.3 GB); bounded by
    MAX_SERIES (lowered to 1,000), counted over a TRAIN and TEST pair together."""
    monkeypatch.setattr(seq, "MAX_SERIES", 1_000, raising=False)
    rows = "".join(f"{i}:{'abc'[i % 3]}\n" for i in range(1_200))
    p = _write(tmp_path / "tiny.ts", HEADER + rows)
    _refused(p, ":1004:", "more than 1,000 series")
    half = "".join(f"{i}:{'abc'[i % 3]}\n" for i in range(600))
    _write(tmp_path / "P_TRAIN.ts", HEADER + half)
    _write(tmp_path / "P_TEST.ts", HEADER + half)
    _refused(f"ts:{tmp_path}/P", "P_TEST.ts:404:", "more than 1,000 series",
             "TRAIN and TEST together", reader=load_dataset)


def test_padding_to_the_longest_series_is_bounded_as_the_file_is_read(tmp_path, monkeypatch):
    """Lengths varying 1000x: the set padded to its longest series is counted line by line
    (MAX_SEQUENCE_VALUES, lowered to 100,000) and refused at the line that crosses it,
    before the rest of the file is read (here a broken line the reader never reaches)."""
    monkeypatch.setattr(seq, "MAX_SEQUENCE_VALUES", 100_000, raising=False)
    long = ",".join(["1"] * 10_000)
    rows = "".join(f"{i}:{'abc'[i % 3]}\n" for i in range(20))
    p = _write(tmp_path / "pad.ts", HEADER + f"{long}:a\n" + rows + "not a series\n")
    _refused(p, ":14:", "11 series x 1 channels x 10,000 steps", "110,000 values",
             "limit is 100,000")


def test_blank_and_comment_lines_are_bounded(tmp_path, monkeypatch):
    """10**8 blank lines took 20 s and 1.1 GB (all split at once); lines without a series
    are counted (MAX_TS_OTHER_LINES, lowered to 1,000)."""
    monkeypatch.setattr(seq, "MAX_TS_OTHER_LINES", 1_000, raising=False)
    p = _write(tmp_path / "blank.ts", HEADER + "\n" * 600 + "# c\n" * 600 + ROWS)
    _refused(p, ":1001:", "more than 1,000 lines without a series")


def test_labels_and_classes_are_bounded(tmp_path, monkeypatch):
    """A label longer than a class name may be (was refused only after the whole set was
    read), and more classes than MAX_TS_CLASSES (lowered to 5), seen or declared."""
    p = _write(tmp_path / "label.ts", HEADER.replace(" a b c", "") + ROWS + "1:" + "x" * 201)
    _refused(p, ":13:", "label of 201 characters", "at most 200")
    monkeypatch.setattr(seq, "MAX_TS_CLASSES", 5, raising=False)
    rows = "".join(f"{i}:c{i % 6}\n" for i in range(18))
    p = _write(tmp_path / "seen.ts", "@problemName P\n@data\n" + rows)
    _refused(p, ":8:", "more than 5 different labels")
    p = _write(tmp_path / "declared.ts", "@problemName P\n@classLabel true "
               + " ".join(f"c{i}" for i in range(6)) + "\n@data\n" + rows)
    _refused(p, "@classLabel lists more than 5 classes")


def test_encoding_is_decided_for_the_whole_file_in_blocks(tmp_path, monkeypatch):
    """The file is decoded a block at a time (lowered to 64 bytes) and still read in one
    encoding: a byte that is not UTF-8 after the first block makes the whole file
    Windows-1252, as when it was decoded whole; a file that is neither names the byte."""
    monkeypatch.setattr(seq, "_BLOCK", 64, raising=False)
    rows = ROWS.replace(":a\n", ":é\n", 1)
    p = tmp_path / "latin.ts"
    p.write_bytes((HEADER.replace(" a b c", "") + rows + "1:\xe9\n" * 3).encode("utf-8")
                  .replace(b"1:\xc3\xa9\n", b"1:\xe9\n"))
    series, labels, _ = read_ts(p)
    assert labels[0] == "Ã©" and labels[-1] == "é" and len(series) == 12
    p = tmp_path / "utf16.ts"
    p.write_text(HEADER.replace(" a b c", "") + ROWS.replace(":a\n", ":é\n"),
                 encoding="utf-16")
    assert read_ts(p)[1][0] == "é"
    p = tmp_path / "bad.ts"
    data = (HEADER + ROWS).encode() + b"1:\x81\xc3\n"
    p.write_bytes(data)
    at = data.index(b"\x81")
    _refused(p, "neither UTF-8 nor Windows-1252", f"at byte {at})")


def test_a_legitimate_set_reads_as_before(tmp_path, monkeypatch):
    """Unequal lengths padded with '?' and NaN, several channels, lines parsed a piece at
    a time (pieces lowered to 16 characters, shorter than some values): the series come
    out as written."""
    monkeypatch.setattr(seq, "_PIECE", 16, raising=False)
    rng = np.random.default_rng(0)
    rows, want = [], []
    for i in range(12):
        steps = 3 + i % 4
        a = rng.normal(size=(3, steps))
        want.append(a)
        pad = ",?" * (6 - steps) if i % 2 else ",NaN" * (6 - steps)
        rows.append(":".join(",".join(repr(float(v)) for v in c) + pad for c in a) + f":{'abc'[i % 3]}")
    p = _write(tmp_path / "ok.ts", HEADER + "\n".join(rows) + "\n")
    series, labels, declared = read_ts(p)
    assert declared == ["a", "b", "c"] and labels == list("abc" * 4)
    assert all(s.dtype == np.float64 and np.array_equal(s, w) for s, w in zip(series, want))
