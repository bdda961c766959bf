"""``--dataset parquet:<dir>`` of an interrupted ``nnsynth invert`` folder (h180's follow-up):
train and eval read its finished shards as the set, without a word; now one warning names
the folder and how many of the planned inputs it holds.  A finished folder says nothing."""
import json
import logging

import torch

from synth.data import read_parquet_table, write_parquet

META = {"input_shape": [4], "num_classes": 2, "class_names": ["a", "b"],
        "mean": [0.0] * 4, "std": [1.0] * 4}


def _folder(root, planned):
    root.mkdir()
    g = torch.Generator().manual_seed(0)
    write_parquet(root / "shard-00000.parquet", torch.randn(6, 4, generator=g),
                  torch.tensor([0, 1] * 3), META)
    (root / "job.json").write_text(json.dumps({"num_images": planned}))
    return root


def test_an_unfinished_invert_folder_read_as_a_data_set_is_said(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="synth.data"):
        table, _ = read_parquet_table(_folder(tmp_path / "part", 24))
    assert table.num_rows == 6
    assert "is an unfinished nnsynth invert run: it holds 6 of the 24 inputs planned" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="synth.data"):
        read_parquet_table(_folder(tmp_path / "whole", 6))
    assert "unfinished" not in caplog.text
