"""A Parquet file nnsynth replaces (an atomic rename) while another nnsynth process reads it.

``pq.read_table(path)`` opens a path twice, its footer first, then its pages: a search's
trial reading results.parquet as it starts (``search.trial``), or ``nnsynth search --resume``
/ a pipeline reading a running search's table, met the driver's replacement of it between
the two and read the new file's pages at the old footer's offsets ('Page was smaller (0)
than expected (11)': the clean-clone CI of b7f8e07, in tests/deploy/test_resume_search.py).
A reader now opens each file once and reads footer and pages from that handle.

The race is made deterministic here: whatever route pyarrow opens the file by (a path,
resolved to a file system, or ``pa.OSFile`` / ``pa.memory_map``), the file is replaced
right after its first open, as a search's rename between the two opens did.
"""
from __future__ import annotations

import builtins
import os

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pyarrow.parquet.core as pq_core
import pytest
import torch

from search.results import COLUMNS, append_result, read_results
from synth.data_parquet import write_parquet


class _Local(pafs.FileSystemHandler):
    """The local file system, calling ``opened(path)`` after each file it opens for reading."""

    def __init__(self, opened):
        self.fs, self.opened = pafs.LocalFileSystem(), opened

    def get_type_name(self):
        return "h235-local"

    def equals(self, other):
        return other is self

    def normalize_path(self, path):
        return self.fs.normalize_path(path)

    def get_file_info(self, paths):
        return self.fs.get_file_info(paths)

    def get_file_info_selector(self, selector):
        return self.fs.get_file_info(selector)

    def open_input_file(self, path):
        f = self.fs.open_input_file(path)
        self.opened(path)
        return f

    def open_input_stream(self, path):
        f = self.fs.open_input_stream(path)
        self.opened(path)
        return f

    def create_dir(self, path, recursive):
        return self.fs.create_dir(path, recursive=recursive)

    def delete_dir(self, path):
        return self.fs.delete_dir(path)

    def delete_dir_contents(self, path, missing_dir_ok=False):
        return self.fs.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self):
        raise AssertionError("not the root")

    def delete_file(self, path):
        return self.fs.delete_file(path)

    def move(self, src, dest):
        return self.fs.move(src, dest)

    def copy_file(self, src, dest):
        return self.fs.copy_file(src, dest)

    def open_output_stream(self, path, metadata):
        return self.fs.open_output_stream(path, metadata=metadata)

    def open_append_stream(self, path, metadata):
        return self.fs.open_append_stream(path, metadata=metadata)


@pytest.fixture
def replace_after_first_open(monkeypatch):
    """``arm(path, replace, after=1)``: ``replace()`` runs once, right after the ``after``-th
    open of ``path`` (by pyarrow, or by Python's ``open``); ``arm`` returns a dict whose
    "opens" counts the opens of ``path``."""
    armed = {}

    def opened(p):
        target = armed.get("path")
        if target is not None and os.path.realpath(str(p)) == target:
            armed["opens"] += 1
            if armed["opens"] == armed["after"]:
                armed["replace"]()

    real_resolve, real_osfile, real_mmap = (pq_core._resolve_filesystem_and_path, pa.OSFile,
                                            pa.memory_map)

    def resolve(path, filesystem=None, **kwargs):
        fs, where = real_resolve(path, filesystem, **kwargs)
        if isinstance(fs, pafs.LocalFileSystem):
            fs = pafs.PyFileSystem(_Local(opened))
        return fs, where

    def osfile(path, *args, **kwargs):
        f = real_osfile(path, *args, **kwargs)
        opened(path)
        return f

    def memory_map(path, *args, **kwargs):
        f = real_mmap(path, *args, **kwargs)
        opened(path)
        return f

    def python_open(file, *args, **kwargs):
        f = real_open(file, *args, **kwargs)
        if isinstance(file, (str, os.PathLike)):
            opened(file)
        return f

    real_open = builtins.open
    monkeypatch.setattr(pq_core, "_resolve_filesystem_and_path", resolve)
    monkeypatch.setattr(pa, "OSFile", osfile)
    monkeypatch.setattr(pa, "memory_map", memory_map)
    monkeypatch.setattr(builtins, "open", python_open)

    def arm(path, replace, after=1):
        armed.clear()
        armed.update(path=os.path.realpath(path), replace=replace, after=after, opens=0)
        return armed
    return arm


def _row(i: int) -> dict:
    row = {k: None for k in COLUMNS}
    row.update(trial_id=f"trial_{i:05d}", spec='{"family": "mlp", "hidden": [%d]}' % (8 * i),
               accuracy=0.5 + i / 1000, test_accuracy=0.5, parameters=100 + i, flops=1000 + i,
               epochs=3, wall_seconds=1.5, stopped_early=False, checkpoint=f"models/{i}.pt",
               finished_at=1.7e9 + i, device="cpu", selected_on="real_val",
               model_spec='{"family": "mlp", "hidden": [%d]}' % (8 * i))
    return row


def test_results_replaced_between_footer_and_pages_are_read_whole(tmp_path,
                                                                   replace_after_first_open):
    """The search appends a trial (a new table renamed over results.parquet) while a reader
    (a starting trial, a resume) has opened the old one: the reader gets one of the two
    tables whole.  Before: OSError 'Page was smaller (...) than expected (...)', raised as
    'results table ... is unreadable'."""
    path = tmp_path / "results.parquet"
    for i in range(2):
        append_result(path, _row(i))
    before = read_results(path)

    def search_appends():
        for i in range(2, 30):
            append_result(path, _row(i))
    seen = replace_after_first_open(path, search_appends)
    table = read_results(path)
    assert seen["opens"] >= 1   # the hook saw the reader
    assert list(table["trial_id"]) == list(before["trial_id"])   # the file it opened
    assert len(read_results(path)) == 30


def test_footer_only_readers_read_one_file(tmp_path, replace_after_first_open):
    """Why the footer-only readers were left as they are (cluster.pairs' shard check,
    synth.data_parquet.set_progress, the CLI's count of a search's finished trials):
    ``pq.ParquetFile(path).metadata`` reads the footer through the one file it opened, so a
    replacement after that open changes nothing it reads (this passes before and after)."""
    path = tmp_path / "results.parquet"
    for i in range(2):
        append_result(path, _row(i))
    seen = replace_after_first_open(path, lambda: append_result(path, _row(2)))
    assert pq.ParquetFile(path).metadata.num_rows == 2   # the file it opened
    assert seen["opens"] >= 1                            # (the append read it too)
    assert pq.ParquetFile(path).metadata.num_rows == 3


def test_replaced_file_keeps_checksum_verification(tmp_path):
    """A page that fails its CRC is still an error when the file is read from one open."""
    path = tmp_path / "results.parquet"
    append_result(path, _row(0))
    data = bytearray(path.read_bytes())
    md = pq.ParquetFile(path).metadata
    chunk = md.row_group(0).column(md.schema.names.index("accuracy"))
    pos = chunk.data_page_offset + chunk.total_compressed_size - 2   # inside the page's values
    data[pos] ^= 0xFF
    path.write_bytes(bytes(data))
    from synth.errors import UserError
    with pytest.raises(UserError, match="CRC checksum"):
        read_results(path)


META = dict(input_shape=[1, 4, 4], num_classes=2, class_names=["a", "b"], mean=[0.0], std=[1.0])


def _shard(path, rows: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(rows, 1, 4, 4, generator=g)
    write_parquet(path, x, torch.arange(rows) % 2, META)
    return x


def test_set_shard_replaced_while_read_is_read_whole_or_refused(tmp_path,
                                                                replace_after_first_open):
    """A synthesized set's shard written again (an ``nnsynth invert`` rerun) while
    ``parquet:<dir>`` loads it, at each open the loader makes: the set loads as the old
    shard or the new one, whole, or is refused in one line saying the file was replaced;
    never the new file's pages read at the old footer's offsets, nor a footer checked and
    another file read.  Before: 'corrupt Parquet file ...: its pages cannot be read (unknown
    Thrift type 14)' when the rename fell between check_pages' two opens (the old footer's
    offsets into the new file's page headers), and 'Page was smaller (...) than expected'
    between pq.read_table's."""
    from synth.data import load_dataset
    from synth.errors import UserError
    outcomes = []
    for after in range(1, 8):
        folder = tmp_path / f"set{after}"
        shard = folder / "shard-00000.parquet"
        old = _shard(shard, 30, 0)
        seen = replace_after_first_open(shard, lambda: _shard(shard, 50, 1), after=after)
        try:
            data = load_dataset(f"parquet:{folder}", seed=0)
        except UserError as e:
            assert "was replaced while it was read" in str(e), (after, str(e))
            outcomes.append("refused")
            continue
        x, _ = data.split("all")
        rows = len(x)
        assert rows in (30, 50), (after, rows)
        if rows == 30:   # the old shard, its own values
            assert sorted(x.flatten().tolist()) == pytest.approx(sorted(old.flatten().tolist()))
        outcomes.append(rows if seen["opens"] >= after else "not reached")
    assert 30 in outcomes and 50 in outcomes, outcomes   # both sides of the read's open
