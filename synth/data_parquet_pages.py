"""What a Parquet file's pages decompress to, read from their headers before any page is.

A Parquet footer says how many values and bytes each column chunk holds, and
``synth.data_parquet`` bounds those; but the reader trusts each page's own header for the
buffer it decompresses into.  A 66 kB file whose footer declared 60 rows of 1,000 bytes a
column, with pages whose headers said 512 MiB each (zstd-compressed zeros), passed every
footer check and took 530 MB of memory to be read (2 GiB a page is possible, one page per
column at once).  ``check_pages`` walks the page headers of the columns to be read (a few
bytes each, Thrift's compact encoding) and refuses a file whose pages decompress to more
than its footer declares, or hold more values, before ``pyarrow`` reads a page.

``open_parquet`` and ``read_parquet_checked`` read a file's footer and pages from one open
(a file nnsynth replaces while another process reads it), without importing torch.
"""
from __future__ import annotations

import os
from pathlib import Path

from synth.data_registry import printable
from synth.errors import UserError
from synth.files import quoted

MAX_PAGE_HEADER = 16 << 20     # bytes: pyarrow's own limit on one page header
PAGE_SLACK = 1 << 20           # bytes a chunk's pages may decompress to beyond its footer's
DATA_PAGE, DICTIONARY_PAGE, DATA_PAGE_V2 = 0, 2, 3


class _Short(Exception):
    """The bytes read so far end inside the header: read more."""


def _varint(b: bytes, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= len(b):
            raise _Short
        c = b[i]
        i += 1
        value |= (c & 0x7F) << shift
        if not c & 0x80:
            return value, i
        shift += 7
        if shift > 70:
            raise ValueError("varint too long")


def _zigzag(v: int) -> int:
    return (v >> 1) ^ -(v & 1)


def _skip(b: bytes, i: int, kind: int, depth: int) -> int:
    """The position after a value of Thrift compact type ``kind`` at ``i``."""
    if depth > 32:
        raise ValueError("nested too deeply")
    if kind in (1, 2):                     # bool in a field header
        return i
    if kind == 3:                          # byte
        if i >= len(b):
            raise _Short
        return i + 1
    if kind in (4, 5, 6):                  # i16, i32, i64
        return _varint(b, i)[1]
    if kind == 7:                          # double
        return i + 8
    if kind == 8:                          # binary
        n, i = _varint(b, i)
        return i + n
    if kind in (9, 10):                    # list, set
        if i >= len(b):
            raise _Short
        head = b[i]
        i += 1
        n, elem = head >> 4, head & 0xF
        if n == 15:
            n, i = _varint(b, i)
        for _ in range(n):
            i = i + 1 if elem in (1, 2) else _skip(b, i, elem, depth + 1)
            if i > len(b):
                raise _Short
        return i
    if kind == 11:                         # map
        n, i = _varint(b, i)
        if n:
            if i >= len(b):
                raise _Short
            kv = b[i]
            i += 1
            for _ in range(n):
                i = _skip(b, _skip(b, i, kv >> 4, depth + 1), kv & 0xF, depth + 1)
                if i > len(b):
                    raise _Short
        return i
    if kind == 12:                         # struct
        return _struct(b, i, depth + 1)[1]
    raise ValueError(f"unknown Thrift type {kind}")


def _struct(b: bytes, i: int, depth: int = 0) -> tuple[dict, int]:
    """({field id: int value or {nested struct}}, end) of the struct at ``i``; other kinds
    of field are skipped."""
    fields, last = {}, 0
    while True:
        if i >= len(b):
            raise _Short
        head = b[i]
        i += 1
        if head == 0:
            return fields, i
        kind, delta = head & 0xF, head >> 4
        if delta:
            fid = last + delta
        else:
            v, i = _varint(b, i)
            fid = _zigzag(v)
        if kind in (4, 5, 6):
            v, i = _varint(b, i)
            fields[fid] = _zigzag(v)
        elif kind == 12:
            fields[fid], i = _struct(b, i, depth + 1)
        else:
            i = _skip(b, i, kind, depth)
        if i > len(b):
            raise _Short
        last = fid


def _page_header(f, pos: int) -> tuple[dict, int]:
    """(PageHeader fields, header bytes) at ``pos`` of the open file ``f``."""
    size = 256
    while True:
        f.seek(pos)
        b = f.read(size)
        try:
            return _struct(b, 0)
        except _Short:
            if len(b) < size or size >= MAX_PAGE_HEADER:
                raise ValueError("a page header runs past the file or its size limit") from None
            size *= 4


def check_pages(path: Path, columns, source) -> None:
    """Refuse the Parquet file ``path`` when the pages of the top-level ``columns`` (those to
    be read) decompress to more bytes than its footer declares for them (beyond PAGE_SLACK)
    or hold more values: what pyarrow would allocate is known before it reads a page.
    ``source``: the file opened once (``open_parquet``), footer and page
    headers read from it, as the pages will be (a path opened twice, once for the footer
    and once for the pages, read a file replaced in between at the old one's offsets)."""
    import pyarrow.parquet as pq
    wanted = set(columns)
    try:
        md = pq.ParquetFile(source).metadata
        rows = 0
        for g in range(md.num_row_groups):
            group = md.row_group(g)
            rows += _check_group_rows(path, g, group, wanted)
            for j in range(group.num_columns):
                chunk = group.column(j)
                if chunk.path_in_schema.split(".")[0] in wanted:
                    _check_chunk(source, path, chunk)
        if rows != md.num_rows:
            raise UserError(f"Parquet file {printable(path)}: its row groups declare {rows:,} "
                            f"rows, its footer {md.num_rows:,}; refused unread (a forged "
                            f"footer, or a corrupt file)")
    except UserError:
        raise
    except (OSError, ValueError, IndexError, RecursionError) as e:
        raise UserError(f"corrupt Parquet file {printable(path)}: its pages cannot be read "
                        f"({str(e)[:120] or type(e).__name__})") from None


def _check_group_rows(path: Path, g: int, group, wanted: set) -> int:
    """The rows of row group ``g``, refused where a column to be read (top-level name in
    ``wanted``) holds fewer values than the group declares rows: pyarrow sizes its read of a
    row group by the group's own row count (a 900-byte file whose one group declared 2^31 - 1
    of its 60 rows took 910 MB to read, 2^40 took 7 GB and a minute), and each row holds at
    least one value (a null or an empty list included) in every column.  The least of the
    columns read, not the most: a column left unread may declare anything."""
    rows = group.num_rows
    counts = [group.column(j).num_values for j in range(group.num_columns)
              if group.column(j).path_in_schema.split(".")[0] in wanted]
    held = min(counts) if counts else max(rows, 0)
    if rows < 0 or rows > held:
        raise UserError(f"Parquet file {printable(path)}: row group {g} declares {rows:,} rows "
                        f"and its columns hold {held:,} values; refused unread (a forged "
                        f"footer, or a corrupt file)")
    return rows


def _check_chunk(f, path: Path, chunk) -> None:
    start = chunk.data_page_offset
    dictionary = chunk.dictionary_page_offset
    if chunk.has_dictionary_page and dictionary and dictionary > 0 and (
            start <= 0 or dictionary < start):   # a chunk of no values: no data page at all
        start = dictionary
    end = start + chunk.total_compressed_size
    declared, values = chunk.total_uncompressed_size, chunk.num_values
    if declared > 64 * max(values, 0) + PAGE_SLACK:   # 60 values in 1 GiB of pages
        raise UserError(f"Parquet file {printable(path)}: column "
                        f"{quoted(chunk.path_in_schema)} declares {declared:,} bytes for "
                        f"{values:,} values, more than 64 a value; refused unread")
    pos, unpacked, held = start, 0, 0
    while pos < end:
        header, length = _page_header(f, pos)
        kind = header.get(1)
        raw, packed = header.get(2, -1), header.get(3, -1)
        if not (isinstance(raw, int) and isinstance(packed, int)) or raw < 0 or packed < 0:
            raise ValueError("a page header without its sizes")
        unpacked += raw + length
        if kind in (DATA_PAGE, DATA_PAGE_V2):
            body = header.get(5 if kind == DATA_PAGE else 8) or {}
            count = body.get(1, 0) if isinstance(body, dict) else 0
            held += max(0, count) if isinstance(count, int) else 0
        if unpacked > declared + PAGE_SLACK or held > values:
            name = printable(chunk.path_in_schema)
            raise UserError(f"Parquet file {printable(path)}: the pages of column {name!r} "
                            f"decompress to more than its footer declares ({unpacked:,} bytes, "
                            f"{held:,} values, against {declared:,} bytes and {values:,} "
                            f"values); refused unread (a forged footer, or a corrupt file)")
        pos += length + packed
        if kind in (DATA_PAGE, DATA_PAGE_V2) and held >= values:
            break   # the reader stops at the values the footer declares


# One open of a Parquet file for its footer and pages (here, not in synth.data_parquet,
# which imports torch: search.results reads a finished search's table without it)
def open_parquet(path: str | os.PathLike):
    """``path`` opened once for reading (a ``pa.OSFile``, closed by ``with``): read a Parquet
    file's footer and pages from this one handle.  nnsynth replaces its Parquet files by a
    rename (``write_parquet_table``: results.parquet after every trial, a shard an
    ``nnsynth invert`` rerun writes again), and ``pq.read_table(path)`` opens a path twice
    (footer, then pages): a replacement between the two read the new file's pages at the old
    footer's offsets ('Page was smaller (0) than expected (11)', 40 of 2,000 reads of a table
    a search replaced in a loop).  An open handle keeps the file it opened.  Not
    ``pa.memory_map``, which keeps it too: a file truncated in place under a map killed the
    process with SIGBUS, where a read of an OSFile is an OSError."""
    import pyarrow as pa
    return pa.OSFile(os.fspath(path))


def read_parquet_checked(source, **options):
    """``pq.read_table(source, **options)`` verifying each page's CRC-32 where the file has one
    (``write_parquet_table``; a file written by another tool without checksums loads as
    before).  ``source``: a path, opened once here (``open_parquet``), or a file
    ``open_parquet`` opened, whose footer the caller has read.  A page that fails its
    checksum raises OSError ('CRC checksum verification failed'), which the callers turn into
    one line naming the file."""
    import pyarrow.parquet as pq
    if isinstance(source, (str, os.PathLike)):
        with open_parquet(source) as f:
            return pq.read_table(f, page_checksum_verification=True, **options)
    return pq.read_table(source, page_checksum_verification=True, **options)
