"""``nnsynth incremental`` of a model whose checkpoint says it was trained on the data the
update takes as new (h230).

``--old wine --new wine`` splits wine's training samples into old and new; a model trained
(and grown-and-pruned) on wine had trained on all of them, the "new" ones too.  Every method
then started from a model that had seen the new data: the old model reached the target before
any training, and the summary said 'cost reduction ... 100.0% vs from scratch' without a word.
The same holds for two sets where the model's recorded set is the new one."""
import pytest
import torch

from synth import masked
from synth.checkpoint import save_checkpoint, trained_record
from synth.data import load_dataset
from synth.incremental import IncrementalConfig
from synth.models import build

FAST = IncrementalConfig(target=0.5, max_epochs=0.5, min_steps=0, prune_steps=0,
                         growth_ratio=0.0, device="cpu")


def _checkpoint(path, data):
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8]}, data.input_shape, data.num_classes)
    masked.attach_masks(model)
    masked.prune_connections(model, 0.5, "lamp")
    save_checkpoint(path, model, dataset=trained_record(data), masks=masked.masks_of(model))
    return path


def test_a_model_trained_on_the_whole_set_split_into_old_and_new_is_said(tmp_path, caplog):
    from synth.workflows import incremental_checkpoint
    path = _checkpoint(tmp_path / "m.pt", load_dataset("wine"))
    with caplog.at_level("WARNING"):
        r = incremental_checkpoint(path, "wine", "wine", FAST, methods=("incremental",))
    assert "warning" in r, r.keys()
    assert "trained on" in r["warning"] and "new" in r["warning"]
    assert str(path) in r["warning"]
    assert any("trained on" in rec.getMessage() for rec in caplog.records)


def _halves(tmp_path):
    """wine's rows in two CSV files of the same columns and classes."""
    from sklearn.datasets import load_wine
    d = load_wine()
    paths = []
    for part in (0, 1):
        rows = [",".join([f"f{i}" for i in range(d.data.shape[1])] + ["label"])]
        rows += [",".join([*map(str, x), str(y)])
                 for i, (x, y) in enumerate(zip(d.data, d.target)) if i % 2 == part]
        path = tmp_path / f"part{part}.csv"
        path.write_text("\n".join(rows) + "\n")
        paths.append(f"csv:{path}")
    return paths


def test_two_sets_warn_only_when_the_model_trained_on_the_new_one(tmp_path):
    from synth.workflows import incremental_checkpoint
    a, b = _halves(tmp_path)
    path = _checkpoint(tmp_path / "m.pt", load_dataset(a))
    r = incremental_checkpoint(path, a, b, FAST, methods=("incremental",))
    assert "incremental" in r and "warning" not in r, r.get("warning")
    r = incremental_checkpoint(path, b, a, FAST, methods=("incremental",))
    assert "trained on" in r["warning"] and "the new data" in r["warning"]


def test_the_cli_json_says_it(tmp_path):
    """--json carries it as ``warning`` (the human output has it on stderr, from the log)."""
    import json

    from click.testing import CliRunner

    from deploy.cli.main import cli
    path = _checkpoint(tmp_path / "m.pt", load_dataset("wine"))
    res = CliRunner().invoke(cli, ["incremental", "--model", str(path), "--old", "wine",
                                   "--new", "wine", "--target", "0.5", "--max-epochs", "0.5",
                                   "--min-steps", "0", "--prune-steps", "0",
                                   "--growth-ratio", "0", "--json"])
    assert res.exit_code == 0, res.output
    assert "trained on" in json.loads(res.output.strip().splitlines()[-1])["warning"]


if __name__ == "__main__":
    pytest.main([__file__, "-q"])
