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
