"""Process groups among actors on one machine: gloo over the loopback address.

A data-parallel step (``synth.parallel.DataParallel``) needs a collective between a few actors.
The group meets through a file (``torch.distributed.FileStore``) in a directory that the rank-0
actor creates (``rendezvous_dir``), so no port is opened for the meeting, and gloo's own
connections listen on 127.0.0.1 only: a group never spans machines, and the caller places
only actors of one node in it (``cluster.pairs`` groups them by Ray node id).
"""
from __future__ import annotations

import datetime
import logging
import os
import tempfile
import time

from cluster.connect import LOCALHOST

log = logging.getLogger(__name__)

STORE = "store"      # the FileStore's file inside the rendezvous directory
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


def close_group(parallel, directory: str | None = None, wait_s: float = 120.0) -> None:
    """Wait for every rank (a barrier) and drop the group; with ``directory`` (rank 0), then
    remove the meeting place once every rank has let go of it.

    Each rank's FileStore opens the store file once more when it is destroyed, and the last
    one deletes it; removing the directory before then made a slower rank's destructor throw
    in C++ and abort its process.  So rank 0 waits (at most ``wait_s``) for the file to go.
    After a failed barrier nothing is removed here: the driver restarts the group's pairs
    and removes the directory then (``cluster.pairs``)."""
    parallel.group.barrier().wait()      # raises when a peer is gone
    parallel.group = None                # this rank's FileStore lets go of the store file
    if not directory:
        return
    store = os.path.join(directory, STORE)
    deadline = time.monotonic() + wait_s
    while os.path.exists(store) and time.monotonic() < deadline:
        time.sleep(0.01)
    if os.path.exists(store):
        log.warning("a rank still holds %s after %.0f s; the directory is left", store, wait_s)
        return
    remove_rendezvous(directory)


def remove_rendezvous(directory: str) -> bool:
    """Remove a rendezvous directory and its store file, and nothing else: a directory whose
    name is not ours, or that holds anything but the store file, is left as it is.  Returns
    whether it is gone."""
    if not os.path.basename(os.path.normpath(directory)).startswith(PREFIX):
        return False
    try:
        for name in os.listdir(directory):
            if name != STORE:
                return False
        if os.path.exists(os.path.join(directory, STORE)):
            os.unlink(os.path.join(directory, STORE))
        os.rmdir(directory)
    except FileNotFoundError:
        pass
    except OSError:
        return False
    return True
