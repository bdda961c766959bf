"""A tiny BatchNorm teacher on the 8x8 digits, shared by the inversion/distillation/pair tests;
a set on which any training diverges, shared by the fit-on-workers and search-trial tests."""
from pathlib import Path

import torch

TINY_SPEC = {"family": "convnet", "widths": [8, 16], "kernels": [3, 3], "strides": [1, 2],
             "bn": True, "pool": "avg", "hidden": []}


def tiny_teacher(digits, epochs: int = 3):
    """(model, test accuracy): trained for a few epochs; deterministic."""
    from synth.models import build
    from synth.train import TrainConfig, fit
    torch.manual_seed(0)
    model = build(TINY_SPEC, digits.input_shape, digits.num_classes)
    metrics = fit(model, digits, TrainConfig(epochs=epochs, batch_size=32, lr=0.1, seed=0,
                                             device="cpu", progress=False))
    return model.eval(), metrics["test_accuracy"]


def tiny_teacher_checkpoint(digits, path):
    from synth.checkpoint import save_checkpoint
    model, acc = tiny_teacher(digits)
    save_checkpoint(path, model, dataset=digits.metadata(), metrics={"test_accuracy": acc})
    return path


def one_thread_teacher_checkpoint(digits, folder):
    """``tiny_teacher_checkpoint`` in ``folder``/teacher.pt, trained on one thread (so the
    same weights whatever the machine's thread count)."""
    from hwsim.latency import torch_threads
    with torch_threads(1):
        return tiny_teacher_checkpoint(digits, Path(folder) / "teacher.pt")


def diverging_set(folder) -> str:
    """A finite 4-feature, 3-class Parquet set (train/val/test splits) whose inputs of ~1e30
    make any MLP's logits infinite: the first step leaves NaN weights (fit's TrainingDiverged).
    Returns its ``parquet:`` name."""
    from synth.data import write_parquet
    x = torch.randn(90, 4, generator=torch.Generator().manual_seed(0)) * 1e30
    y = torch.arange(90) % 3
    meta = {"input_shape": [4], "num_classes": 3, "mean": [0.0] * 4, "std": [1.0] * 4}
    for split, rows in (("train", slice(0, 60)), ("val", slice(60, 75)), ("test", slice(75, 90))):
        write_parquet(Path(folder) / f"{split}.parquet", x[rows], y[rows], meta, split=split)
    return f"parquet:{folder}"


# the classes of make_set16's teachers (the "old" classes of continual learning)
SET16_OLD = [0, 1, 2, 3, 4]


def make_set16(folder: Path, epochs: int = 1) -> tuple[str, dict]:
    """The 8x8 digits upsampled to 16x16 (nearest: the same normalization) as a Parquet set
    in ``folder``, and teachers of its classes 0-4 trained ``epochs`` on one thread: LeNet-5-BN
    (``settings_for`` inverts it per pixel) and a tiny convnet with global pooling, BatchNorm2d
    only (a generator with refinement).  Returns (the set's name, {key: checkpoint path}).
    After one epoch the generator's 10 inputs reach fidelity 0.9 (< min_fidelity 0.95), so
    prune/continual also redo them per pixel (the fallback, ~6 s of 2,000 iterations); after
    two they reach 1.0 and the generator's set is kept as it is."""
    import torch.nn.functional as F

    from hwsim.latency import torch_threads
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset, write_parquet
    from synth.models import build
    from synth.train import TrainConfig, fit
    digits = load_dataset("digits")
    meta = {k: v for k, v in digits.metadata().items() if k not in ("name", "split_seed")}
    meta["input_shape"] = [1, 16, 16]
    for split in ("train", "val", "test"):
        x, y = digits.split(split)
        write_parquet(folder / f"{split}.parquet", F.interpolate(x, size=(16, 16)), y, meta,
                      split=split)
    name = f"parquet:{folder}"
    old = load_dataset(f"{name}[{','.join(map(str, SET16_OLD))}]")
    teachers = {}
    with torch_threads(1):
        for key, spec in (("per_pixel", "lenet5_bn"), ("generator", TINY_SPEC)):
            torch.manual_seed(0)
            model = build(spec, old.input_shape, old.num_classes)
            fit(model, old, TrainConfig(epochs=epochs, batch_size=32, lr=0.1, seed=0,
                                        device="cpu", progress=False))
            teachers[key] = save_checkpoint(folder / f"{key}.pt", model.eval(),
                                            dataset=old.metadata())
    return name, teachers


# the header of a toy .ts file: 2 channels, series of unequal length, classes up and down
# (tests/synth/test_sequences.py, test_h118_sequence_range.py)
TOY_TS_HEADER = """@problemName Toy
@timeStamps false
@univariate false
@dimensions 2
@equalLength false
@classLabel true up down
@data
"""


def teacher_of_a_moved_csv(folder: Path) -> tuple[Path, Path, str]:
    """(teacher.pt, its 'synthesized' set, the data set name it records): a BN MLP trained 3
    epochs on wine read from a csv in ``folder``, 64 of its training rows written as its
    synthesized set (in the teacher's Parquet layout), then the csv moved away, so that the
    teacher's own data set no longer loads."""
    from sklearn.datasets import load_wine
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset, write_parquet
    from synth.models import build
    from synth.train import TrainConfig, fit
    csv = folder / "wine.csv"
    load_wine(as_frame=True).frame.to_csv(csv, index=False)
    data = load_dataset(f"csv:{csv}", seed=0)
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [16], "bn": True}, data.input_shape,
                  data.num_classes)
    fit(model, data, TrainConfig(epochs=3, device="cpu", progress=False))
    save_checkpoint(folder / "teacher.pt", model, dataset=data.metadata(), metrics={})
    meta = data.metadata()
    x, y = data.x_train[:64], data.y_train[:64]
    write_parquet(folder / "synth" / "part-0.parquet", x * torch.tensor(meta["std"]) +
                  torch.tensor(meta["mean"]), y, meta)
    csv.rename(folder / "elsewhere.csv")
    return folder / "teacher.pt", folder / "synth", data.name
