"""``parquet:<dir>`` reads the shards of a linked subfolder (h279).

A folder of a table's files with one subfolder linked in (``ln -s /pool/part2 more``) loaded
without that subfolder's files, silently: 60 of a table's 120 rows, split and trained on as
the whole.  Linked folders are followed as linked files were; a link back into a folder
read already (a loop) is a one-line error.
"""
import numpy as np
import pandas as pd
import pytest

from synth.data import load_dataset
from synth.errors import UserError


def _table(rows=120):
    rng = np.random.default_rng(0)
    y = np.arange(rows) % 3
    return pd.DataFrame({"a": rng.normal(size=rows) + y, "b": rng.normal(size=rows),
                         "label": y})


def test_a_linked_subfolder_is_read(tmp_path):
    df = _table()
    (tmp_path / "set").mkdir()
    (tmp_path / "pool").mkdir()
    df.iloc[::2].to_parquet(tmp_path / "set" / "a.parquet")
    df.iloc[1::2].to_parquet(tmp_path / "pool" / "b.parquet")
    (tmp_path / "set" / "more").symlink_to(tmp_path / "pool")
    data = load_dataset(f"parquet:{tmp_path / 'set'}")
    assert sum(len(data.split(s)[1]) for s in ("train", "val", "test")) == len(df)


def test_a_link_loop_is_one_line(tmp_path):
    (tmp_path / "set").mkdir()
    _table().to_parquet(tmp_path / "set" / "a.parquet")
    (tmp_path / "set" / "again").symlink_to(tmp_path / "set")
    with pytest.raises(UserError, match="loop"):
        load_dataset(f"parquet:{tmp_path / 'set'}")
