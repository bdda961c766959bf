"""Every command on a user's own CSV of text labels and on a sequence set (h119).

- ``nnsynth continual --new-classes rose`` on a CSV whose labels are words was 'must be
  comma-separated class indices': the user had to guess the number the label sorted to.
- a new CSV that holds none of the model's classes (only new ones, other names) was
  'new classes must not repeat old classes, got 0 in both': the model's outputs had been
  taken as the file's first classes without a word.
- ``nnsynth search`` on a sequence set named only a space file with a recurrent family; the
  built-in ``mlp`` space takes such inputs (flattened) as an MLP teacher of the set does.
"""
import numpy as np
import pytest
import torch

from search.run import data_space
from synth.checkpoint import save_checkpoint
from synth.data_registry import load_dataset
from synth.errors import UserError
from synth.models import build
from synth.train import TrainConfig, fit
from synth.workflows import parse_classes
from tests._cli import json_result, one_error_line, run


def _write(path, names, labels, seed):
    """``names[i]`` labels the rows around center ``labels[i]``."""
    rng, centers = np.random.default_rng(seed), np.random.default_rng(1).normal(size=(5, 4)) * 3
    rows = ["alcohol,acidity,sugar,tannin,label"]
    for name, lab in zip(names, labels):
        for x in centers[lab] + rng.normal(size=(30, 4)):
            rows.append(",".join(f"{v:.3f}" for v in x) + f",{name}")
    path.write_text("\n".join(rows) + "\n")
    return f"csv:{path}"


@pytest.fixture(scope="module")
def old_model(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("h119")
    data = load_dataset(_write(tmp / "old.csv", ["red", "white"], [0, 1], 0))
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [16], "bn": True}, data.input_shape, 2)
    fit(model, data, TrainConfig(epochs=5, progress=False))
    return save_checkpoint(tmp / "old.pt", model.eval(), dataset=data.metadata()), tmp


def _continual(model, new_set, new_classes, out, *extra):
    return run(["-q", "continual", "--model", str(model), "--new-dataset", new_set,
                "--new-classes", new_classes, "--method", "finetune", "--epochs", "1",
                "--out", str(out), "--json", *extra])


def test_parse_classes_takes_numbers_and_names():
    assert parse_classes("5, 6,7", "--new-classes") == [5, 6, 7]
    assert parse_classes("rose, sparkling wine,-1", "--x") == ["rose", "sparkling wine", -1]
    assert parse_classes(None, "--x") is None
    with pytest.raises(UserError, match="--x must be comma-separated"):
        parse_classes(" , ", "--x")


def test_continual_takes_the_new_classes_by_name(old_model):
    model, tmp = old_model
    # the new file: the old classes and a new one, 'rose', which sorts between them
    new_set = _write(tmp / "new.csv", ["red", "white", "rose"], [0, 1, 2], 1)
    assert load_dataset(new_set).class_names == ["red", "rose", "white"]
    result = json_result(_continual(model, new_set, "Rose", tmp / "new.pt"))
    assert result["old_classes"] == [0, 2] and result["new_classes"] == [1]
    saved = torch.load(tmp / "new.pt", weights_only=True)
    assert saved["dataset"]["class_names"] == ["red", "white", "rose"]
    # old classes by name too, and a name the file lacks is one line listing its classes
    result = json_result(_continual(model, new_set, "rose", tmp / "new2.pt",
                                    "--old-classes", "red,white"))
    assert result["old_classes"] == [0, 2]
    line = one_error_line(_continual(model, new_set, "port", tmp / "new3.pt"))
    assert "--new-classes 'port'" in line and "'red', 'rose', 'white'" in line


def test_a_new_file_of_only_new_classes_says_it_must_hold_the_old_ones(old_model):
    model, tmp = old_model
    new_set = _write(tmp / "only.csv", ["rose", "sparkling"], [2, 3], 2)
    line = one_error_line(_continual(model, new_set, "rose,sparkling", tmp / "x.pt"))
    assert "holds none of the model's classes ('red', 'white')" in line
    assert "must hold them too" in line and "--old-classes" in line


def test_search_on_sequences_has_a_space():
    """Named mlp (flattened) before convnet1d existed; auto is convnet1d now."""
    assert data_space((6, 100)) == "convnet1d"
