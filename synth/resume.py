"""Resumable loops: a loop's whole state in one file, written atomically, picked up again.

``fit`` (``synth.train``) and ``grow_and_prune`` (``synth.grow_prune``) write their state with
``save_state`` as they go; a rerun reads it with ``load_state`` and continues where it stopped,
to the result an uninterrupted run gives.  A state carries a format marker (which loop wrote
it) and a key of the settings that must be equal to continue it (``settings_key``): a state of
other settings is not continued (the run starts over and overwrites it), and a file without
the marker is refused and kept -- nnsynth deletes only what it wrote (``remove_state``).
States hold tensors, numbers, strings, lists and dicts only: they load with
``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path

import torch

from synth.checkpoint import STATE_FORMATS
from synth.errors import UserError
from synth.files import atomic_path

log = logging.getLogger(__name__)

# The states this process's loops continue: resolved path -> (format, key), recorded as a
# loop looks for its state (``load_state``) and saves it; with the (format, key) and
# ``os.stat`` of what is there as last seen (a state read or written here), so that the
# Ctrl-C line (``resumes_from``) reads the file again only when another writer changed it.
_CONTINUED: dict[str, tuple[str, str]] = {}
_SEEN: dict[str, tuple[str, str, tuple]] = {}
# The run each state path belongs to: resolved path -> the ``run_stamp`` key of the command
# that checked its output for a finished result (``finished_run``), recorded in the states
# saved there (``RUN``) so that a later rerun removes a leftover state only where it is its
# own run's (``is_finished``)
_RUNS: dict[str, str] = {}
# A state's entry naming its run (``run_stamp``'s key); absent from states saved before it,
# or by a loop whose command recorded none (a Ray worker's fit is given its command's:
# ``claimed_run``)
RUN = "run"


def _where(path) -> str:
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def _stamp(path) -> tuple:
    st = os.stat(path)
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _seen(path, format_, key) -> None:
    try:
        _SEEN[_where(path)] = (format_, key, _stamp(path))
    except OSError:
        _SEEN.pop(_where(path), None)


def forget_states() -> None:
    """Forget the states recorded for ``resumes_from`` (a new command begins)."""
    _CONTINUED.clear()
    _SEEN.clear()
    _RUNS.clear()


def resumes_from(path: str | os.PathLike) -> bool | None:
    """Whether the state at ``path`` is the one a loop of this process continues (its format
    and key), so that the same command rerun resumes from it: False where there is none, or
    it is another run's (other settings: the rerun starts over) or not a state; None where
    no loop of this process has looked for a state there yet (the run was interrupted before
    its loop began: what is there is an earlier run's, of settings not known here)."""
    where = _where(path)
    if where not in _CONTINUED:
        return None
    format_, key = _CONTINUED[where]
    try:
        stamp = _stamp(where)
    except OSError:
        return False
    seen = _SEEN.get(where)
    if seen is None or seen[2] != stamp:     # written elsewhere (a Ray worker's fit): read it
        try:
            state = _read(Path(where), "a")
        except (UserError, OSError):
            return False
        seen = ((state.get("format"), state.get("key"), stamp) if isinstance(state, dict)
                else (None, None, stamp))
        _SEEN[where] = seen
    return seen[:2] == (format_, key)


def settings_key(*parts) -> str:
    """A digest of ``parts`` (JSON-able; other objects by their ``str``): what must be equal
    for a saved state to continue a run."""
    text = json.dumps(list(parts), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def tensor_shapes(model: torch.nn.Module) -> list:
    """``[name, shape]`` of every tensor in ``model``'s state dict, sorted (a key part)."""
    return sorted([k, list(v.shape)] for k, v in model.state_dict().items())


def cpu_state(state_dict: dict) -> dict:
    """A state dict's tensors detached and on the CPU (a saved state loads anywhere)."""
    return {k: v.detach().cpu() for k, v in state_dict.items()}


def random_state() -> dict:
    """torch's global generators (CPU, and every CUDA device's), for ``restore_random``."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return {"torch_rng": torch.get_rng_state(), "cuda_rng": cuda}


def restore_random(state: dict) -> None:
    """Set torch's global generators from a state holding ``random_state()``'s entries (the
    CUDA ones when the devices match)."""
    torch.set_rng_state(state["torch_rng"])
    cuda = state.get("cuda_rng") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def save_state(path: str | os.PathLike, format_: str, key: str, state: dict) -> None:
    """Write ``state`` with its ``format`` marker and ``key`` to ``path`` atomically, and
    the run it belongs to (``RUN``) where a command claimed the path (``claim_states``).
    Text is written as plain str (``plain_text``)."""
    _CONTINUED[_where(path)] = (format_, key)
    run = _RUNS.get(_where(path))
    with atomic_path(path) as tmp:
        torch.save(plain_text({**state, "format": format_, "key": key,
                               **({RUN: run} if run is not None else {})}), tmp)
    _seen(path, format_, key)


def plain_text(value):
    """``value`` with every str subclass in its dicts, lists and tuples made a plain str (a
    result's ``synth.logs.Warnings``, say): ``torch.load(weights_only=True)``, which reads
    every state back, refuses any class it does not know, so one such value in a metrics
    dict made the whole state unreadable and the run could not resume."""
    if isinstance(value, str):
        return str(value) if type(value) is not str else value
    if isinstance(value, dict):
        return {plain_text(k): plain_text(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        return type(value)(plain_text(v) for v in value)
    return value


def _read(path: Path, what: str):
    """The state, read as checkpoints are (``synth.checkpoint.load_tensor_file``: zip index
    and unpacked size checked first, ``weights_only=True``): torch.load of a 0.5 MB deflated
    file named like a state allocated the 512 MB its entry unpacked to."""
    from synth.checkpoint import load_tensor_file
    return load_tensor_file(path, f"{what} state")


def check_state_path(path: str | os.PathLike, what: str) -> None:
    """``path`` can hold a state: nothing is there, or a regular file (which ``load_state``
    then reads).  A directory (or a FIFO, a link) of that name is refused in one line and
    kept: it was not read, and the first save replaced nothing -- os.replace onto a directory
    ended the run in an IsADirectoryError traceback, after the training it was to keep."""
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        kind = ("a symbolic link" if path.is_symlink() else
                "a directory" if path.is_dir() else "not a regular file")
        raise UserError(f"{path} is {kind}, not an nnsynth {what} state (nnsynth keeps an "
                        f"interrupted run's state under that name): move it away")


def check_state(path: str | os.PathLike, format_: str, what: str) -> dict | None:
    """The ``format_`` state at ``path`` (of any settings), or None where nothing is there;
    anything else there is refused in one line (``what``: "training", "grow-prune") and
    kept: a file that is not nnsynth's, another nnsynth loop's state (an interrupted run of
    another command writing to the same ``--out``, named as what it is), a directory.  A
    caller whose loop starts after other work (grow-prune's dense training) calls it first,
    so that the refusal comes before that work."""
    path = Path(path)
    check_state_path(path, what)
    if not path.is_file():
        return None
    try:
        state = _read(path, what)
    except UserError as e:
        raise UserError(f"{e}; it is not nnsynth's: move it away") from None
    found = state.get("format") if isinstance(state, dict) else None
    if isinstance(found, str) and found != format_ and found.startswith("nnsynth-") and \
            "key" in state:   # nnsynth's, of another loop: its work is kept for its own rerun
        raise UserError(f"{path} holds the state of an interrupted "
                        f"{STATE_FORMATS.get(found, found)}, not an nnsynth {what} state: "
                        f"finish that run (the same command), or move it away")
    if found != format_:
        raise UserError(f"{path} is not an nnsynth {what} state: move it away")
    return state


def load_state(path: str | os.PathLike, format_: str, key: str, what: str) -> dict | None:
    """The state at ``path`` when it continues this run; None when there is none, or it is
    another run's (its settings differ: a fresh start overwrites it).  Anything else there
    is refused and kept (``check_state``)."""
    _CONTINUED[_where(path)] = (format_, key)
    state = check_state(path, format_, what)
    if state is None:
        return None
    _seen(path, format_, state.get("key"))
    if state.get("key") != key:
        log.warning("%s holds another %s run's state (its settings differ): starting over",
                    path, what)
        return None
    return state


# A checkpoint's ``extra`` entry naming the run that wrote it: {"command": ..., "key": ...}
# (``run_stamp``), so that the same command rerun finds its output finished (``finished_run``)
RUN_KEY = "run_key"


def run_stamp(command: str, *parts) -> dict:
    """What a workflow records in its checkpoint's ``extra`` under ``RUN_KEY``: its
    ``command`` and ``settings_key`` of ``parts`` -- every setting and input digest its result
    depends on (as a loop's state is keyed: the device, the progress bar and the number of
    workers are not among them)."""
    return {"command": command, "key": settings_key(command, *parts)}


def result_settings(config) -> dict:
    """A config's fields that a result depends on (``to_dict``): all but where it runs
    (``device``) and whether a bar shows (``progress``)."""
    return {k: v for k, v in config.to_dict().items() if k not in ("progress", "device")}


def claim_states(out, stamp: dict, states: dict | None) -> None:
    """Record that the states kept beside ``out`` (``states``: suffix -> format) belong to
    the run ``stamp`` names: the states this process saves there carry its key (``RUN``)."""
    for suffix in states or {}:
        _RUNS[_where(f"{out}{suffix}")] = stamp["key"]


def claimed_run(path) -> str | None:
    """The run key a command claimed the state ``path`` for (``claim_states``), or None:
    what a loop run elsewhere (a Ray worker's fit, ``cluster.train.fit_on_workers``) is
    given, to claim the path there so that the states it saves record the run too."""
    return _RUNS.get(_where(path))


def finished_run(out, stamp: dict, what: str, states: dict | None = None) -> dict | None:
    """The payload of the checkpoint at ``out`` where the run ``stamp`` names wrote it (the
    same command, settings and inputs): the caller reports its result instead of running
    again (``is_finished`` says so); None where there is none, it is not readable, or it is
    another run's.  The run claims its states beside ``out`` either way
    (``claim_states``)."""
    from synth.checkpoint import read_checkpoint
    claim_states(out, stamp, states)
    path = Path(out)
    if not path.is_file():
        return None
    try:
        payload = read_checkpoint(path)
    except UserError:   # the command's own check of --out says what it is
        return None
    found = (payload.get("extra") or {}).get(RUN_KEY)
    if not is_finished(path, found, stamp, what, states):
        return None
    return payload


def is_finished(path: Path, found, stamp: dict, what: str, states: dict | None = None) -> bool:
    """Whether the output at ``path``, which records the run ``found`` (its ``run_stamp``;
    None: none), is the finished result of the run ``stamp`` names; the line saying that a
    rerun reports it is logged, or that this run replaces it (another run of the same
    command, another command's, or one that records none; ``what``: "training", ...).  A
    state that the run which wrote it left behind (killed between writing ``path`` and
    removing it): ``states`` maps a suffix (``.resume``) to the format of the state the
    command keeps there; such a file is removed where it records this run (``RUN``: its
    ``run_stamp`` key), else kept with a line saying so: a checkpoint copied over ``path`` by
    hand is newer than the state of another, interrupted run beside it, which an age test
    removed (h289)."""
    claim_states(path, stamp, states)
    if found != stamp:
        # said whatever wrote it: another command's checkpoint (a trained model given as
        # prune's --out) or one recording no run was replaced without a word
        command = found.get("command") if isinstance(found, dict) else None
        if command == stamp["command"]:
            log.warning("%s holds the result of another %s (other settings or inputs): this "
                        "run replaces it", path, what)
        elif isinstance(command, str):
            from synth.config import short_repr
            log.warning("%s holds the result of nnsynth %s, not of a %s: this run replaces it",
                        path, short_repr(command, 40).strip("'\""), what)
        else:
            log.warning("%s holds a result that records no run (another command's, or one "
                        "written before nnsynth recorded them): this %s replaces it", path, what)
        return False
    log.warning("%s is the finished result of this same command (its settings and inputs are "
                "this run's): reporting it, not running the %s again (delete it or give "
                "another --out to run it again)", path, what)
    for suffix, format_ in (states or {}).items():
        left = Path(f"{path}{suffix}")
        if left.is_file() and not left.is_symlink():
            remove_state(left, format_, run=stamp["key"])
    return True


def _field_problem(value, expected) -> str:
    """'' when ``value`` is what ``expected`` says: a type or tuple of types (bool is no
    int), or a ``range`` of integers; else what was expected."""
    if isinstance(expected, range):
        if type(value) is int and value in expected:
            return ""
        return f"an integer in [{expected.start}, {expected.stop - 1}]"
    types = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool) and bool not in types:
        return " or ".join(t.__name__ for t in types)
    if isinstance(value, types):
        return ""
    return " or ".join("None" if t is type(None) else t.__name__ for t in types)


def check_fields(state: dict, fields: dict, path, what: str) -> None:
    """The saved ``state`` holds each of ``fields`` (name -> what ``_field_problem`` takes)
    as a state its loop writes: a file that carries a loop's format and key but other values
    (written by hand, or by another tool) was a TypeError, KeyError or RuntimeError traceback
    as the loop restored it, and an epoch of -10**9 ran a billion epochs."""
    from synth.config import short_repr
    for name, expected in fields.items():
        problem = _field_problem(state.get(name), expected)
        if problem:
            raise UserError(f"{path} holds a {what} state whose {name} is "
                            f"{short_repr(state.get(name), 40)}, expected {problem}: it is not "
                            f"one nnsynth wrote; move it away")


@contextlib.contextmanager
def restoring(path, what: str):
    """Restore a loop from a state checked by ``check_fields``: what torch refuses in it
    (weights of other shapes, a generator state that is no byte tensor) is a one-line
    UserError naming the file, not a traceback."""
    try:
        yield
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as e:
        # (RecursionError is a RuntimeError: a JSON text nested too deeply)
        why = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise UserError(f"{path} holds a {what} state nnsynth cannot restore ({why}): it is "
                        f"not one nnsynth wrote; move it away") from None


def remove_state(path: str | os.PathLike, format_: str, run: str | None = None) -> None:
    """The state at ``path``, once the run's own output is written; only a file carrying the
    ``format_`` marker is deleted (nnsynth deletes nothing it did not write).  ``run``: a
    leftover found by a rerun (``is_finished``), deleted only where it records that run
    (``RUN``); another's, or one recording none, is kept and named in a warning."""
    path = Path(path)
    _RUNS.pop(_where(path), None)   # (its run is over: a later save there is another's)
    if not path.is_file():
        return
    try:
        state = _read(path, format_)
    except UserError:
        return
    if not isinstance(state, dict) or state.get("format") != format_:
        return
    if run is not None and state.get(RUN) != run:
        log.warning("%s is kept: it holds the state of %s, not of this finished run (rerun "
                    "that command to resume it, or delete it)", path,
                    "another, interrupted run" if isinstance(state.get(RUN), str) else
                    "a run that records none (an interrupted run's, or one written before "
                    "nnsynth recorded them)")
        return
    path.unlink()
