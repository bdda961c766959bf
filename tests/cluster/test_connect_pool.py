import os

import pytest
import ray

from cluster.connect import connect
from cluster.pool import ResilientActorPool


@ray.remote(num_cpus=1)
class _Worker:
    def __init__(self):
        from cluster.connect import match_torch_threads
        self.threads = match_torch_threads()

    def work(self, item):
        if item == "die" and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)
        return item, self.threads, os.getpid()

    def set_marker(self, path):
        self.marker = path


def test_connect_idempotent_local(ray_local):
    connect(num_cpus=2)
    assert ray.is_initialized()
    assert connect() is not None and ray.cluster_resources()["CPU"] == 2
    node = ray.nodes()[0]
    assert node["NodeManagerAddress"] == "127.0.0.1"


def test_connect_to_another_cluster_while_connected_is_an_error(ray_local):
    """Joining a named cluster while this process is already in another one used to return
    the running context silently: the caller then worked on the wrong cluster (the
    two-node test saw one node when a module before it left Ray up)."""
    from synth.errors import UserError
    current = ray.get_runtime_context().gcs_address
    assert connect(current) is not None                  # the same cluster: idempotent
    with pytest.raises(UserError, match="already connected to .* cannot join 127.0.0.1:1"):
        connect("127.0.0.1:1")


def test_pool_restarts_dead_actor_and_resubmits(ray_local, tmp_path):
    marker = str(tmp_path / "died-once")

    def factory(i):
        w = _Worker.remote()
        ray.get(w.set_marker.remote(marker))
        return w
    pool = ResilientActorPool(factory, size=2)
    items = ["a", "b", "die", "c", "d"]
    results = list(pool.map_unordered("work", items))
    assert sorted(i for i, _ in results) == sorted(items)      # each exactly once
    assert all(r[1] == 1 for _, r in results)                   # torch threads = CPUs given
    assert pool.restarts == 1
    pool.shutdown()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
def test_run_on_cuda_without_a_gpu_in_the_cluster_is_refused(ray_local, tmp_path):
    """A run config asking for device cuda:N is checked without this machine's devices (a
    cluster's workers may have the GPUs); once Ray is up and has no GPU, the run stops with
    a one-line error instead of training on CPUs as if the device had been honoured."""
    from deploy.ledger import RunContext
    from deploy.run_config import load_run_config
    from synth.errors import UserError
    connect(num_cpus=2)
    ctx = RunContext(load_run_config("tiny", {"device": "cuda:7"}), tmp_path, address=None,
                     progress=False, log=print)
    with pytest.raises(UserError, match="device cuda:7: the Ray cluster this run uses has no GPU"):
        ctx.connect_ray()
    RunContext(load_run_config("tiny", {"device": "auto"}), tmp_path, address=None,
               progress=False, log=print).connect_ray()
    from search.run import SearchConfig, run_search      # a search's config, the same way
    with pytest.raises(UserError, match="device cuda: the Ray cluster this run uses has no GPU"):
        run_search(SearchConfig(dataset="iris", space="mlp", trials=1, device="cuda"),
                   tmp_path / "search", progress=False)
    assert not (tmp_path / "search" / "results.parquet").exists()
