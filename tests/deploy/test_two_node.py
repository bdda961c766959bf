"""Beyond one machine: a two-node ``ray.cluster_utils.Cluster`` (one CPU per node) runs a
small inversion and a small search, and the work lands on both nodes (by node id).

The two nodes share this machine's file system, as the run directory must be shared
storage on a real cluster (README, "Clusters")."""
import pytest
import torch

from tests.deploy.raytools import nodes_of


@pytest.fixture(scope="module")
def two_nodes():
    """(cluster, dashboard URL) of a head and one worker node, one CPU each."""
    from tests.deploy.raytools import loopback_cluster
    with loopback_cluster(1, [1]) as nodes:
        yield nodes


@pytest.fixture(scope="module")
def digits_teacher(tmp_path_factory, digits):
    """A small BN convnet on 8x8 digits (DeepInversion needs BatchNorm statistics)."""
    from hwsim.latency import torch_threads
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    from synth.train import TrainConfig, fit
    torch.manual_seed(0)
    spec = {"family": "convnet", "widths": [8, 16], "kernels": [3, 3], "strides": [1, 1],
            "bn": True, "pool": "avg", "hidden": [32]}
    model = build(spec, digits.input_shape, digits.num_classes)
    with torch_threads(1):    # as tests/deploy/teachers.py: two threads crawl on a busy CPU
        fit(model, digits, TrainConfig(epochs=3, optimizer="adam", lr=3e-3, progress=False))
    path = tmp_path_factory.mktemp("teacher") / "teacher.pt"
    save_checkpoint(path, model, dataset=digits.metadata())
    return path


def _alive() -> set[str]:
    import ray
    return {n["NodeID"] for n in ray.nodes() if n["Alive"]}


@pytest.fixture(scope="module")
def synthetic(two_nodes, digits_teacher, tmp_path_factory):
    from cluster.pairs import run_synthesis
    from synth.inversion import InversionConfig
    out = tmp_path_factory.mktemp("synthetic")
    config = InversionConfig.preset("mnist28", iterations=30, min_iterations=10, batch_size=32)
    summary = run_synthesis(digits_teacher, out, num_images=128, pairs=2,
                            config=config, seed=0, shard_size=32)
    return out, summary


def test_inversion_on_both_nodes(synthetic, two_nodes):
    from synth.data import read_parquet_table
    out, summary = synthetic
    assert summary["images_written"] == 128 and summary["written"] == 4
    table, _ = read_parquet_table(out)
    assert table.num_rows == 128
    assert nodes_of("PairActor", two_nodes[1]) == _alive()   # one pair actor on each node


def test_search_on_both_nodes(synthetic, two_nodes, digits_teacher, tmp_path):
    """Two concurrent trials, one CPU each, on two one-CPU nodes: one trial per node."""
    from search.run import SearchConfig, run_search
    out, _ = synthetic
    config = SearchConfig(dataset="digits", teacher=str(digits_teacher), data=str(out),
                          trials=2, concurrency=2, n_initial=2, epochs=1, pool_shards=0)
    summary = run_search(config, tmp_path / "search", progress=False)
    assert summary["trials"] == 2
    assert (tmp_path / "search" / "results.parquet").is_file()
    assert nodes_of("ImplicitFunc", two_nodes[1]) == _alive()   # Tune's trial actors, by node


def test_sweep_runs_each_config_in_its_own_run_dir(two_nodes, tmp_path):
    """``nnsynth sweep``: a grid expanded, validated, run as Ray tasks, one row per run."""
    import pyarrow.parquet as pq
    from deploy.sweep import SweepConfig, expand, run_sweep
    base = tmp_path / "base.yaml"
    base.write_text('teacher: {dataset: digits, model: \'{"family": "mlp", "hidden": [16]}\', '
                    'epochs: 2, cache: ""}\nsynthesis: {enabled: false}\n'
                    'search: {enabled: false}\nrefine: {enabled: false}\n')
    sweep = SweepConfig(name="s", base=str(base), root=str(tmp_path / "sweeps"),
                        grid={"teacher.batch_size": [32, 128]}, max_parallel=2)
    runs = expand(sweep)
    assert [c.teacher.batch_size for _, c in runs] == [32, 128]
    rows = run_sweep(sweep, runs, echo=lambda m: None)
    assert [r["error"] for r in rows] == ["", ""]
    for r in rows:
        assert (tmp_path / "sweeps" / "s" / r["name"] / "final.pt").is_file()
    table = pq.read_table(tmp_path / "sweeps" / "s" / "sweep.parquet").to_pylist()
    assert [t["name"] for t in table] == [r["name"] for r in rows]
    assert all(0 < t["final_test_accuracy"] <= 1 for t in table)
