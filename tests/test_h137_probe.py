"""Probe h137: a careful hostile user's inputs (data files, output folders, checkpoints).
Each test failed before its fix."""
import json

import pytest

from tests._cli import one_error_line, run


# --------------------------------------------------------------------------- symbiotic --out
@pytest.mark.parametrize("planted", [
    {"report.json": '{"mine": 1}', "report.md": "my notes"},   # a report of the user's own
    {"cache/notes.txt": "mine", "report.md": "my notes"},      # a cache/ folder of the user's
])
def test_symbiotic_out_of_the_users_report_or_cache_is_refused(tmp_path, planted):
    """A folder holding any report.json or cache/ passed as an earlier run's: symbiotic
    trained, then wrote report.json, report.md and latency.png over the user's files."""
    mine = tmp_path / "mine"
    for name, text in planted.items():
        (mine / name).parent.mkdir(parents=True, exist_ok=True)
        (mine / name).write_text(text)
    line = one_error_line(run(["symbiotic", "--dataset", "text:/no/such.txt",
                               "--platform", "accel", "--out", str(mine)]))
    assert "holds files nnsynth did not write" in line
    for name, text in planted.items():
        assert (mine / name).read_text() == text


def test_symbiotic_out_of_an_earlier_run_is_still_resumed(tmp_path):
    """Its own report.json, or an interrupted run's cache/ (tables, candidates, a temp file
    of a killed write), is an earlier run: accepted (here the missing text is the error)."""
    report = {"dataset": "text:x", "platform": "accel", "choice": {}, "tables": {}}
    one = tmp_path / "one"
    one.mkdir()
    (one / "report.json").write_text(json.dumps(report))
    two = tmp_path / "two"
    (two / "cache" / "candidates").mkdir(parents=True)
    (two / "cache" / "latency-0123.json").write_text("{}")
    (two / "cache" / ".latency-0123.json.tmp1.ab").write_text("")
    for out in (one, two):
        line = one_error_line(run(["symbiotic", "--dataset", "text:/no/such.txt",
                                   "--platform", "accel", "--out", str(out)]))
        assert "text file not found" in line, line


# --------------------------------------------------------------------------- shared references
def _iris_checkpoint(tmp_path):
    out = tmp_path / "iris.pt"
    run(["-q", "train", "--model", '{"family": "mlp", "hidden": [8]}', "--dataset", "iris",
         "--epochs", "1", "--min-steps", "0", "--out", str(out)])
    assert out.is_file()
    return out


@pytest.mark.parametrize("where", ["dataset", "extra", "metrics"])
def test_a_checkpoint_whose_values_expand_past_its_size_is_refused(tmp_path, where):
    """A pickle may refer to one list many times: a 0.4 MB checkpoint whose dataset layout
    was 300 references to one list of 100,000 numbers took 1.2 GB and 10 s to export (its
    metadata JSON-encoded), and 100 times as many references would take 120 GB.  Here 200
    references to a list of 2,000 (400,000 values from a few kB) are refused as they load."""
    import torch
    path = _iris_checkpoint(tmp_path)
    payload = torch.load(path, weights_only=True)
    shared = list(range(2000))
    payload[where]["layout" if where == "dataset" else "notes"] = [shared] * 200
    bomb = tmp_path / "bomb.pt"
    torch.save(payload, bomb)
    assert bomb.stat().st_size < 100_000
    line = one_error_line(run(["eval", "--model", str(bomb)]))
    assert "expand" in line and "bomb.pt" in line, line
    assert run(["eval", "--model", str(path)]).exit_code == 0   # its own file still loads


def test_a_cifar_batch_of_shared_label_lists_is_refused_before_it_is_expanded(tmp_path):
    """labels as 1,000 references to one pickled list of 1,000 (a few kB): np.asarray made
    an array of 10**6 labels before the shape was checked (a 0.2 MB file, 1.8 GB and 9 s;
    a few more references, gigabytes more)."""
    import pickle
    import tracemalloc

    import numpy as np

    from synth.data import load_dataset
    from synth.errors import UserError
    shared = list(range(10)) * 100
    batch = pickle.dumps({b"data": np.zeros((1, 3072), np.uint8), b"labels": [shared] * 1000},
                         protocol=4)
    assert len(batch) < 10_000
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        (tmp_path / name).write_bytes(batch)
    tracemalloc.start()
    try:
        with pytest.raises(UserError) as e:
            load_dataset(f"cifar10:{tmp_path}")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "data_batch_1" in str(e.value)
    assert peak < 2_000_000, f"{peak:,} bytes allocated for a {len(batch):,}-byte batch"


# --------------------------------------------------------------------------- paths the user typed
LONG = "l" * 300   # a name longer than the 255 bytes most file systems allow


@pytest.mark.parametrize("args", [
    ["eval", "--model", LONG + ".pt"],
    ["train", "--model", "mlp_small", "--dataset", f"csv:{LONG}.csv", "--out", "m.pt"],
    ["train", "--model", "mlp_small", "--dataset", "iris", "--out", LONG + ".pt"],
    ["run", LONG + ".yaml", "--check"],
    ["search", "--out", LONG],
])
def test_a_file_name_too_long_is_one_line(tmp_path, monkeypatch, args):
    """The first stat of such a path was an OSError traceback (ENAMETOOLONG)."""
    monkeypatch.chdir(tmp_path)
    line = one_error_line(run(args))
    assert "too long" in line.lower(), line


def test_a_checkpoint_out_ending_in_a_slash_is_refused_before_training(tmp_path):
    """--out new/ (not there yet): training ran, made the folder new/ for its resume state,
    and only the save said 'checkpoint new is a directory'."""
    out = tmp_path / "new"
    line = one_error_line(run(["train", "--model", "mlp_small", "--dataset", "iris",
                               "--epochs", "1", "--min-steps", "0", "--out", f"{out}/"]))
    assert "names a directory" in line, line
    assert not out.exists()


def test_a_named_pipe_in_a_parquet_folder_is_refused_not_waited_on(tmp_path):
    """parquet:<dir> holding a FIFO named *.parquet: reading its first bytes waited for a
    writer forever (a plain file of that name beside it or not)."""
    import os
    folder = tmp_path / "set"
    folder.mkdir()
    os.mkfifo(folder / "a.parquet")
    line = one_error_line(run(["train", "--model", "mlp_small", "--dataset", f"parquet:{folder}",
                               "--epochs", "1", "--min-steps", "0",
                               "--out", str(tmp_path / "m.pt")]))
    assert "a.parquet is not a regular file" in line, line
