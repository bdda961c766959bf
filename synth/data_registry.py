"""The data-set registry: names, descriptions and loaders (no heavy imports).

``synth.data`` (images, tabular sets, CIFAR-10, Parquet: the ``synth.data_*`` modules it
imports), ``synth.sequences`` and ``synth.text`` register their sets here with
``register_dataset``; ``synth.data`` re-exports the names of this module callers use, so
``from synth.data import load_dataset`` is the usual spelling.  What the path of a
``prefix:<path>`` set must be is here too (``DATASET_PATHS``, ``check_dataset_input``).
The modules that register sets import torch, so they are not imported with ``synth``:
``synth/__init__`` hands ``register_later`` the import of all three, and it runs when the
registry is first read.  Importing ``synth`` (every ``nnsynth --help``) stays light.
"""
from __future__ import annotations

import contextvars
import os
import re
import threading
from pathlib import Path
from typing import Any, Callable

from synth.choices import DATASET_PREFIXES
from synth.config import check_seed, short_repr
from synth.errors import ConfigError, TooFewClasses, UserError
from synth.files import printable, quoted
from synth.logs import quiet_sets

_REGISTRY: dict[str, Callable] = {}   # name -> fn(seed) -> synth.data.Dataset
_PREFIXED: dict[str, Callable] = {}   # prefix -> fn(arg, seed) -> synth.data.Dataset
_DESCRIPTIONS: dict[str, str] = {}
_PENDING: list[Callable[[], None]] = []
_LOCK = threading.RLock()
_CLASS_LIST = re.compile(r"^(?P<base>.+)\[(?P<classes>\d+(?:,\d+)*)\]$")
# anything in brackets at the end of a name: a class list that is not numbers ('iris[setosa]')
_ANY_LIST = re.compile(r"^(?P<base>[^\[\]]+)\[(?P<classes>[^\[\]]*)\]$")
# True while a set named by a file (a checkpoint's metadata), not by the user, loads
# (``load_dataset(..., recorded=True)``): its loaders' errors then quote none of its content.
_RECORDED = contextvars.ContextVar("nnsynth_recorded_dataset", default=False)
# True while a set loads to be used whole (``load_dataset(..., whole=True)``: `nnsynth eval
# --split all`): one too small to split has every sample in its train split (``whole_set``).
_WHOLE = contextvars.ContextVar("nnsynth_whole_dataset", default=False)


def first_repeated(items) -> int | None:
    """The index of the first item of ``items`` that an earlier one equals, else None; in
    linear time (``n in names[:i]`` over 100,000 class names took 275 s)."""
    seen = set()
    for i, item in enumerate(items):
        if item in seen:
            return i
        seen.add(item)
    return None


def register_dataset(name: str, description: str, prefixed: bool = False):
    """Decorator: ``name`` loads with ``fn(seed)``; prefixed ``name:<arg>`` with ``fn(arg, seed)``."""
    def wrap(fn):
        (_PREFIXED if prefixed else _REGISTRY)[name] = fn
        _DESCRIPTIONS[name + (":<path>" if prefixed else "")] = description
        return fn
    return wrap


def register_later(hook: Callable[[], None]) -> None:
    """``hook()`` registers sets (by importing the modules that do); it runs before the
    registry is first read.  A hook that fails stays pending and runs again next time."""
    with _LOCK:
        _PENDING.append(hook)


def _complete() -> None:
    if _PENDING:
        with _LOCK:
            while _PENDING:
                _PENDING[0]()
                _PENDING.pop(0)
            assert set(_PREFIXED) == set(DATASET_PREFIXES), \
                "synth.choices.DATASET_PREFIXES and the registered prefixes disagree"


def list_datasets() -> dict[str, str]:
    _complete()
    return dict(_DESCRIPTIONS)


def split_class_list(name: str) -> tuple[str, list[int] | None]:
    """``"digits[5,6,7]"`` -> ``("digits", [5, 6, 7])``: a set's classes, relabelled 0..k-1 in
    that order (what ``nnsynth continual`` records); a name without a list -> (name, None)."""
    match = _CLASS_LIST.match(name) if isinstance(name, str) else None
    if match is None:
        return name, None
    return match["base"], [int(c) for c in match["classes"].split(",")]


def check_dataset_name(name, where: str = "") -> str:
    """``name`` is a registered set or ``prefix:<arg>`` of a registered prefix, either with
    a class list ``[c1,c2,...]`` (nothing is loaded: ``run --check`` names a misspelt set
    before any work)."""
    _complete()
    base, classes = split_class_list(name)
    if classes is not None:
        if len(set(classes)) != len(classes):
            raise ConfigError(f"{where + ': ' if where else ''}data set {short_repr(name)} "
                              f"lists a class twice")
        if len(classes) < 2:   # refused only when a model of one output was built
            raise TooFewClasses(f"{where + ': ' if where else ''}data set {short_repr(name)}: "
                                f"a class subset needs at least 2 classes, got {len(classes)}",
                                found=len(classes))
        check_dataset_name(base, where)
        return name
    if isinstance(name, str):
        _check_class_list(name, where)
        if ":" in name:
            check_dataset_path(name, where)   # a registered prefix, with a path
            return name
        if name in _REGISTRY:
            return name
    hint = _path_hint(name) if isinstance(name, str) else ""
    raise ConfigError(f"{where + ': ' if where else ''}unknown data set {short_repr(name)}"
                      f"{hint or '; known: ' + ', '.join(sorted(_DESCRIPTIONS))}")


def _check_class_list(name: str, where: str = "") -> None:
    """Refuse a class list of something else than class numbers (names, spaces, a trailing
    comma) after a set that exists: 'iris[setosa,versicolor]' was 'unknown data set' beside
    a list naming iris, and 'csv:iris.csv[setosa]' was 'CSV file not found: iris.csv[setosa]'
    of a file that is there.  A ``prefix:<path>`` whose whole path exists is a file or
    folder so named, never a class list."""
    match = _ANY_LIST.match(name)
    if match is None:
        return
    base = match["base"]
    prefix, sep, path = name.partition(":")
    if sep:
        if prefix not in DATASET_PATHS or os.path.lexists(os.path.expanduser(path)) or not (
                os.path.lexists(os.path.expanduser(base.partition(":")[2]))
                or ts_pair(base.partition(":")[2]) is not None):
            return
    elif base not in _REGISTRY:
        return
    raise ConfigError(f"{where + ': ' if where else ''}data set {short_repr(name)}: a class "
                      f"list is class numbers separated by commas, e.g. {printable(base)}[0,2] "
                      f"(the set's classes numbered from 0 in its order), got "
                      f"[{printable(match['classes'])}]")


# A file's suffix -> the prefix that reads it: a user's own file given as its bare path
# (--dataset data/train.csv) was an unknown data set followed by the list of names.
_SUFFIX_PREFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet",
                    ".ts": "ts", ".txt": "text"}


# Files of kinds no prefix reads, and what to do with them: a NumPy archive given as
# --dataset x.npz (or npz:x.npz) was an unknown data set and the list of names.  An .npz is
# never opened: its object arrays unpickle (run code) when loaded with allow_pickle.
_UNREAD_SUFFIXES = {
    ".npz": "NumPy arrays are not read (an .npz may hold pickled objects); write feature "
            "rows as a CSV or Parquet table (a column per feature and a label column: "
            "csv:<path>, parquet:<path>), images as a folder of image files per class "
            "(images:<folder>), series as a .ts file (ts:<path>)",
    ".xlsx": "spreadsheet workbooks are not read; save the sheet as CSV and give csv:<path>",
}
_UNREAD_SUFFIXES.update({".npy": _UNREAD_SUFFIXES[".npz"], ".xls": _UNREAD_SUFFIXES[".xlsx"],
                         ".ods": _UNREAD_SUFFIXES[".xlsx"]})


def _path_hint(name: str) -> str:
    """'; give it as csv:<name>' where ``name`` is the path of a file of a kind some prefix
    reads (by its suffix), or of a folder; what to do with a NumPy archive or a workbook; ''
    for anything else."""
    import os
    suffix = os.path.splitext(name.rstrip("/\\"))[1].lower()
    if suffix in _UNREAD_SUFFIXES:
        return f"; {_UNREAD_SUFFIXES[suffix]}"
    prefix = _SUFFIX_PREFIXES.get(suffix)
    if prefix is not None:
        return f"; give a file with its kind: {prefix}:{printable(name)}"
    if os.path.isdir(name):
        return (f"; give a folder with its kind: images:{printable(name)} (one subfolder "
                f"of images per class), parquet:{printable(name)} or ts:{printable(name)}")
    return ""


def check_dataset_path(name, where: str = "") -> None:
    """``prefix:<path>`` needs a known prefix (``DATASET_PREFIXES``; 'foo:' was said to
    need a path, as if it were one) and its path: the loaders read an empty one as the
    current folder (``parquet:`` loaded whatever .parquet files lay where the command ran).
    Reads no registry and imports nothing, so the CLI checks its ``--dataset`` options with it."""
    if isinstance(name, str):
        prefix, sep, path = name.partition(":")
        if sep and prefix not in DATASET_PREFIXES:
            unread = _UNREAD_SUFFIXES.get("." + prefix.lower())   # npz:x.npz, xlsx:...
            raise ConfigError(f"{where + ': ' if where else ''}data set {short_repr(name)} has "
                              f"an unknown prefix {short_repr(prefix + ':')}; " + (
                                  unread or "known prefixes: " + ", ".join(
                                      p + ":<path>" for p in DATASET_PREFIXES)))
        if sep and not path.strip():
            raise ConfigError(f"{where + ': ' if where else ''}data set {short_repr(name)} has "
                              f"no path: expected {prefix}:<path>")
        if sep and not printable_name(name):   # the name is printed, logged and recorded in
            raise ConfigError(                # checkpoints: no newline or escape sequence
                f"{where + ': ' if where else ''}data set {printable(name)} holds "
                f"{unprintable_kind(name)}; data set names must be printable (rename the "
                f"file or folder)")


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


def dataset_identity(name: str):
    """What ``name`` (a data set name, without its class list) reads, for telling whether two
    names are one set: a ``prefix:<path>`` set as its prefix and the resolved path (a
    ``ts:`` folder of one pair as that pair, ``<folder>/<problem>``), any other name as it is.
    A trailing slash, a relative spelling, a symbolic link or ``ts:<folder>/<problem>`` for
    the folder's one pair name the same files."""
    prefix, sep, path = str(name).partition(":")
    if not sep or prefix not in DATASET_PATHS or not path:
        return str(name)
    try:
        p = Path(path).expanduser()
        if prefix == "ts":
            pair = ts_pair(p)
            if pair is None and p.is_dir():
                trains = [n for n in os.listdir(p) if n.endswith("_TRAIN.ts")]
                pair = (p, trains[0][:-len("_TRAIN.ts")]) if len(trains) == 1 else None
            if pair is not None:
                return (prefix, os.path.realpath(pair[0]), pair[1])
        return (prefix, os.path.realpath(p))
    except (OSError, ValueError):   # unreadable, or a NUL in the path: compared as spelt
        return str(name)


def resolved_name(name: str) -> str | None:
    """``name`` with its path made absolute (its class list ``[...]`` kept), where it is a
    ``prefix:<path>`` set of a relative path that names a file or folder (or a ``ts:``
    pair) from the current folder; None for any other name.  A checkpoint records it beside
    the name as given (``synth.checkpoint.save_checkpoint``), so its set is found from
    another folder (``synth.checkpoint.recorded_location``)."""
    base = split_class_list(str(name))[0]
    prefix, sep, path = base.partition(":")
    if not sep or prefix not in DATASET_PATHS or not path:
        return None
    try:
        p = Path(path).expanduser()
        if p.is_absolute() or not (os.path.lexists(p) or ts_pair(p) is not None):
            return None
        return f"{prefix}:{os.path.abspath(p)}{str(name)[len(base):]}"
    except (OSError, ValueError):   # unreadable, or a NUL in the path
        return None


def same_dataset(a: str, b: str) -> bool:
    """Whether the data set names ``a`` and ``b`` (class lists ``name[...]`` left out) read
    the same set (``dataset_identity``): a checkpoint's own set named another way
    (``ts:sets/`` for ``ts:sets``) was taken for another set, split with another seed, so its
    "test" split held the samples the model trained on."""
    a, b = split_class_list(str(a))[0], split_class_list(str(b))[0]
    return a == b or dataset_identity(a) == dataset_identity(b)


def classes_in_common(a: str, a_classes, b: str, b_classes) -> list[str]:
    """The classes of ``b_classes`` (those of the set named ``b``, by name) whose samples the
    set named ``a`` (of classes ``a_classes``) holds too: [] where ``a`` and ``b`` are other
    sets (``same_dataset``).  Within one set a class is its name, however its classes are
    listed: a class list picks the set's classes with their names and its split
    (``Dataset.class_subset``), so ``wine[2,1,0]`` holds every sample of ``wine`` (its labels
    in another order) and ``wine[1,2]`` those of wine's classes 1 and 2."""
    if not same_dataset(a, b):
        return []
    held = {str(c) for c in a_classes}
    return [str(c) for c in b_classes if str(c) in held]


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


def shown(value: Any, otherwise: str = "", lead: str = "") -> str:
    """A cell, line or name read from a data set's file, for an error message: ``lead`` and
    a short, repr-escaped value (``quoted``: at most 60 characters of it, control
    characters escaped once) when the user named the file; ``otherwise`` (what the message says
    in its place: a column's number, or nothing) while a set named by a checkpoint loads.  A crafted
    checkpoint recording csv:/etc/passwd made `nnsynth eval --model` print a line of that
    file ("Expected 1 columns, got 4: postgres:x:101:..."), a file the user never chose."""
    return lead + quoted(value) if content_shown() else otherwise


def content_shown() -> bool:
    """Whether errors may quote a short cell of the set that loads (``shown``): not while a
    set named by a checkpoint loads (``load_dataset(..., recorded=True)``)."""
    return not _RECORDED.get()


def whole_set() -> bool:
    """Whether the set that loads is used whole (``load_dataset(..., whole=True)``): its
    loaders split it as always where they can, and else put every sample in its train split
    (val and test empty) where they refused it as too small to split: `nnsynth eval --split
    all` of a CSV of 8 rows (a class of 1) was "too few rows per class for stratified
    train/val/test splits", although scoring every row needs no split."""
    return _WHOLE.get()


def column_shown(name: str, names) -> str:
    """A table's column in an error: its name (``shown``), or its number (#1 the first)
    while content is not shown."""
    names = list(names)
    return shown(name, f"#{names.index(name) + 1}" if name in names else "")


MAX_CLASS_NAME = 200   # characters: a checkpoint's metadata holds names of at most this many


def printable_name(text: str) -> bool:
    """Whether a class name prints as what it is: every character printable, a Unicode space
    separator (category Zs: a no-break space U+00A0, common in spreadsheet exports, a narrow
    or ideographic space) counting as the space it is.  ``str.isprintable`` is False for
    those, and ``'left\\xa0hand'`` was refused as holding "a control character".  Control and
    format characters (a newline, an escape, a zero-width space, a bidi override) are not
    printable."""
    import unicodedata
    return all(c.isprintable() or unicodedata.category(c) == "Zs" for c in text)


def unprintable_kind(text: str) -> str:
    """What makes ``text`` (not ``isprintable()``) unprintable, for a message: bytes of a name
    that are not UTF-8 (Python holds them as surrogates, U+DC80..U+DCFF: a file or folder
    named in Latin-1) were called "a control character (a newline, an escape sequence...)"."""
    if any("\udc80" <= c <= "\udcff" for c in text):
        return "bytes that are not UTF-8 text (a name written in another encoding)"
    import unicodedata
    odd = [c for c in text if not printable_name(c)]
    if odd and all(unicodedata.category(c) == "Cf" for c in odd):
        return "an invisible format character (a zero-width space, a bidi override...)"
    return "a control character (a newline, an escape sequence...)"


def check_class_names(names, where: str, *, loaded: bool = False) -> None:
    """Class names are strings of at most MAX_CLASS_NAME characters, every one printable: they
    are printed in summaries and logs and drawn as grid labels, where a newline, an escape
    sequence or a bidi override (from a Parquet set's metadata, a CSV label cell, an image
    folder's name, a .ts label) broke the one-line output or rewrote the terminal.
    ``loaded``: the names of a set just loaded, which must also be non-empty and distinct,
    also after Unicode normalization (NFC)."""
    for i, n in enumerate(names):
        if not isinstance(n, str) or len(n) > MAX_CLASS_NAME:
            size = f"{len(n):,} characters" if isinstance(n, str) else type(n).__name__
            raise ConfigError(f"{where}: class names must be strings of at most "
                              f"{MAX_CLASS_NAME} characters, got {shown(n, size)}")
        if not printable_name(n):
            raise ConfigError(f"{where}: class name {shown(n, f'(class {i})')} holds "
                              f"{unprintable_kind(n)}; class names must be printable")
        if loaded and not n.strip():
            raise ConfigError(f"{where}: a class name is empty ({shown(n, f'class {i}')})")
    if loaded and len(set(names)) != len(names):
        i = first_repeated(names)
        raise ConfigError(f"{where}: class name {shown(names[i], f'(class {i})')} is given "
                          f"twice; classes need distinct names")
    if loaded and not all(n.isascii() for n in names):
        # 'café' written with é and with e + U+0301 (a macOS folder name, a joined CSV) print
        # alike: they were two classes, each holding part of one class's samples
        # and 'left hand' written with a no-break space (a spreadsheet's) and a plain one
        import unicodedata
        forms = [unicodedata.normalize("NFC", "".join(
            " " if unicodedata.category(c) == "Zs" else c for c in n)) for n in names]
        i = first_repeated(forms)
        if i is not None:
            j = forms.index(forms[i])
            named = [shown(names[k], lead="", otherwise=f"class {k}") +
                     (f" (class {k})" if content_shown() else "") for k in (j, i)]
            raise ConfigError(f"{where}: class names {named[0]} and {named[1]} are one name in "
                              f"two Unicode forms (an accent composed and decomposed, or a "
                              f"no-break space and a plain one); write them one way")


def check_training_classes(data, where: str) -> None:
    """Every class with validation or test samples has training samples: a class only in a
    split column's test (or val) rows, an images: test/ folder or a CIFAR-10 test batch got
    an output the model never trains on, and its held-out samples counted in every accuracy.
    (A class with no samples at all is allowed: a small synthesized set may lack some.)
    A set without a test split whose training split holds at most one sample of each class
    is exempt for its validation split: a synthesized set of one image per class, whose
    validation slice (``synth.data.val_slice``) could not leave every class a training one."""
    k = int(data.num_classes)
    counts = {s: getattr(data, f"y_{s}").bincount(minlength=k).tolist()
              for s in ("train", "val", "test")}
    held = ("test",) if (not len(data.y_test) and max(counts["train"], default=0) <= 1) \
        else ("val", "test")
    for c in range(k):
        only = [s for s in held if counts[s][c]]
        if only and not counts["train"][c]:
            rows = " and ".join(f"{counts[s][c]:,} {s}" for s in only)
            held_rows = sum(counts[s][c] for s in only)   # "only 1 test sample"
            raise ConfigError(f"{where}: class {shown(data.class_names[c], str(c))} has no "
                              f"training samples (only {rows} sample"
                              f"{'s' * (held_rows != 1)}); every class needs at "
                              f"least one to train on (move some of its samples to train, or "
                              f"remove the class)")


def load_dataset(name: str, seed: int = 0, *, recorded: bool = False, whole: bool = False,
                 quiet: bool = False):
    """The named set (a ``synth.data.Dataset``) split with ``seed`` (recorded as
    ``Dataset.seed`` and in its metadata).  ``recorded``: the name came from a file (a
    checkpoint's metadata), not from the user, so its errors quote none of the set's
    content (``shown``): they name the file and what was expected.  ``whole``: the set is
    used whole (all its splits together), so one too small to split loads (``whole_set``).
    ``quiet``: the set is read only to compare with; its loaders say nothing of it below an
    error (``synth.logs.quiet_sets``)."""
    if quiet:
        with quiet_sets():
            return load_dataset(name, seed, recorded=recorded, whole=whole)
    flags = [(var, True) for var, on in ((_RECORDED, recorded), (_WHOLE, whole))
             if on and not var.get()]
    if flags:
        tokens = [var.set(value) for var, value in flags]
        try:
            return load_dataset(name, seed)
        finally:
            for (var, _), token in zip(flags, tokens):
                var.reset(token)
    check_seed("seed", seed)   # scikit-learn's splits take [0, 2^32): a traceback beyond
    check_dataset_name(name)
    base, classes = split_class_list(name)
    if classes is not None:   # a checkpoint of `nnsynth continual` records such a name
        data = load_dataset(base, seed)
        bad = [c for c in classes if not 0 <= c < data.num_classes]
        if bad:
            raise ConfigError(f"data set {short_repr(name)}: class {bad[0]} is not in "
                              f"[0, {data.num_classes}) of {base}")
        return data.class_subset(classes)
    if name in _REGISTRY:
        data = _REGISTRY[name](seed)
    else:
        prefix, arg = name.split(":", 1)
        data = _PREFIXED[prefix](arg, seed)
    check_class_names(data.class_names, f"data set {printable(name)}", loaded=True)
    check_training_classes(data, f"data set {printable(name)}")
    data.seed = int(seed)
    return data
