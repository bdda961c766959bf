"""``csv:<path>``: a user's CSV file read as a tabular set.

The file's layout is found from the file itself (``_csv_layout``: delimiter, header row,
encoding, decimal mark), bounded by its size and its first row's width before pyarrow
parses it; files that are no text table (workbooks, Parquet, NumPy) are named.  The table
becomes a set by ``synth.data_tables.table_dataset``.
"""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from synth.data_registry import (first_repeated, missing_path, printable, register_dataset,
                                  shown)
from synth.data_tables import MAX_CSV_COLUMNS, _is_number, table_dataset
from synth.dataset import Dataset
from synth.errors import UserError
from synth.logs import set_logger

# its messages keep the logger name they had when this code lived in synth.data
log = set_logger("synth.data")   # quiet while a set is read to compare


# --------------------------------------------------------------------------- CSV
# A user's own table: one sample per row.  The file is read as it is
# (never decompressed: a .csv.gz of 1 MB can hold gigabytes), so its size bounds the memory
# (pyarrow holds at most about 8 bytes per value and a value takes >= 2 bytes of text).
MAX_CSV_BYTES = 512 << 20
MAX_CSV_HEADER_BYTES = 4 << 20
CSV_BLOCK_BYTES = 1 << 22          # pyarrow's block: a row (a quoted field) must fit in one
CSV_DELIMITERS = (",", ";", "\t")   # a first row of one column by commas: the others tried
# Text that is not UTF-8 is read as Windows-1252 (Latin-1 with printable characters at
# 0x80-0x9f, which Latin-1 has as control characters): pyarrow read its text cells as bytes,
# and a label column of 'été' and 'à' trained on classes named "b'\xe9t\xe9'" and "b'\xe0'".
CSV_FALLBACK_ENCODING = "cp1252"
CSV_CODEPAGE_SAMPLE_BYTES = 1 << 20   # the start of a non-UTF-8 file checked for its code page


@dataclasses.dataclass(frozen=True)
class CsvLayout:
    """How a user's CSV file is read, found from the file itself (``_csv_layout``): its
    delimiter, whether its first row is a header (a first row of numbers only is data: the
    columns are named f0, f1, ... and the last holds the labels), its text encoding and the
    decimal mark of its numbers (a comma in a semicolon-separated file: 0,5;1,25)."""
    delimiter: str = ","
    header: bool = True
    encoding: str = "utf-8"
    decimal: str = "."


def _csv_layout(raw, path: str) -> CsvLayout:
    """The delimiter and header of the open file ``raw`` from at most MAX_CSV_HEADER_BYTES of
    its start (its first row parsed by Python's csv reader, its width bounded); the file is
    left at its start.  A first row read by commas as one column is read by the first of
    CSV_DELIMITERS that makes it several (a semicolon file was one feature named 'a;b;c').
    A first row of numbers only is data, not names: its row was dropped as a header and its
    numbers became the column names (pandas' default names 0, 1, ..., n-1 stay a header)."""
    import csv
    import io
    head = raw.read(MAX_CSV_HEADER_BYTES)
    raw.seek(0)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):   # read as UTF-8, its names were a traceback
        raise UserError(f"CSV data set {path} is UTF-16 text; save it as UTF-8")
    if b"\x00" in head:   # UTF-16 without its byte-order mark: "line 22 has 1 fields"
        raise UserError(f"CSV data set {path} holds NUL bytes: it is not text, or is UTF-16 "
                        f"without its byte-order mark; save it as UTF-8")
    decoded = head.decode("utf-8", "replace").removeprefix("\ufeff")
    for delimiter in CSV_DELIMITERS:
        text = io.StringIO(decoded, newline="")
        try:
            first = next(csv.reader(text, delimiter=delimiter), [])
        except csv.Error as e:   # a field beyond csv's own limit of 128 kB
            raise UserError(f"CSV data set {path}: its header row cannot be parsed "
                            f"({e})") from None
        if len(first) > 1:
            break
    else:
        delimiter, text = ",", io.StringIO(decoded, newline="")
        first = next(csv.reader(text), [])
    width = len(first)
    if width > MAX_CSV_COLUMNS:
        raise UserError(f"CSV data set {path} has {width:,} columns in its header row; the "
                        f"limit is {MAX_CSV_COLUMNS:,}")
    if len(head) == MAX_CSV_HEADER_BYTES and not text.getvalue()[:text.tell()].endswith(
            ("\n", "\r")):
        raise UserError(f"CSV data set {path}: its header row is longer than "
                        f"{MAX_CSV_HEADER_BYTES:,} bytes")
    names = [n.strip() for n in first]
    header = not (width > 1 and all(_is_number(n) for n in names)
                  and names != [str(i) for i in range(width)])
    if not header:
        log.info("CSV data set %s: its first row holds numbers only; read as data (no header "
                 "row), columns f0..f%d, the last the labels", path, width - 1)
    return CsvLayout(delimiter=delimiter, header=header)


class _RowFields:
    """pyarrow's handler of a row of too few or many fields: a line of spaces or tabs only
    (an editor's last line, 'a,b\\n1,2\\n  \\n') is skipped as an empty line is, where it was
    "cannot be parsed: Expected 3 columns, got 1:" followed by the invisible spaces; any
    other is the parse error it was, remembered (``refused``: its line number, fields
    expected and found) for an error that need not quote pyarrow's (which holds the row)."""

    def __init__(self) -> None:
        self.refused: tuple | None = None

    def __call__(self, row) -> str:
        if not (row.text or "").strip():
            return "skip"
        self.refused = (row.number, row.expected_columns, row.actual_columns)
        return "error"


class _NotUtf8(Exception):
    """A row pyarrow refused is not UTF-8 (``_csv_parse``): the file is read again in
    CSV_FALLBACK_ENCODING, as one whose columns are not UTF-8 is."""


def _csv_parse(raw, path: str, layout: CsvLayout, convert=None, threads: bool = True):
    import sys
    previous = sys.unraisablehook
    undecodable = []

    def hook(unraisable):   # pyarrow decodes a refused row as UTF-8 before it calls the
        # handler: a row that is not printed "Exception ignored in: <_RowFields>" and a
        # UnicodeDecodeError traceback on stderr, then failed the parse
        if isinstance(unraisable.object, _RowFields) and isinstance(unraisable.exc_value,
                                                                    UnicodeDecodeError):
            undecodable.append(1)
        else:
            previous(unraisable)

    sys.unraisablehook = hook
    try:
        return _csv_parse_once(raw, path, layout, convert, threads)
    except UserError:
        if undecodable and layout.encoding == "utf-8":
            raise _NotUtf8 from None
        raise
    finally:
        sys.unraisablehook = previous


def _csv_parse_once(raw, path: str, layout: CsvLayout, convert=None, threads: bool = True):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    raw.seek(0)
    if convert is None:
        convert = pacsv.ConvertOptions()
    convert.decimal_point = layout.decimal
    rows = _RowFields()
    try:
        # pyarrow reads a Python file object from its own I/O threads (readahead, threaded
        # or not), and a read still pending when a parse error ended the command (an empty
        # file, a 10 MB line) took the GIL after Python's shutdown: 'terminate called
        # without an active exception', exit 134 after the error line (1 run in 3 to 10).
        # Its own file of the same path needs no Python to read.
        with pa.OSFile(os.fspath(raw.name)) as source:
            return pacsv.read_csv(
                source, read_options=pacsv.ReadOptions(
                    block_size=CSV_BLOCK_BYTES, encoding=layout.encoding, use_threads=threads,
                    autogenerate_column_names=not layout.header),
                parse_options=pacsv.ParseOptions(delimiter=layout.delimiter,
                                                 invalid_row_handler=rows),
                convert_options=convert)
    except UnicodeDecodeError:
        raise UserError(f"CSV data set {path} cannot be parsed: it is neither UTF-8 nor "
                        f"Windows-1252 (Latin-1) text; save it as UTF-8") from None
    except pa.ArrowInvalid as e:
        if rows.refused is not None and rows.refused[0] is None and threads:
            # pyarrow numbers the rows it refuses only when it parses in one thread: the
            # failing parse again, once, for the line number of its error
            return _csv_parse_once(raw, path, layout, convert, threads=False)
        raise UserError(f"CSV data set {path} cannot be parsed: "
                        f"{_parse_problem(e, rows.refused)}") from None


def _parse_problem(error, refused: tuple | None) -> str:
    """What pyarrow's CSV parse ``error`` found, in words that quote none of the file (a row
    is no short cell, ``shown``): pyarrow's own message ends with the whole row it refused
    ('Expected 1 columns, got 4: postgres:x:101:...'), a line of a file a crafted
    checkpoint named (csv:/etc/passwd) printed by `nnsynth eval --model`."""
    import re
    if refused is not None:
        number, expected, actual = refused
        line = f"line {number:,}" if number is not None and number >= 0 else "a line"
        return (f"{line} has {actual:,} fields, expected {expected:,} (as many as its first "
                f"row)")
    first = (str(error).splitlines() or [type(error).__name__])[0]
    if "straddl" in first:   # 'straddling object straddles two block boundaries (try to
        # increase block size?)': an option the user does not have
        return (f"a row longer than {CSV_BLOCK_BYTES:,} bytes (a quoted field that runs on, "
                f"or a quote left open?); nnsynth reads rows of numbers, not long text")
    if "out of sync with chunker" in first:   # '... please consider enabling the option
        # 'newlines_in_values'.': cut at its quote, and an option the user does not have
        return ("a quoted value runs over several lines (or a quote is left open); nnsynth "
                "reads rows of numbers, one a line")
    # pyarrow's other messages quote a value after "invalid value" or a row after "got N:"
    first = re.sub(r"(invalid value|got \d+)\b.*", r"\1", first)
    first = re.split("['\"]", first)[0][:200]
    return "".join(c if c.isascii() and c.isprintable() else "?" for c in first)


def _undecoded(table) -> bool:
    """``table`` (read as UTF-8) holds text that is not UTF-8: in its header, or a column
    that pyarrow typed as bytes."""
    import pyarrow as pa
    try:
        table.schema.names
    except UnicodeDecodeError:
        return True
    return any(pa.types.is_binary(t) or pa.types.is_large_binary(t)
               for t in table.schema.types)


def _numeric_columns(table) -> int:
    import pyarrow as pa
    return sum(pa.types.is_integer(t) or pa.types.is_floating(t) for t in table.schema.types)


def _csv_read(path: str, convert=None, layout: CsvLayout | None = None):
    """(pyarrow table, its ``CsvLayout``) of the CSV file ``path`` (``convert``: pyarrow
    ConvertOptions), bounded by its size and its first row's width before it is parsed.
    Without ``layout`` it is found: the delimiter and header from the first row, the encoding
    (UTF-8, else CSV_FALLBACK_ENCODING) and, in a semicolon file, the decimal mark."""
    f = Path(path).expanduser()
    if not f.is_file():
        raise missing_path("csv", f)
    size = f.stat().st_size
    if size == 0:   # empty, or a /proc file (pyarrow's read of /proc/kmsg waited forever)
        raise UserError(f"CSV data set {path} reports 0 bytes; expected a header row and "
                        f"rows of numbers")
    if size > MAX_CSV_BYTES:
        raise UserError(f"CSV data set {path} is {size:,} bytes; the limit is "
                        f"{MAX_CSV_BYTES:,} (write larger sets as Parquet)")
    try:
        with open(f, "rb") as raw:   # a file object: pyarrow does not guess a compression
            return _csv_read_from(raw, path, convert, layout)
    except OSError as e:   # no permission, an I/O error: it was a traceback
        why = e.strerror or type(e).__name__
        raise UserError(f"CSV data set {path} cannot be read ({why})") from None


# The first bytes of files a user may give as csv: that are no text table: the spreadsheet
# workbooks (xlsx and ods are zip files, called "compressed"; an xls was parsed as text) and
# a Parquet file ('Expected 1 columns, got 2: ??').
_OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")   # Excel 97-2003 (.xls)
_WORKBOOK_PARTS = (b"[Content_Types].xml", b"xl/", b"mimetypeapplication/vnd.oasis")


def _other_kind(start: bytes, path: str) -> str:
    """What the file that begins with ``start`` is when it is a workbook or a Parquet file
    (and how to load it), else ''."""
    workbook = Path(path).suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods")
    if start.startswith(_OLE2_MAGIC) or (start.startswith(b"PK") and (
            workbook or any(part in start for part in _WORKBOOK_PARTS))):
        return "is a spreadsheet workbook, not CSV text; save its sheet as CSV (File > Save As)"
    if start.startswith(b"PAR1"):
        return f"is a Parquet file; load it as parquet:{printable(path)}"
    if start.startswith(b"\x93NUMPY") or (start.startswith(b"PK") and (
            Path(path).suffix.lower() == ".npz" or b".npy" in start)):   # was "compressed"
        return ("is a NumPy array file, not CSV text; NumPy files are not read (they may hold "
                "pickled objects): write the arrays as a CSV table (a column per feature and "
                "a label column)")
    return ""


def _csv_read_from(raw, path: str, convert, layout: CsvLayout | None):
    """``_csv_read`` of the open file ``raw``."""
    import copy
    start = raw.read(4096)
    kind = _other_kind(start, path)
    if kind:
        raise UserError(f"CSV data set {path} {kind}")
    if start[:2] in (b"\x1f\x8b", b"PK", b"BZ", b"\xfd7", b"(\xb5"):
        raise UserError(f"CSV data set {path} is compressed; give the uncompressed .csv")
    raw.seek(0)
    if layout is not None:
        try:
            return _csv_parse(raw, path, layout, convert), layout
        except _NotUtf8:
            raise UserError(f"CSV data set {path} cannot be parsed: a row is not "
                            f"{layout.encoding} text") from None
    layout = _csv_layout(raw, path)
    try:
        table = _csv_parse(raw, path, layout, copy.copy(convert))
    except _NotUtf8:   # a row pyarrow refused is not UTF-8: neither is the file
        table = None
    if table is None or _undecoded(table):
        layout = dataclasses.replace(layout, encoding=CSV_FALLBACK_ENCODING)
        log.info("CSV data set %s is not UTF-8 text; read as %s (Latin-1)", path,
                 CSV_FALLBACK_ENCODING)
        # the code-page check text: and .ts files have: a Windows-1251 (Russian) label
        # column was read as Latin-1 garbage 'êîøêà' and trained on silently
        from synth.files import check_latin_reading
        raw.seek(0)
        check_latin_reading(raw.read(CSV_CODEPAGE_SAMPLE_BYTES).decode(
            CSV_FALLBACK_ENCODING, "replace"), "CSV data set", path)
        table = _csv_parse(raw, path, layout, copy.copy(convert))
    if layout.delimiter == ";" and _numeric_columns(table) < table.num_columns:
        comma = dataclasses.replace(layout, decimal=",")
        try:
            other = _csv_parse(raw, path, comma, copy.copy(convert))
        except UserError:
            other = None
        if other is not None and _numeric_columns(other) > _numeric_columns(table):
            table, layout = other, comma
    return table, layout


def _dropped_index(table) -> list[int]:
    """The columns of ``table`` that are no data: a first column without a name whose values
    are all different whole numbers or text (the row index pandas' to_csv writes by default,
    R's row names; as a feature it numbered the rows, and in a file sorted by class gave the
    answer away) and columns without a name or values (a trailing delimiter on every line).
    A first column of fractional numbers is a measurement whose header cell was left empty,
    not an index: it was dropped too, and a CSV whose one informative feature it was trained
    to chance (0.333 of 3 classes) without a word."""
    import pyarrow as pa
    import pyarrow.compute as pc
    names, drop = table.schema.names, []
    if names and names[0].strip() in ("", "Unnamed: 0") and table.num_rows:
        first = table.column(0)
        if (not first.null_count and not pa.types.is_floating(first.type)
                and pc.count_distinct(first).as_py() == table.num_rows):
            drop.append(0)
    drop += [i for i, n in enumerate(names) if i and not n.strip()
             and table.column(i).null_count == table.num_rows]
    return drop


def _csv_columns(path: str):
    """(column names, pyarrow table, layout) of the CSV file ``path`` without its row
    index or empty columns (``_dropped_index``), every name given once (pyarrow reads a
    header of two columns 'a' as two columns, and looking one up was a KeyError traceback)."""
    table, layout = _csv_read(path)
    drop = _dropped_index(table)
    if drop:
        log.info("CSV data set %s: %d column(s) without a name (a row index, or empty) not "
                 "read", path, len(drop))
        table = table.select([i for i in range(table.num_columns) if i not in drop])
    names = table.schema.names
    twice = first_repeated(names)
    if twice is not None:
        raise UserError(f"CSV data set {path}: its header gives the column "
                        f"{shown(names[twice], f'#{twice + 1}')} twice; rename one")
    return names, table, layout


@register_dataset("csv", "your own table: a CSV file (comma, semicolon or tab separated) with "
                  "a header row, numeric feature columns and a label column "
                  "(label/class/target/y, else the last)", prefixed=True)
def _csv(path: str, seed: int) -> Dataset:
    """A tabular set from a CSV file (``table_dataset``), read as ``_csv_read`` finds it
    (delimiter, header, encoding, decimal mark), without a row index (``_csv_columns``)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    _, table, layout = _csv_columns(path)

    def as_text(label):   # floating-point labels, read again as the text they are
        return _csv_read(path, pacsv.ConvertOptions(
            include_columns=[label], column_types={label: pa.string()}), layout)[0].column(label)

    return table_dataset(table, f"CSV data set {path}", f"csv:{path}", seed, as_text)
