"""Names of bytes that are not UTF-8 (a file or folder named in Latin-1, held by Python as
surrogates) are refused as such (helper h303): they were said to hold "a control character
(a newline, an escape sequence...)", which a user looking at the name finds none of."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from synth.data import load_dataset
from synth.errors import UserError

NOT_UTF8 = "bytes that are not UTF-8 text"


def _latin1(folder, name: bytes) -> str:
    return os.fsdecode(os.fsencode(str(folder)) + b"/" + name)


def test_a_data_set_path_that_is_not_utf8_says_so(tmp_path):
    path = _latin1(tmp_path, b"caf\xe9.csv")
    with open(path, "w") as f:
        f.write("a,label\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    with pytest.raises(UserError, match=NOT_UTF8) as e:
        load_dataset(f"csv:{path}")
    assert "control character" not in str(e.value) and "caf\\xe9.csv" in str(e.value)


def test_a_class_folder_that_is_not_utf8_says_so(tmp_path):
    for name in (b"caf\xe9", b"tea"):
        os.makedirs(_latin1(tmp_path, name))
        for i in range(6):
            Image.fromarray(np.full((4, 4), 40 * i, np.uint8)).save(
                _latin1(tmp_path, name + f"/{i}.png".encode()))
    with pytest.raises(UserError, match=NOT_UTF8):
        load_dataset(f"images:{tmp_path}")


def test_a_parquet_shard_that_is_not_utf8_says_so(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.table({"a": np.arange(20.0), "label": np.arange(20) % 2}),
                   tmp_path / "sh.parquet")   # pyarrow writes by a UTF-8 name only
    os.rename(tmp_path / "sh.parquet", _latin1(tmp_path, b"sh\xe9.parquet"))
    with pytest.raises(UserError, match=NOT_UTF8):
        load_dataset(f"parquet:{tmp_path}")


def test_a_control_character_is_still_named_as_one(tmp_path):
    with pytest.raises(UserError, match="control character"):
        load_dataset(f"csv:{tmp_path}/a\x1b[2Jb.csv")


def test_a_byte_that_is_not_utf8_is_shown_as_the_byte():
    """``printable`` showed a non-UTF-8 byte of a name as Python's surrogate, ``\\udcff``;
    ``ls -b`` and the user see ``\\xff``."""
    from synth.files import printable
    assert printable(os.fsdecode(b"caf\xe9.csv")) == "caf\\xe9.csv"
    assert printable("a\nb\udcff") == "a\\nb\\xff"
    assert printable("plain name") == "plain name"
