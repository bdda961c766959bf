"""Process groups among actors on one machine: gloo over the loopback address.

A data-parallel step (``synth.parallel.DataParallel``) needs a collective between a few actors.
The group meets through a file (``torch.distributed.FileStore``) in a directory that the rank-0
actor creates (``rendezvous_dir``), so no port is opened for the meeting, and gloo's own
connections listen on 127.0.0.1 only: a group never spans machines, and the caller places
only actors of one node in it (``cluster.pairs`` groups them by Ray node id).
"""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import os
import tempfile
import time

from cluster.connect import LOCALHOST

STORE = "store"      # the FileStore's file inside the rendezvous directory
LOCK = "lock"        # taken by each rank while it drops its store (close_group)
PREFIX = "nnsynth-group-"


def rendezvous_dir() -> str:
    """A fresh private directory for one group's store file (on the rank-0 actor's machine)."""
    return tempfile.mkdtemp(prefix=PREFIX)


def open_group(directory: str, rank: int, size: int, timeout_s: float = 600.0):
    """Join the group of ``size`` processes meeting in ``directory`` as ``rank``; returns a
    ``synth.parallel.DataParallel``.  Blocks until all ranks have joined (or ``timeout_s``,
    which also bounds every collective)."""
    from torch.distributed import FileStore, PrefixStore, ProcessGroupGloo

    from synth.parallel import DataParallel
    store = PrefixStore("nnsynth", FileStore(os.path.join(directory, STORE), size))
    options = ProcessGroupGloo._Options()
    options._devices = [ProcessGroupGloo.create_device(hostname=LOCALHOST)]
    options._timeout = datetime.timedelta(seconds=timeout_s)
    return DataParallel(ProcessGroupGloo(store, rank, size, options), rank, size)


def close_group(parallel, directory: str | None = None, wait_s: float = 5.0) -> None:
    """Wait for every rank (a barrier) and drop this rank's group; every rank passes the
    meeting ``directory``, and it is removed once the last store has let go of its file.

    The store's file is removed by the store of the last rank to drop its group: torch's
    ``FileStore`` destructor counts finished users and live references in two separate
    locked steps, so two ranks dropping at the same moment can each see the other as not
    finished, and neither removes the file (6 of 200 closes under load left it for good).
    The drops are therefore taken one at a time under a lock file in the directory (the
    ranks of a group share one machine).  A rank never removes the store file under a peer
    whose store is alive: that peer's destructor then fails to open it and aborts the
    process (seen when rank 0 removed the directory right after the barrier).  Once the
    file is gone every store is, and any rank removes the lock file and the directory;
    past the barrier each rank waits up to ``wait_s`` seconds for that (a store released a
    moment late), after a failed barrier it tries once: the driver removes a failed
    group's directory (``remove_rendezvous``)."""
    met = False
    try:
        parallel.group.barrier().wait()
        met = True
    finally:
        with _drop_lock(directory):
            parallel.group = None      # this rank's store goes with it, one rank at a time
        deadline = time.monotonic() + (wait_s if met else 0.0)   # a failed group: one try
        while directory and not _remove_if_released(directory):
            if time.monotonic() >= deadline:
                break
            time.sleep(0.02)


@contextlib.contextmanager
def _drop_lock(directory: str | None):
    """Hold an exclusive lock on ``directory``'s lock file (nothing when there is no
    directory, or when a peer has already removed it: then every store is gone)."""
    try:
        fd = os.open(os.path.join(directory, LOCK),
                     os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600) if directory else None
    except FileNotFoundError:
        fd = None
    try:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        if fd is not None:
            os.close(fd)               # closing releases the lock


def _remove_if_released(directory: str) -> bool:
    """Remove the lock file and ``directory`` once the store file is gone (the last store
    removed it); returns whether the directory is gone."""
    if os.path.exists(os.path.join(directory, STORE)):
        return False
    try:
        os.unlink(os.path.join(directory, LOCK))
    except FileNotFoundError:
        pass
    try:
        os.rmdir(directory)
    except FileNotFoundError:          # a peer removed it
        return True
    except OSError:                    # a peer recreated its lock file a moment ago
        return False
    return True


def remove_rendezvous(directory: str) -> bool:
    """Remove a rendezvous directory, its store file and lock file, and nothing else: a
    directory whose name is not ours, or that holds anything else, is left as it is.  Returns
    whether it is gone.  Only for a group no live rank uses any more (a failed one, see
    ``close_group``)."""
    if not os.path.basename(os.path.normpath(directory)).startswith(PREFIX):
        return False
    try:
        for name in os.listdir(directory):
            if name not in (STORE, LOCK):
                return False
        for name in (STORE, LOCK):
            if os.path.exists(os.path.join(directory, name)):
                os.unlink(os.path.join(directory, name))
        os.rmdir(directory)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True
