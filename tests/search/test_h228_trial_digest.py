"""Helper 228: a search trial's checkpoint (models/<trial>.pt, and best.pt, its copy) records
the digest of its data set, so ``nnsynth eval --model best.pt`` warns when that set was
rewritten since, as it does for train and grow-prune checkpoints (1b7c1c8).  It recorded the
set's name and split seed alone: after `nnsynth search --dataset csv:d.csv ...`, d.csv's rows
reversed, eval of best.pt re-split the new file with the recorded seed and scored a "test"
split that could hold training rows, without a word.

The digest is of what eval reloads: the set the record names, split with its seed, as
``load_dataset`` gives it.  A search with a teacher scales that set to the teacher's
normalization (and its columns, classes to the teacher's order) for its trials; the trial's
record keeps those statistics, its digest the set's as loaded (a digest of the scaled set
would have warned of every unchanged file).  The trials run in this process, outside Tune
(tests/search/_trial.py)."""
import logging
import random

import pytest

from search.run import SearchConfig
from synth.data import load_dataset
from synth.checkpoint import read_checkpoint
from tests._cli import json_result, run
from tests.search._trial import run_trial_here

SPEC = '{"family": "mlp", "hidden": [8]}'


def _write(path, rows):
    path.write_text("a,b,c,label\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """(dir, rows): a 3-class, 3-feature CSV d.csv of 60 rows, and a teacher t.pt trained on
    it (1 epoch, split seed 7; the trials' is 4) with a synthesized set of its inputs in its normalization, synth/."""
    tmp = tmp_path_factory.mktemp("h228")
    rng = random.Random(0)
    rows = [[round(rng.gauss(i % 3, 1) * 10 + 5, 3) for _ in range(3)] + [i % 3]
            for i in range(60)]
    _write(tmp / "d.csv", rows)
    json_result(run(["-q", "train", "--dataset", f"csv:{tmp / 'd.csv'}", "--model", SPEC,
                     "--epochs", "1", "--min-steps", "0",
                     "--seed", "7", "--out", str(tmp / "t.pt"), "--json"]))
    from synth.data import write_parquet
    data = load_dataset(f"csv:{tmp / 'd.csv'}", seed=7)
    write_parquet(tmp / "synth" / "shard-0.parquet", data.x_train, data.y_train,
                  data.metadata())
    return tmp, rows


def _trial(monkeypatch, tmp, name: str, **config):
    out = tmp / name
    (out / "models").mkdir(parents=True)
    settings = {**SearchConfig(dataset=f"csv:{tmp / 'd.csv'}", epochs=1, min_steps=0,
                               hardware=False, **config).to_dict(), "out_dir": str(out),
                "data_seed": 4}
    run_trial_here(monkeypatch, "t1", {"spec": SPEC}, settings)
    return out / "models" / "t1.pt"


def _warnings(caplog, model) -> list[str]:
    """The warnings of `nnsynth eval --model MODEL` (what the CLI prints as 'warning: ...')."""
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        json_result(run(["-q", "eval", "--model", str(model), "--json"]))
    return [r.getMessage() for r in caplog.records if "changed since" in r.getMessage()]


@pytest.mark.parametrize("teacher", [False, True])
def test_eval_of_a_trial_warns_when_its_set_was_rewritten(table, teacher, monkeypatch, caplog,
                                                         tmp_path):
    tmp, rows = table
    config = dict(teacher=str(tmp / "t.pt"), data=str(tmp / "synth")) if teacher else {}
    model = _trial(monkeypatch, tmp, f"search-{teacher}", **config)
    record = read_checkpoint(model)["dataset"]
    assert isinstance(record.get("digest"), str) and record["split_seed"] == 4, record
    if teacher:     # the teacher's normalization (of its seed-7 split), as before
        assert record["mean"] == read_checkpoint(tmp / "t.pt")["dataset"]["mean"]
        assert record["mean"] != load_dataset(f"csv:{tmp / 'd.csv'}", seed=4).mean
    assert _warnings(caplog, model) == []
    try:
        _write(tmp / "d.csv", rows[::-1])                    # the same rows, another order
        assert _warnings(caplog, model) == [
            f"csv:{tmp / 'd.csv'} changed since checkpoint {model} was trained on it: its "
            f"test split may hold training samples"]
    finally:
        _write(tmp / "d.csv", rows)
