"""Hostile input files found by helper 91's probe: each is refused in bounded time and
memory with a one-line error naming the file and what was expected."""
from __future__ import annotations

import io
import subprocess
import sys
import threading
import zipfile

import pytest

from synth.errors import UserError

# Read a checkpoint in a child process whose address space is capped (2 GiB): a file read
# whole into memory fails there with MemoryError instead of taking the machine's memory.
CAPPED_READ = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
from synth.checkpoint import read_checkpoint
from synth.errors import UserError
try:
    read_checkpoint(sys.argv[1])
except UserError as e:
    print(e)
"""


def test_huge_file_that_begins_like_a_zip_is_refused_from_its_index(tmp_path):
    """An 8 GB (sparse) file beginning with 'PK\\x03\\x04' was read whole (8 GB resident,
    a minute here) before it was found to be no zip; under a memory cap it said only 'too
    large to load'.  Now the zip's index is read from the file first."""
    path = tmp_path / "big.pt"
    with open(path, "wb") as f:
        f.write(b"PK\x03\x04")
        f.truncate(8 << 30)
    out = subprocess.run([sys.executable, "-c", CAPPED_READ, str(path)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "not a readable zip file" in out.stdout, out.stdout


def test_zip_larger_than_any_checkpoint_within_the_parameter_limit(tmp_path, monkeypatch):
    """A well-formed, uncompressed zip larger than a checkpoint of the largest allowed
    model can be was read whole before anything looked at it."""
    from synth.checkpoint import MAX_PICKLE_BYTES, read_checkpoint
    monkeypatch.setenv("NNSYNTH_MAX_PARAMETERS", "1000")
    path = tmp_path / "big.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", b"spec state_dict")
        z.writestr("archive/data/0", bytes(MAX_PICKLE_BYTES + 10_000))
    with pytest.raises(UserError, match=r"big\.pt is [\d,]+ bytes, larger than an nnsynth "
                                        r"checkpoint of a model within the parameter limit"):
        read_checkpoint(path)


class _ReadsSeen(io.FileIO):
    """A real file that records which thread reads it."""
    threads: list[int] = []

    def read(self, size=-1):
        self.threads.append(threading.get_ident())
        return super().read(size)

    def readinto(self, buffer):
        self.threads.append(threading.get_ident())
        return super().readinto(buffer)


@pytest.mark.parametrize("text", ["", "a,b,label\n" + "1,2,0\n" * 30])
def test_csv_file_is_read_only_by_the_calling_thread(tmp_path, monkeypatch, text):
    """pyarrow's threaded CSV reader read the Python file object from its I/O threads; a
    read still pending when a parse error ended the command took the GIL after Python's
    shutdown: `nnsynth train --dataset csv:empty.csv` printed its error line, then
    'terminate called without an active exception' and exited 134 (1 run in 3 to 10).
    No other thread may hold the file, failing or not."""
    import synth.data
    import synth.data_csv   # where the CSV reader lives (synth.data re-exports it)
    path = tmp_path / "t.csv"
    path.write_text(text)
    _ReadsSeen.threads = []
    monkeypatch.setattr(synth.data_csv, "open", lambda p, mode="r": _ReadsSeen(p, "r"),
                        raising=False)
    try:
        synth.data.load_dataset(f"csv:{path}")
    except UserError:
        pass
    # an empty file is refused from its size, unread, since 2e7bebf (as /proc/kmsg must be)
    assert _ReadsSeen.threads or not text
    assert set(_ReadsSeen.threads) <= {threading.get_ident()}


def test_resume_state_that_unpacks_to_far_more_than_its_size_is_refused_unread(tmp_path):
    """A state file (``<out>.resume``) was read with a bare torch.load: a 0.5 MB file of
    one deflated entry made `nnsynth train` allocate the 512 MB it unpacked to before
    refusing it.  Now it is read as checkpoints are, and kept (nnsynth did not write it)."""
    import torch
    from synth.resume import load_state, remove_state
    raw = io.BytesIO()
    torch.save({"format": "train", "key": "k", "w": torch.zeros(1 << 20)}, raw)
    plain = zipfile.ZipFile(io.BytesIO(raw.getvalue()))
    path = tmp_path / "o.pt.resume"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info in plain.infolist():
            z.writestr(info.filename, plain.read(info.filename))
    with pytest.raises(UserError, match=r"o\.pt\.resume: its entries unpack to [\d,]+ bytes "
                                        r"from a [\d,]+-byte file .*it is not nnsynth's"):
        load_state(path, "train", "k", "training")
    remove_state(path, "train")
    assert path.is_file()


def test_a_deeply_nested_job_json_is_refused_in_one_line_and_kept(tmp_path):
    """`nnsynth invert --out D` where D/job.json is 200 kB of nested brackets: json's
    RecursionError escaped cluster.invert.check_resumable and cluster.pairs' manifest check
    as a 40-line traceback.  Now it is no job of ours: refused in one line, kept."""
    from cluster.invert import check_resumable
    from cluster.pairs import _check_manifest
    from synth.inversion import InversionConfig
    content = b"[" * 100_000 + b"]" * 100_000
    (tmp_path / "job.json").write_bytes(content)
    check_resumable(tmp_path, InversionConfig())   # not a job to resume: run_synthesis decides
    for replace in (False, True):
        with pytest.raises(UserError, match="not a synthesis job's manifest"):
            _check_manifest(tmp_path, {"teacher": "t"}, replace=replace)
    assert (tmp_path / "job.json").read_bytes() == content


def test_a_deeply_nested_latency_cache_file_is_measured_again(tmp_path):
    """cluster.latency.read_table: a cached table of nested brackets raised json's
    RecursionError (a traceback from `nnsynth symbiotic`) instead of counting as no table."""
    from cluster.latency import read_table
    path = tmp_path / "latency-0123456789abcdef.json"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    table, why = read_table(path)
    assert table is None and "nested too deep" in why
