"""The session folders of nnsynth's local Rays do not pile up (h266).  Ray removes none:
each local Ray left its session_* (logs, sockets, runtime environments; 0.4-1 MB for a short
command) below <tmp>/nnsynth-<uid>/ray for good, as it does in /tmp/ray (394 folders,
190 MB, after a day of this project's work).  A session nnsynth's local Ray made carries
its driver's pid (cluster.ray_dir.mark_session); a later local start removes those whose
driver ended beyond the newest KEEP_SESSIONS, never another Ray's session, a live one's or
the one session_latest names.  No Ray: the folders are made as Ray lays them out."""
import os
import subprocess
import sys

from cluster.ray_dir import (KEEP_SESSIONS, SESSION_MARKER, ended_sessions, mark_session,
                             remove_ended_sessions, repair_latest)


def _session(root, second, pid, marked=True):
    path = root / f"session_2026-12-06_23-00-{second:02d}_000000_{pid}"
    (path / "logs").mkdir(parents=True)
    (path / "logs" / "raylet.out").write_text("a log line\n")
    if marked:
        (path / SESSION_MARKER).write_text(f"{pid}\n")
    return path


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_ended_sessions_beyond_the_newest_go(tmp_path):
    dead = _dead_pid()
    ended = [_session(tmp_path, s, dead) for s in range(KEEP_SESSIONS + 3)]
    live = _session(tmp_path, 50, os.getpid())          # this process's: running
    other = _session(tmp_path, 1, 4242, marked=False)   # another Ray's (ray start --temp-dir)
    assert remove_ended_sessions(tmp_path) == 3
    assert [p.exists() for p in ended] == [False] * 3 + [True] * KEEP_SESSIONS   # oldest went
    assert live.exists() and other.exists()
    assert remove_ended_sessions(tmp_path) == 0          # bounded: the rest stay


def test_what_is_never_removed(tmp_path):
    dead = _dead_pid()
    latest = _session(tmp_path, 0, dead)                       # oldest, but session_latest's
    os.symlink(latest, tmp_path / "session_latest")
    bad = _session(tmp_path, 2, dead, marked=False)
    (bad / SESSION_MARKER).write_text("not a pid\n")           # unreadable: not ours to judge
    linked = tmp_path / "session_2026-12-06_23-00-03_000000_1"   # a link to a user's folder
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / SESSION_MARKER).write_text(f"{dead}\n")
    os.symlink(tmp_path / "user", linked)
    old = _session(tmp_path, 1, dead)
    assert ended_sessions(tmp_path, keep=0) == [old]
    assert ended_sessions(tmp_path, keep=0, alive=lambda pid: True) == []


def test_only_a_session_in_the_private_folder_is_marked(tmp_path):
    inside = _session(tmp_path / "ray", 0, 1, marked=False)
    assert mark_session(inside, tmp_path / "ray")
    assert (inside / SESSION_MARKER).read_text() == f"{os.getpid()}\n"
    elsewhere = _session(tmp_path / "other", 0, 1, marked=False)
    assert not mark_session(elsewhere, tmp_path / "ray")
    assert not (elsewhere / SESSION_MARKER).exists()


def test_a_broken_session_latest_names_the_new_session(tmp_path):
    """Ray's try_to_symlink leaves a session_latest whose folder is gone broken for good (its
    new link fails beside it); the next local start names its own session there."""
    from ray._private.utils import try_to_symlink
    gone, new = tmp_path / "session_gone", _session(tmp_path, 5, os.getpid())
    os.symlink(gone, tmp_path / "session_latest")
    try_to_symlink(str(tmp_path / "session_latest"), str(new))    # what Ray does at a start
    assert os.readlink(tmp_path / "session_latest") == str(gone)   # still broken
    assert repair_latest(tmp_path, new)
    assert os.path.realpath(tmp_path / "session_latest") == str(new)
    other = _session(tmp_path, 6, os.getpid())                     # a link to a folder stays
    assert not repair_latest(tmp_path, other)
    assert os.path.realpath(tmp_path / "session_latest") == str(new)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("session_2")) == [
        "session_latest"]                                          # no temp link left
