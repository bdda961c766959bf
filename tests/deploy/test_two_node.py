"""Beyond one machine: a two-node ``ray.cluster_utils.Cluster`` (one CPU per node) runs a
small inversion and a small search, and the work lands on both nodes (by node id).

The two nodes share this machine's file system, as the run directory must be shared
storage on a real cluster (docs/guide.md, "Clusters")."""
import pytest
import torch


@pytest.fixture(scope="module")
def two_nodes():
    import ray
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster
    from cluster.connect import connect
    ray_constants.ENABLE_RAY_CLUSTER = False        # every node on 127.0.0.1
    cluster = Cluster(initialize_head=True,
                      head_node_args={"num_cpus": 1, "include_dashboard": True,
                                      "dashboard_host": "127.0.0.1"})
    cluster.add_node(num_cpus=1)
    connect(cluster.address)
    assert len([n for n in ray.nodes() if n["Alive"]]) == 2
    yield cluster
    ray.shutdown()
    cluster.shutdown()


@pytest.fixture(scope="module")
def digits_teacher(tmp_path_factory, digits):
    """A small BN convnet on 8x8 digits (DeepInversion needs BatchNorm statistics)."""
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    from synth.train import TrainConfig, fit
    torch.manual_seed(0)
    spec = {"family": "convnet", "widths": [8, 16], "kernels": [3, 3], "strides": [1, 1],
            "bn": True, "pool": "avg", "hidden": [32]}
    model = build(spec, digits.input_shape, digits.num_classes)
    fit(model, digits, TrainConfig(epochs=3, optimizer="adam", lr=3e-3, progress=False))
    path = tmp_path_factory.mktemp("teacher") / "teacher.pt"
    save_checkpoint(path, model, dataset=digits.metadata())
    return path


def _nodes_of(class_name: str) -> set[str]:
    from ray.util.state import list_actors
    return {a.node_id for a in list_actors(filters=[("class_name", "=", class_name)],
                                           limit=1000)}


def test_inversion_on_both_nodes(two_nodes, digits_teacher, tmp_path):
    import ray
    from cluster.pairs import run_synthesis
    from synth.data import read_parquet_table
    from synth.inversion import InversionConfig
    config = InversionConfig.preset("mnist28", iterations=30, min_iterations=10, batch_size=32)
    summary = run_synthesis(digits_teacher, tmp_path / "synthetic", num_images=64, pairs=2,
                            config=config, seed=0, shard_size=16)
    assert summary["images_written"] == 64 and summary["written"] == 4
    table, _ = read_parquet_table(tmp_path / "synthetic")
    assert table.num_rows == 64
    alive = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert _nodes_of("PairActor") == alive          # one pair actor on each node
