"""A local Ray's folders are in one of this user's alone (h264).

Ray 2.60 makes every folder of a session 0777 (/tmp/ray/session_*/logs, sockets,
runtime_resources): any user of the machine could read nnsynth's Ray logs and plant files
among its sockets and its workers' runtime environments.  ``cluster.ray_dir.ray_temp_dir``
gives a local Ray ``<tmp>/nnsynth-<uid>/ray``, its parent 0700 and this user's, short enough
for Ray's Unix sockets.  (test_h264_ray checks the suite's local Ray lies below it.)
"""
from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

import pytest

from cluster.ray_dir import MAX_TEMP_DIR, ray_temp_dir

LIMIT = 60


@pytest.fixture
def base(monkeypatch):
    """A base folder of this test's, removed afterwards; RAY_TMPDIR unset.  (Its path is
    longer than Ray's sockets allow: the tests name a larger ``limit``.)"""
    import shutil
    monkeypatch.delenv("RAY_TMPDIR", raising=False)
    path = Path(tempfile.mkdtemp(prefix="h264", dir="/tmp"))
    yield path
    shutil.rmtree(path)


def _mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_fresh_folder_is_private_and_short(base):
    temp = Path(ray_temp_dir([str(base)], limit=LIMIT))
    assert temp == base / f"nnsynth-{os.getuid()}" / "ray"
    assert _mode(temp.parent) == 0o700 and os.lstat(temp.parent).st_uid == os.getuid()
    assert ray_temp_dir([str(base)], limit=LIMIT) == str(temp)        # the same folder next time


def test_an_own_folder_others_can_enter_is_tightened(base):
    parent = base / f"nnsynth-{os.getuid()}"
    parent.mkdir()
    parent.chmod(0o777)
    assert ray_temp_dir([str(base)], limit=LIMIT) == str(parent / "ray")
    assert _mode(parent) == 0o700


def test_a_planted_link_is_not_followed(base, caplog):
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    elsewhere.chmod(0o777)
    (base / f"nnsynth-{os.getuid()}").symlink_to(elsewhere)
    with caplog.at_level(logging.WARNING, logger="cluster.connect"):
        temp = Path(ray_temp_dir([str(base)], limit=LIMIT))
    assert temp.parent.parent == base and temp.parent.name.startswith("nnsynth-")
    assert not temp.parent.is_symlink() and _mode(temp.parent) == 0o700
    assert "is not a folder of this user's" in caplog.text
    assert _mode(elsewhere) == 0o777                     # the link's target left alone


def test_a_long_base_gives_way_and_ray_tmpdir_is_rays(base, monkeypatch):
    long = base / ("x" * 40)
    long.mkdir()
    assert ray_temp_dir([str(long), str(base)], limit=LIMIT) == \
        str(base / f"nnsynth-{os.getuid()}" / "ray")
    assert ray_temp_dir([str(long)], limit=LIMIT) is None   # Ray's default, not a broken socket
    monkeypatch.setenv("RAY_TMPDIR", str(base))
    assert ray_temp_dir([str(base)], limit=LIMIT) is None


def test_the_limit_fits_rays_longest_socket_and_tmp_fits_it():
    """MAX_TEMP_DIR leaves room for the longest socket path Ray makes below it (Linux's
    limit, 107 bytes; Ray's own check, validate_socket_filepath, refuses longer), and the
    folder in /tmp is within it."""
    session = "/session_2026-12-06_22-49-24_396322_4194304"
    longest = "x" * MAX_TEMP_DIR + session + "/sockets/dash_PlatformEventsHead"
    from ray._private.utils import validate_socket_filepath
    validate_socket_filepath(longest)
    assert ray_temp_dir(["/tmp"]) == f"/tmp/nnsynth-{os.getuid()}/ray"
