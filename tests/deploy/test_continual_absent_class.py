"""``nnsynth continual`` where the new folder's test split lacks a class (h186's finding,
wired into synth.workflows.continual_checkpoint by the lead): accuracy_new/old were weighted
per-class figures, so one class without a test sample made its task NaN (JSON null), and a
task without any test sample was a ZeroDivisionError traceback."""
import numpy as np
import torch
from PIL import Image

from synth.checkpoint import save_checkpoint
from synth.data_registry import load_dataset
from synth.models import build
from synth.train import TrainConfig, fit
from tests._cli import json_result, run


def _folder(root, splits, train=12, other=6):
    """root/<split>/<class>/*.png, 6x6 grey images whose level is the class's (plus noise):
    ``train`` images a class in train/, ``other`` in the other splits."""
    rng = np.random.default_rng(0)
    levels = {"a": 30, "b": 130, "c": 230}
    for split, classes in splits.items():
        for c in classes:
            (root / split / c).mkdir(parents=True)
            for i in range(train if split == "train" else other):
                img = np.clip(levels[c] + rng.normal(0, 8, (6, 6)), 0, 255).astype(np.uint8)
                Image.fromarray(img, "L").save(root / split / c / f"{i}.png")
    return f"images:{root}"


def test_a_new_class_without_test_samples_is_none_not_a_traceback(tmp_path, caplog):
    old = load_dataset(_folder(tmp_path / "old", {"train": "ab", "val": "ab", "test": "ab"}))
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": True}, old.input_shape, 2)
    fit(model, old, TrainConfig(epochs=3, progress=False))
    path = save_checkpoint(tmp_path / "old.pt", model.eval(), dataset=old.metadata())
    new = _folder(tmp_path / "new", {"train": "abc", "val": "abc", "test": "ab"})
    r = run(["continual", "--model", str(path), "--new-dataset", new, "--new-classes", "c",
             "--method", "finetune", "--epochs", "1", "--out", str(tmp_path / "n.pt"),
             "--json"])
    result = json_result(r)
    assert result["accuracy_new"] is None and 0.0 <= result["accuracy_old"] <= 1.0
    assert "no sample of class 'c': accuracy_new is none" in caplog.text
