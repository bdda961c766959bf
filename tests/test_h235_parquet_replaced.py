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

import os

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pyarrow.parquet.core as pq_core
import pytest

from search.results import COLUMNS, append_result, read_results


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
    """``arm(path, replace)``: ``replace()`` runs once, right after the first open of ``path``."""
    armed = {}

    def opened(p):
        target = armed.get("path")
        if target is not None and os.path.realpath(str(p)) == target:
            del armed["path"]
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

    monkeypatch.setattr(pq_core, "_resolve_filesystem_and_path", resolve)
    monkeypatch.setattr(pa, "OSFile", osfile)
    monkeypatch.setattr(pa, "memory_map", memory_map)

    def arm(path, replace):
        armed.update(path=os.path.realpath(path), replace=replace)
    yield arm
    assert "path" not in armed, "the file was never opened: the hook did not see the reader"


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
    replace_after_first_open(path, search_appends)
    table = read_results(path)
    assert list(table["trial_id"]) == list(before["trial_id"])   # the file it opened
    assert len(read_results(path)) == 30


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
    with pytest.raises(UserError, match="CRC|unreadable"):
        read_results(path)
