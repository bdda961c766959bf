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
import shutil
import tempfile

from cluster.connect import LOCALHOST

STORE = "store"      # the FileStore's file inside the rendezvous directory


def rendezvous_dir() -> str:
    """A fresh private directory for one group's store file (on the rank-0 actor's machine)."""
    return tempfile.mkdtemp(prefix="nnsynth-group-")


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


def close_group(parallel, directory: str | None = None) -> None:
    """Wait for every rank (a barrier), drop the group and remove ``directory`` if given."""
    try:
        parallel.group.barrier().wait()
    finally:
        parallel.group = None
        if directory:
            shutil.rmtree(directory, ignore_errors=True)
