"""h301: each Ray Train training is its own run.  Every training of one name was the run
``<storage>/<name>``: a teacher retrained in a run directory found the earlier training's run
snapshot, and Ray Train said "A run snapshot was found in storage folder at
.../ray_train/teacher ... will be loaded ... delete the existing folder" though nothing reads
it; each training's checkpoint stayed beside the others' (two in ray_train/teacher after a
retrain).  Now a training's run is named for it (``cluster.train.run_name``) and removed once
its model is read back: a second training finds no snapshot, and the storage is left as it
was (what is there already is kept)."""
import os

import torch

from cluster.train import Scaling, fit_on_workers, run_name
from synth.models import build
from synth.train import TrainConfig


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, files in os.walk(root) for f in files)


def test_a_training_leaves_no_snapshot_for_the_next_and_nothing_else(ray_local, tmp_path):
    from synth.data import load_dataset
    data = load_dataset("iris")
    storage = tmp_path / "storage"
    storage.mkdir()
    (storage / "mine.txt").write_text("kept\n")
    # in a storage folder that is there (its files kept), then one the training makes
    for where in (storage, storage / "run" / "ray_train"):
        torch.manual_seed(0)
        model = build({"family": "mlp", "hidden": [8], "bn": True}, data.input_shape,
                      data.num_classes)
        trained, metrics = fit_on_workers(model, data, TrainConfig(epochs=1, progress=False),
                                          scaling=Scaling(num_workers=1), storage_path=where,
                                          name="teacher")
        assert metrics["epochs"] == 1 and trained is not model
        # no run snapshot for the next training of "teacher" to find, no checkpoint left
        assert _files(storage) == ["mine.txt"] and os.listdir(storage) == ["mine.txt"]


def test_run_names_are_the_trainings_own():
    names = {run_name("teacher") for _ in range(20)}
    assert len(names) == 20 and all(n.startswith("teacher_") for n in names)
