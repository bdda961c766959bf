"""Helper 287: ``nnsynth incremental --out`` recorded its new data set without a digest
(``synth.checkpoint.trained_record``), so ``nnsynth eval`` of the updated model could not
tell a file rewritten since (``warn_if_changed``): it re-split the new file with the
recorded seed and scored a "test" split that could hold training rows, without a word.
Each test fails before the fix (no digest recorded)."""
import torch

from synth.checkpoint import checkpoint_dataset, load_model
from synth.data import load_dataset
from tests.synth.test_h230_incremental_seen_new import FAST, _checkpoint, _halves


def _updated(tmp_path, old, new):
    """The ``incremental --out`` checkpoint of a model of ``old`` updated on ``new``, checked
    to record ``new`` with its digest; its path."""
    from synth.workflows import incremental_checkpoint
    path = _checkpoint(tmp_path / "m.pt", load_dataset(old))
    out = tmp_path / "up.pt"
    incremental_checkpoint(path, old, new, FAST, methods=("incremental",), out=out)
    meta = torch.load(out, weights_only=True)["dataset"]
    assert meta["name"] == new
    assert meta["digest"] == load_dataset(new, seed=meta["split_seed"]).digest()
    return out


def test_incremental_out_records_the_new_sets_digest(tmp_path, caplog):
    a, b = _halves(tmp_path)
    out = _updated(tmp_path, a, b)
    model = load_model(out)
    with caplog.at_level("WARNING"):
        checkpoint_dataset(model)
    assert "changed since" not in caplog.text
    csv = tmp_path / "part1.csv"
    lines = csv.read_text().splitlines()
    csv.write_text("\n".join(lines[:-3]) + "\n")            # rewritten since
    with caplog.at_level("WARNING"):
        checkpoint_dataset(model)
    assert "changed since" in caplog.text


def test_one_set_split_records_the_sets_digest(tmp_path):
    a, _ = _halves(tmp_path)
    _updated(tmp_path, a, a)
