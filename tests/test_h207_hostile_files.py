"""Hostile files given to nnsynth's loaders (helper h207): each is a one-line UserError naming
the file and what was expected, in bounded time and memory -- never a traceback, a hang or
gigabytes for a file of kilobytes.  The files are made small in tmp_path."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from synth.data import load_dataset
from synth.errors import UserError


def _one_line(e) -> str:
    text = str(e.value)
    assert "\n" not in text and "Traceback" not in text, text
    return text


def test_blank_images_that_decode_to_far_more_than_their_files_are_refused(tmp_path):
    # six black 1024x1024 RGB PNGs: ~25 kB of files, 72 MiB as float32 inputs; 340 of them
    # (1.3 MB) asked for 4 GiB, a MemoryError traceback under a memory limit
    blob = io.BytesIO()
    Image.new("RGB", (1024, 1024)).save(blob, "PNG")
    for c in "ab":
        (tmp_path / c).mkdir()
        for i in range(3):
            (tmp_path / c / f"{i}.png").write_bytes(blob.getvalue())
    with pytest.raises(UserError, match="times their size") as e:
        load_dataset(f"images:{tmp_path}")
    assert str(tmp_path) in _one_line(e)


def test_ordinary_small_images_still_load(tmp_path):
    for c in "ab":
        (tmp_path / c).mkdir()
        for i in range(5):
            Image.new("L", (8, 8), 40 * i).save(tmp_path / c / f"{i}.png")
    assert load_dataset(f"images:{tmp_path}").input_shape == (1, 8, 8)


def _forged_parquet(path, rows: int = 60, column_bytes: int = 1000, n: int = 1 << 23,
                    sizes: dict | None = None) -> str:
    """A plain table whose one page per column holds ``n`` zeros (64 MiB of float64,
    zstd-compressed to a few kB) under a footer that declares ``rows`` rows and
    ``column_bytes`` bytes a column: every footer check passes."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tests._h207_thrift import forge_footer
    schema = pa.schema([pa.field("f0", pa.float64(), nullable=False),
                        pa.field("label", pa.int64(), nullable=False)])
    table = pa.table({"f0": np.zeros(n), "label": np.arange(n) % 2 * 0}, schema=schema)
    blob = pa.BufferOutputStream()
    pq.write_table(table, blob, compression="zstd", data_page_size=1 << 30, max_rows_per_page=n,
                   row_group_size=n, use_dictionary=False, write_statistics=False)
    path.write_bytes(forge_footer(blob.getvalue().to_pybytes(), rows, column_bytes, sizes))
    return str(path)


def test_parquet_pages_larger_than_the_footer_declares_are_refused_unread(tmp_path):
    # the footer says 60 rows of 1,000 bytes a column; the reader decompressed each page to
    # its header's 64 MiB (512 MiB at 2^26 rows, 2 GiB possible) and read 60 rows of it
    f = _forged_parquet(tmp_path / "forged.parquet")
    assert (tmp_path / "forged.parquet").stat().st_size < 100_000
    with pytest.raises(UserError, match="pages of column 'f0' decompress to more than its "
                                        "footer declares") as e:
        load_dataset(f"parquet:{f}")
    assert f in _one_line(e)


def test_a_column_declaring_far_more_bytes_than_values_is_refused(tmp_path):
    f = _forged_parquet(tmp_path / "wide.parquet", n=1 << 12, sizes={"f0": 1 << 30})
    with pytest.raises(UserError, match="declares 1,073,741,824 bytes for 60 values") as e:
        load_dataset(f"parquet:{f}")
    assert f in _one_line(e)


@pytest.mark.parametrize("options", [
    dict(compression="snappy"), dict(compression="zstd", data_page_version="2.0"),
    dict(compression="gzip", use_dictionary=False), dict(compression="none"),
    dict(compression="brotli", row_group_size=7, data_page_size=64)])
def test_parquet_files_of_any_writer_setting_still_load(tmp_path, options):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    rng = np.random.default_rng(0)
    table = pa.table({"a": rng.random(90), "b": rng.integers(0, 5, 90).astype(float),
                      "split": pa.array(["train", "train", "test"] * 30).dictionary_encode(),
                      "label": pa.array(["x", "y", "z", "y", "z", "x", "z", "x", "y"] * 10)})
    pq.write_table(table, tmp_path / "t.parquet", **options)
    data = load_dataset(f"parquet:{tmp_path / 't.parquet'}")
    assert data.num_classes == 3 and len(data.y_test) == 30


def test_a_synthesized_set_of_many_pages_still_loads(tmp_path):
    import torch
    from synth.data import write_parquet
    x, y = torch.rand(3000, 1, 8, 8), torch.arange(3000) % 3
    meta = dict(input_shape=[1, 8, 8], num_classes=3, mean=[0.5], std=[0.3])
    write_parquet(tmp_path / "s" / "shard-0.parquet", x, y, meta)
    write_parquet(tmp_path / "s" / "shard-1.parquet", x[:10], y[:10], meta)
    assert len(load_dataset(f"parquet:{tmp_path / 's'}").y_train) > 2000


class _Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _cifar(root, data, labels, protocol=4) -> str:
    import pickle
    root.mkdir()
    blob = pickle.dumps({b"data": data, b"labels": labels}, protocol=protocol)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (root / name).write_bytes(blob)
    return f"cifar10:{root}"


def test_a_cifar_batch_may_not_call_numpy_ndarray_to_allocate(tmp_path):
    # ndarray((100000, 3072), 'u1') in a 100 kB file: uninitialized memory as images, and
    # 1.4 GiB + 7 GiB (float32) for six such batches, a MemoryError traceback under a cap
    import numpy as np
    n = 20_000
    name = _cifar(tmp_path / "c", _Reduce(np.ndarray, ((n, 3072), np.dtype("u1"))),
                  np.arange(n, dtype=np.uint8) % 10)
    with pytest.raises(UserError, match="numpy.ndarray called") as e:
        load_dataset(name)
    assert "data_batch_1" in _one_line(e)


@pytest.mark.parametrize("protocol", [3, 4])   # 5 pickles arrays by _frombuffer: refused, as before
def test_cifar_batches_as_numpy_pickles_them_still_load(tmp_path, protocol):
    import numpy as np
    data = np.random.default_rng(0).integers(0, 256, (40, 3072), dtype=np.uint8)
    name = _cifar(tmp_path / "c", data, [i % 10 for i in range(40)], protocol)
    assert load_dataset(name).input_shape == (3, 32, 32)


def _unreadable(monkeypatch, folder):
    """Listing ``folder`` fails as it does without read permission (the tests may run as
    root, for whom chmod 0 changes nothing)."""
    import os
    from pathlib import Path
    iterdir, scandir = Path.iterdir, os.scandir

    def denied(path):
        if os.path.abspath(path) == str(folder):
            raise PermissionError(13, "Permission denied", str(path))

    def path_iterdir(self):
        denied(self)
        return iterdir(self)

    def os_scandir(path="."):
        denied(path)
        return scandir(path)

    monkeypatch.setattr(Path, "iterdir", path_iterdir)
    monkeypatch.setattr(os, "scandir", os_scandir)


def test_an_image_class_folder_that_cannot_be_listed_is_one_line(tmp_path, monkeypatch):
    for c in "ab":
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.new("L", (8, 8), i).save(tmp_path / c / f"{i}.png")
    _unreadable(monkeypatch, tmp_path / "b")   # was a PermissionError traceback
    with pytest.raises(UserError, match="cannot be read") as e:
        load_dataset(f"images:{tmp_path}")
    assert str(tmp_path / "b") in _one_line(e)


def test_a_parquet_folder_that_cannot_be_listed_is_refused_not_skipped(tmp_path, monkeypatch):
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    (tmp_path / "more").mkdir()
    for f in (tmp_path / "a.parquet", tmp_path / "more" / "b.parquet"):
        pq.write_table(pa.table({"v": np.arange(30.0), "label": np.arange(30) % 2}), f)
    data = load_dataset(f"parquet:{tmp_path}")
    assert len(data.y_train) + len(data.y_val) + len(data.y_test) == 60
    _unreadable(monkeypatch, tmp_path / "more")   # os.walk skipped it: 30 rows, no word
    with pytest.raises(UserError, match="cannot be read") as e:
        load_dataset(f"parquet:{tmp_path}")
    assert str(tmp_path / "more") in _one_line(e)


@pytest.mark.parametrize("spec", [
    {"family": "convnet", "widths": [36], "kernels": [1], "strides": [1]},
    {"family": "lenet5", "channels": [36, 1], "hidden": [2], "bn": False}])
def test_a_large_recorded_input_shape_is_refused_before_the_constructor_runs_a_layer(
        spec, monkeypatch):
    # convnet and lenet5 size their classifier by a pass of the features on zeros, outside
    # build()'s bounded fit check: a 2.5 MB checkpoint (lenet5 channels [1000, 1]) whose
    # input_shape was (3, 2048, 2048) asked for 33 GB there; here 36 channels make 151 M
    # values a sample (1.2 GB for the pass's two), past the 2^27 limit
    from torch import nn
    from synth.models import build
    from synth.models.registry import WorkLimitError
    ran = []
    forward = nn.Conv2d.forward
    monkeypatch.setattr(nn.Conv2d, "forward", lambda self, x: ran.append(1) or forward(self, x))
    with pytest.raises(WorkLimitError, match="would make 150,994,944 output values a sample"):
        build(spec, (3, 2048, 2048), 3)
    assert not ran


def test_an_image_file_is_opened_only_as_the_formats_its_suffixes_name(tmp_path, monkeypatch):
    # Pillow tried every format it knows: an EPS file named 0.png was opened as EPS, and
    # decoding it runs Ghostscript (where installed) on the file
    from PIL import EpsImagePlugin
    loaded = []
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "load",
                        lambda self, *a, **k: loaded.append(1))
    for c in "ab":
        (tmp_path / c).mkdir()
        for i in range(3):
            Image.new("L", (8, 8), i).save(tmp_path / c / f"{i}.png")
    (tmp_path / "a" / "0.png").write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\n"
                                           b"showpage\n")
    with pytest.raises(UserError, match="cannot be read as an image") as e:
        load_dataset(f"images:{tmp_path}")
    assert "0.png" in _one_line(e) and not loaded


def test_a_csv_row_longer_than_a_block_says_so(tmp_path):
    # pyarrow's 'straddling object straddles two block boundaries (try to increase block
    # size?)' named an option no nnsynth user has
    f = tmp_path / "long.csv"
    f.write_text('a,label\n"' + "x" * (12 << 20) + '",0\n1,1\n')
    with pytest.raises(UserError, match="a row longer than 4,194,304 bytes") as e:
        load_dataset(f"csv:{f}")
    assert "straddl" not in _one_line(e) and str(f) in str(e.value)


KMSG_SCRIPT = r"""
import signal, sys
from synth.data import load_dataset
from synth.checkpoint import read_checkpoint
from synth.files import read_yaml_file
from synth.text import load_text
from synth.errors import UserError
class Hung(BaseException):   # not an OSError, which the loaders turn into their errors
    pass
def alarm(*_):
    raise Hung
signal.signal(signal.SIGALRM, alarm)
for name, load in [("csv", lambda: load_dataset("csv:/proc/kmsg")),
                   ("parquet", lambda: load_dataset("parquet:/proc/kmsg")),
                   ("ts", lambda: load_dataset("ts:/proc/kmsg")),
                   ("text", lambda: load_text("text:/proc/kmsg")),
                   ("checkpoint", lambda: read_checkpoint("/proc/kmsg")),
                   ("config", lambda: read_yaml_file("/proc/kmsg"))]:
    signal.alarm(5)
    try:
        load()
        print(name, "read")
    except UserError as e:
        print(name, "refused", str(e).replace("\n", " "))
    except Hung:
        print(name, "HUNG")
    signal.alarm(0)
"""


@pytest.mark.skipif(not __import__("os").access("/proc/kmsg", __import__("os").R_OK),
                    reason="/proc/kmsg is readable by root (CAP_SYSLOG) only")
def test_a_file_that_reports_no_bytes_is_not_read(tmp_path):
    # /proc/kmsg is a regular file of size 0 whose read waits for kernel messages: every
    # loader hung on it (given on the command line, or as the data set a checkpoint records)
    import subprocess
    import sys
    from pathlib import Path
    out = subprocess.run([sys.executable, "-c", KMSG_SCRIPT], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[1]).stdout
    rows = dict(line.split(" ", 1) for line in out.splitlines())
    assert set(rows) == {"csv", "parquet", "ts", "text", "checkpoint", "config"}, out
    assert not any(v.startswith("HUNG") for v in rows.values()), out
    assert rows["config"] == "read" and "holds no words" in rows["text"], out   # as if empty


def test_a_page_header_of_the_wrong_field_types_is_corrupt_not_a_traceback(tmp_path):
    # a mutated file (fuzzing): its page header's uncompressed size was a struct, and the
    # comparison of it was a TypeError traceback
    import io
    from types import SimpleNamespace
    from synth.data_parquet_pages import _check_chunk
    header = bytes([0x15, 0x00,     # 1: type i32 = 0 (data page)
                    0x1C, 0x00,     # 2: uncompressed_page_size, but a (empty) struct
                    0x15, 0x02,     # 3: compressed_page_size i32 = 1
                    0x00])
    chunk = SimpleNamespace(data_page_offset=0, dictionary_page_offset=None,
                            has_dictionary_page=False, total_compressed_size=len(header) + 1,
                            total_uncompressed_size=100, num_values=1, path_in_schema="x")
    with pytest.raises(ValueError, match="without its sizes"):
        _check_chunk(io.BytesIO(header + b"\0"), tmp_path / "f.parquet", chunk)


def test_a_refused_csv_row_that_is_not_utf8_prints_no_traceback(tmp_path, capfd):
    # pyarrow decodes a row it refuses as UTF-8 before calling the handler: 'Exception
    # ignored in: <_RowFields>' and a UnicodeDecodeError traceback went to stderr before
    # the error line (nnsynth eval --dataset csv:F)
    f = tmp_path / "bad.csv"
    f.write_bytes(b"a,b,label\n1,2,x\n3,4,y\n5\xf5\n1,2,x\n3,4,y\n")
    with pytest.raises(UserError, match="line 4 has 1 fields, expected 3") as e:
        load_dataset(f"csv:{f}")
    _one_line(e)
    err = capfd.readouterr().err
    assert "Exception ignored" not in err and "Traceback" not in err, err


def test_a_checkpoint_damaged_in_a_weight_is_refused_by_its_checksums(tmp_path):
    # torch.load checks no CRC: one bit flipped in a weight loaded, and eval scored the
    # damaged model (iris loss 1.0572 -> 1.0579) without a word
    import struct
    import zipfile
    from synth.checkpoint import read_checkpoint, save_checkpoint
    from synth.models import build
    good = tmp_path / "m.pt"
    save_checkpoint(good, build("mlp_small", (4,), 3), dataset={
        "name": "iris", "input_shape": [4], "num_classes": 3, "mean": [0.0] * 4,
        "std": [1.0] * 4})
    raw = bytearray(good.read_bytes())
    info = next(i for i in zipfile.ZipFile(good).infolist() if i.filename.endswith("data/1"))
    name, extra = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    raw[info.header_offset + 30 + name + extra + 10] ^= 0x40
    bad = tmp_path / "bad.pt"
    bad.write_bytes(bytes(raw))
    read_checkpoint(good)
    with pytest.raises(UserError, match="does not match the checksum") as e:
        read_checkpoint(bad)
    assert "data/1" in _one_line(e)


# an 8x8 PNG damaged by mutation fuzzing: its header reads, its decoding raised Pillow's
# SyntaxError('broken PNG file (chunk ...)'), a traceback
BROKEN_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d494844520000000800000008080200000" "04b6d29dc00000014494441"
    "54789c63e4129163c00698b08a444154789c63e41291" "63c00698b08a0e5a0900355c004c89293faf0000"
    "00000e5a0900355c004c89293feb0000000049454e44ae426082")


def _two_classes(root):
    for c in "ab":
        (root / c).mkdir()
        for i in range(3):
            Image.new("RGB", (8, 8), (10, 20, 30)).save(root / c / f"{i}.png")


def test_an_image_pillow_fails_to_decode_with_any_error_is_one_line(tmp_path, monkeypatch):
    _two_classes(tmp_path)
    (tmp_path / "a" / "0.png").write_bytes(BROKEN_PNG)
    with pytest.raises(UserError, match="cannot be decoded") as e:
        load_dataset(f"images:{tmp_path}")
    assert "0.png" in _one_line(e)
    # a PNG chunk declaring 3 GB: Pillow's fp.read(n) was a MemoryError under a memory cap
    (tmp_path / "a" / "0.png").write_bytes((tmp_path / "a" / "1.png").read_bytes())

    def no_memory(self, *args, **kwargs):
        raise MemoryError
    monkeypatch.setattr(Image.Image, "convert", no_memory)
    with pytest.raises(UserError, match="cannot be decoded .MemoryError."):
        load_dataset(f"images:{tmp_path}")


def test_pillows_warnings_on_a_damaged_image_are_one_log_line(tmp_path, capfd, caplog):
    # a TIFF with one byte changed still decodes, with UserWarning 'Tag data larger than
    # file. Skipping tag 279' printed by Python with Pillow's source line
    import warnings
    _two_classes(tmp_path)
    blob = io.BytesIO()
    Image.new("L", (8, 8), 7).save(blob, "TIFF")
    damaged = bytearray(blob.getvalue())
    for i in range(len(damaged)):   # the first one-byte change that decodes with a warning
        d = bytearray(damaged)
        d[i] ^= 0x80
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                with Image.open(io.BytesIO(bytes(d))) as im:
                    im.load()
                    fine = im.size == (8, 8)
            except Exception:
                fine = False
        if fine and w:
            break
    for c in "ab":
        for i in range(3):
            (tmp_path / c / f"{i}.png").unlink()
            Image.new("L", (8, 8), 7).save(tmp_path / c / f"{i}.tif")
    (tmp_path / "a" / "0.tif").write_bytes(bytes(d))
    load_dataset(f"images:{tmp_path}")
    assert "warnings.warn" not in capfd.readouterr().err
    assert any("Pillow:" in r.getMessage() for r in caplog.records)


def test_a_named_pipe_in_a_class_folder_is_refused_not_skipped(tmp_path):
    import os
    _two_classes(tmp_path)
    os.mkfifo(tmp_path / "a" / "9.png")   # never opened: a read would wait for a writer
    with pytest.raises(UserError, match="is not a regular file") as e:
        load_dataset(f"images:{tmp_path}")
    assert "9.png" in _one_line(e)


def test_a_ts_folder_that_cannot_be_listed_says_so(tmp_path, monkeypatch):
    # glob found nothing in a folder without read permission: 'must hold exactly one
    # *_TRAIN.ts with its *_TEST.ts; found []'
    (tmp_path / "P_TRAIN.ts").write_text("@data\n")
    (tmp_path / "P_TEST.ts").write_text("@data\n")
    _unreadable(monkeypatch, tmp_path)   # os.scandir (glob's) and Path.iterdir
    import os
    real = os.listdir

    def listdir(path="."):
        if os.path.abspath(path) == str(tmp_path):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)
    monkeypatch.setattr(os, "listdir", listdir)
    with pytest.raises(UserError, match="cannot be read .Permission denied.") as e:
        load_dataset(f"ts:{tmp_path}")
    assert str(tmp_path) in _one_line(e)
