"""A local Ray's workers and folders (h264), on the suite's shared local Ray (``ray_local``).

Workers name their own cluster: Ray Train's detached PlacementGroupCleaner asks Ray's
state API, without an address, whether the training's controller lives; with a second Ray
on the machine (``ray start --head`` on another port) its thread died in "ConnectionError:
Found multiple active Ray instances: {...}" (a traceback between nnsynth run's lines
without -q).  The worker setup hook of a local Ray sets RAY_ADDRESS to the worker's own GCS,
which Ray's address lookup takes first.

A joined cluster's token check (``cluster.join_auth``) is refused by a real GCS in token mode.
"""
from __future__ import annotations


def test_workers_name_their_own_cluster(ray_local):
    ray = ray_local

    @ray.remote(num_cpus=0)
    def lookup():
        import os
        from ray._private.services import canonicalize_bootstrap_address_or_die
        return os.environ.get("RAY_ADDRESS"), canonicalize_bootstrap_address_or_die(None)

    own = ray.get_runtime_context().gcs_address
    assert ray.get(lookup.remote(), timeout=60) == (own, own)


def test_a_real_token_gcs_refuses_the_tokenless_check(ray_local):
    """cluster.join_auth's call without a token, against Ray's own GCS in token mode (the
    suite's local Ray): refused, so no warning -- the fake servers of
    test_h264_join_auth answer as this one does."""
    from cluster.join_auth import answers_without_token, warn_if_open
    gcs = ray_local.get_runtime_context().gcs_address
    assert answers_without_token(gcs) is False
    assert not warn_if_open(gcs)


def test_the_local_rays_files_are_this_users_alone(ray_local):
    """Ray makes its session folders 0777; the local Ray's lie below a folder of this user's
    that no one else may enter (they were in /tmp/ray, 0777 itself)."""
    import os
    import stat
    from pathlib import Path
    session = Path(ray_local._private.worker._global_node.get_session_dir_path())
    closed = [p for p in session.parents
              if os.lstat(p).st_uid == os.getuid() and not os.lstat(p).st_mode & 0o077
              and stat.S_ISDIR(os.lstat(p).st_mode)]
    assert closed, (session, [oct(os.lstat(p).st_mode) for p in session.parents])
