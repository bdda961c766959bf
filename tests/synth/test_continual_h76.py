"""Continual learning with a user's own class names that differ in case from the model's."""
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.checkpoint import save_checkpoint
from synth.continual import old_classes_by_name
from synth.data_registry import load_dataset
from synth.errors import UserError
from synth.models import build
from synth.train import TrainConfig, fit


def _write(path, names, labels, seed):
    rng, centers = np.random.default_rng(seed), np.random.default_rng(1).normal(size=(5, 6)) * 3
    rows = ["f0,f1,f2,f3,f4,f5,label"]
    for lab in labels:
        for x in centers[lab] + rng.normal(size=(30, 6)):
            rows.append(",".join(f"{v:.3f}" for v in x) + f",{names[lab]}")
    path.write_text("\n".join(rows) + "\n")
    return f"csv:{path}"


def test_names_in_another_case_are_the_models_classes():
    model = ["bird", "cat", "dog"]
    # every name capitalized: none matched, and the old classes fell back to 0, 1, 2
    assert old_classes_by_name(model, 3, ["Ant", "Bird", "Cat", "Dog", "Frog"], "d",
                               None) == [1, 2, 3]
    # one capitalized: refused as lacking 'dog'
    assert old_classes_by_name(model, 3, ["Dog", "ant", "bird", "cat"], "d", None) == [2, 3, 0]
    # the exact spelling wins; two spellings of one name are not guessed between
    assert old_classes_by_name(model, 3, ["Dog", "bird", "cat", "dog"], "d", None) == [1, 2, 3]
    with pytest.raises(UserError, match="lacks the model's class 'dog'"):
        old_classes_by_name(model, 3, ["DOG", "Dog", "bird", "cat"], "d", None)
    # two outputs that differ only in case are not folded onto one class
    with pytest.raises(UserError, match="lacks"):
        old_classes_by_name(["Dog", "dog", "cat"], 3, ["DOG", "cat", "emu"], "d", None)


def test_cli_maps_old_classes_by_name_whatever_the_case(tmp_path):
    old_set = _write(tmp_path / "old.csv", ["bird", "cat", "dog"], [0, 1, 2], 0)
    data = load_dataset(old_set)
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [16], "bn": True}, data.input_shape, 3)
    fit(model, data, TrainConfig(epochs=15, progress=False))
    save_checkpoint(tmp_path / "old.pt", model.eval(), dataset=data.metadata())
    # the user's new file spells the classes with capitals and adds 'Ant' before them
    new_set = _write(tmp_path / "new.csv", ["Bird", "Cat", "Dog", "Ant", "Frog"],
                     [0, 1, 2, 3, 4], 1)
    assert load_dataset(new_set).class_names == ["Ant", "Bird", "Cat", "Dog", "Frog"]
    out = CliRunner().invoke(cli, ["-q", "continual", "--model", str(tmp_path / "old.pt"),
                                   "--new-dataset", new_set, "--new-classes", "4",
                                   "--method", "finetune", "--epochs", "1",
                                   "--out", str(tmp_path / "new.pt"), "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output.strip().splitlines()[-1])
    assert result["old_classes"] == [1, 2, 3]   # Bird, Cat, Dog; was 0, 1, 2: Ant, Bird, Cat
    assert result["old_model_accuracy_old"] > 0.8
    # a class the model knows, in the new file's spelling, is not a new class
    out = CliRunner().invoke(cli, ["-q", "continual", "--model", str(tmp_path / "old.pt"),
                                   "--new-dataset", new_set, "--new-classes", "3,4",
                                   "--method", "finetune", "--epochs", "1",
                                   "--out", str(tmp_path / "new2.pt")])
    assert out.exit_code == 2 and "'Dog' (class 3 of" in out.output, out.output
    assert "is one of the model's classes, its output 2" in out.output   # h254: by name
