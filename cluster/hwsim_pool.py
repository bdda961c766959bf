"""A sharded pool of hwsim actors that price search candidates (model specs).

Each shard is a named Ray actor (``hwsim-shard-<i>`` in the job's namespace) holding two
memo caches: per layer (op key x hardware config -> cost, see ``hwsim.price_layers``) and
per candidate.  A candidate's home shard is ``crc32(spec, hardware config) % shards``, so a
repeat usually reaches the cache that already holds it, and different accelerator configs
spread over the shards; within one batch a shard takes at most its fair share (bounded
load), so the shards finish together.  The shards of a batch run in parallel.

Named actors let a Ray Tune trial (another process of the same job) reach the same pool:
``get_pool(2)`` there returns handles to the driver's actors (``get_if_exists``).  Each
actor asks for 0.5 CPU so that the pool does not block trials on a 2-CPU machine.
A dead actor is restarted by Ray (``max_restarts``) and its call retried
(``max_task_retries``); if that is exhausted, the pool makes a fresh actor and resubmits.
The driver also keeps its own result cache, so a repeat there costs microseconds.
"""
from __future__ import annotations

import functools
import json
import zlib
from typing import Any

SHARD_PREFIX = "hwsim-shard-"


def _spec_key(spec: Any, input_shape, num_classes: int, accel: Any, spring: Any) -> str:
    from hwsim import accel_config
    accel_d = accel_config(accel).to_dict()
    return json.dumps([spec, list(input_shape), int(num_classes), accel_d,
                       spring if isinstance(spring, (bool, dict)) or spring is None else repr(spring)],
                      sort_keys=True, default=str)


class HwsimShard:
    """Actor body: build the candidate, extract its workload, price it layer by layer."""

    def __init__(self, shard_id: int):
        import torch
        torch.set_num_threads(1)          # 0.5 CPU per actor: one thread
        self.shard_id = shard_id
        self.layer_cache: dict = {}
        self.candidate_cache: dict = {}
        self.stats = {"candidates": 0, "candidate_hits": 0, "layers": 0, "layer_hits": 0,
                      "cpu_s": 0.0}

    def price_batch(self, items: list[tuple]) -> list[dict]:
        """items: (key, spec, input_shape, num_classes, accel dict, spring) tuples."""
        import time
        t0 = time.process_time()
        out = [self._price_one(*item) for item in items]
        self.stats["cpu_s"] += time.process_time() - t0     # CPU seconds spent pricing
        return out

    def _price_one(self, key, spec, input_shape, num_classes, accel, spring) -> dict:
        import hwsim
        from synth.errors import UserError
        self.stats["candidates"] += 1
        if key in self.candidate_cache:
            self.stats["candidate_hits"] += 1
            return self.candidate_cache[key]
        try:
            model = hwsim.build_priced(spec, input_shape, num_classes)
            ops = hwsim.extract(model, input_shape)
        except UserError as e:
            return {"error": str(e)}
        before = len(self.layer_cache)
        result = hwsim.price_layers(ops, accel, spring, cache=self.layer_cache)
        self.stats["layers"] += len(ops)
        self.stats["layer_hits"] += len(ops) - (len(self.layer_cache) - before)
        result["shard"] = self.shard_id
        self.candidate_cache[key] = result
        return result

    def get_stats(self) -> dict:
        return dict(self.stats, shard=self.shard_id, cached_layers=len(self.layer_cache),
                    cached_candidates=len(self.candidate_cache))

    def pid(self) -> int:
        import os
        return os.getpid()


@functools.lru_cache(maxsize=None)
def _actor_class(num_cpus: float):
    """The remote class for a CPU request (made once per process and size)."""
    import ray
    return ray.remote(num_cpus=num_cpus, max_restarts=3, max_task_retries=3)(HwsimShard)


MAX_SHARDS = 1024        # as search.run.SearchConfig's pool_shards
MIN_CPUS = 0.0001        # Ray's resource unit: a smaller request is Ray's ValueError


def check_pool(num_shards, num_cpus) -> None:
    """A pool of ``num_shards`` actors (an integer in [1, MAX_SHARDS]) of ``num_cpus`` CPUs
    each (in [MIN_CPUS, 64]).  ``pool_cpus: 1e-9`` (search.options) passed the search's
    config and ended in Ray's ValueError traceback ('precision ... cannot go beyond 0.0001')
    when the pool was made; ``num_shards`` 2.5 made 2 actors, nan a ValueError."""
    from synth.config import check_range
    check_range("pool_shards", num_shards, 1, MAX_SHARDS, integer=True)
    check_range("pool_cpus", num_cpus, MIN_CPUS, 64)


class HwsimPool:
    """``num_shards`` named hwsim actors.  ``price_specs`` prices a batch of model specs."""

    def __init__(self, num_shards: int = 2, num_cpus: float = 0.5, name_prefix: str = SHARD_PREFIX):
        check_pool(num_shards, num_cpus)
        from cluster.pool import start_ray
        start_ray()
        self.num_shards = int(num_shards)
        self.num_cpus = float(num_cpus)
        self.name_prefix = name_prefix
        self.actors = [self._make(i) for i in range(self.num_shards)]
        self.cache: dict[str, dict] = {}
        self.restarts = 0

    def _make(self, i: int):
        return _actor_class(self.num_cpus).options(
            name=f"{self.name_prefix}{i}", get_if_exists=True).remote(i)

    def _restart(self, i: int) -> None:
        from cluster.pool import replace_actor
        replace_actor(self.actors, i, self._make)
        self.restarts += 1

    def shard_of(self, key: str) -> int:
        return zlib.crc32(key.encode()) % self.num_shards

    def _route(self, idxs: list[int], keys: list[str]) -> dict[int, list[int]]:
        """Shard -> candidate indices.  Each key prefers its home shard (crc32, so a repeat
        from any process finds its cache); a shard takes at most ceil(len / shards) of one
        batch (bounded load), the overflow goes to the least-loaded shard."""
        cap = -(-len(idxs) // self.num_shards)
        routes: dict[int, list[int]] = {}
        overflow = []
        for i in idxs:
            home = self.shard_of(keys[i])
            if len(routes.get(home, [])) < cap:
                routes.setdefault(home, []).append(i)
            else:
                overflow.append(i)
        for i in overflow:
            s = min(range(self.num_shards), key=lambda s: len(routes.get(s, [])))
            routes.setdefault(s, []).append(i)
        return routes

    def price_specs(self, specs: list, input_shape, num_classes: int, accel: Any = None,
                    spring: Any = False) -> list[dict]:
        """One result dict per spec, in order (hwsim.price fields, or {"error": ...}).
        Each spec is priced as built (``hwsim.build_priced``: untrained, PRICING_SEED's
        weights) on ``extract``'s seeded random batch: the accelerator figures do not depend
        on either; with ``spring`` SPRING's do (its activation sparsity), so they are a
        candidate's before training, not a trained model's (``nnsynth hwsim eval --spring``
        measures those on its held-out samples).  The search's trials ask no SPRING price."""
        import ray
        from ray.exceptions import RayActorError
        input_shape = tuple(int(s) for s in input_shape)
        keys = [_spec_key(s, input_shape, num_classes, accel, spring) for s in specs]
        results: list[dict | None] = [self.cache.get(k) for k in keys]
        todo = self._route([i for i, r in enumerate(results) if r is None], keys)
        if not todo:
            return [dict(r) for r in results]
        from hwsim import accel_config
        accel_d = accel_config(accel).to_dict()
        payload = {s: [(keys[i], specs[i], input_shape, int(num_classes), accel_d, spring)
                       for i in idxs] for s, idxs in todo.items()}
        refs = {s: self.actors[s].price_batch.remote(p) for s, p in payload.items()}
        for s, idxs in todo.items():
            for attempt in range(4):
                try:
                    out = ray.get(refs[s])
                    break
                except RayActorError:
                    if attempt == 3:
                        raise
                    self._restart(s)
                    refs[s] = self.actors[s].price_batch.remote(payload[s])
            for i, r in zip(idxs, out):
                results[i] = r
                if "error" not in r:
                    self.cache[keys[i]] = r
        return [dict(r) for r in results]

    def stats(self) -> list[dict]:
        import ray
        return ray.get([a.get_stats.remote() for a in self.actors])

    def shutdown(self) -> None:
        from cluster.pool import kill_actor
        for a in self.actors:
            kill_actor(a)
        self.actors = []


_POOLS: dict[tuple, HwsimPool] = {}


def get_pool(num_shards: int = 2, num_cpus: float = 0.5) -> HwsimPool:
    """The process's pool over the job's named shard actors: created on first call, reached
    by name from any other process of the same Ray job (e.g. a Tune trial).  One per Ray
    session: after ``ray.shutdown()`` and a new ``ray.init()`` in the same process (a
    notebook running two searches) the old pool's actor handles belong to the old cluster
    ("Can't find actor ... from a different cluster"), so the driver's node ID, new with
    each cluster, is part of the key."""
    import ray
    check_pool(num_shards, num_cpus)
    from cluster.pool import start_ray
    start_ray()
    key = (int(num_shards), float(num_cpus), ray.get_runtime_context().get_node_id())
    pool = _POOLS.get(key)
    if pool is None or not pool.actors:
        pool = _POOLS[key] = HwsimPool(num_shards, num_cpus)
    return pool
