"""A fault-tolerant actor pool: submit work items, collect results as they finish,
restart a dead actor and resubmit its unfinished item.

Ray's ``ActorPool`` gives ordered/unordered maps but gives up when an actor dies; this
pool keeps one item in flight per actor, and on ``RayActorError`` builds a fresh actor
with the same factory and resubmits the lost item (up to ``max_retries`` per item).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator


def start_ray() -> None:
    """Ray through ``cluster.connect`` (loopback, token auth, no dashboard) when this process
    has none: the first ``.remote()`` of a pool's actor otherwise started Ray's own default
    local instance (``ray.init()``: its dashboard on port 8265, a random namespace that the
    named hwsim shards of a later ``get_pool`` did not share)."""
    import ray
    if not ray.is_initialized():
        from cluster.connect import connect
        connect()


def kill_actor(actor) -> None:
    """Kill ``actor`` without restart; one that is already dead or gone is fine."""
    import ray
    try:
        ray.kill(actor, no_restart=True)
    except Exception:  # already dead or gone
        pass


def replace_actor(actors: list, slot: int, factory: Callable[[int], Any]) -> None:
    """Kill ``actors[slot]`` (if it is still alive) and put a fresh ``factory(slot)`` there."""
    kill_actor(actors[slot])
    actors[slot] = factory(slot)


class ResilientActorPool:
    """``factory(i)`` returns actor handle i; ``method`` is called as ``actor.method.remote(item)``.

    >>> pool = ResilientActorPool(lambda i: Worker.remote(), size=2)
    >>> for item, result in pool.map_unordered("run", items): ...
    """

    def __init__(self, factory: Callable[[int], Any], size: int, max_retries: int = 3):
        if size < 1:
            from synth.errors import UserError
            raise UserError(f"actor pool size must be >= 1, got {size}")
        start_ray()
        self.factory = factory
        self.max_retries = max_retries
        self.actors = [factory(i) for i in range(size)]
        self.restarts = 0

    def __len__(self) -> int:
        return len(self.actors)

    def restart(self, slot: int) -> None:
        """Replace actor ``slot`` by a fresh one from the factory (counted in ``restarts``)."""
        replace_actor(self.actors, slot, self.factory)
        self.restarts += 1

    def map_unordered(self, method: str, items: Iterable[Any],
                      on_result: Callable[[Any, Any], None] | None = None,
                      slot_of: Callable[[Any], int] | None = None,
                      ) -> Iterator[tuple[Any, Any]]:
        """Yield ``(item, result)`` in completion order; every item is yielded exactly once.
        An item goes to the first free actor, or with ``slot_of`` to actor ``slot_of(item)``
        alone, each actor's items in the order given: work whose result depends on what
        its actor ran before (a learning student) then comes out the same whichever actor
        finishes first."""
        import ray
        from ray.exceptions import RayActorError
        queues: list[list[tuple[int, Any]]] = [[]] if slot_of is None else [
            [] for _ in self.actors]
        for index, item in enumerate(items):
            slot = 0 if slot_of is None else slot_of(item)
            if not 0 <= slot < len(self.actors):
                raise ValueError(f"slot_of gave {slot} for a pool of {len(self.actors)} actors")
            queues[slot].append((index, item))
        queues = [q[::-1] for q in queues]   # popped from the end: in the order given
        retries: dict[int, int] = {}
        in_flight: dict[Any, tuple[int, int, Any]] = {}  # ref -> (slot, item index, item)
        free = list(range(len(self.actors)))

        def submit(slot: int, index: int, item: Any) -> None:
            ref = getattr(self.actors[slot], method).remote(item)
            in_flight[ref] = (slot, index, item)

        while any(queues) or in_flight:
            for slot in list(free):
                queue = queues[0 if slot_of is None else slot]
                if queue:
                    free.remove(slot)
                    submit(slot, *queue.pop())
            done, _ = ray.wait(list(in_flight), num_returns=1)
            ref = done[0]
            slot, index, item = in_flight.pop(ref)
            try:
                result = ray.get(ref)
            except RayActorError:
                retries[index] = retries.get(index, 0) + 1
                if retries[index] > self.max_retries:
                    raise
                self.restart(slot)
                submit(slot, index, item)
                continue
            free.append(slot)
            if on_result is not None:
                on_result(item, result)
            yield item, result

    def call_all(self, method: str, *args, **kwargs) -> list[Any]:
        """Call ``method`` on every actor (e.g. to broadcast new weights)."""
        import ray
        return ray.get([getattr(a, method).remote(*args, **kwargs) for a in self.actors])

    def shutdown(self) -> None:
        for a in self.actors:
            kill_actor(a)
        self.actors = []
