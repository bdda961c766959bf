"""A data set's "kind", "layout" and "padding" words (helper h303): a Parquet set's metadata
gave them as any value, and a 10 MB kind or one holding escape sequences was recorded in the
checkpoint trained on it.  Now a line of at most MAX_META_TEXT printable characters, checked
where the rest of the metadata is (``check_metadata``: Parquet sets and checkpoints)."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import torch

from synth.data import load_dataset, write_parquet
from synth.errors import UserError


def _set(tmp_path, **words):
    iris = load_dataset("iris")
    path = tmp_path / "s.parquet"
    write_parquet(path, torch.rand(30, 4), torch.arange(30) % 3, iris.metadata())
    table = pq.read_table(path)
    (key, raw), = [(k, v) for k, v in table.schema.metadata.items() if b"pandas" not in k]
    meta = {**json.loads(raw), **words}
    pq.write_table(table.replace_schema_metadata({key: json.dumps(meta).encode()}), path)
    return path


@pytest.mark.parametrize("words", [{"kind": "x" * 10_000_000}, {"layout": "L\x1b[2J"},
                                   {"padding": ["left"]}])
def test_set_words_that_are_no_short_printable_line_are_refused(tmp_path, words):
    path = _set(tmp_path, **words)
    key = next(iter(words))
    with pytest.raises(UserError, match=f"{key} must be a line of at most 500 printable "
                                        f"characters") as e:
        load_dataset(f"parquet:{path}")
    assert str(path) in str(e.value) and len(str(e.value)) < 400


def test_a_sequence_sets_own_words_still_load(tmp_path):
    path = _set(tmp_path, kind="sequence", layout="channels x steps",
                padding="left, zeros after normalization (the channel's train mean), to 29 steps")
    assert load_dataset(f"parquet:{path}").extra["kind"] == "sequence"
