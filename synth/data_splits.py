"""How a loader turns arrays into a ``Dataset``: splits and normalization.

Stratified train/val/test splits, deterministic for a seed (``stratified_splits``), a
validation slice held out of a training split (``val_slice``), splits a file states per row
(``split_column``), and the words for a set too small to split (``too_few_to_split``);
then per-channel (images) or per-feature (tables) normalization with the training split's
mean and std (``safe_std``, ``moments``) and the ``Dataset`` made of it all (``_make``).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from synth.config import short_repr
from synth.data_registry import content_shown, printable, shown, whole_set
from synth.dataset import FLOAT32_MAX, Dataset
from synth.errors import UserError
from synth.files import quoted
from synth.logs import set_logger

TEST_FRACTION = 0.2   # of all samples
VAL_FRACTION = 0.1    # of what remains after the test split
# its messages keep the logger name they had when this code lived in synth.data
log = set_logger("synth.data")   # quiet while a set is read to compare


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


def repeated_rows(x: np.ndarray, splits, where: str, rows: str = "rows",
                  same: str = "the same feature values") -> str | None:
    """The warning for a table whose val or test rows repeat a training row's features
    (``splits`` = (train, val, test) indices), None when none does: a CSV with duplicated
    rows was split with its copies on both sides, and the val and test accuracy were partly
    on rows the model trained on, without a word (8 of 18 test rows, both val rows).
    Rows are compared as their exact values (sort-based, no per-row Python); ``rows`` and
    ``same`` word them (a sequence set's series, flattened)."""
    train, val, test = (np.asarray(i, dtype=np.int64) for i in splits)
    if not len(train) or not (len(val) or len(test)):
        return None
    both = np.concatenate([train, val, test])
    _, ids = np.unique(np.ascontiguousarray(x[both]), axis=0, return_inverse=True)
    ids = ids.reshape(-1)
    seen = ids[:len(train)]
    parts = []
    for name, part in (("val", ids[len(train):len(train) + len(val)]),
                       ("test", ids[len(train) + len(val):])):
        hits = int(np.isin(part, seen).sum())
        if hits:
            parts.append(f"{hits:,} of its {len(part):,} {name} {rows}")
    if not parts:
        return None
    one = len(parts) == 1 and parts[0].startswith("1 of")
    row = rows.removesuffix("s") if rows != "series" else rows
    return (f"{where}: {' and '.join(parts)} repeat{'s' * one} a training {row} ({same}): "
            f"their accuracy is not on unseen {rows} (drop the duplicated {rows}, or keep the "
            f"copies of a {row} in one split)")


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
    they made every input NaN, and training stopped as "diverged; lower the learning rate";
    so is a value beyond float32's range, which the recorded value_range cannot hold."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, std = values.mean(axis=axis), values.std(axis=axis)
    bad = ~(np.isfinite(mean) & np.isfinite(std))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        column = (f"column {quoted(str(names[i]))}: its "
                  if names is not None and content_shown() else "")
        raise UserError(f"{what} {i} has values too large to normalize ({column}mean/std "
                        f"overflow float64)")
    # the training min and max are recorded (value_range) and read back as float32 numbers:
    # a CSV or .ts training value of 1e39 trained, and the checkpoint written was refused by
    # every command ("value_range must be ... finite numbers")
    low, high = values.min(axis=axis), values.max(axis=axis)
    big = np.maximum(np.abs(low), np.abs(high)) > FLOAT32_MAX
    if big.any():
        i = int(np.flatnonzero(big)[0])
        column = (f" (column {quoted(str(names[i]))})"
                  if names is not None and content_shown() else "")
        value = low[i] if abs(low[i]) > FLOAT32_MAX else high[i]
        raise UserError(f"{what} {i}{column} holds {float(value):.3g} in the training split; "
                        f"values must be within float32's range (|x| <= 3.4e38): rescale or "
                        f"drop it")
    # a constant's mean is its value: the sum's rounding made a column of 1e30s have mean
    # 9.999999999999997e29, which (its std 1, as a constant's) normalized it to 2.8e14, and
    # training stopped as "diverged; lower the learning rate"
    constant = std <= 1e-12 * np.abs(mean)
    if constant.any():
        mean = np.where(constant & (low == high), low, mean)
    return mean, safe_std(mean, std)


# how far from 0 (normalized units) an input of a feature that was one value on the training
# split may be before its untrained weights change the outputs (``untrained_values``)
UNTRAINED_TOL = 0.01


def untrained_values(xn, low, high, mean, std, where: str, names=None,
                     rows: str = "rows scored") -> str | None:
    """The warning for scored rows ``xn`` (normalized, samples x features) that hold other
    values in a feature column that was one value on the training split (``low`` ==
    ``high``: ``value_range``), else None.  Such a column normalizes to 0 in every training
    row, so the weights that read it never train (a gradient of 0): a model trained on a CSV
    whose column c was 1.0 throughout scored 96.7% on its own test rows and 33.3% on a file
    of c from 50 to 150, without a word.  ``mean``/``std``: the normalization (the raw values
    quoted); ``names``: the table's columns; ``rows``: what ``xn`` is, in the line.  A
    sequence set's ``xn`` is (samples, channels, steps) and a channel is checked so."""
    low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
    xn = np.asarray(xn, dtype=np.float64)
    if (xn.ndim not in (2, 3) or not len(xn) or low.shape != (xn.shape[1],)
            or high.shape != low.shape):
        return None
    # a sequence's (N, C, T): a channel of one value at every training step (its left
    # padding is 0 too), scored where any step departs from it
    far = np.abs(xn) > UNTRAINED_TOL
    off = (low == high)[None, :] & (far.any(axis=2) if xn.ndim == 3 else far)
    columns = np.flatnonzero(off.any(axis=0))
    if not len(columns):
        return None
    f = int(columns[0])
    picked = xn[off[:, f], f]
    raw = (picked[np.abs(picked) > UNTRAINED_TOL] if xn.ndim == 3 else picked) \
        * float(std[f]) + float(mean[f])
    column = (f"feature column {quoted(str(names[f]))}"
              if names is not None and content_shown() else
              f"{'channel' if xn.ndim == 3 else 'feature'} {f}")
    more = (f" (and {len(columns) - 1} more such "
            f"{'channel' if xn.ndim == 3 else 'column'}{'s' * (len(columns) > 2)})"
            if len(columns) > 1 else "")
    seen = (f"{raw.min():.6g}" if f"{raw.min():.6g}" == f"{raw.max():.6g}" else
            f"{raw.min():.6g} to {raw.max():.6g}")
    values = f" ({seen})" if content_shown() else ""
    one, part = ("series", "channel") if xn.ndim == 3 else ("row", "column")
    return (f"{where}: {column} is one value ({low[f]:.6g}) in every training {one}, so a "
            f"model never learns from it (that input is 0, its weights untrained), but "
            f"{int(off[:, f].sum()):,} of the {len(xn):,} {rows} hold other values{values}"
            f"{more}: the outputs on them rest on untrained weights; drop the {part}, or "
            f"train on {one} where it varies")


def check_normalized(xn: np.ndarray, name: str, what: str) -> None:
    """The normalized float32 inputs ``xn`` (samples first, then ``what``: feature or
    channel) are finite: a value far from the training split's (1e300 in a test row of a
    column that is 0 in every training row) became inf in float32 -- numpy's 'overflow
    encountered in cast' warning on stderr, and the model's outputs on it NaN."""
    bad = ~np.isfinite(xn)
    if bad.any():
        sample, part = (int(i) for i in np.argwhere(bad)[0][:2])
        raise UserError(f"data set {name}: sample {sample} (0-based, in file order) has a "
                        f"value in {what} {part} that normalizes beyond float32's range "
                        f"(3.4e38) by the training split's mean and std of that {what}; "
                        f"drop or rescale it")


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
    with np.errstate(over="ignore"):
        xn = ((x - mean) / std).astype(np.float32)
    check_normalized(xn, name, "feature")
    value_range = (x[train].min(axis=0).tolist(), x[train].max(axis=0).tolist())
    held = np.concatenate([np.asarray(val, dtype=np.int64), np.asarray(test, dtype=np.int64)])
    untrained = untrained_values(xn[held], *value_range, mean, std, f"data set {name}",
                                 feature_names, "val and test rows") if len(train) else None
    if untrained:   # val/test rows of a column constant in training: scored on untrained weights
        log.warning("%s", untrained)
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
