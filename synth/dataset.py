"""The ``Dataset`` every loader returns, and what reads a set's metadata back.

A ``Dataset`` holds normalized float32 tensors for the train/val/test splits and the
metadata every later stage needs (input shape, classes, normalization, split seed); the
loaders that make one are in ``synth.data_builtin``, ``synth.data_parquet``,
``synth.data_csv``, ``synth.data_images`` (and ``synth.sequences``, ``synth.text``).  Here
too: ``check_metadata`` (a Parquet set's or checkpoint's copy of that metadata, checked before
anything is sized from it), ``input_range`` (the valid normalized range of one input), and
matching a model's class names to a set's (``class_subset``, ``spelled_as``).
"""
from __future__ import annotations

import dataclasses
import json
import math
from typing import Sequence

import torch

from synth.config import short_repr, value_error
from synth.data_registry import MAX_CLASS_NAME, check_class_names
from synth.errors import UserError


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
        meta.pop("pixel_scale", None)   # how raw pixels were scaled: recorded since, not data
        if self.is_sequence:   # its range is the min/max of the training inputs hashed
            meta.pop("value_range", None)   # below: digests stay those from before it was kept
        h = hashlib.sha256(json.dumps(meta, sort_keys=True, default=str).encode())
        for which in ("train", "val", "test"):
            for name, t in zip(("x", "y"), self.split(which)):
                t = t.detach().cpu().contiguous()
                h.update(f"{name}_{which}:{tuple(t.shape)}:{t.dtype};".encode())
                h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
        return h.hexdigest()[:16]

    def as_recorded(self, record: dict) -> "Dataset":
        """This set under the name and file a data-set record (``metadata()``, a checkpoint's)
        spells it with, for a digest to compare with the record's: a set read from its file
        spelt another way (``ts:data/eq.ts`` recorded, ``ts:/abs/data/eq.ts`` read) keeps
        the spelling in its ``source``, which ``digest`` hashes; the caller has established
        that both name the same file (``data_registry.same_dataset``)."""
        extra = dict(self.extra)
        if "source" in extra and "source" in record:
            extra["source"] = record["source"]
        return dataclasses.replace(self, name=str(record.get("name") or self.name),
                                   extra=extra)

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


def class_subset(data: Dataset, classes: Sequence[int], offset: int = 0) -> Dataset:
    """Samples of ``classes`` only, relabelled ``classes[i] -> offset + i`` in every split
    (``Dataset.class_subset``)."""
    return data.class_subset(classes, offset)


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


FLOAT32_MAX = 3.4e38   # a normalization value beyond it is inf once it is a float32 tensor


def _finite(x) -> bool:
    """A real number a float32 holds: not bool, NaN or inf, nor an int of 400 digits (whose
    ``np.isfinite`` is a TypeError); compared, never converted."""
    return (isinstance(x, (int, float)) and not isinstance(x, bool) and x == x
            and -FLOAT32_MAX <= x <= FLOAT32_MAX)


# A set's "kind", "layout" and "padding" words (synth.sequences: "sequence", "channels x
# steps", "left, zeros after normalization (...), to 29 steps"): a Parquet set's metadata
# carried a 10 MB kind, or one of escape sequences, into every checkpoint trained on it.
MAX_META_TEXT = 500


def check_metadata(meta, where: str, *, partial: bool = False) -> dict:
    """A data set's metadata (Parquet schema, checkpoint) checked before anything is sized
    from it: input_shape and num_classes in bounds (``synth.models.check_shape``), class
    names one distinct, non-empty string per class, mean/std finite numbers (std > 0), one
    per channel, a tabular set's value_range two lists (low, high) of one finite number per
    feature, and an image set's pixel_scale a positive number.

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
        check_class_names(names, where, loaded=True)   # distinct, non-empty: as loaded
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
    scale = meta.get("pixel_scale")
    if scale is not None and not (_finite(scale) and 0 < scale <= 1 << 32):
        # the raw value of a full-scale pixel (digits' 16): an export dropped a bad one and
        # wrote "full scale = 1" for a model of pixels 0..16
        raise UserError(f"{where}: pixel_scale must be a number in (0, 2^32] (the raw value of "
                        f"a full-scale pixel), got {short_repr(scale)}")
    for key in ("kind", "layout", "padding"):   # a sequence set's words, kept with the set
        text = meta.get(key)                      # and recorded in checkpoints trained on it
        if text is not None and not (isinstance(text, str) and len(text) <= MAX_META_TEXT
                                     and text.isprintable()):
            raise UserError(f"{where}: {key} must be a line of at most {MAX_META_TEXT} "
                            f"printable characters, got {short_repr(text)}")
    features = meta.get("feature_names")
    if features is not None and not (
            isinstance(features, list) and all(isinstance(n, str) for n in features)
            and len(set(features)) == len(features)
            and (shape is None or (len(shape) == 1 and len(features) == width))):
        raise UserError(f"{where}: feature_names must be {width or 'one per feature'} distinct "
                        f"strings (a table's feature columns), got {short_repr(features)}")
    return meta


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
