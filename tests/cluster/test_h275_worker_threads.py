"""A Ray Train worker's torch threads do not hang on what was free when it was placed (h275).

``Scaling.cpus`` asks for no more CPUs than are free at that moment (else a worker that
asked for a whole node waited forever behind an actor holding one), and the worker set its
torch threads to the CPUs it was granted.  So the thread count, and with it the last bits of
every float sum torch splits over threads, followed whatever else held CPUs just then: the
two runs of a sweep of ``tiny`` (seeds 0 and 1, max_parallel 2) trained the same refined
models as a second sweep of the same file only to 3e-8 (features.0.weight), as the other
run's stage at that moment left 1 or 2 CPUs free.  The worker now trains with the count the
setting and the node size plan (``Scaling.threads``), whatever was free."""
import ray
import torch

from cluster.train import Scaling, train_model


def _threads_task(inputs: dict, parallel):
    from synth.models import build
    return build({"family": "mlp", "hidden": [2]}, (2,), 2), {"threads": torch.get_num_threads()}


@ray.remote(num_cpus=1)
class _Holder:
    def ping(self) -> int:
        return 1


def test_a_worker_trains_with_the_planned_threads_whatever_is_free(ray_local):
    holder = _Holder.remote()
    try:
        ray.get(holder.ping.remote())   # one of the 2 CPUs held
        assert ray.available_resources().get("CPU", 0) <= 1
        scaling = Scaling(num_workers=1)
        assert scaling.cpus() == 1.0       # the request still fits what is free
        _, metrics = train_model(_threads_task, {}, scaling=scaling, device="cpu",
                                 name="threads")
        assert metrics["threads"] == 2, metrics   # 1 before
        assert scaling.threads() == 2
    finally:
        ray.kill(holder)
