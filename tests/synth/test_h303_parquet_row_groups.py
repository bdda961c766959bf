"""Parquet footers whose row groups declare more rows than their columns hold (helper h303):
pyarrow sizes its read of a row group by the group's own row count, so a 900-byte file of 60
rows whose one group said 2^31 - 1 rows took 910 MB to load (2^40: 7 GB, past a minute).
Each is now one line naming the file, before a page is read; files of any honest writer
setting still load.  Files made small in tmp_path with tests/_h207_thrift's footer rewriter."""
from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from synth.data import load_dataset
from synth.errors import UserError
from tests._h207_thrift import footer, get, with_footer


def _table(n: int = 60):
    return pa.table({"a": np.tile(np.array([0.5, 1.5, 2.5], "float32"), n // 3),
                     "b": np.arange(n, dtype="float32"), "label": np.arange(n) % 3})


def _forged(tmp_path, group_rows=None, file_rows=None):
    buf = io.BytesIO()
    pq.write_table(_table(), buf, write_statistics=False, write_page_index=False)
    meta, start = footer(buf.getvalue())
    if group_rows is not None:
        get(get(meta, 4)[2][2][0], 3)[2] = group_rows   # RowGroup.num_rows
    if file_rows is not None:
        get(meta, 3)[2] = file_rows                     # FileMetaData.num_rows
    path = tmp_path / "forged.parquet"
    path.write_bytes(with_footer(buf.getvalue(), meta, start))
    return path


@pytest.mark.parametrize("rows", [2**31 - 1, -5])   # 2**40: 7 GB before
def test_a_row_group_declaring_more_rows_than_its_values_is_refused_unread(tmp_path, rows):
    path = _forged(tmp_path, group_rows=rows)
    assert path.stat().st_size < 2_000
    with pytest.raises(UserError, match=f"row group 0 declares {rows:,} rows and its columns "
                                        f"hold 60 values; refused unread") as e:
        load_dataset(f"parquet:{path}")
    assert str(path) in str(e.value) and "\n" not in str(e.value)


def test_row_groups_that_disagree_with_the_footer_are_refused(tmp_path):
    # the search's results table has no row bound of its own: check_pages holds both
    from synth.data_parquet_pages import check_pages, open_parquet
    path = _forged(tmp_path, group_rows=59)
    with open_parquet(path) as source, pytest.raises(
            UserError, match="its row groups declare 59 rows, its footer 60"):
        check_pages(path, ["a"], source)


@pytest.mark.parametrize("options", [dict(row_group_size=7), dict(row_group_size=60),
                                     dict(use_dictionary=False, data_page_version="2.0")])
def test_honest_row_groups_with_nulls_and_lists_still_load(tmp_path, options):
    from synth.data_parquet_pages import check_pages, open_parquet
    table = pa.table({"a": pa.array([None, 1.0, 2.0] * 20), "x": pa.array(
        [[], None, [1.0, 2.0]] * 20, pa.list_(pa.float32())), "label": np.arange(60) % 3})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, **options)
    with open_parquet(path) as source:
        check_pages(path, ["a", "x", "label"], source)
    pq.write_table(_table(), path, **options)
    assert len(load_dataset(f"parquet:{path}").y_train) > 0


def test_a_file_of_more_row_groups_than_the_limit_is_refused_before_it_is_read(tmp_path,
                                                                              monkeypatch):
    # a table written a row at a time: 100,000 groups of 3 columns took 105 s to load
    import synth.data_parquet as data_parquet
    monkeypatch.setattr(data_parquet, "MAX_ROW_GROUPS", 20)
    path = tmp_path / "rows.parquet"
    pq.write_table(_table(), path, row_group_size=2)
    with pytest.raises(UserError, match="has 30 row groups; the limit is 20 "
                                        r"\(write it again in fewer, larger groups") as e:
        load_dataset(f"parquet:{path}")
    assert str(path) in str(e.value)
    pq.write_table(_table(), path, row_group_size=3)   # 20 groups
    assert len(load_dataset(f"parquet:{path}").y_train) > 0


def test_an_unread_column_declaring_many_values_does_not_vouch_for_the_rows(tmp_path):
    # the search's results table reads some columns of a file: another one's count is no
    # bound on what the columns read are sized to
    from synth.data_parquet_pages import check_pages, open_parquet
    buf = io.BytesIO()
    pq.write_table(_table(), buf, write_statistics=False, write_page_index=False)
    meta, start = footer(buf.getvalue())
    get(meta, 3)[2] = 2**31 - 1
    group = get(meta, 4)[2][2][0]
    get(group, 3)[2] = 2**31 - 1
    chunk_b = get(group, 1)[2][2][1]
    get(get(chunk_b, 3)[2], 5)[2] = 2**40   # column b's ColumnMetaData.num_values
    path = tmp_path / "unread.parquet"
    path.write_bytes(with_footer(buf.getvalue(), meta, start))
    with open_parquet(path) as source, pytest.raises(
            UserError, match="row group 0 declares 2,147,483,647 rows and its columns hold 60"):
        check_pages(path, ["a", "label"], source)
