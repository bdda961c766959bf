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
"""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from synth.errors import UserError

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
