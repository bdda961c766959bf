"""A checkpoint records the digest of the data it was trained on (h224): ``nnsynth eval`` of
a model on its own set re-splits the file with the recorded seed, and a CSV rewritten since
(rows shuffled, values changed) put training rows in the "test" split, scored without a
word.  Now eval warns in one line and keeps working; the unchanged file (however spelt)
and a checkpoint written before digests were recorded say nothing."""
import logging
import random

import pytest

from synth.checkpoint import load_model, read_checkpoint, save_checkpoint
from tests._cli import json_result, run

WARNING = "changed since checkpoint"


def _write(path, rows):
    path.write_text("a,b,c,label\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(dir, rows, checkpoint): a 3-class, 3-feature CSV of 60 rows, an MLP trained 1 epoch."""
    tmp = tmp_path_factory.mktemp("h224")
    rng = random.Random(0)
    rows = [[round(rng.gauss(i % 3, 1), 3) for _ in range(3)] + [i % 3] for i in range(60)]
    _write(tmp / "d.csv", rows)
    json_result(run(["-q", "train", "--dataset", f"csv:{tmp / 'd.csv'}", "--model",
                     '{"family": "mlp", "hidden": [8]}', "--epochs", "1", "--min-steps", "0",
                     "--out", str(tmp / "m.pt"), "--json"]))
    return tmp, rows, tmp / "m.pt"


def _eval(caplog, model, *dataset):
    """The library's warnings (what the CLI prints as 'warning: ...') of one eval."""
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        json_result(run(["-q", "eval", "--model", str(model), *dataset, "--json"]))   # works
    return [f"warning: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_checkpoint_records_the_digest(trained):
    assert isinstance(read_checkpoint(trained[2])["dataset"]["digest"], str)


def _warned(lines) -> bool:
    return any(WARNING in line for line in lines)


def test_an_unchanged_file_says_nothing(trained, caplog):
    tmp, _, model = trained
    assert not _warned(_eval(caplog, model))
    assert not _warned(_eval(caplog, model, "--dataset", f"csv:{tmp}/../{tmp.name}/d.csv"))


@pytest.mark.parametrize("change", ["shuffle", "values"])
def test_a_rewritten_file_warns(trained, change, caplog):
    tmp, rows, model = trained
    new = list(rows)
    if change == "shuffle":
        random.Random(1).shuffle(new)
    else:
        new[0] = [9.5, 9.5, 9.5, 0]
    try:
        _write(tmp / "d.csv", new)
        for dataset in ([], ["--dataset", f"csv:{tmp / 'd.csv'}"]):
            out = _eval(caplog, model, *dataset)
            lines = [line for line in out if WARNING in line]
            assert lines == [f"warning: csv:{tmp / 'd.csv'} changed since checkpoint {model} "
                             f"was trained on it: its test split may hold training samples"], out
        # a checkpoint from before the digest was recorded behaves as it did
        old = load_model(model)
        meta = {k: v for k, v in old.checkpoint_info["dataset"].items() if k != "digest"}
        save_checkpoint(tmp / "old.pt", old, dataset=meta)
        assert not _warned(_eval(caplog, tmp / "old.pt"))
    finally:
        _write(tmp / "d.csv", rows)


def test_grow_prune_from_the_checkpoint_warns_too(trained, caplog):
    tmp, rows, model = trained
    try:
        _write(tmp / "d.csv", rows[::-1])
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            json_result(run(["-q", "grow-prune", "--dataset", f"csv:{tmp / 'd.csv'}", "--model",
                             str(model), "--prune-steps", "1", "--retrain-epochs", "1",
                             "--retrain-min-steps", "0", "--out", str(tmp / "g.pt"),
                             "--json"]))
        assert f"csv:{tmp / 'd.csv'} changed since checkpoint {model}" in caplog.text
        # its own checkpoint records the file as it read it: eval of it says nothing
        assert not _warned(_eval(caplog, tmp / "g.pt"))
    finally:
        _write(tmp / "d.csv", rows)
