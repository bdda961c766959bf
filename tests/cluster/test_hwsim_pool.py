"""The sharded hwsim pool: same numbers as hwsim.price, caching, named actors, restarts."""
import os
import signal

import pytest
import torch

import hwsim
from synth.models import build

SPECS = [{"family": "lenet5", "channels": [c, 8], "hidden": [40, 20]} for c in (2, 3, 4, 5)]


@pytest.fixture(scope="module")
def pool(ray_local):
    from cluster.hwsim_pool import get_pool
    p = get_pool(num_shards=2)
    yield p
    p.shutdown()


def test_prices_match_library_and_spread_over_shards(pool):
    res = pool.price_specs(SPECS, (1, 28, 28), 10, spring=True)
    assert len(res) == len(SPECS) and {r["shard"] for r in res} <= {0, 1}
    for spec, r in zip(SPECS, res):
        torch.manual_seed(0)                                    # as the shard does
        direct = hwsim.price(build(spec, (1, 28, 28), 10), (1, 28, 28), spring=True)
        for k in ("latency_ms", "energy_mj", "cycles", "area_mm2", "spring_latency_ms"):
            assert r[k] == pytest.approx(direct[k], rel=1e-9)
    bad = pool.price_specs([{"family": "nope"}], (1, 28, 28), 10)
    assert "error" in bad[0] and "nope" in bad[0]["error"]


def test_cached_repeat_asks_no_actor_and_layers_are_reused(pool):
    first = pool.price_specs(SPECS, (1, 28, 28), 10)
    asked = sum(s["candidates"] for s in pool.stats())
    again = pool.price_specs(SPECS, (1, 28, 28), 10)
    assert again == first
    stats = pool.stats()
    assert sum(s["candidates"] for s in stats) == asked      # the repeat asked no actor
    assert sum(s["layer_hits"] for s in stats) > 0            # shared layer shapes hit the cache


def test_named_actors_reachable_from_another_process(pool, ray_local):
    ray = ray_local

    @ray.remote(num_cpus=0.5)
    def trial(spec):
        from cluster.hwsim_pool import get_pool
        return get_pool(num_shards=2).price_specs([spec], (1, 28, 28), 10)[0]["latency_ms"]

    want = pool.price_specs(SPECS[:1], (1, 28, 28), 10)[0]["latency_ms"]
    assert ray.get(trial.remote(SPECS[0])) == pytest.approx(want)


def test_dead_actor_restarted_without_losing_work(pool, ray_local):
    ray = ray_local
    pid = ray.get(pool.actors[0].pid.remote())
    os.kill(pid, signal.SIGKILL)
    specs = [dict(s, hidden=[41, 20]) for s in SPECS]
    res = pool.price_specs(specs, (1, 28, 28), 10)
    assert len(res) == len(specs) and not any("error" in r for r in res)
