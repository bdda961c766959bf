"""Parquet sets: ``parquet:<path>`` (a file or a folder of shards) and ``write_parquet``.

A set nnsynth wrote (``nnsynth invert``'s shards: column ``x`` of normalized inputs,
``label``, optional ``split``, its metadata in the schema under PARQUET_META_KEY) or a
plain table of the user's (read by csv:'s rules, ``synth.data_tables``).  Every file's
metadata, types and sizes are checked from its footer before a row is read; an
interrupted ``nnsynth invert`` folder is said (``set_job``, ``set_progress``).
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import torch

from synth.config import short_repr
from synth.data_parquet_pages import (  # noqa: F401  (read_parquet_checked: this module's API too)
    check_pages, open_parquet, read_parquet_checked)
from synth.data_registry import (column_shown, first_repeated, missing_path, printable,
                                 printable_name, register_dataset, unprintable_kind)
from synth.data_splits import _make, split_column, val_slice
from synth.data_tables import MAX_CSV_COLUMNS, _label_hint, _table_roles, table_dataset
from synth.dataset import Dataset, check_metadata
from synth.errors import ConfigError, UserError
from synth.files import quoted
from synth.logs import set_logger

PARQUET_META_KEY = b"nnsynth"
# its messages keep the logger name they had when this code lived in synth.data
log = set_logger("synth.data")


def write_parquet(path: str | os.PathLike, x: torch.Tensor, y: torch.Tensor, meta: dict,
                  extra_columns: dict | None = None, split: str | None = None) -> Path:
    """Write samples atomically as Parquet: column ``x`` (flattened float32, *normalized*
    with ``meta['mean'/'std']``), ``label`` (int64), optional ``split`` and extra columns;
    ``meta`` (input_shape, num_classes, class_names, mean, std, ...) in the schema."""
    import pyarrow as pa
    path = Path(path)
    x = x.detach().cpu().float().reshape(len(x), -1).numpy()
    cols = {"x": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1]),
            "label": pa.array(y.detach().cpu().numpy().astype(np.int64))}
    if split is not None:
        cols["split"] = pa.array([split] * len(x))
    for k, v in (extra_columns or {}).items():
        cols[k] = pa.array(np.asarray(v.detach().cpu() if torch.is_tensor(v) else v))
    table = pa.table(cols).replace_schema_metadata({PARQUET_META_KEY: json.dumps(meta).encode()})
    return write_parquet_table(table, path)


def write_parquet_table(table, path: str | os.PathLike) -> Path:
    """Write the pyarrow ``table`` to ``path`` atomically (``synth.files.atomic_path``), every
    page with its CRC-32 (``write_page_checksum``): the one writer of every Parquet file
    nnsynth makes (sets, results.parquet, sweep.parquet).  A damaged data page of such a file
    is then an error when read (``read_parquet_checked``), not wrong values: fuzzing showed 79
    of 400 sets with a flipped byte in a page loaded without a word before checksums."""
    import pyarrow.parquet as pq
    from synth.files import atomic_path
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, write_page_checksum=True)
    return path


def parquet_read_error(path, e: Exception) -> UserError:
    """The one-line error for the Parquet file ``path`` that pyarrow could not read (``e``)."""
    text = " ".join(str(e).split())
    if "CRC checksum" in text:   # read_parquet_checked: a page changed after it was written
        return UserError(f"corrupt Parquet file {printable(path)}: a page fails its CRC "
                         f"checksum (the file was damaged after it was written; write it again)")
    return UserError(f"corrupt Parquet file {printable(path)}: {type(e).__name__}: {text[:200]}")


# Files and folders looked at under a parquet:<dir> before giving up: parquet:/ walked the
# whole file system (22 s here) and then read the first stranger's .parquet file it found.
MAX_PARQUET_ENTRIES = 100_000


def _parquet_files(path: Path) -> list[Path]:
    """The .parquet files of a set: ``path`` itself, or those under the folder ``path`` (its
    subfolders too, hidden ones not; symbolic links to folders followed, as links to files
    are: a linked subfolder's shards were left out without a word), in name order."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise missing_path("parquet", path)
    def unreadable(e: OSError):   # os.walk skipped a folder it cannot list, silently: the
        # set loaded without that folder's shards
        raise UserError(f"Parquet directory {printable(path)}: {printable(e.filename)} cannot "
                        f"be read ({e.strerror or type(e).__name__})")

    files, seen, read = [], 0, set()
    for root, dirs, names in os.walk(path, onerror=unreadable, followlinks=True):
        real = os.path.realpath(root)
        if real in read:   # followed links: a loop would be walked until the bound below
            raise UserError(f"Parquet directory {printable(path)}: {printable(root)} is a "
                            f"symbolic link to a folder read already (a loop, or one folder "
                            f"linked twice); remove the link")
        read.add(real)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        seen += len(dirs) + len(names)
        if seen > MAX_PARQUET_ENTRIES:
            raise UserError(f"Parquet directory {path} holds more than {MAX_PARQUET_ENTRIES:,} "
                            f"files and folders; give the folder of the set's shards")
        files += [Path(root) / n for n in names if n.endswith(".parquet")
                  and not n.startswith(".")]
    if not files:
        raise UserError(f"no .parquet files in directory {path}")
    # a named pipe (or a link to a device) named *.parquet: its first read waited forever
    special = next((f for f in files if not f.is_file()), None)
    if special is not None:
        raise UserError(f"Parquet directory {path}: {printable(special)} is not a regular file "
                        f"(a named pipe, a device or a broken link); move it out of the folder")
    odd = next((f for f in files if not printable_name(str(f))), None)   # a no-break space
    # is a space (Zs), as in a class or set name
    if odd is not None:   # every message about a file names it: one line each
        raise UserError(f"Parquet directory {path}: file {printable(odd)} holds "
                        f"{unprintable_kind(str(odd))} in its path; rename it")
    return sorted(files)


MAX_DATASET_VALUES = 1 << 30     # rows x values per row of one Parquet set (4 GiB as float32)
# A Parquet file may hold at most this many times its own size (as float32 values) beyond
# the first PARQUET_FREE_BYTES: compression and dictionary encoding legitimately shrink a set
# (real MNIST digits 13.7x with pyarrow's defaults, 8x8 digits 6.7x, synthesized images
# 0.7x), but a 17.7 kB file of zstd-compressed zeros declared 1.25 GB of values and took
# 4.2 GB of memory and 39 s before any check of its shape against the model could run.
MAX_PARQUET_INFLATION = 256
PARQUET_FREE_BYTES = 64 << 20
# The columns a Parquet data set is read from (write_parquet's extra columns, such as a
# synthesized set's teacher_confidence, are kept in the file for the user, never loaded:
# 67 kB of compressed text in a column of its own took 2.2 GB of memory when it was).
PARQUET_COLUMNS = ("x", "label", "split")
# Row groups of one Parquet file: a table written a row at a time (one group a row) of
# 100,000 rows and 3 columns, 35 MB, took 105 s to load here (load 12), against 4 s for the
# same rows in one group; 10,000 groups ~7 s more.  Writers put a million rows (pyarrow,
# pandas), 122,880 (DuckDB) or 128 MB (Spark) in a group: a set of MAX_DATASET_VALUES
# values has far fewer.  nnsynth writes one group a shard.
MAX_ROW_GROUPS = 10_000


def _footer_of(f: Path, pf) -> tuple:
    """(arrow schema, row count, {column: (values, encoded bytes)}) of the open ParquetFile
    ``pf`` of the file ``f`` (``_parquet_footer``)."""
    schema = pf.schema_arrow
    md = pf.metadata
    rows = md.num_rows
    if len(schema.names) > MAX_CSV_COLUMNS:   # before any work per column
        raise UserError(f"Parquet file {printable(f)} has {len(schema.names):,} columns; "
                        f"the limit is {MAX_CSV_COLUMNS:,}")
    if md.num_row_groups > MAX_ROW_GROUPS:   # each costs the reader ~0.5 ms a column
        raise UserError(f"Parquet file {printable(f)} has {md.num_row_groups:,} row groups; the "
                        f"limit is {MAX_ROW_GROUPS:,} (write it again in fewer, larger groups: "
                        f"pyarrow's and pandas' default is one group a million rows)")
    columns = {name: (0, 0) for name in schema.names}
    for g in range(md.num_row_groups):
        group = md.row_group(g)
        for j in range(group.num_columns):
            chunk = group.column(j)
            name = chunk.path_in_schema.split(".")[0]
            values, size = columns.get(name, (0, 0))
            columns[name] = (values + chunk.num_values, size + chunk.total_uncompressed_size)
    return schema, rows, columns


def _read_file(f: Path, columns: list, footer: tuple, **options):
    """The ``columns`` of one file of a set, read from one open (``open_parquet``): its footer
    must be ``footer``, the one checked (``_parquet_footer``), its pages' sizes are checked
    (``check_pages``), and its pages are read, all from that handle.  A file replaced after
    its footer was checked (an ``nnsynth invert`` rerun writing a shard again) was read as
    the new file's pages at the old one's offsets, or read unchecked."""
    import pyarrow.parquet as pq
    try:
        with open_parquet(f) as source:
            schema, rows, sizes = _footer_of(f, pq.ParquetFile(source))
            if not (schema.equals(footer[0], check_metadata=True) and rows == footer[1]
                    and sizes == footer[2]):
                raise UserError(f"Parquet file {printable(f)} was replaced while it was read "
                                f"(another program wrote it again); read the set again "
                                f"once that program is done")
            check_pages(f, columns, source)   # the pages' own sizes: the reader trusts them
            return read_parquet_checked(source, columns=columns, **options)
    except UserError:
        raise
    except Exception as e:
        raise parquet_read_error(f, e) from None


def _unreadable(f: Path, e: OSError) -> UserError:
    # pyarrow's strerror names the path again: the errno's own words
    why = os.strerror(e.errno) if e.errno else e.strerror or type(e).__name__
    return UserError(f"Parquet file {f} cannot be read ({why})")


def _parquet_footer(f: Path):
    """(arrow schema, row count, {column: (values, encoded bytes)}) of one Parquet file, from
    its footer only (read from one open: ``open_parquet``): per top-level column of its
    schema, the leaf values it decodes to (a list column counts its elements) and its size
    before compression."""
    import pyarrow.parquet as pq
    try:
        if f.stat().st_size == 0:   # empty, or a /proc file whose read waits forever
            raise UserError(f"corrupt Parquet file {printable(f)}: it reports 0 bytes")
        source = open_parquet(f)
    except OSError as e:
        raise _unreadable(f, e) from None
    with source:
        try:
            start = source.read(4)
        except OSError as e:
            raise _unreadable(f, e) from None
        if start != b"PAR1":   # 'corrupt Parquet file: magic bytes not found in footer'
            hint = (f"; a CSV file loads as csv:{printable(f)}"
                    if f.suffix.lower() in (".csv", ".tsv", ".txt") else "")
            raise UserError(f"corrupt Parquet file {f}: it is not a Parquet file (it does not "
                            f"begin with PAR1){hint}")
        try:
            schema, rows, columns = _footer_of(f, pq.ParquetFile(source))
        except UserError:
            raise
        except Exception as e:
            raise UserError(f"corrupt Parquet file {f}: {type(e).__name__}: "
                            f"{str(e)[:200]}") from None
    names = schema.names   # pyarrow writes two columns of one name; reading one by that name
    i = first_repeated(names)   # was a KeyError (and ``n in names[:i]`` took 7 s for 20,000)
    twice = None if i is None else names[i]
    if twice is not None:
        raise UserError(f"Parquet file {f} has the column {quoted(twice)} "
                        f"twice; columns need distinct names (rename one)")
    return schema, rows, columns


def _parquet_meta(f: Path, footer: tuple) -> tuple[dict, int, dict]:
    """(checked metadata, row count, {column: (values, encoded bytes)}) of one Parquet file
    nnsynth wrote (``write_parquet``), from its ``footer`` only (``_parquet_footer``'s)."""
    schema, rows, columns = footer
    raw = (schema.metadata or {}).get(PARQUET_META_KEY)
    if raw is None:
        raise UserError(f"Parquet file {f} lacks nnsynth metadata (input_shape, num_classes, "
                        f"mean, std) in its schema: it is not a set nnsynth wrote (a plain "
                        f"table of feature columns and a label column loads as "
                        f"--dataset parquet:{printable(f)})")
    from synth.errors import ConfigError
    from synth.files import unique_keys
    try:   # a key given twice: json keeps the last, silently (num_classes 3, then 1000)
        meta = json.loads(raw, object_pairs_hook=unique_keys)
    except ConfigError as e:
        raise UserError(f"Parquet file {f}: its nnsynth metadata {e}") from None
    except (ValueError, RecursionError):
        raise UserError(f"Parquet file {f}: its nnsynth metadata is not valid JSON") from None
    _check_parquet_types(f, schema)
    return check_metadata(meta, f"Parquet file {f}"), rows, columns


# The metadata that defines what a set's rows mean: every file of a set must agree on it
# (the first file's was used for all, so a shard of other classes or normalization was
# read as if it had the first one's).
PARQUET_SHARED_META = ("input_shape", "num_classes", "class_names", "mean", "std",
                       "value_range", "feature_names", "kind", "layout")
# What a set read back keeps of the metadata beyond its shape, classes and scaling: what
# kind of input it is (a sequence set's "sequence", "channels x steps"; a set synthesized
# from a sequence teacher carries its checkpoint's) and, for sequences, the padding and
# [shortest, longest] lengths (below): the inputs synthesized from a left-padded set's
# teacher are left-padded in that range (synth.inversion.padded_lengths), and a student
# trained on them lost the record, so its export said nothing of padding.  Not the real
# set's split or source: a synthesized set has none of those.
PARQUET_KIND_META = ("kind", "layout", "padding")


def _check_parquet_types(f: Path, schema) -> None:
    """Column x holds lists of numbers and label integers, by the file's schema: strings
    such as "1.5" and booleans were converted to inputs without a word."""
    import pyarrow as pa
    for name, ok, want in (
            ("x", lambda t: ((pa.types.is_list(t) or pa.types.is_large_list(t)
                              or pa.types.is_fixed_size_list(t))
                             and (pa.types.is_integer(t.value_type)
                                  or pa.types.is_floating(t.value_type))),
             "lists of numbers (integers or floats)"),
            ("label", pa.types.is_integer, "integers")):
        if name in schema.names and not ok(schema.field(name).type):
            raise UserError(f"Parquet file {f}: column {name} must hold {want}, got "
                            f"{short_repr(str(schema.field(name).type))}")


def _check_parquet_sizes(f: Path, rows: int, width: int, columns: dict) -> None:
    """What one file's columns decode to, bounded from its footer before a row is read (a
    few kB of compressed zeros or text can decode to gigabytes): x at most ``width`` values a
    row, label and split one short value a row, and the file at most MAX_PARQUET_INFLATION
    times its size in float32 inputs beyond PARQUET_FREE_BYTES."""
    x_values = columns.get("x", (0, 0))[0]
    if x_values > rows * width:   # a list column's rows may be longer than input_shape says
        raise UserError(f"Parquet file {f}: column x holds {x_values:,} values for {rows:,} "
                        f"rows of {width:,} (its input_shape); refused unread")
    for name in ("label", "split"):
        values, size = columns.get(name, (0, 0))
        if values > rows or size > 64 * rows + (1 << 20):
            raise UserError(f"Parquet file {f}: column {name} decodes to {size:,} bytes "
                            f"({values:,} values) for {rows:,} rows, not one short value a "
                            f"row; refused unread")
    size = f.stat().st_size
    if 4 * rows * width > max(MAX_PARQUET_INFLATION * size, PARQUET_FREE_BYTES):
        raise UserError(f"Parquet file {f} declares {rows * width:,} values "
                        f"({4 * rows * width / 2**20:,.0f} MiB as float32) in {size:,} bytes, "
                        f"more than {MAX_PARQUET_INFLATION} times its size: refused unread (a "
                        f"decompression bomb, or a set of nearly constant values)")


def set_job(path) -> dict:
    """The job.json of a synthesized set (``nnsynth invert``'s manifest), or {} (no such file,
    not a JSON object, a plain Parquet table or a single file)."""
    job = Path(path) / "job.json"
    try:
        if not job.is_file() or not 0 < job.stat().st_size <= 1 << 20:
            return {}
        from synth.files import read_json
        value = read_json(job)
    except ConfigError:   # a key given twice: said, not read as no job
        raise
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def set_progress(path) -> tuple[int, int] | None:
    """(inputs held, inputs planned) of the ``nnsynth invert`` folder ``path``: the rows of its
    ``shard-*.parquet`` files and the ``num_images`` its job.json plans; None where no count
    is planned (not an invert folder, or one written before job.json recorded it).  A shard
    is written whole (``synth.files.atomic_path``) or not at all, so the rows on disk are
    the inputs an interrupted run had finished."""
    planned = set_job(path).get("num_images")
    if not isinstance(planned, int) or isinstance(planned, bool) or planned < 1:
        return None
    import pyarrow.parquet as pq
    held = 0
    try:
        shards = [f for f in Path(path).glob("shard-*.parquet") if f.is_file()]
    except OSError:
        return None
    for shard in shards:
        try:
            held += pq.ParquetFile(shard).metadata.num_rows
        except Exception:   # unreadable: load_dataset names it when the set is read
            continue
    return held, planned


def _warn_unfinished(path: Path) -> None:
    """One warning where ``path`` is an interrupted ``nnsynth invert`` folder (its job.json
    plans more inputs than its shards hold; ``set_progress``): ``train`` and
    ``eval --dataset parquet:<it>`` read the finished shards as if they were the set.  A
    warning, not a refusal (training on part of a set can be meant); the --synth readers,
    which take the folder as a teacher's set, refuse it (``check_finished_set``)."""
    if not path.is_dir():
        return
    progress = set_progress(path)
    if progress is not None and progress[0] < progress[1]:
        log.warning("parquet:%s is an unfinished nnsynth invert run: it holds %s of the %s "
                    "inputs planned (rerun the nnsynth invert command that wrote it to finish "
                    "it); reading the %s it holds", printable(str(path)), f"{progress[0]:,}",
                    f"{progress[1]:,}", f"{progress[0]:,}")


def read_parquet_table(path: str | os.PathLike):
    """All rows of a Parquet file or directory of shards as one pyarrow table, plus its meta.
    Every file's metadata is checked, and the set's size bounded, before any row is read."""
    import pyarrow as pa
    files = _parquet_files(Path(path))
    meta, values, names, footers = None, 0, {}, {}
    for f in files:
        footers[f] = _parquet_footer(f)
        m, rows, columns = _parquet_meta(f, footers[f])
        meta = meta or m
        differ = [k for k in PARQUET_SHARED_META if m.get(k) != meta.get(k)]
        if differ:
            raise UserError(f"Parquet data set {path}: file {f.name} has another "
                            f"{differ[0]} than {files[0].name} ({short_repr(m.get(differ[0]))} "
                            f"against {short_repr(meta.get(differ[0]))}); a set's files must "
                            f"share their metadata")
        width = 1
        for d in meta["input_shape"]:
            width *= d
        values += rows * width
        if "x" not in columns or "label" not in columns:
            raise UserError(f"Parquet file {f} must have columns 'x' and 'label', has "
                            f"{short_repr(', '.join(columns))}")
        _check_parquet_sizes(f, rows, width, columns)
        names[f] = [c for c in PARQUET_COLUMNS if c in columns]
    if values > MAX_DATASET_VALUES:
        raise UserError(f"Parquet data set {path} holds {values:,} values; the limit is "
                        f"{MAX_DATASET_VALUES:,}")
    _warn_unfinished(Path(path))
    tables = []
    for f in files:   # only the columns a data set is made of: any other may hold anything
        t = _read_file(f, names[f], footers[f])
        tables.append(t.replace_schema_metadata(None))
    try:
        return pa.concat_tables(tables, promote_options="default"), meta
    except Exception as e:
        raise UserError(f"Parquet data set {path}: its files do not share one schema "
                        f"({type(e).__name__})") from None


def _check_row_lengths(column, size: int, shape: tuple, where: str) -> None:
    """Every row of the list column x holds ``size`` values: rows of 5 and 3 values where 4
    were due summed to the right count, and flattening them shifted every later value into
    its neighbour's row."""
    import pyarrow as pa
    import pyarrow.compute as pc
    kind = column.type
    if pa.types.is_fixed_size_list(kind) and kind.list_size != size:
        raise UserError(f"{where}: column x holds lists of {kind.list_size} values; "
                        f"input_shape {shape} needs {size}")
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)
            or pa.types.is_fixed_size_list(kind)):
        return   # parquet_arrays refuses the type
    lengths = pc.fill_null(pc.list_value_length(column), -1).to_numpy()
    bad = np.flatnonzero(lengths != size)
    if bad.size:
        row, got = int(bad[0]), int(lengths[bad[0]])
        held = "no list (null)" if got < 0 else f"{got:,} values"
        raise UserError(f"{where}: row {row} holds {held}; input_shape {shape} needs {size} "
                        f"in every row ({bad.size:,} rows differ)")


def parquet_arrays(table, shape: tuple, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(inputs float32 of ``(rows,) + shape``, labels int64) of a table ``read_parquet_table``
    returned, every value checked: numbers, as many as the shape says, finite."""
    size, n = math.prod(shape), table.num_rows
    if n == 0:   # was "0 values for 0 rows do not match input_shape"
        raise UserError(f"{where} holds no rows; expected samples in columns x and label")
    _check_row_lengths(table.column("x"), size, shape, where)
    labels = table.column("label")
    if labels.null_count:   # read as floats with NaN: "labels must be integers, got float64"
        import pyarrow.compute as pc
        row = int(np.flatnonzero(pc.is_null(labels).to_numpy(zero_copy_only=False))[0])
        raise UserError(f"{where}: column label has {labels.null_count:,} empty cells (the "
                        f"first in data row {row + 1:,}); every sample needs its class")
    try:
        with np.errstate(over="ignore"):   # a float64 beyond float32 is inf, refused below
            x = np.asarray(table.column("x").combine_chunks().flatten().to_numpy(
                zero_copy_only=False), dtype=np.float32)
        y = np.asarray(table.column("label").to_numpy(zero_copy_only=False))
    except Exception as e:  # a column of the wrong type
        raise UserError(f"{where}: column x must hold lists of numbers and label "
                        f"integers ({type(e).__name__})") from None
    if n == 0 or x.size != n * size:
        raise UserError(f"{where}: {x.size} values for {n} rows do not match "
                        f"input_shape {shape}")
    if y.dtype.kind not in "iu":
        raise UserError(f"{where}: labels must be integers, got {y.dtype}")
    if not np.isfinite(x).all():   # one NaN made every loss and accuracy NaN, silently
        bad = ~np.isfinite(x)
        raise UserError(f"{where}: column x holds NaN or infinite values "
                        f"({int(bad.sum()):,} of {x.size:,}; the first in data row "
                        f"{int(np.argmax(bad)) // size + 1:,}; a null value reads as NaN)")
    return x.reshape((n,) + tuple(shape)), y.astype(np.int64)


def _pandas_index(schema) -> set[str]:
    """The columns pandas stored its index in (``df.to_parquet`` of a filtered or re-indexed
    frame writes it as a column ``__index_level_0__``, at the end: read as the last column,
    it became the labels)."""
    try:
        meta = schema.pandas_metadata or {}
    except Exception:   # metadata that is not pandas' JSON: no index named
        return set()
    index = meta.get("index_columns") if isinstance(meta, dict) else None
    return {c for c in index if isinstance(c, str)} if isinstance(index, list) else set()


def _plain_parquet(path: str, files: list[Path], footers: list, seed: int) -> Dataset:
    """A Parquet table a user wrote (pandas, pyarrow, polars; no nnsynth metadata) as a
    tabular set by csv:'s rules (``table_dataset``): the column named label, class, target or
    y (else the last) the classes, a split column, every other column a numeric feature; the
    index pandas stored is not read.  Every file's columns, types and sizes are checked from
    its footer before a row is read (a few kB of compressed zeros declared gigabytes)."""
    import pyarrow as pa
    where = f"Parquet data set {path}"
    root = Path(path)
    hive = next((f for f in files if any("=" in part for part in f.relative_to(root).parts[:-1])),
                None) if root.is_dir() else None
    if hive is not None:   # its partition column lives in folder names, not in the files
        raise UserError(f"{where} is partitioned by folder ({printable(hive.parent.name)}): "
                        f"the files lack that column; write the table as one file")
    schema = footers[0][0]
    # the pandas index read once a file: asked per column, its JSON (of every column) was
    # parsed once a column, and a pandas table of 3,000 columns took 45 s to load
    pandas_index = _pandas_index(schema)
    names = [n for n in schema.names if n not in pandas_index]
    if len(names) > MAX_CSV_COLUMNS:
        raise UserError(f"{where} has {len(names):,} columns; the limit is {MAX_CSV_COLUMNS:,}")
    for f, (other, _, _) in zip(files, footers):
        index = _pandas_index(other)
        if [n for n in other.names if n not in index] != names:
            raise UserError(f"{where}: file {printable(f.name)} has other columns than "
                            f"{printable(files[0].name)}; a set's files share their columns")
    if not names:
        raise UserError(f"{where} has no columns")
    label, split, features = _table_roles(names, where)
    for n, kind in zip(schema.names, schema.types):   # by position: a field looked up by
        if n in pandas_index:                        # name, or `n in features`, took time
            continue                                 # linear in the columns, for each one
        feature = n not in (label, split)
        if feature and not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                            or pa.types.is_boolean(kind) or pa.types.is_decimal(kind)):
            hint = (" (a column of lists is nnsynth's own layout, with its metadata: "
                    "synth.data.write_parquet)" if pa.types.is_nested(kind) else "")
            if pa.types.is_string(kind) or pa.types.is_large_string(kind):
                hint = _label_hint(names)
            raise UserError(f"{where}: feature column {column_shown(n, names)} must hold "
                            f"numbers, has {short_repr(str(kind))} values{hint}")
        if not feature and pa.types.is_nested(kind):
            raise UserError(f"{where}: column {column_shown(n, names)} must hold one value "
                            f"a row, has {short_repr(str(kind))} values")
    total = 0
    for f, (_, rows, columns) in zip(files, footers):
        total += rows * len(features)
        size = f.stat().st_size
        if 4 * rows * len(features) > max(MAX_PARQUET_INFLATION * size, PARQUET_FREE_BYTES):
            raise UserError(f"Parquet file {f} declares {rows * len(features):,} values in "
                            f"{size:,} bytes, more than {MAX_PARQUET_INFLATION} times its size: "
                            f"refused unread (a decompression bomb, or a set of nearly "
                            f"constant values)")
        for n in names:
            values, decoded = columns.get(n, (0, 0))
            if values > rows or (n in (label, split) and decoded > 64 * rows + (1 << 20)):
                raise UserError(f"Parquet file {f}: column {column_shown(n, names)} decodes "
                                f"to {decoded:,} bytes ({values:,} values) for {rows:,} rows, "
                                f"not one short value a row; refused unread")
    if total > MAX_DATASET_VALUES:
        raise UserError(f"{where} holds {total:,} values; the limit is {MAX_DATASET_VALUES:,}")
    text = [n for n in (label, split) if n is not None and (
        pa.types.is_string(schema.field(n).type) or pa.types.is_large_string(schema.field(n).type))]
    tables = []
    for f, footer in zip(files, footers):   # text as a dictionary: each distinct value once
        tables.append(_read_file(f, names, footer, read_dictionary=text)   # in memory
                      .replace_schema_metadata(None))
    try:
        table = pa.concat_tables(tables, promote_options="default")
    except Exception as e:
        raise UserError(f"{where}: its files do not share one schema "
                        f"({type(e).__name__})") from None
    return table_dataset(table, where, f"parquet:{path}", seed)


@register_dataset("parquet", "images or feature rows with labels in Parquet (file or shard "
                  "directory): a set nnsynth wrote, or your own table (numeric feature "
                  "columns and a label column, as csv:)", prefixed=True)
def _parquet(path: str, seed: int) -> Dataset:
    """A set nnsynth wrote (``write_parquet``: x, label and split columns, metadata in the
    schema) or a plain table of the user's (``_plain_parquet``); a directory holds one kind."""
    files = _parquet_files(Path(path))
    footers = [_parquet_footer(f) for f in files]
    plain = [PARQUET_META_KEY not in (s.metadata or {}) for s, _, _ in footers]
    if all(plain):
        return _plain_parquet(path, files, footers, seed)
    if any(plain):
        raise UserError(f"Parquet data set {path}: {printable(files[plain.index(True)].name)} "
                        f"has no nnsynth metadata but {printable(files[plain.index(False)].name)} "
                        f"has; a set's files are all nnsynth's or all plain tables")
    table, meta = read_parquet_table(path)
    shape = tuple(meta["input_shape"])
    where = f"Parquet data set {path}"
    x, y = parquet_arrays(table, shape, where)
    n = len(y)
    num_classes = int(meta["num_classes"])
    if y.min() < 0 or y.max() >= num_classes:
        raise UserError(f"{where}: labels outside [0, {num_classes})")
    names = meta.get("class_names") or [str(i) for i in range(num_classes)]
    if "split" in table.column_names:
        train, val, test = split_column(table.column("split").to_pylist(), y, seed, where)
    else:  # a synthesized set: everything trains except a stratified validation slice
        train, val = val_slice(np.arange(n), y, seed, where, strict=False)
        test = np.array([], dtype=np.int64)
    data = _make(f"parquet:{path}", x, y, train, val, test, shape, names,
                 np.asarray(meta["mean"]), np.asarray(meta["std"]), meta.get("value_range"))
    if meta.get("feature_names") is not None:   # inverted from a model of a user's table:
        data.extra["feature_names"] = list(meta["feature_names"])   # its columns, by name
    data.extra.update({k: meta[k] for k in PARQUET_KIND_META if isinstance(meta.get(k), str)})
    lengths = meta.get("lengths")
    if (len(shape) == 2 and isinstance(lengths, list) and len(lengths) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in lengths)):
        data.extra["lengths"] = list(lengths)
    return data
