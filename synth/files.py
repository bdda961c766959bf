"""Atomic file writes: a temp file beside the target, then ``os.replace``.

A reader never sees a half-written file, and an interrupted job leaves the previous
version intact.  Every artifact goes through ``atomic_path``: checkpoints, Parquet shards
and tables, PNGs, ONNX files, searcher state, ledgers, reports and benchmark results
(``write_text_atomic``, ``write_json_atomic`` and ``copy_atomic`` are its common uses).

    with atomic_path(out) as tmp:
        torch.save(payload, tmp)          # any writer that takes a path
"""
from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import re
import shutil
import sys
from itertools import takewhile
from pathlib import Path
from typing import Any, Callable, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (a dot file, so directory readers skip it);
    it replaces ``path`` when the block ends without an error and is removed otherwise.
    Writers that infer the format from the name need it given (``format="png"``)."""
    path = Path(path)
    tmp = None
    try:
        try:   # a folder that cannot hold files (/proc): one line too
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = _new_temp(path)
        except OSError as e:
            if e.errno not in WRITE_ERRNOS | {errno.ENOENT}:   # (a path through a file,
                # ENOTDIR, stays the caller's to name: a sweep names its config key)
                raise
            raise _user_error(f"cannot write {path}: {e.strerror or e}") from None
        yield tmp
        _keep_mode(path, tmp)
        os.replace(tmp, path)
    except OSError as e:   # a full disk, a read-only or forbidden folder: one line, no traceback
        if e.errno not in WRITE_ERRNOS:
            raise
        raise _user_error(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        if tmp is not None:   # only the file made here: never a name someone else put there
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass


def _keep_mode(path: Path, tmp: Path) -> None:
    """Give ``tmp`` the permission bits of the regular file ``path`` it is to replace: a
    checkpoint or report the user had made private (0600) came back 0644 -- readable by
    every user -- after a rerun wrote it again (the temp file gets the umask's mode)."""
    import stat
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode):
        os.chmod(tmp, stat.S_IMODE(st.st_mode))


def _new_temp(path: Path) -> Path:
    """A new, empty file beside ``path`` under an unguessable name, created exclusively and
    without following links (``O_EXCL | O_NOFOLLOW``).  The name was ``.NAME.tmpPID``: a link
    planted there (in a shared or user-given folder) made the writer write through it -- the
    link's target overwritten, ``path`` left a link to it -- and two threads of one process
    writing the same path shared one temp file.  Mode 0o666 less the umask, as ``open`` gives."""
    import secrets
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | \
        getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = path.with_name(f".{path.name[:180]}.tmp{os.getpid()}.{secrets.token_hex(6)}")
        try:
            os.close(os.open(tmp, flags, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(path.parent))


# the names _new_temp gives; group 1: the writer's process id
TEMP_NAME = re.compile(r"\..+\.tmp(\d+)\.[0-9a-f]{12}")


def remove_stale_temps(folder: str | os.PathLike, recursive: bool = True,
                       dead_only: bool = False) -> list[Path]:
    """Remove the temporary files ``atomic_path`` left in ``folder`` (and below) when their
    writer was killed (SIGKILL, a sweep's Ray worker ended with its driver): a run directory
    kept ``.model.onnx.tmp19468.4d60e0c70a53`` across its rerun.  For a caller holding the
    folder's lock (``lock_dir``), whose writers are then gone; only plain files of this user
    named as ``_new_temp`` names them, never through a link.  ``dead_only``: only those whose
    writer is no running process (``left_by_dead_writer``; ``remove_dead_temps``).  The
    paths removed."""
    removed = []
    for root, dirs, files in os.walk(folder):
        for name in files:
            path = Path(root) / name
            if left_by_dead_writer(path) if dead_only else is_temp_file(path):
                try:
                    path.unlink()
                    removed.append(path)
                except OSError:
                    pass
        if not recursive:
            break
    return removed


def remove_stale_temps_of(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files ``atomic_path`` made for ``path`` whose writer is gone (the
    process id in their name is no running process): ``nnsynth train --out m.pt`` killed
    (SIGKILL) as it saved left ``.m.pt.tmp4711.<hex>`` beside m.pt for good, each rerun one
    more.  Only plain files of this user named as ``_new_temp`` names them for ``path`` (a
    name over 180 characters, which its temp names cut, is left alone); a temp file of a
    running process (another nnsynth writing the same path) is kept.  The paths removed."""
    path = Path(path)
    if len(path.name) > 180:
        return []
    prefix = f".{path.name}.tmp"
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    removed = []
    for name in names:
        candidate = path.parent / name
        if not (name.startswith(prefix) and re.fullmatch(r"\d+\.[0-9a-f]{12}",
                                                          name[len(prefix):])) \
                or not left_by_dead_writer(candidate):
            continue
        try:
            candidate.unlink()
            removed.append(candidate)
        except OSError:
            pass
    return removed


def remove_dead_temps(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files ``atomic_path`` made in ``folder`` and below whose writer
    is gone (``left_by_dead_writer``), as ``remove_stale_temps_of`` does beside one target:
    ``nnsynth invert --out DIR`` killed (SIGKILL) as a shard was written left
    ``.shard-00003.parquet.tmp4711.<hex>`` there, and its rerun, which resumed in DIR, kept
    it for good (a symbiotic report folder's cache, a search directory likewise).  A temp
    file of a running process is kept, so a caller needs no lock.  The paths removed."""
    return remove_stale_temps(folder, dead_only=True)


def left_by_dead_writer(path: str | os.PathLike) -> bool:
    """``path`` is a temporary file ``atomic_path`` made (``is_temp_file``) whose writer, the
    process id in its name, is no running process (when in doubt, it is running)."""
    pid = TEMP_NAME.fullmatch(Path(path).name)
    return pid is not None and is_temp_file(path) and not pid_running(int(pid.group(1)))


def pid_running(pid: int) -> bool:
    """Whether ``pid`` may be a running process (when in doubt, it is: another user's, or a
    reused id, counts as running)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):   # another user's, or no valid id: kept
        return True
    return True


def is_temp_file(path: str | os.PathLike) -> bool:
    """``path`` is a temporary file ``atomic_path`` made (its name, a plain file of this user):
    one a killed writer left.  A folder holding only such files is empty to ``check_out_dir``
    and ``claim_dir``: SIGKILL (or SIGTERM) while ``nnsynth invert --out NEW`` wrote its first
    file (job.json), or while a new run directory got its marker, left
    ``.job.json.tmp4711.<hex>`` there, and every rerun was refused: 'holds files nnsynth did
    not write'."""
    import stat
    path = Path(path)
    if not TEMP_NAME.fullmatch(path.name):
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid()


def is_stale_lock(path: str | os.PathLike) -> bool:
    """``path`` is the lock file ``OutputLock`` holds beside an output (``.NAME.nnsynth.lock``,
    a plain file of this user) whose holder, the process id in it, is no running process: a
    run killed (SIGKILL) leaves it, and a folder holding only it (and temp files) is empty to
    ``check_out_dir`` and ``claim_dir``, as one holding a killed writer's temp file is."""
    import stat
    path = Path(path)
    if not re.fullmatch(r"\..+" + re.escape(LOCK_FILE), path.name):
        return False
    try:
        st = os.lstat(path)
        text = path.read_bytes()[:64] if stat.S_ISREG(st.st_mode) else b""
    except OSError:
        return False
    pid = re.fullmatch(rb"(\d{1,12})\n?", text)
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and pid is not None and \
        not pid_running(int(pid.group(1)))


# errors of writing a file that the user can fix (space, permissions, the file system; a
# directory where the file goes: os.replace onto it is EISDIR, which was a traceback)
WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM,
                          errno.EFBIG, errno.ENAMETOOLONG, errno.EISDIR})


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def jsonable(obj: Any) -> Any:
    """``obj`` as strict JSON can hold it: a NaN or infinite float (a figure that could not
    be measured) is None (null) -- Python's ``json`` writes ``NaN``, which most JSON readers
    refuse; keys become strings, tuples lists, NumPy/torch scalars numbers."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        try:
            return jsonable(obj.item())
        except (ValueError, RuntimeError):   # an array of more than one value
            return jsonable(obj.tolist()) if hasattr(obj, "tolist") else obj
    return obj


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    """``obj`` as strict JSON (``jsonable``: a NaN figure is null, not ``NaN``)."""
    return write_text_atomic(path, json.dumps(jsonable(obj), indent=2, sort_keys=True,
                                              default=str) + "\n")


def copy_atomic(source: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Copy ``source`` to ``path`` through a temp file beside the target."""
    with atomic_path(path) as tmp:
        shutil.copyfile(source, tmp)
    return Path(path)


def absolute_path(path: str | os.PathLike) -> Path:
    """``path`` absolute, ``~`` expanded and its links followed (``os.path.realpath``):
    ``Path.resolve`` raised RuntimeError 'Symlink loop' for a path that is, or lies under, a
    link loop -- a traceback; here the loop is left in the path, for the check or the reader
    that meets it to name (h308 for inputs, h311 for outputs)."""
    return Path(os.path.realpath(Path(path).expanduser()))


def check_folder_writable(path: str | os.PathLike, option: str) -> Path:
    """``path`` (``absolute_path``) as a folder files can be written in, made or not yet: no
    file, FIFO, device or link loop at it or in the way (``check_not_under_file``) and its
    nearest existing folder writable (``check_writable``); one line naming ``option``, before
    the work whose output goes there.  For the output folders a config file names (a
    storage path, a cache): a link loop there was a 'Symlink loop' traceback once the
    training had begun (h311)."""
    folder = absolute_path(path)
    existing = check_not_under_file(folder, option, path)
    if existing is not None:
        check_writable(existing, option, path)
    return folder


def path_kind(path: str | os.PathLike) -> str | None:
    """What ``path`` is, in words, where it is there but is neither a folder nor a regular
    file (links followed): "a named pipe (FIFO)", "a device", "a socket", "a symbolic link
    loop", "a symbolic link that leads nowhere"; None for a folder, a regular file, or
    nothing there."""
    import stat
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "a symbolic link that leads nowhere" if os.path.islink(path) else None
    except OSError as e:
        return "a symbolic link loop" if e.errno == errno.ELOOP else None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else None


def check_writable(folder: str | os.PathLike, option: str, path: str | os.PathLike) -> None:
    """``folder`` (the nearest existing folder of ``path``) lets this process create files:
    a read-only file system or a folder without write permission is a one-line error naming
    ``option`` before any work, not after it (a full disk is only found when writing)."""
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _user_error(f"{option} {path} cannot be written: {folder} is not writable "
                          f"(read-only or no permission)")


def check_replaceable(path: str | os.PathLike, option: str, ours: Callable[[Path], bool],
                      what: str) -> Path:
    """``path`` may be written (atomically, replacing what is there): nothing is there yet,
    or a file ``ours(path)`` recognizes as ``what`` nnsynth writes.  A file of anyone else's,
    a directory, or a path under a file is a one-line error naming ``option``."""
    if str(path).endswith(("/", os.sep)):   # 'new/' was trained into, then refused when
        # saved (a folder new/ made for its resume state), as Path drops the slash
        raise _user_error(f"{option} {printable(path)} names a directory; give a file name")
    path = Path(path)
    try:
        if path.is_dir():
            raise _user_error(f"{option} {path} is a directory; give a file name")
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise _user_error(f"{option} {path} cannot be written: {parent} is a "
                                      f"file, not a directory")
                check_writable(parent, option, path)
                break
        # only a regular file can be one of ours: reading a named pipe (or /dev/stdout
        # under a pipe) to recognize it waited for ever
        if (path.exists() or path.is_symlink()) and not (path.is_file() and ours(path)):
            kind = path_kind(path)   # a FIFO, a device, a link loop: said so (h311)
            raise _user_error(f"{option} {path} exists and is not {what}"
                              f"{f' (it is {kind})' if kind else ''}; nnsynth replaces "
                              f"only its own files: move it or choose another {option}")
    except OSError as e:   # a name too long for the file system was an OSError traceback
        raise _user_error(f"{option} {printable(path)[:200]} cannot be used: "
                          f"{e.strerror or type(e).__name__}") from None
    return path


# --------------------------------------------------------------------------- owned directories
# DESIGN "Run directories are owned": every directory nnsynth creates for a run (run dir,
# search dir, Tune's experiment dir, sweep root) carries OWNER_MARKER; nnsynth deletes only
# directories that carry it, and holds LOCK_FILE's exclusive lock while it writes there.
OWNER_MARKER = ".nnsynth-owned"
LOCK_FILE = ".nnsynth.lock"


def decode_user_text(data: bytes, what: str, path) -> str:
    """The text of a user's file: UTF-8 (a byte-order mark dropped), UTF-16 with its byte
    order mark, else Windows-1252, which Latin-1 text is; a file that is none of them is a
    one-line ``UserError`` naming ``what`` and ``path``.  Decoded with errors="replace",
    Latin-1 labels 'é' and 'è' both became '\ufffd' (two classes trained as one)."""
    from synth.errors import UserError
    encodings = ("utf-16",) if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig", "cp1252")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as e:
            error = e
            continue
        if encoding == "cp1252":
            check_latin_reading(text, what, path)
            from synth.logs import set_logger   # a set's file: quiet while it is compared
            set_logger(__name__).info("%s %s is not UTF-8; read as Windows-1252 (Latin-1)",
                                      what, path)
        return text
    raise UserError(f"{what} {printable(str(path))} is neither UTF-8 nor Windows-1252 (Latin-1) "
                    f"text ({error.reason} at byte {error.start}); save it as UTF-8")


def check_latin_reading(text: str, what: str, path) -> None:
    """Refuse a Windows-1252 reading that is most likely another 8-bit code page.  Every
    byte decodes in Windows-1252, so a Russian file saved in Windows-1251 (or Greek in
    Windows-1253, Arabic in 1256...) read as garbage 'êîò ñïèò' and trained silently.  Words
    of a Latin-script language are mostly a-z with an accented letter here and there; other
    code pages read as Windows-1252 make whole words of letters in U+00C0-U+00FF.  Refused
    when at least 5 words of two or more letters are read and over half of them are only
    such letters (a .ts file's one-letter labels 'é', 'è' are not words here).  ``text`` is
    the file's (or its start's) Windows-1252 reading: the CSV reader checks its own too."""
    import re
    from synth.errors import UserError
    # a word of nothing but such letters: 'êîøêà' (Cyrillic), not 'été', whose t is a-z
    # (counting mostly-accented words refused a Latin-1 French label column of 'été', 'à');
    # counted as found: a list of every word of a 16 MB text took 230 MB (h217)
    words = foreign = 0
    for w in re.finditer(r"[^\W\d_]{2,}", text):
        words += 1
        foreign += all("\u00c0" <= c <= "\u00ff" for c in w.group())
    if words >= 5 and 2 * foreign > words:
        raise UserError(f"{what} {printable(str(path))} is not UTF-8, and read as Windows-1252 "
                        f"(Latin-1) {foreign} of its {words} words are all accented "
                        f"letters: it is likely in another code page (Cyrillic, Greek...); "
                        f"save it as UTF-8")


def reports_no_bytes(path: str | os.PathLike) -> bool:
    """The regular file ``path`` reports a size of 0: an empty file, or a kernel pseudo-file
    (/proc, /sys, tracefs) that reports none whatever it holds.  A loader does not read it:
    a read of /proc/kmsg (root) or of a tracing pipe waits for data that may never come,
    and every loader (csv:, parquet:, ts:, text:, a checkpoint, a config file) hung on it,
    named on the command line or as the data set a crafted checkpoint records."""
    try:
        return os.stat(path).st_size == 0
    except OSError:
        return False


def printable(text) -> str:
    """``text`` for a one-line message: unchanged when printable, else with its control
    characters escaped (a path or file name may hold a newline or an escape sequence).  A
    byte of a name that is not UTF-8 (held by Python as a lone surrogate, U+DC80-U+DCFF,
    PEP 383) is shown as that byte, ``\\xff``, as ``ls -b`` shows it, not ``\\udcff``."""
    text = str(text)
    return text if text.isprintable() else "".join(_escaped(c) for c in text)


# an escape of a surrogate in a repr (after an even run of backslashes: not an escaped '\\')
_SURROGATE_REPR = re.compile(r"(?<!\\)((?:\\\\)*)\\udc([89a-f][0-9a-f])")


def quoted(value) -> str:
    """``value`` quoted for a one-line message (``short_repr``: bounded, its control
    characters escaped by repr), a byte of a name that is not UTF-8 shown as that byte
    (``\\xff``, as ``printable`` shows it).  Not ``short_repr(printable(value))``: that
    escaped twice, repr doubling printable's backslash, and a no-break space read '3\\\\xa0'."""
    from synth.config import short_repr
    return _SURROGATE_REPR.sub(r"\1\\x\2", short_repr(value))


def _escaped(c: str) -> str:
    if c.isprintable():
        return c
    if 0xDC80 <= ord(c) <= 0xDCFF:   # os.fsdecode's surrogateescape of one byte >= 0x80
        return f"\\x{ord(c) - 0xDC00:02x}"
    return c.encode("unicode_escape").decode("ascii")


def missing_input(path: str | os.PathLike, what: str, expected: str) -> Exception:
    """The one-line error for an input ``path`` that is not the file or folder a loader wants:
    a FIFO, a device or a socket is named as such (they were all "not found"), a symbolic
    link that leads nowhere (or in a loop) as such, else not found.  ``what``: "text file",
    "Parquet path"...; ``expected``: what the loader reads."""
    import stat
    p = Path(path)
    shown = printable(p)   # a newline in the path broke the one-line error
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        if p.is_symlink():
            return _user_error(f"{what} {shown} is a symbolic link that leads nowhere; expected "
                               f"{expected}")
        return _user_error(f"{what} not found: {shown}")
    except OSError as e:      # a link loop (ELOOP), a name too long, no permission
        return _user_error(f"{what} {shown} cannot be read: {e.strerror}; expected {expected}")
    kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a device" if
            stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a folder" if stat.S_ISDIR(mode) else "a file")
    return _user_error(f"{what} {shown} is {kind}; expected {expected}")


def _user_error(message: str) -> Exception:
    from synth.errors import UserError
    return UserError(message)


def shown_path(path: str | os.PathLike, out_dir: str | os.PathLike,
               given: str | os.PathLike | None) -> str:
    """``path`` (in or above the folder ``out_dir``, absolute as a command works in it) named
    as the user gave that folder (``given``, the --out, --resume or --run-dir as typed; None:
    ``path`` as it is): search said 'results in /home/u/runs/s' of --out runs/s, and run
    'run directory: /home/u/r' of --run-dir r, where every other command names its --out as
    typed (invert's 'in o', its grid o/grid.png).  A folder above ``out_dir`` (a file in the
    way of making it) is the given path's parent that is that folder, where one is."""
    if given is None:
        return str(path)
    path = Path(path)
    try:
        rest = path.relative_to(out_dir)
    except ValueError:
        # above it: the parent of the given path that is that folder (a given "../x" or a
        # link among its parents counts its parts otherwise than the absolute path does)
        above = Path(given).expanduser().parents
        # (realpath: Path.resolve raised RuntimeError for a link loop there, h311)
        return next((str(p) for p in above if absolute_path(p) == path), str(path))
    return str(given) if rest == Path(".") else str(Path(given) / rest)


def check_not_under_file(path: Path, option: str,
                         given: str | os.PathLike | None = None) -> Path | None:
    """The nearest of ``path`` and its parents that exists (None: none does), refused in one
    line naming ``option`` when it is a file: a folder cannot be made under it.  Said as
    check_replaceable says it: invert's was 'output directory f/out is not writable: Not a
    directory', symbiotic's named its 'latency cache folder f/out/cache', search's, run's and
    sweep's (``claim_dir``) 'cannot be created or written: Not a directory', none the file.
    Both paths are named as the user ``given`` ``path`` (``shown_path``)."""
    # lexists: a link loop (or a link that leads nowhere) in the way is named, not passed
    # over for its parent and then failed on by mkdir (h311)
    existing = next((p for p in (path, *path.parents) if os.path.lexists(p)), None)
    if existing is not None and not existing.is_dir():
        raise _user_error(f"{option} {shown_path(path, path, given)} cannot be written: "
                          f"{shown_path(existing, path, given)} is "
                          f"{path_kind(existing) or 'a file'}, not a directory")
    return existing


def check_out_dir(path: str | os.PathLike, option: str = "--out",
                  signs: tuple[str, ...] = ()) -> Path:
    """``path`` may receive a command's output files: it does not exist yet, is empty, is
    nnsynth-owned, or holds one of ``signs`` (a file an earlier run of the same command
    wrote there: it resumes).  A directory of anyone else's files is a one-line error
    naming ``option``: outputs are never mixed with, or written over, the user's files.
    An accepted directory loses the temp files a killed writer left there
    (``remove_dead_temps``): the rerun that resumes there is the one to clear them."""
    path = Path(path)
    existing = check_not_under_file(path, option)
    if existing is not None:
        check_writable(existing, option, path)
    try:
        if path.is_dir() and not is_owned(path) and not any((path / s).exists() for s in signs):
            first = next((p for p in path.iterdir()
                          if not is_temp_file(p) and not is_stale_lock(p)), None)
            if first is not None:
                raise _user_error(f"{option} {path} holds files nnsynth did not write (e.g. "
                                  f"{first.name[:80]}); move them or choose another {option}")
    except OSError as e:
        raise _user_error(f"{option} {path} cannot be read: {e.strerror}") from None
    if path.is_dir() and not path.is_symlink():
        remove_dead_temps(path)
    return path


def is_owned(path: str | os.PathLike) -> bool:
    """True when ``path`` is a real directory (not a link) holding nnsynth's marker."""
    path = Path(path)
    return path.is_dir() and not path.is_symlink() and (path / OWNER_MARKER).is_file()


def claim_dir(path: str | os.PathLike, option: str = "--run-dir",
              given: str | os.PathLike | None = None) -> Path:
    """Create ``path`` (parents too) as an nnsynth-owned directory, or accept it when it is
    already owned or empty; a directory holding anyone else's files is refused by ``option``,
    naming it as the user ``given`` it (``shown_path``; None: ``path``)."""
    path = Path(path)
    shown = shown_path(path, path, given)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        kind = path_kind(path) or ("a symbolic link" if path.is_symlink() else "a file")
        raise _user_error(f"{option} {shown} is not a directory nnsynth can own "
                          f"(it is {kind}); choose another {option}")
    existing = check_not_under_file(path, option, given)   # a parent that is a file
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):   # (h311: was
        check_writable(shown_path(existing, path, given), option, shown)  # Permission denied)
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not is_owned(path):
            foreign = [p.name for p in path.iterdir()
                       if p.name not in (LOCK_FILE,) and not is_temp_file(p)
                       and not is_stale_lock(p)]
            if foreign:
                raise _user_error(f"{shown} holds files nnsynth did not write (e.g. "
                                  f"{sorted(foreign)[0][:80]}); move them or choose another "
                                  f"{option}")
            write_text_atomic(path / OWNER_MARKER, "nnsynth owns this directory and may delete "
                                                   "it; do not put your own files here\n")
    except OSError as e:   # ENOENT in a folder that is there: one that takes none (/proc)
        why = "its folder takes no new files" if e.errno == errno.ENOENT else e.strerror
        raise _user_error(f"{option} {shown} cannot be created or written: {why}") from None
    return path


def remove_owned(path: str | os.PathLike, option: str = "--run-dir") -> bool:
    """Delete ``path`` when nnsynth made it (it carries the marker); False when it does not
    exist.  Anything else -- a user's directory, a file, a link -- is refused, untouched."""
    import shutil
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return False
    if not is_owned(path):
        raise _user_error(f"{path} holds files nnsynth did not write; move them or choose "
                          f"another {option}")
    shutil.rmtree(path)
    return True


def _open_lock(lock: Path, what: str, create_new: bool = False, other: str = "directory") -> int:
    """A descriptor of the lock file ``lock`` for ``flock``, opened (made when missing) never
    through a link, and checked to be a plain file of this user with one link; else a
    one-line error beginning with ``what`` (the thing locked, as the user named it).
    ``create_new``: made here or FileExistsError (``OutputLock`` tells which); ``other``: what
    the user may choose instead."""
    import stat
    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | \
        getattr(os, "O_CLOEXEC", 0)
    try:   # never through a link: a lock file linked to a user's file had it truncated
        fd = os.open(lock, flags | os.O_CREAT | (os.O_EXCL if create_new else 0), 0o644)
    except FileExistsError:
        raise
    except OSError as e:   # ELOOP: a link; EACCES...: one line
        error = _user_error(f"{what}: its lock file {lock.name} cannot be opened "
                            f"({'a symbolic link' if e.errno == errno.ELOOP else e.strerror}); "
                            f"nnsynth writes only a plain file there: remove it or choose "
                            f"another {other}")
        error.os_error = e   # OutputLock: why a folder takes no file
        raise error from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):   # a FIFO or device of that name
        os.close(fd)
        raise _user_error(f"{what}: its lock file {lock.name} is not a plain file; remove it "
                          f"or choose another {other}")
    # O_NOFOLLOW does not see a hard link: one planted at the lock file to a user's file (or
    # another user's file there) had that file truncated and overwritten with our pid
    if st.st_nlink != 1 or st.st_uid != os.geteuid():
        os.close(fd)
        why = (f"has {st.st_nlink} hard links" if st.st_nlink != 1
               else f"belongs to another user (uid {st.st_uid})")
        raise _user_error(f"{what}: its lock file {lock.name} {why}; nnsynth writes only its "
                          f"own plain file there: remove it or choose another {other}")
    return fd


def _flock(fd: int) -> str | None:
    """Take ``fd``'s exclusive lock without waiting: None, or the process id its holder
    wrote there ("unknown" where none yet), the descriptor then closed."""
    import fcntl
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        return holder[:20]
    return None


def _write_pid(fd: int) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


class DirLock:
    """An exclusive, non-blocking lock on a directory (``fcntl.flock`` on its LOCK_FILE).

    A second process (or a second lock in this one) fails at once with a one-line error
    naming the holder's pid.  The lock dies with its process, so a killed run never leaves
    a stale lock behind."""

    def __init__(self, path: str | os.PathLike, what: str = "run directory",
                 given: str | os.PathLike | None = None):
        self.path = Path(path)
        self.what = what
        self.shown = shown_path(path, path, given)    # in messages: as the user gave it
        self._fd: int | None = None

    def __enter__(self) -> "DirLock":
        fd = _open_lock(self.path / LOCK_FILE, f"{self.what} {self.shown}")
        holder = _flock(fd)
        if holder is not None:
            raise _user_error(f"{self.what} {self.shown} is in use by another nnsynth process "
                              f"(pid {holder}); wait for it to finish or choose another "
                              f"directory")
        _write_pid(fd)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)        # closing releases the flock
            self._fd = None


def output_lock_path(path: str | os.PathLike) -> Path | None:
    """The lock file ``OutputLock`` holds for the output ``path`` (a file or a directory): a
    dot file beside it, ``.NAME.nnsynth.lock``; None for a path with no name (``/``)."""
    where = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    if not where.name:
        return None
    return where.with_name(f".{where.name[:200]}{LOCK_FILE}")


# what a lock file nnsynth writes holds: its holder's process id (nothing yet, just made)
_LOCK_TEXT = re.compile(rb"(\d{1,12}\n?)?")


class OutputLock:
    """An exclusive, non-blocking lock on an output a command writes, a file (``--out
    m.pt``, and with it the states kept beside it, ``m.pt.resume``) or a directory, held
    while the command runs: ``fcntl.flock`` on ``output_lock_path``'s dot file beside it.
    Two ``nnsynth train --out m.pt`` started at once both ran to exit 0, the one finished
    last silently replacing the other's checkpoint, and each saved, resumed from or removed
    the other's ``m.pt.resume`` (a run directory had its ``lock_dir``; a single file had
    none).  A second run is refused in one line naming the holder's pid (``option``: the
    option it was given by); the lock dies with its process, so a killed run never blocks
    the next.  The lock file is removed on release where nnsynth wrote it (made here, or
    holding a process id); a file of that name that is not a lock nnsynth writes is refused,
    kept.

    Taking it is the check, before any work, that the output can be written at all: a folder
    that takes no new file (read-only, not this user's, ``/proc``), a path under a regular
    file, is a one-line error naming ``option`` (``nnsynth diabdeep --out /proc/r.json``
    trained its networks for 1.5 minutes, then failed to write the report; ``os.access`` says
    yes there, and to root everywhere).  The folders it makes for the output are removed
    again when refused; the lock file goes on release: nothing is left that the user did not
    ask for.

    The CLI holds one on every command's outputs (``deploy.cli.main.outputs_locked``).  The
    library's functions do not (``synth.workflows``' ``out``, ``run_diabdeep``'s
    ``report``...), as Python's writers do not: a caller that runs two of them at once on
    one output holds this around each (``with OutputLock(out): train_checkpoint(...)``).
    ``deploy.pipeline.run_pipeline`` and a search lock their run directories
    (``working_dir``): those are nnsynth's own folders."""

    def __init__(self, path: str | os.PathLike, option: str = "--out"):
        self.path, self.option = path, option
        self.lock = output_lock_path(path)
        self._fd: int | None = None
        self._ours = False
        self._made: list[Path] = []

    def __enter__(self) -> "OutputLock":
        if self.lock is None:
            return self
        try:   # a device, pipe or socket takes no file nnsynth writes (replaced atomically):
            kind = path_kind(os.path.expanduser(os.fspath(self.path)))   # no lock file beside
        except ValueError:                                               # /dev/full
            kind = None
        if kind == "a symbolic link loop":   # symbiotic trained for half a minute, then
            # failed writing there in a traceback (h311)
            raise _user_error(f"{self.option} {printable(self.path)} cannot be written: "
                              f"{os.strerror(errno.ELOOP)} (a symbolic link loop); choose "
                              f"another {self.option}")
        if kind is not None and kind != "a symbolic link that leads nowhere":
            raise _user_error(f"{self.option} {printable(self.path)} exists and is not a file "
                              f"or folder (it is {kind}): nnsynth writes its results to "
                              f"files; choose another {self.option}")
        # the folders the output goes in (made here where missing, as its writer makes them;
        # removed again when the command leaves them empty: refused, it left nothing)
        self._made = [p for p in takewhile(lambda p: not os.path.lexists(p),
                                           self.lock.parents)]
        try:
            self.lock.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            self._remove_made()
            raise self._unwritable(e) from None
        try:
            return self._take()
        except BaseException:
            self._remove_made()
            raise

    def _unwritable(self, error: OSError | None) -> Exception:
        """The output cannot be written (``error``, making a file or folder for it): the
        folder it goes in (or the nearest one there is, named as the user gave the path) takes
        no new file or folder, or a regular file stands where a folder must -- in
        ``check_writable``'s and ``check_replaceable``'s words."""
        given = Path(os.path.expanduser(os.fspath(self.path)))
        where = next((p for p in given.parents if os.path.lexists(p)), Path("."))
        if not where.is_dir():
            return _user_error(f"{self.option} {printable(self.path)} cannot be written: "
                               f"{printable(where)} is a file, not a directory")
        why = getattr(error, "strerror", None) or "no permission"
        if getattr(error, "errno", None) == errno.ENOENT:   # in a folder that is there: /proc
            why = "it takes no new files"
        return _user_error(f"{self.option} {printable(self.path)} cannot be written: "
                           f"{printable(where)} is not writable ({why})")

    def _take(self) -> "OutputLock":
        from synth.errors import UserError
        what, other = f"{self.option} {printable(self.path)}", self.option
        for _ in range(100):   # another run's release removed the file between open and lock
            try:
                try:
                    fd, made = _open_lock(self.lock, what, True, other), True
                except FileExistsError:
                    fd, made = _open_lock(self.lock, what, False, other), False
            except UserError as e:   # a folder that takes no lock file takes no output
                if not os.path.lexists(self.lock):   # (read-only, another user's, /proc)
                    raise self._unwritable(getattr(e, "os_error", None)) from None
                raise
            text = b"" if made else os.pread(fd, 64, 0)
            if not _LOCK_TEXT.fullmatch(text):
                os.close(fd)
                raise _user_error(f"{what}: {self.lock.name} beside it is not a lock file "
                                  f"nnsynth wrote (nnsynth locks the output with a file of that "
                                  f"name): move it away")
            holder = _flock(fd)
            if holder is not None:
                raise _user_error(f"{printable(self.path)} is being written by another nnsynth "
                                  f"run (pid {holder}); wait for it or choose another "
                                  f"{self.option}")
            if not self._names(fd):
                os.close(fd)
                continue
            _write_pid(fd)
            self._fd, self._ours = fd, made or bool(text)
            return self
        raise _user_error(f"{what}: its lock file {self.lock.name} keeps changing; try again")

    def _names(self, fd: int) -> bool:
        """The lock file's name still leads to ``fd``'s file (not removed or replaced)."""
        try:
            st, held = os.stat(self.lock, follow_symlinks=False), os.fstat(fd)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == (held.st_dev, held.st_ino)

    def __exit__(self, *exc) -> None:
        if self._fd is None:
            self._remove_made()
            return
        try:
            if self._ours and self._names(self._fd):   # removed while held: a run waiting
                self.lock.unlink()                      # on it takes the one made next
        except OSError:
            pass
        finally:
            os.close(self._fd)        # closing releases the flock
            self._fd = None
            self._remove_made()

    def _remove_made(self) -> None:
        for folder in getattr(self, "_made", []):   # deepest first; one holding anything stays
            try:
                folder.rmdir()
            except FileNotFoundError:   # not made: making the folders failed below it
                continue
            except OSError:
                break
        self._made = []


def lock_dir(path: str | os.PathLike, what: str = "run directory",
             given: str | os.PathLike | None = None) -> DirLock:
    return DirLock(path, what, given)


@contextlib.contextmanager
def working_dir(path: str | os.PathLike, option: str = "--run-dir",
                what: str = "run directory", scratch: tuple[str, ...] = (),
                on_undo: Callable[[Path], None] | None = None,
                given: str | os.PathLike | None = None) -> Iterator[Path]:
    """``claim_dir`` then ``lock_dir``: the directory one call works in, undone when the call
    is refused (a ``UserError``) before it kept any work there.  A refused ``nnsynth sweep
    --address`` left the sweep directory it had made (its marker and lock only), a refused
    run or search theirs (a config and a ledger of no stage, a search's bookkeeping).  Undone
    means: when the directory holds nothing but nnsynth's marker, its lock and the plain
    files named in ``scratch`` (what the call writes before any work), the files this call
    added are deleted, then the directory and the parents this call created, if empty
    (``os.rmdir``: a file that appeared meanwhile keeps them).  A directory nnsynth owned
    before the call (an earlier run's, to resume) or one holding anything else is kept as it
    is, and so is everything after an interruption or a crash (Ctrl-C: a search's
    bookkeeping is what ``--resume`` reads).  ``on_undo(path)`` runs first (the search's
    record in the state directory).  Once locked, the directory loses the temp files a
    killed writer left there (``remove_dead_temps``).  Refusals name ``path`` as the user
    ``given`` it (``shown_path``; None: as it is)."""
    from synth.errors import UserError
    path = Path(path)
    made = []                                  # this call's new folders, deepest first
    for p in (path, *path.parents):
        if os.path.lexists(p):
            break
        made.append(p)
    owned_before = is_owned(path)
    try:
        before = set(os.listdir(path)) if path.is_dir() and not owned_before else set()
    except OSError:
        before = set()                         # claim_dir says why it cannot be used
    claim_dir(path, option, given)
    with lock_dir(path, what, given):
        remove_dead_temps(path)   # a killed run's (its rerun resumes here), never a live one's
        try:
            yield path
        except UserError:
            if not owned_before:
                _undo_claim(path, made, before, {OWNER_MARKER, LOCK_FILE, *scratch}, on_undo)
            raise


def _undo_claim(path: Path, made: list[Path], before: set[str], ours: set[str],
                on_undo: Callable[[Path], None] | None) -> None:
    """``working_dir``'s undoing (see there); never raises: the call's own error goes on."""
    try:
        names = set(os.listdir(path))
        added = [path / n for n in names - before]
        if not names <= ours or not all(p.is_file() and not p.is_symlink() for p in added):
            return                             # work was kept there (or anyone's files)
        if on_undo is not None:
            on_undo(path)
        # the marker last: while it is there the directory still reads as nnsynth's
        for p in sorted(added, key=lambda p: p.name == OWNER_MARKER):
            p.unlink(missing_ok=True)
        for folder in made:
            folder.rmdir()
    except OSError as e:                       # kept as it is: say so, the error goes on
        logging.getLogger(__name__).debug("%s not undone: %s", path, e)


# --------------------------------------------------------------------------- bounded YAML
MAX_YAML_BYTES = 1 << 20          # a config, sweep or space file larger than 1 MiB is refused
MAX_YAML_NODES = 100_000          # values after alias expansion (a 400-byte alias bomb has 10^9)
# lists and mappings one inside another in a config file or JSON option (nnsynth's own nest 5
# deep); below both parsers' own caps: libyaml's 1,000 and json's recursion near Python's limit
MAX_CONFIG_DEPTH = 64


def count_nodes(obj: Any, limit: int) -> int:
    """Values in ``obj`` as a tree (shared references counted every time they appear), but
    stops as soon as ``limit`` is passed: bounded time whatever the aliasing."""
    count, stack = 0, [obj]
    while stack:
        node = stack.pop()
        count += 1
        if count > limit:
            return count
        if isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, (list, tuple, set)):
            stack.extend(node)
    return count


MAX_PLAIN_DEPTH = 64    # nesting of metadata nnsynth writes (a checkpoint's dataset, metrics)
CONTAINERS = (dict, list, tuple, set)


def walk(obj: Any) -> Iterator[tuple[Any, int]]:
    """Every value in ``obj`` (``obj`` itself, the values of its mappings, the items of its
    lists, tuples and sets, theirs, ...) with its depth (``obj``'s is 1), depth first and
    iterative: a value nested 200,000 deep is walked without recursion.  A value a consumer
    stops at is not descended into."""
    stack = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        if isinstance(node, dict):
            stack.extend((value, depth + 1) for value in node.values())
        elif isinstance(node, CONTAINERS):
            stack.extend((value, depth + 1) for value in node)


def plain_problem(obj: Any, max_depth: int = MAX_PLAIN_DEPTH) -> str:
    """What in ``obj`` is not a plain JSON value nnsynth writes (mappings of string keys,
    lists, strings, numbers, booleans, None, nested at most ``max_depth`` deep), in words;
    '' when nothing.  Iterative: a file's value nested 200,000 deep is found without
    recursion (json.dumps of it, in export's metadata or a checkpoint saved again, was a
    RecursionError traceback)."""
    for node, depth in walk(obj):
        if depth > max_depth:
            return f"values nested more than {max_depth} deep"
        if isinstance(node, dict):
            key = next((k for k in node if not isinstance(k, str)), None)
            if key is not None:
                return f"a key of type {type(key).__name__} (keys are strings)"
        elif not (node is None or isinstance(node, (str, int, float, list))):
            return f"a {type(node).__name__} value (expected numbers, strings, lists, mappings)"
    return ""


def nested_too_deep(where: str = "", expected: str = ""):
    """The ConfigError for a config file or JSON option (``where``; '' for a caller that
    puts its own name before the message, as ``unique_keys``' errors) nesting lists and
    mappings more than ``MAX_CONFIG_DEPTH`` deep: a file of 50,000 brackets was "not valid
    YAML" (libyaml's own cap), a JSON option "not valid JSON: nested too deeply"."""
    from synth.errors import ConfigError
    hint = f"; expected {expected}" if expected else ""
    return ConfigError(f"{where + ' ' if where else ''}is nested too deep: more than "
                       f"{MAX_CONFIG_DEPTH} levels of lists and mappings (the limit){hint}")


def check_depth(values: Any, where: str = "", expected: str = "") -> Any:
    """``values`` (a config file's or JSON option's, loaded), or ``nested_too_deep`` where
    its lists and mappings nest more than ``MAX_CONFIG_DEPTH`` deep: the one check of every
    reader of the user's YAML and JSON (``load_yaml_text``, ``load_json_text``)."""
    if any(depth > MAX_CONFIG_DEPTH and isinstance(node, CONTAINERS)
           for node, depth in walk(values)):
        raise nested_too_deep(where, expected)
    return values


def load_json_text(text: str | bytes) -> Any:
    """``json.loads`` of a JSON option or spec the user gave: a key given twice or lists and
    mappings nested more than ``MAX_CONFIG_DEPTH`` deep, or an integer beyond Python's
    conversion limit, is a ConfigError whose message the caller puts its name before
    ('--options is nested too deep: ...'); a malformed text is json's JSONDecodeError, for
    the caller to word."""
    try:
        value = json.loads(text, object_pairs_hook=unique_keys)
    except RecursionError:   # json's own recursion, near Python's limit: 50,000 brackets
        raise nested_too_deep() from None
    except json.JSONDecodeError:
        raise
    except ValueError as e:   # Python's integer conversion limit, raised bare by json: a
        if "integer string conversion" not in str(e):   # traceback (h278)
            raise
        from synth.errors import ConfigError
        raise ConfigError(f"holds an integer of more than {sys.get_int_max_str_digits():,} "
                          f"digits") from None
    return check_depth(value)


def read_json(path: str | os.PathLike, max_bytes: int | None = None, *,
              named: bool = True) -> Any:
    """The JSON file at ``path`` read as ``load_json_text`` reads a JSON option: the one
    reader of every JSON file nnsynth reads back from its outputs (a search's
    search_config.json, a synthesis job's job.json, a ledger...), which a user can edit.
    A key given twice -- json keeps the last one, silently: a search_config.json giving
    ``trials`` twice resumed with the second -- nesting beyond ``MAX_CONFIG_DEPTH`` or an
    integer beyond Python's conversion limit is a ConfigError naming the file ('PATH gives
    the key 'trials' twice; keep one'; ``named`` False: 'gives the key ...', for a caller
    that names the file in its own words).  For the caller to word: malformed text, json's
    JSONDecodeError; not UTF-8, a UnicodeDecodeError (both ValueErrors); over ``max_bytes``,
    a ValueError; unreadable, an OSError."""
    path = Path(path)
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise ValueError(f"{path.stat().st_size:,} bytes, over {max_bytes:,}")
    text = path.read_bytes().decode("utf-8")
    from synth.errors import ConfigError
    try:
        return load_json_text(text)
    except ConfigError as e:
        if not named:
            raise
        raise ConfigError(f"{printable(str(path))} {e}") from None


_MEMO_PUTS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})


def pickle_problem(blob: bytes, max_ops: int) -> str:
    """What makes the pickle ``blob`` unsafe to give an unpickler, in words ('' when nothing;
    a pickle that is malformed is left to the unpickler to refuse): more than ``max_ops``
    opcodes (Python-level unpicklers take ~2 us each), or a memo index beyond the opcodes
    before it -- picklers number the memo from 0, and Python's C unpickler sizes its memo
    table by the index: a 9-byte CIFAR batch file (EMPTY_DICT, LONG_BINPUT 150,000,000) took
    2.5 GB.  Read with pickletools (builds and runs nothing, ~1 us an opcode)."""
    import pickletools
    count = 0
    try:
        for op, arg, _ in pickletools.genops(blob):
            count += 1
            if count > max_ops:
                return f"more than {max_ops:,} values and operations"
            if op.name in _MEMO_PUTS and isinstance(arg, int) and arg >= count:
                return f"a memo index of {arg:,} after {count - 1:,} operations"
    except Exception:   # malformed: the unpickler says so
        return ""
    return ""


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int):
        super().__init__(key, line)
        self.key, self.line = key, line


_LOADER = None
# a YAML 1.2 float with an exponent: 1e-3, -2E+4, 2.5e3, .5e1 (no underscores)
FLOAT_EXPONENT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$")


def _strict_loader():
    """PyYAML's safe loader (libyaml's when present) that refuses a mapping key given twice:
    PyYAML keeps the last one, so a second ``teacher:`` section silently dropped the first
    one's settings.  Keys brought in by a merge (``<<: *base``) may still be overridden."""
    global _LOADER
    if _LOADER is None:
        import yaml
        # libyaml's parser (when PyYAML has it) is fast and caps nesting by itself; the pure
        # Python one recurses until Python's limit (seconds on a deeply nested file)
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

        class StrictLoader(base):
            def construct_mapping(self, node, deep=False):
                if isinstance(node, yaml.MappingNode):
                    seen: set = set()
                    for key_node, _ in node.value:
                        if key_node.tag == "tag:yaml.org,2002:merge":
                            continue
                        key = self.construct_object(key_node, deep=deep)
                        try:
                            if key in seen:
                                raise _DuplicateKey(key, key_node.start_mark.line + 1)
                            seen.add(key)
                        except TypeError:   # unhashable: the base class names it
                            pass
                return super().construct_mapping(node, deep)

        # YAML 1.1 reads an exponent without a dot or a sign (1e-3, 1E5, 2.5e3) as a string:
        # 'lr: 1e-3' was refused as "must be a number".  YAML 1.2's core schema, like JSON,
        # reads it as a float; 1.1's own floats, ints (1_000) and strings (1.2.3) stay as
        # they were.
        StrictLoader.add_implicit_resolver(   # copies the base's resolvers: SafeLoader unchanged
            "tag:yaml.org,2002:float", FLOAT_EXPONENT, list("-+0123456789."))
        _LOADER = StrictLoader
    return _LOADER


def unique_keys(pairs: list[tuple[Any, Any]]) -> dict:
    """``json.loads(text, object_pairs_hook=unique_keys)``: a JSON object whose key is given
    twice is a ConfigError (json keeps the last one, silently)."""
    out: dict = {}
    for key, value in pairs:
        if key in out:
            from synth.config import short_repr
            from synth.errors import ConfigError
            raise ConfigError(f"gives the key {short_repr(key)} twice; keep one")
        out[key] = value
    return out


def load_yaml_text(text: str, where: str, fmt: str = "YAML", expected: str = "") -> Any:
    """``yaml.safe_load`` bounded in size, nesting and alias expansion, with every mapping
    key given once; a one-line ``ConfigError`` naming ``where`` for anything malformed or
    oversized.  ``fmt``: the format a malformed text is said not to be ("JSON" for a JSON
    file nnsynth wrote: it was "not valid YAML"); ``expected``: what it should hold."""
    import yaml
    from synth.errors import ConfigError
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(f"{where} is {len(text):,} characters; the limit is {MAX_YAML_BYTES:,}")
    try:
        values = yaml.load(text, Loader=_strict_loader())  # noqa: S506  (a safe loader)
    except _DuplicateKey as e:
        from synth.config import short_repr
        raise ConfigError(f"{where} gives the key {short_repr(e.key)} twice (line {e.line}); "
                          f"keep one (YAML would silently use the last)") from None
    except yaml.YAMLError as e:
        if "nesting depth" in str(getattr(e, "problem", "")):   # libyaml's cap (1,000)
            raise nested_too_deep(where, expected) from None
        mark = getattr(e, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        hint = f"; expected {expected}" if expected else ""
        raise ConfigError(f"{where} is not valid {fmt}{line}{hint}") from None
    except RecursionError:   # PyYAML's own (pure Python) composer
        raise nested_too_deep(where, expected) from None
    except ValueError as e:   # a value the safe loader's constructors refuse: an integer of
        # more than 4,300 digits (Python's conversion limit), a date such as 2020-13-45
        why = ("an integer of more than 4,300 digits" if "integer string conversion" in str(e)
               else f"a value that cannot be read ({str(e)[:80]})")
        raise ConfigError(f"{where} holds {why}") from None
    if count_nodes(values, MAX_YAML_NODES) > MAX_YAML_NODES:
        raise ConfigError(f"{where} expands to more than {MAX_YAML_NODES:,} values (YAML "
                          f"aliases?); write the values out or shorten it")
    return check_depth(values, where, expected)


def read_yaml_file(path: str | os.PathLike, what: str = "config file",
                   fmt: str = "YAML", expected: str = "") -> Any:
    """A YAML (or JSON) file through ``load_yaml_text``; a missing or unreadable file, or
    one too large, is a one-line error.  ``fmt``, ``expected``: as ``load_yaml_text``'s."""
    path = Path(path)
    if not path.is_file():   # a folder was "not found"
        raise missing_input(path, what, "a YAML file")
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            raise _user_error(f"{what} {printable(path)} is {path.stat().st_size:,} bytes; the "
                              f"limit is {MAX_YAML_BYTES:,}")
        data = b"" if reports_no_bytes(path) else path.read_bytes()
    except OSError as e:
        why = e.strerror or type(e).__name__
        raise _user_error(f"{what} {printable(path)} cannot be read ({why})") from None
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:   # said "cannot be read (UnicodeDecodeError)"
        raise _user_error(f"{what} {printable(path)} is not UTF-8 text ({e.reason} at byte "
                          f"{e.start}); YAML files are UTF-8: save it as UTF-8") from None
    return load_yaml_text(text, str(path), fmt, expected)
