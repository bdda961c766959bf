"""The hwsim pool after a second Ray session in the same process (a notebook that runs a
search, shuts Ray down and runs another): the process's pool held the first cluster's actor
handles, and pricing failed with "Can't find actor ... from a different cluster"."""
import ray

from cluster.hwsim_pool import get_pool

SPEC = {"family": "lenet5", "channels": [2, 8], "hidden": [40, 20]}


def test_a_new_ray_session_gets_a_pool_of_its_own(ray_local):
    """The first session is the suite's local Ray; after its shutdown get_pool starts the
    second itself (cluster.connect), as in a user's session."""
    try:
        first = get_pool(num_shards=1)
        priced = first.price_specs([SPEC], (1, 28, 28), 10)[0]
        ray.shutdown()
        second = get_pool(num_shards=1)
        assert second is not first
        second.cache.clear()                     # ask the new cluster's actor, not the cache
        again = second.price_specs([SPEC], (1, 28, 28), 10)[0]
        assert again["latency_ms"] == priced["latency_ms"]
        second.shutdown()
    finally:
        ray.shutdown()
