"""A local Ray's workers and folders (h264), on the suite's shared local Ray (``ray_local``).

Workers name their own cluster: Ray Train's detached PlacementGroupCleaner asks Ray's
state API, without an address, whether the training's controller lives; with a second Ray
on the machine (``ray start --head`` on another port) its thread died in "ConnectionError:
Found multiple active Ray instances: {...}" (a traceback between nnsynth run's lines
without -q).  The worker setup hook of a local Ray sets RAY_ADDRESS to the worker's own GCS,
which Ray's address lookup takes first.
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
