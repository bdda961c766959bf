"""cluster.collective: a group of ranks meets through a file and talks over 127.0.0.1 only."""
import os
import threading
import time
from pathlib import Path

import torch

from cluster.collective import close_group, open_group, rendezvous_dir
from tests.cluster.test_loopback import LOOPBACK, _listeners_of, _listening


def test_group_meets_in_a_directory_and_listens_on_loopback_only():
    directory = rendezvous_dir()
    groups, sums, seen = [None, None], [None, None], {}
    opened = threading.Barrier(3)

    def rank(r):
        groups[r] = open_group(directory, r, 2, timeout_s=60)
        opened.wait()              # the main thread reads the sockets while the group is open
        opened.wait()
        sums[r] = groups[r].sum_(torch.tensor([float(r + 1)]))
        close_group(groups[r], directory if r == 0 else None)
    threads = [threading.Thread(target=rank, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    opened.wait(timeout=60)
    table = _listening()
    for address in _listeners_of(os.getpid(), os.listdir("/proc/self/fd"), table):
        seen[address] = True
    opened.wait(timeout=60)
    for t in threads:
        t.join(60)
    assert seen and all(host in LOOPBACK for host, _ in seen), seen
    assert [float(s[0]) for s in sums] == [3.0, 3.0]
    assert not Path(directory).exists()        # rank 0 removed the meeting place


def test_removing_a_meeting_place_removes_only_what_nnsynth_wrote(tmp_path):
    """``remove_rendezvous`` deletes our store file and directory, never a user's file or a
    directory that is not a rendezvous directory."""
    from cluster.collective import PREFIX, STORE, remove_rendezvous
    ours = Path(rendezvous_dir())
    (ours / STORE).write_bytes(b"x")
    assert remove_rendezvous(str(ours)) and not ours.exists()
    assert remove_rendezvous(str(ours))                     # already gone: nothing to do
    shared = tmp_path / (PREFIX + "shared")
    shared.mkdir()
    (shared / STORE).write_bytes(b"x")
    (shared / "notes.txt").write_text("a user's file")
    assert not remove_rendezvous(str(shared))
    assert (shared / "notes.txt").read_text() == "a user's file" and (shared / STORE).exists()
    other = tmp_path / "results"
    other.mkdir()
    (other / STORE).write_bytes(b"x")
    assert not remove_rendezvous(str(other)) and (other / STORE).exists()


def test_rank_0_removes_the_meeting_place_only_after_every_rank_let_go():
    """A slower rank still holds the store file after the closing barrier (its FileStore
    opens it once more when destroyed; it aborted its process when the directory was gone
    by then): rank 0's ``close_group`` waits for it before removing the directory."""
    directory = rendezvous_dir()
    seen = {}
    barrier = threading.Barrier(2)

    def rank(r):
        group = open_group(directory, r, 2, timeout_s=60)
        barrier.wait()
        if r == 0:
            close_group(group, directory)
            seen["returned"] = time.monotonic()
        else:
            group.group.barrier().wait()          # close_group's barrier, then hold on
            time.sleep(0.5)
            seen["present"] = Path(directory).is_dir()
            seen["dropped"] = time.monotonic()
            group.group = None
    threads = [threading.Thread(target=rank, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert seen["present"] and seen["returned"] >= seen["dropped"]
    assert not Path(directory).exists()
