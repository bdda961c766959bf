"""Helper 83's follow-ups (synth side): every workflow that scores a checkpoint on a data set
matches its classes by name (``synth.checkpoint.in_model_order`` through
``synth.data.spelled_as``); a checkpoint path that is not a file says what it is; the
checkpoint's recorded set that does not load here says so; an unreadable ``text:`` file is
one line.  Each test failed before its fix."""
import os

import pytest

from synth.errors import UserError


def _animals(path, names, shift=0.0):
    """Two well separated classes (feature a: 0 or 4) labelled ``names[0]``, ``names[1]``
    (feature b shifted by ``shift``: other samples of the same classes)."""
    rows = ["a,b,label"] + [f"{(i % 2) * 4 + 0.01 * (i % 13):.3f},{0.07 * (i % 5) + shift:.3f},"
                            f"{names[i % 2]}" for i in range(120)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture(scope="module")
def cat_dog(tmp_path_factory):
    """A model trained on 'Cat', 'dog' (its outputs: sorted, 'Cat' then 'dog'), and a file of
    the same data spelled 'cat', 'Dog' (sorted: 'Dog' then 'cat': the other order)."""
    root = tmp_path_factory.mktemp("h83")
    model, _ = cat_dog_model(root)
    return model, _animals(root / "other.csv", ["cat", "Dog"])


def cat_dog_model(root):
    """(checkpoint, its csv file): mlp_small trained on a file of 'Cat', 'dog' in ``root``."""
    from synth.train import TrainConfig
    from synth.workflows import train_checkpoint
    own = _animals(root / "own.csv", ["Cat", "dog"])
    model = root / "m.pt"
    result = train_checkpoint(f"csv:{own}", "mlp_small", model,
                              TrainConfig(epochs=15, lr=0.1, device="cpu", progress=False))
    assert result["test_accuracy"] > 0.9
    return model, own


def test_in_model_order_matches_names_in_another_case(cat_dog):
    from synth.checkpoint import checkpoint_dataset, load_model
    from synth.train import evaluate
    model_path, other = cat_dog
    model = load_model(model_path)
    data = checkpoint_dataset(model, f"csv:{other}")
    assert data.class_names == ["cat", "Dog"]       # the file's spelling, the model's order
    assert evaluate(model, data.x_test, data.y_test)["accuracy"] > 0.9


def test_grow_prune_of_a_checkpoint_scores_classes_by_name(cat_dog, tmp_path):
    """grow-prune of the 'Cat', 'dog' model on the 'cat', 'Dog' file scored output i as the
    file's class i: dense_test_accuracy 0.0 for a model right on every sample."""
    from synth.grow_prune import GrowPruneSchedule
    from synth.workflows import grow_prune_checkpoint
    model_path, other = cat_dog
    schedule = GrowPruneSchedule(prune_steps=1, retrain_epochs=0, seed=0, device="cpu")
    result = grow_prune_checkpoint(f"csv:{other}", str(model_path), tmp_path / "g.pt",
                                   schedule, distill=False, progress=False, compact=False)
    assert result["dense_test_accuracy"] > 0.9


def test_incremental_update_scores_classes_by_name(cat_dog):
    from synth.incremental import IncrementalConfig
    from synth.workflows import incremental_checkpoint
    model_path, other = cat_dog
    config = IncrementalConfig(target=0.5, max_epochs=1, plateau_epochs=1, device="cpu")
    result = incremental_checkpoint(model_path, f"csv:{other}", f"csv:{other}", config,
                                    methods=["finetune"])
    assert result["before"]["test_accuracy"] > 0.9


@pytest.mark.parametrize("kind, expected", [
    ("device", "is a device"),
    ("fifo", "is a named pipe (FIFO)"),
    ("dangling", "is a symbolic link that leads nowhere"),
])
def test_checkpoint_path_that_is_not_a_file_says_what_it_is(tmp_path, kind, expected):
    """--model /dev/null, a FIFO or a dangling link said "checkpoint not found"."""
    from synth.checkpoint import load_model
    if kind == "device":
        path = "/dev/null"
    elif kind == "fifo":
        path = tmp_path / "pipe.pt"
        os.mkfifo(path)          # never opened: a read would block
    else:
        path = tmp_path / "link.pt"
        path.symlink_to(tmp_path / "gone.pt")
    with pytest.raises(UserError) as err:
        load_model(path)
    assert expected in str(err.value) and str(path) in str(err.value)


def test_missing_checkpoint_is_still_not_found(tmp_path):
    from synth.checkpoint import load_model
    with pytest.raises(UserError, match="checkpoint not found: .*none.pt"):
        load_model(tmp_path / "none.pt")


def test_recorded_data_set_that_does_not_load_here_suggests_dataset(cat_dog, tmp_path,
                                                                     monkeypatch):
    """A checkpoint of a csv: set given by a relative path, evaluated from another folder,
    said only "CSV file not found: animals.csv"."""
    from synth.checkpoint import checkpoint_dataset, load_model, save_checkpoint
    from synth.data import load_dataset
    model_path, other = cat_dog
    was = tmp_path / "was"   # a copy of the file, moved since (h287: a relative path's file
    was.mkdir()              # is found from another folder while it is where it was)
    (was / other.name).write_bytes(other.read_bytes())
    monkeypatch.chdir(was)
    data = load_dataset(f"csv:{other.name}")              # relative to where it was trained
    model = load_model(model_path)
    moved = save_checkpoint(tmp_path / "rel.pt", model, dataset=data.metadata())
    (was / other.name).unlink()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UserError) as err:
        checkpoint_dataset(load_model(moved), source=f"checkpoint {moved}")
    message = str(err.value)
    assert "\n" not in message and f"checkpoint {moved}" in message
    assert f"csv:{other.name}" in message and "--dataset" in message
    assert "CSV file not found" in message


@pytest.mark.skipif(not os.path.isfile("/proc/self/mem"),
                    reason="needs Linux /proc (a regular file whose read fails: EIO)")
def test_text_file_that_cannot_be_read_is_one_line():
    """text:/proc/self/mem (as a file without read permission) was an OSError traceback.
    Since 2e7bebf a file that reports 0 bytes is not read (a /proc file's read may never
    end): it is empty text, one line all the same."""
    from synth.text import load_text
    with pytest.raises(UserError, match=r"^text set 'text:/proc/self/mem' holds no words"):
        load_text("text:/proc/self/mem")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root reads a file without read permission")
def test_text_file_without_read_permission_is_one_line(tmp_path):
    from synth.text import load_text
    path = tmp_path / "secret.txt"
    path.write_text("some words here\n")
    path.chmod(0)
    try:
        with pytest.raises(UserError, match="cannot be read .*Permission denied"):
            load_text(f"text:{path}")
    finally:
        path.chmod(0o600)


def _checkpoint(path, spec, dataset="digits", normalized=True):
    """An untrained checkpoint of ``spec`` (its data set's metadata, or none of its
    normalization when not ``normalized``)."""
    import torch
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    data = load_dataset(dataset)
    torch.manual_seed(0)
    model = build(spec, data.input_shape, data.num_classes)
    meta = data.metadata()
    if not normalized:
        meta = {k: v for k, v in meta.items() if k not in ("mean", "std")}
    return save_checkpoint(path, model, dataset=meta)


def test_check_teacher_names_the_file_it_is_given():
    from synth.inversion import check_teacher
    from synth.models import build
    model = build("mlp_small", (64,), 10)
    with pytest.raises(UserError, match=r"^--model m\.pt: teacher has no BatchNorm layers"):
        check_teacher(model, "--model m.pt")
    with pytest.raises(UserError, match=r"^teacher has no BatchNorm layers"):
        check_teacher(model)


def test_prune_and_continual_name_the_teacher_checkpoint(tmp_path):
    """The library said "teacher has no BatchNorm layers" of no file: the CLI added the path
    by matching the message's first word (deploy.cli.options.naming_teacher)."""
    from synth.continual import ContinualConfig
    from synth.dfprune import PruneConfig
    from synth.workflows import continual_checkpoint, prune_checkpoint
    path = _checkpoint(tmp_path / "no_bn.pt", "mlp_small")
    with pytest.raises(UserError, match=rf"^--model {path}: teacher has no BatchNorm"):
        prune_checkpoint(path, tmp_path / "p.pt", PruneConfig(device="cpu", progress=False),
                         kd_steps=0)
    small = _checkpoint(tmp_path / "small.pt", "mlp_small", "digits[0,1,2,3,4]")
    with pytest.raises(UserError, match=rf"^--model {small}: teacher has no BatchNorm"):
        continual_checkpoint(small, "digits", [5], tmp_path / "c.pt",
                             ContinualConfig(device="cpu", progress=False))


def test_prune_names_a_teacher_without_normalization(tmp_path):
    from synth.dfprune import PruneConfig
    from synth.workflows import prune_checkpoint
    path = _checkpoint(tmp_path / "raw.pt", {"family": "mlp", "hidden": [16], "bn": True},
                       normalized=False)
    with pytest.raises(UserError, match=rf"^--model {path}: teacher checkpoint has no data-set "
                                        rf"normalization"):
        prune_checkpoint(path, tmp_path / "p.pt", PruneConfig(device="cpu", progress=False),
                         kd_steps=0)
