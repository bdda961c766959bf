"""A .ts set's record names its file as spelt (``source``), which its digest hashes (h298).

`nnsynth run` on ``ts:data/eq.ts`` (a path relative to the working directory) recorded the
teacher's data set so; the search loads the set by its absolute path (``search.run``'s
with_absolute_paths) and warned 'ts:/.../eq.ts changed since the teacher ... was trained on
it: its test split may hold training samples' for an unchanged file.  ``nnsynth eval`` of
the run's final.pt from another folder (the recorded file found where it was, h287) and
with the file spelt absolute gave the same false warning.  ``warn_if_changed`` compares the
set as the record spells it, name and file alike (``Dataset.as_recorded``)."""
import logging

import numpy as np

from synth.checkpoint import trained_record, warn_if_changed
from synth.data import load_dataset


def _ts(path, rows=30, steps=6):
    rng = np.random.default_rng(0)
    lines = ["@problemName t", "@timeStamps false", "@univariate false", "@dimensions 2",
             "@equalLength true", f"@seriesLength {steps}", "@classLabel true up down flat",
             "@data"]
    for i in range(rows):
        label = ("up", "down", "flat")[i % 3]
        chans = [",".join(f"{v:.3f}" for v in rng.normal(size=steps) + i % 3)
                 for _ in range(2)]
        lines.append(":".join(chans) + ":" + label)
    path.write_text("\n".join(lines) + "\n")


def test_an_unchanged_ts_file_spelt_otherwise_is_not_said_changed(tmp_path, monkeypatch,
                                                                   caplog):
    (tmp_path / "data").mkdir()
    _ts(tmp_path / "data" / "eq.ts")
    monkeypatch.chdir(tmp_path)
    record = trained_record(load_dataset("ts:data/eq.ts", seed=0))
    assert record["source"] == "data/eq.ts"
    other = tmp_path / "elsewhere"
    other.mkdir()
    with caplog.at_level(logging.WARNING):
        for name, cwd in ((f"ts:{tmp_path / 'data' / 'eq.ts'}", tmp_path),   # absolute
                          (f"ts:{tmp_path / 'data' / 'eq.ts'}", other),
                          ("ts:./data/eq.ts", tmp_path),
                          ("ts:data/../data/eq.ts", tmp_path)):
            monkeypatch.chdir(cwd)
            assert warn_if_changed(record, load_dataset(name, seed=0), "t.pt") is False, name
    assert "changed since" not in caplog.text


def test_a_rewritten_ts_file_is_still_said_changed(tmp_path, monkeypatch, caplog):
    (tmp_path / "data").mkdir()
    _ts(tmp_path / "data" / "eq.ts")
    monkeypatch.chdir(tmp_path)
    record = trained_record(load_dataset("ts:data/eq.ts", seed=0))
    _ts(tmp_path / "data" / "eq.ts", rows=33)
    with caplog.at_level(logging.WARNING):
        assert warn_if_changed(record, load_dataset(f"ts:{tmp_path}/data/eq.ts", seed=0), "t.pt")
    assert "changed since t.pt" in caplog.text


def test_a_ts_checkpoint_read_from_another_folder_keeps_its_digest(tmp_path, monkeypatch,
                                                                   caplog):
    """The recorded file found where it was trained (h287's fallback) is the set as the
    record names it: its digest is the record's (no warning; resume keys of prune, distill
    and the like, which hash it, are those of a run in the training folder)."""
    import torch
    from synth.checkpoint import checkpoint_dataset, load_model, save_checkpoint
    from synth.models import build
    (tmp_path / "data").mkdir()
    _ts(tmp_path / "data" / "eq.ts")
    monkeypatch.chdir(tmp_path)
    data = load_dataset("ts:data/eq.ts", seed=0)
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [4]}, data.input_shape, data.num_classes)
    save_checkpoint(tmp_path / "m.pt", model, dataset=trained_record(data))
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    with caplog.at_level(logging.WARNING):
        found = checkpoint_dataset(load_model(tmp_path / "m.pt"))
    assert "changed since" not in caplog.text
    assert found.name == "ts:data/eq.ts" and found.digest() == data.digest()
