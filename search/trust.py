"""Which search directories' Tune state this user may restore.

Tune saves its experiment with cloudpickle (``tune/tuner.pkl``, the trials' state) and
``Tuner.restore`` unpickles it, so resuming a search directory someone else wrote -- copied
from a colleague, or on storage others can write -- would run whatever code it holds.
nnsynth restores only searches this user started: a new search gets a random id
(``SEARCH_ID_FILE`` in its directory), recorded in the user's own state directory
(``state_dir()``, mode 0700) when the search begins; ``--resume`` of a directory whose id is
not recorded there is refused in one line before Ray starts or anything is unpickled, and so
is one whose record names another directory: a copy of one's own search, or a directory
that holds a copy of one's search id (readable where the search is) beside a planted state
(Tune's restored state keeps the folder it began in: resume a search there).

Nor is a directory this user started proof of what it holds now: anyone who can write there
(a group-writable results folder, a synced one) could replace Tune's pickles.  When a search
process stops (finished, interrupted, failed), ``record_tune_state`` keeps a SHA-256 of every
file of its Tune experiment beside the search's record (0600, in ``state_dir()``); before
``Tuner.restore`` unpickles anything, ``unverified_tune_state`` recomputes them, and a state
with no record (its process was killed) or any file changed, added or removed is not
restored: the search resumes from its results.parquet instead.

The check reads the files, and Tune reads them again later from the same path (tuner.pkl in
``Tuner.restore``, the newest experiment_state and the searcher's state when ``fit()``
resumes, a trial's error.pkl as ``fit()`` ends: seconds to the whole search later), so a
file replaced in between would be unpickled unchecked.  ``verified_reads`` closes that
window: Tune reads its experiment through a filesystem that hands out a file Tune may
unpickle (one at the experiment's top level, or any ``.pkl``) only as bytes whose SHA-256 is
the recorded one, or that of the bytes this process wrote there since (read whole, checked,
then given from memory); any other is refused (``TuneStateChanged``) before anything is
unpickled.  A new search's Tune reads through it too, with nothing recorded: as ``fit()``
ends Tune reads back each trial's result.json and each failed trial's error.pkl, and every
file Tune may unpickle is written by this (the driver's) process, its sync threads included
(a trial's worker writes only its checkpoint, which Tune does not unpickle).

``record_tune_state`` hashes the files as the search stops, but one replaced after Tune
wrote it (or after the restore verified it) is not recorded as the search's: a file Tune
may unpickle is recorded as this process wrote it or as it was verified, and one that is
not so (replaced, or one that appeared from elsewhere) is recorded as ``UNVOUCHED``, so a
resume finds it changed and resumes from results.parquet (``VerifiedReads.vouched``).

An experiment at a file:// or s3:// ``storage_path`` is read through ``VerifiedReads`` as a
path is (S3 with its files uploaded as they close, ``_uploads_as_closed``), checked on a
local S3 server (moto) with a search stopped, resumed, and its tuner.pkl replaced.  One at
gs://, gcs://, hdfs://, viewfs://, abfs:// or abfss:// is read as it is when Tune reads it
(``read_as_it_is``).  Ray's API would take the wrapper there too (``RunConfig`` and
``Tuner.restore`` take any pyarrow filesystem), but whether Tune's syncs through it finish
could not be checked: no server of those kinds runs here, and through the wrapper every
upload is a Python file whose close waits for it on pyarrow's threads (to S3 with pyarrow
18.1 a threaded copy of 40 files hung until the S3 filesystem's background writes were
turned off; pyarrow's Azure filesystem has no such option).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
from pathlib import Path

import pyarrow.fs as pafs

from synth.errors import ConfigError, UserError
from synth.files import OWNER_MARKER, read_json

SEARCH_ID_FILE = "search_id"
_ID = re.compile(r"[0-9a-f]{32}")


def state_dir() -> Path:
    """The user's nnsynth state: ``NNSYNTH_STATE_DIR``, else ``$XDG_STATE_HOME/nnsynth``,
    else ``~/.local/state/nnsynth``."""
    if os.environ.get("NNSYNTH_STATE_DIR"):
        return Path(os.environ["NNSYNTH_STATE_DIR"]).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
    return Path(base).expanduser() / "nnsynth"


def _record(search_id: str) -> Path:
    return state_dir() / "searches" / search_id


def register_search(out_dir: Path) -> str:
    """Give the new search in ``out_dir`` an id (kept when it has one: a fresh start of the
    same directory) and record it as this user's; returns the id."""
    path = Path(out_dir) / SEARCH_ID_FILE
    search_id = _read_id(path) if path.is_file() else None
    if search_id is None:
        search_id = secrets.token_hex(16)
        from synth.files import write_text_atomic
        write_text_atomic(path, search_id + "\n")
    record = _record(search_id)
    record.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(record, flags, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"{Path(out_dir).resolve()}\n")
    return search_id


def _digests(out_dir: Path) -> Path | None:
    """Where the digests of the Tune state of the search in ``out_dir`` are kept (beside its
    record), or None where it has no id."""
    path = Path(out_dir) / SEARCH_ID_FILE
    search_id = _read_id(path) if path.is_file() and not path.is_symlink() else None
    return None if search_id is None else _record(search_id).with_name(search_id + ".tune")


def tune_state_digests(experiment: str) -> dict[str, str]:
    """SHA-256 of every file under the Tune ``experiment`` folder (a path or a URI), by its
    path inside it: all of them, not only the ``.pkl`` ones (Tune's experiment_state JSON
    holds cloudpickled trials, and a newer one planted beside it would be the one read)."""
    fs, root = pafs.FileSystem.from_uri(experiment)
    root = root.rstrip("/")
    found = {}
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True, allow_not_found=True)):
        name = info.path[len(root) + 1:]
        if info.type == pafs.FileType.Directory:
            continue
        if info.type != pafs.FileType.File:
            found[name] = "not a file"
            continue
        digest = hashlib.sha256()
        with fs.open_input_stream(info.path) as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        found[name] = digest.hexdigest()
    return found


def forget_tune_state(out_dir: Path) -> None:
    """Drop the digests of the search's Tune state (Tune is about to write it again: a
    process killed before ``record_tune_state`` leaves none, and its state is not trusted)."""
    path = _digests(out_dir)
    if path is not None:
        with contextlib.suppress(OSError):
            path.unlink()


def record_tune_state(out_dir: Path, experiment: str, filesystem=None) -> None:
    """Keep the digests of the Tune ``experiment`` of the search in ``out_dir`` in the
    user's state directory (0600, written atomically), as its process stops.  A state that
    cannot be read is not recorded: a resume then does without it.  ``filesystem``: the one
    ``verified_reads`` gave Tune for it; a file Tune may unpickle is recorded as this
    process wrote it or as it was verified, never as something that replaced it since
    (``VerifiedReads.vouched``)."""
    path = _digests(out_dir)
    if path is None:
        return
    try:
        files = tune_state_digests(experiment)
        handler = getattr(filesystem, "handler", None)
        if isinstance(handler, VerifiedReads):
            files = {name: handler.vouched(name, found) for name, found in files.items()}
        text = json.dumps({"experiment": experiment, "files": files})
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
        with os.fdopen(os.open(part, flags, 0o600), "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(part, path)
    except (OSError, ValueError):   # pyarrow's errors are OSErrors
        forget_tune_state(out_dir)


def unverified_tune_state(out_dir: Path, experiment: str) -> str | None:
    """Why the Tune ``experiment`` of the search in ``out_dir`` may not be unpickled (a few
    words), or None where every file is as ``record_tune_state`` last recorded it."""
    path = _digests(out_dir)
    try:
        recorded = read_json(path) if path is not None else None
    except ConfigError as e:   # a key given twice, nested too deep: it says so
        return str(e)
    except (OSError, ValueError):
        recorded = None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("files"), dict):
        return "no digest of it was recorded: its search process did not stop cleanly"
    if recorded.get("experiment") != experiment:
        return f"its digests are of {recorded.get('experiment')}"
    try:
        now = tune_state_digests(experiment)
    except (OSError, ValueError) as e:
        return f"it cannot be read: {e}"
    changed = sorted(n for n in set(now) | set(recorded["files"])
                     if now.get(n) != recorded["files"].get(n))
    if changed:
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        return (f"{len(changed)} of its files changed, added or removed since its search "
                f"stopped: {', '.join(changed[:3])}{more}")
    return None


def forget_search(out_dir: Path) -> None:
    """Take back ``register_search``'s record of the search in ``out_dir`` (a search that
    failed before its first trial: its directory is removed, and the record with it)."""
    path = Path(out_dir) / SEARCH_ID_FILE
    search_id = _read_id(path) if path.is_file() and not path.is_symlink() else None
    if search_id is None:
        return
    record = _record(search_id)
    try:
        if record.read_text().strip() == str(Path(out_dir).resolve()):
            forget_tune_state(out_dir)
            record.unlink()
    except OSError:
        pass


def check_trusted(out_dir: Path) -> None:
    """One-line UserError unless the search in ``out_dir`` was started by this user here
    (its id recorded by ``register_search``)."""
    path = Path(out_dir) / SEARCH_ID_FILE
    search_id = _read_id(path) if path.is_file() and not path.is_symlink() else None
    if search_id is None or not _record(search_id).is_file():
        raise UserError(f"{out_dir} holds a search this user did not start here (no "
                        f"{SEARCH_ID_FILE} recorded in {state_dir()}): its Tune state is "
                        f"pickled, and resuming it would run whatever code it holds; start a "
                        f"new search with another --out")
    # The id alone is no proof: it is readable in the search's directory, and a directory
    # holding a copy of it and a planted tune/tuner.pkl passed here (search.run's own
    # check of where a search began reads a file of that same directory).  The record,
    # in the user's private state directory, names where the search began.
    try:
        began = _record(search_id).read_text().strip()
    except (OSError, UnicodeDecodeError):
        began = ""
    if began != str(Path(out_dir).resolve()):
        raise UserError(f"{out_dir} holds a search begun in {began or 'another directory'} "
                        f"and copied or moved since: its Tune state is pickled and names "
                        f"{began or 'that directory'}; move it back there to resume it, or "
                        f"start a new search with another --out")


def _read_id(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            text = f.read(64).decode("ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if _ID.fullmatch(text) else None


class TuneStateChanged(UserError):
    """A file of a restored Tune experiment was not as its digests were recorded when Tune
    read it (replaced after ``unverified_tune_state`` passed it)."""


# SHA-256 of what this process wrote through a VerifiedReads, by path (None: not known, an
# append, a move or a copy, which Tune does not make, or a write not yet closed)
_WRITTEN: dict[str, str | None] = {}
# ``record_tune_state``'s entry for a file not as this process wrote it or verified it: no
# SHA-256, so a resume finds it changed and resumes from results.parquet
UNVOUCHED = "not as its search process wrote or verified it"


class _HashedWrites:
    """A writable file over pyarrow's ``stream`` that keeps the SHA-256 of its bytes in
    ``_WRITTEN[path]`` as it closes."""

    def __init__(self, stream, path: str):
        self.stream, self.path = stream, path
        self.sha, self.closed = hashlib.sha256(), False
        _WRITTEN[path] = None

    def write(self, data) -> int:
        self.sha.update(data)
        return self.stream.write(data)

    def writable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.stream.tell()

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        if not self.closed:
            self.stream.close()
            self.closed = True
            _WRITTEN[self.path] = self.sha.hexdigest()


def _pickled(name: str) -> bool:
    """A file Tune may unpickle: the experiment's own state (tuner.pkl, experiment_state-*
    .json with its cloudpickled trials, the searcher's and scheduler's states, at the top
    level) or a trial's ``.pkl`` (error.pkl, read back as ``fit()`` ends)."""
    return "/" not in name or name.endswith(".pkl")


class VerifiedReads(pafs.FileSystemHandler):
    """A pyarrow ``FileSystemHandler`` over ``fs`` (Ray's filesystem of the experiment)
    whose reads of a file Tune may unpickle under ``root`` give the recorded bytes
    (``digests``: ``tune_state_digests`` of ``root`` as its search stopped) or the bytes
    this process wrote there (hashed as written), and raise ``TuneStateChanged`` for any
    other; all else is ``fs``'s.  Picklable (Tune keeps its storage's filesystem in the
    trials' state)."""

    def __init__(self, fs, root: str, digests: dict, shown: str, restored: bool = True):
        self.fs, self.root = fs, root.rstrip("/")
        self.digests, self.shown, self.restored = dict(digests), shown, restored

    def __reduce__(self):
        return VerifiedReads, (self.fs, self.root, self.digests, self.shown, self.restored)

    def vouched(self, name: str, found: str) -> str:
        """What ``record_tune_state`` keeps for the file ``name`` of the experiment, whose
        bytes' SHA-256 is ``found`` as the search stops: ``found`` where it is as this
        process wrote it, or (one Tune may unpickle, not written here) as it was verified;
        ``UNVOUCHED`` where it is not (replaced since, or one Tune may unpickle that
        appeared from elsewhere), which a resume never takes for the state's.  Files a
        trial's worker wrote (its checkpoints; Tune unpickles none) are kept as found."""
        path = f"{self.root}/{name}"
        if path in _WRITTEN:
            expected = _WRITTEN[path]
        elif _pickled(name) and name != OWNER_MARKER:
            expected = self.digests.get(name)
        else:
            return found
        return found if found == expected else UNVOUCHED

    def _read(self, path: str):
        import pyarrow as pa
        name = path[len(self.root) + 1:] if path.startswith(self.root + "/") else None
        if name is None or not _pickled(name):
            return None
        ours = path in _WRITTEN
        expected = _WRITTEN[path] if ours else self.digests.get(name)
        data = b""
        if expected is not None:
            with self.fs.open_input_stream(path) as f:
                data = f.read()
        if expected is None or hashlib.sha256(data).hexdigest() != expected:
            state = "changed" if ours or name in self.digests else "appeared"
            since = "this search wrote it" if ours else "it was verified"
            rerun = "rerun the command" if self.restored else "rerun the command with --resume"
            raise TuneStateChanged(
                f"Tune's saved state in {self.shown} changed after {since} ({name} "
                f"{state}): nothing of it was unpickled; {rerun} to resume the search from "
                f"results.parquet")
        return pa.BufferReader(data)

    def open_input_stream(self, path):
        held = self._read(path)
        return self.fs.open_input_stream(path) if held is None else held

    def open_input_file(self, path):
        held = self._read(path)
        return self.fs.open_input_file(path) if held is None else held

    def open_output_stream(self, path, metadata):
        import pyarrow as pa
        stream = self.fs.open_output_stream(path, metadata=metadata)
        return pa.PythonFile(_HashedWrites(stream, path), mode="w")

    def open_append_stream(self, path, metadata):
        _WRITTEN[path] = None
        return self.fs.open_append_stream(path, metadata=metadata)

    def move(self, src, dest):
        _WRITTEN[dest] = None
        self.fs.move(src, dest)

    def copy_file(self, src, dest):
        _WRITTEN[dest] = None
        self.fs.copy_file(src, dest)

    def get_type_name(self):
        return "nnsynth-verified-" + self.fs.type_name

    def equals(self, other):
        return isinstance(other, VerifiedReads) and self.__reduce__() == other.__reduce__()

    def normalize_path(self, path):
        return self.fs.normalize_path(path)

    def get_file_info(self, paths):
        return self.fs.get_file_info(paths)

    def get_file_info_selector(self, selector):
        return self.fs.get_file_info(selector)

    def create_dir(self, path, recursive):
        self.fs.create_dir(path, recursive=recursive)

    def delete_dir(self, path):
        self.fs.delete_dir(path)

    def delete_dir_contents(self, path, missing_dir_ok=False):
        self.fs.delete_dir_contents(path, missing_dir_ok=missing_dir_ok)

    def delete_root_dir_contents(self):
        self.fs.delete_dir_contents("/", accept_root_dir=True)

    def delete_file(self, path):
        self.fs.delete_file(path)


def verified_reads(out_dir: Path, experiment: str, restored: bool = True):
    """(path, filesystem) to give Tune for the Tune ``experiment`` of the search in
    ``out_dir``: to ``Tuner.restore`` (``restored``: its digests, which
    ``unverified_tune_state`` has just passed, are the bytes Tune may read) or to a new
    search's ``RunConfig`` (none: Tune reads back only what this process writes).  The
    filesystem gives Tune only those bytes of what it may unpickle (``VerifiedReads``).  An
    experiment Tune reads as it is (``read_as_it_is``) is given so, with no filesystem."""
    if read_as_it_is(experiment):
        return experiment, None
    recorded = read_json(_digests(out_dir))["files"] if restored else {}
    fs, root = pafs.FileSystem.from_uri(experiment)
    fs, root = _uploads_as_closed(fs), root.rstrip("/")
    # what an earlier search or restore in this process wrote there is checked again, as
    # recorded (a new search's folder was emptied)
    for path in [p for p in _WRITTEN if p.startswith(root + "/")]:
        del _WRITTEN[path]
    return root, pafs.PyFileSystem(VerifiedReads(fs, root, recorded, experiment, restored))


# URI schemes of the experiments Tune reads through ``VerifiedReads``, beside a path: those
# checked with a search stopped and resumed (s3: against a local S3 server, moto)
VERIFIED_SCHEMES = ("file", "s3")


def read_as_it_is(experiment: str) -> bool:
    """Tune reads the ``experiment`` as it is, not through ``VerifiedReads``: a URI of a
    scheme not in ``VERIFIED_SCHEMES`` (gs://, hdfs://, abfs://: the module docstring)."""
    return "://" in experiment and experiment.split("://", 1)[0] not in VERIFIED_SCHEMES


def _uploads_as_closed(fs):
    """``fs``, or for S3 a copy of it whose files upload as they close, in the thread that
    writes them (``background_writes=False``).  Through ``VerifiedReads`` a write is a Python
    file whose close waits for its upload, and Tune's syncs copy with pyarrow's threads (Ray
    2.60 turns them off only for an ``S3FileSystem`` destination, which the wrapper is not):
    with background writes a close waits for an upload queued behind the copies on pyarrow's
    I/O threads (apache/arrow#15233), and pyarrow 18.1's threaded copy of 40 files to S3
    hung, through the wrapper or not; without them it finished (moto's S3 server)."""
    if isinstance(fs, getattr(pafs, "S3FileSystem", ())):
        rebuild, (options,) = fs.__reduce__()
        return rebuild({**options, "background_writes": False})
    return fs
