"""Where a local Ray keeps its files: a folder of this user's alone.

Ray 2.60 makes every folder of a session -- ``/tmp/ray``, ``session_*``, its ``logs``,
``sockets`` and ``runtime_resources`` -- mode 0777 (``ray._common.utils.
try_to_create_directory``, "so others can use it"), whatever the umask: any user of the
machine can read the logs of nnsynth's local Ray, and delete or plant files among its
sockets and the runtime environments its workers import.  Ray does that to every folder it
makes, the temp dir itself included, so nnsynth cannot make them private; it puts them in
one that is: a local Ray's ``_temp_dir`` is ``<tmp>/nnsynth-<uid>/ray``, whose parent is
this user's and 0700, so no other user reaches anything below it.

The path stays short: Ray's sockets lie at ``<temp dir>/session_<date>_<pid>/sockets/<name>``
and a Unix socket's path has at most 107 bytes (103 on macOS), so a base folder whose path
would be too long (a long TMPDIR) gives way to /tmp.  RAY_TMPDIR set by the user is Ray's
own setting: it is left to Ray.
"""
from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

from synth.files import pid_running, write_text_atomic

log = logging.getLogger("cluster.connect")

# 107 (Linux's socket path limit, bytes) - len("/session_2026-12-06_22-49-24_396322_4194304")
# (43: a 7-digit pid) - len("/sockets/") (9) - 25 (the longest socket name Ray makes there:
# "dash_" + a dashboard module's name, "dash_PlatformEventsHead"; "plasma_store.2")
MAX_TEMP_DIR = 30


def ray_temp_dir(bases: list[str] | None = None, limit: int = MAX_TEMP_DIR) -> str | None:
    """The ``_temp_dir`` of a local Ray: ``<base>/nnsynth-<uid>/ray`` in the first of
    ``bases`` (default: Ray's own choice of a system temp folder, TMPDIR or /tmp, then /tmp)
    where it is short enough (``limit`` bytes) and its parent is (or is made) this user's,
    0700.  None leaves
    Ray its default: RAY_TMPDIR set, no POSIX user ids, or no base usable."""
    if os.environ.get("RAY_TMPDIR") or not hasattr(os, "getuid"):
        return None
    if bases is None:
        bases = [os.environ.get("TMPDIR") or "/tmp", "/tmp"]   # as Ray picks it on Linux
    for base in dict.fromkeys(bases):
        parent = Path(base) / f"nnsynth-{os.getuid()}"
        longest = max(parent.name, "nnsynth-" + "x" * 8, key=len)    # or private_folder's
        if len(os.fsencode(Path(base) / longest / "ray")) > limit:
            continue
        folder = private_folder(parent)
        if folder is not None:
            return str(folder / "ray")
    return None


def private_folder(path: Path) -> Path | None:
    """``path`` as a folder of this user's alone (made 0700, or an own folder tightened to
    0700); where another user owns it or it is no folder (a link planted in /tmp), a new
    private folder beside it (``mkdtemp``), with a warning.  None where nothing can be made
    (a read-only base)."""
    try:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid():
            if stat.S_IMODE(info.st_mode) & 0o077:
                os.chmod(path, 0o700)
            return path
        made = Path(tempfile.mkdtemp(prefix="nnsynth-", dir=path.parent))   # 0700
    except OSError as e:
        log.debug("no private folder for Ray at %s: %s", path, e)
        return None
    log.warning("%s is not a folder of this user's (another user's, or a link); the local "
                "Ray keeps its files in %s instead", path, made)
    return made


# Ray removes no session folder: every local Ray leaves its session_* (logs, sockets, the
# workers' runtime environments; 0.4-1 MB each for a short command, more for a long search's
# worker logs) behind for good, in /tmp/ray as in this folder: 394 of them, 190 MB, in a
# day's work here.  The sessions of the local Rays nnsynth started are its own: each carries
# SESSION_MARKER (its driver's pid), and the next local start removes those whose driver has
# ended beyond the newest KEEP_SESSIONS (kept for their logs).
SESSION_MARKER = ".nnsynth-session"
KEEP_SESSIONS = 10


def mark_session(session_dir: str | os.PathLike, temp_dir: str | os.PathLike) -> bool:
    """Mark ``session_dir``, the session of the local Ray this process started, as nnsynth's
    (its pid in SESSION_MARKER), where it lies directly in ``temp_dir`` (``ray_temp_dir``'s
    folder; anywhere else it is left alone).  False where it is not marked."""
    session = Path(session_dir)
    if session.parent != Path(temp_dir) or not session.name.startswith("session_"):
        return False
    try:
        write_text_atomic(session / SESSION_MARKER, f"{os.getpid()}\n")
    except Exception as e:            # a full disk: the session stays, unmarked
        log.debug("session %s not marked: %s", session, e)
        return False
    return True


def ended_sessions(temp_dir: str | os.PathLike, keep: int = KEEP_SESSIONS,
                   alive=pid_running) -> list[Path]:
    """The session folders in ``temp_dir`` to remove: those SESSION_MARKER says a local Ray of
    nnsynth's made, whose driver (its pid there) is not ``alive``, but for the newest ``keep``
    of them (by name: Ray names a session by its start time) and the one ``session_latest``
    names (Ray replaces a link to a folder that is gone with nothing: it would stay broken).
    A folder without the marker (a session of another Ray: ``ray start --temp-dir``, a run of
    an nnsynth before this one) or with an unreadable one is never among them."""
    temp_dir = Path(temp_dir)
    try:
        latest = os.path.realpath(temp_dir / "session_latest")
        names = sorted(os.listdir(temp_dir), reverse=True)     # newest first
    except OSError:
        return []
    ended = []
    for name in names:
        session = temp_dir / name
        if not name.startswith("session_") or name == "session_latest":
            continue
        marker = session / SESSION_MARKER
        try:
            if session.is_symlink() or marker.is_symlink():
                continue
            pid = int(marker.read_text().strip())
        except (OSError, ValueError):
            continue
        if not alive(pid) and os.path.realpath(session) != latest:
            ended.append(session)
    return ended[keep:]


def remove_ended_sessions(temp_dir: str | os.PathLike, keep: int = KEEP_SESSIONS) -> int:
    """Remove ``ended_sessions``; how many went (one another process removes at the same
    time, or a file that cannot go, is skipped)."""
    import shutil
    gone = 0
    for session in ended_sessions(temp_dir, keep):
        shutil.rmtree(session, ignore_errors=True)
        gone += not session.exists()
    if gone:
        log.debug("removed %d ended sessions of nnsynth's local Rays from %s", gone, temp_dir)
    return gone


def repair_latest(temp_dir: str | os.PathLike, session: str | os.PathLike) -> bool:
    """``temp_dir``'s session_latest pointed at ``session`` where it is a link to a folder
    that is gone (a temp cleaner's work, or a user's ``rm``): Ray replaces the link only
    where its target exists (``try_to_symlink``: its new link fails silently beside the
    broken one), so the README's ``session_latest/logs`` stayed broken for every later
    command.  A link that names a folder, or anything not a link, is left to Ray."""
    link = Path(temp_dir) / "session_latest"
    if not link.is_symlink() or link.exists():
        return False
    tmp = link.with_name(f".session_latest.{os.getpid()}")
    try:
        tmp.unlink(missing_ok=True)
        os.symlink(session, tmp)
        os.replace(tmp, link)
    except OSError as e:
        log.debug("session_latest in %s not repaired: %s", temp_dir, e)
        tmp.unlink(missing_ok=True)
        return False
    return True


def own_session(temp_dir: str | os.PathLike, keep: int = KEEP_SESSIONS) -> None:
    """After a local start in ``temp_dir``: its session marked nnsynth's (``mark_session``)
    and named by a broken session_latest (``repair_latest``), then the ended ones beyond
    ``keep`` removed (``remove_ended_sessions``)."""
    try:
        import ray
        session = ray._private.worker.global_worker.node.get_session_dir_path()
    except Exception as e:        # another Ray's internals: nothing marked, nothing removed
        log.debug("no session folder of the local Ray: %s", e)
        return
    if mark_session(session, temp_dir):
        repair_latest(temp_dir, session)
        remove_ended_sessions(temp_dir, keep)
