"""``nnsynth eval --split all`` warns that the model's own set includes its training samples
whether the set is named by --dataset or not (helper 177; found by h176): ``nnsynth eval
--model wine_model.pt --dataset wine --split all`` said nothing, while leaving --dataset out
warned.  The set is the model's own when its name (a path set's file by its resolved path)
and split seed are those the checkpoint records."""
import os

import torch
from sklearn.datasets import load_wine

from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.models import build
from synth.workflows import evaluate_checkpoint

WARNING = "the model's own set, includes the samples it trained on"


def _checkpoint(path, name, seed):
    data = load_dataset(name, seed=seed)
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8]}, data.input_shape, data.num_classes)
    save_checkpoint(path, model.eval(), dataset=data.metadata(), metrics={})
    return path


def _warned(*args):
    result, notes = evaluate_checkpoint(*args)
    return any(WARNING in note for note in notes)


def test_split_all_of_the_models_own_set_warns_when_it_is_named(tmp_path):
    model = _checkpoint(tmp_path / "wine.pt", "wine", 3)
    assert _warned(model, "wine", "all")                  # said nothing before
    assert _warned(model, None, "all")                    # as before
    assert not _warned(model, "wine", "test")             # held out: no warning


def test_a_path_set_is_the_models_own_by_its_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    load_wine(as_frame=True).frame.to_csv(tmp_path / "wine.csv", index=False)
    model = _checkpoint(tmp_path / "csv.pt", "csv:wine.csv", 0)
    assert _warned(model, f"csv:{tmp_path / 'wine.csv'}", "all")   # said nothing before
    assert _warned(model, f"csv:.{os.sep}wine.csv", "all")
    assert not _warned(model, "csv:wine.csv", "val")
