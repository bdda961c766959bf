"""Process groups among actors on one machine: gloo over the loopback address.

A data-parallel step (``synth.parallel.DataParallel``) needs a collective between a few actors.
The group meets through a file (``torch.distributed.FileStore``) in a directory that the rank-0
actor creates (``rendezvous_dir``), so no port is opened for the meeting, and gloo's own
connections listen on 127.0.0.1 only: a group never spans machines, and the caller places
only actors of one node in it (``cluster.pairs`` groups them by Ray node id).
"""
from __future__ import annotations

import datetime
import os
import tempfile
import time

from cluster.connect import LOCALHOST

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


def close_group(parallel, directory: str | None = None, wait_s: float = 5.0) -> None:
    """Wait for every rank (a barrier) and drop this rank's group; every rank passes the
    meeting ``directory``, and it is removed once empty.  The store's file is removed by the
    store of the last rank to drop its group (torch's ``FileStore`` counts its users); a rank
    must never remove it under a peer whose store is still alive, since that peer's store
    destructor then fails to open it and aborts the process (it did, under load, when rank 0
    removed the directory right after the barrier).  Past the barrier every peer is dropping
    its store too, so each rank retries the removal for up to ``wait_s`` seconds: a last
    store released a moment after every rank's first try (seen once) leaves nothing behind.
    After a failed barrier one try only: the driver removes a failed group's directory
    (``remove_rendezvous``)."""
    met = False
    try:
        parallel.group.barrier().wait()
        met = True
    finally:
        parallel.group = None          # this rank's store goes with it
        deadline = time.monotonic() + (wait_s if met else 0.0)   # a failed group: one try
        while directory:
            try:
                os.rmdir(directory)
                break
            except FileNotFoundError:   # a peer removed it
                break
            except OSError:             # not empty: a peer's store still holds the file
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.02)


def remove_rendezvous(directory: str) -> bool:
    """Remove a rendezvous directory and its store file, and nothing else: a directory whose
    name is not ours, or that holds anything but the store file, is left as it is.  Returns
    whether it is gone.  Only for a group no live rank uses any more (a failed one, see
    ``close_group``)."""
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
