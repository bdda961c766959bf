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
