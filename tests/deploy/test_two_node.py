"""Beyond one machine: a ``ray.cluster_utils.Cluster`` whose head has no CPU and whose two
worker nodes have one each runs a small inversion, a small search and a sweep, and the work
lands on both worker nodes (by node id); a run of tiny's stages (on digits) on it finishes
with every training on the workers, never on the head.

The nodes share this machine's file system, as the run directory must be shared storage on
a real cluster (README, "Clusters").  One cluster serves the module: the headless-cluster
test (formerly tests/cluster/test_train_cluster.py, with a cluster of its own) and the
two-node tests each started one, ~15-20 s of Ray start-up and teardown apiece."""
import pytest
import torch

from tests.deploy.raytools import nodes_of


@pytest.fixture(scope="module")
def two_nodes():
    """(cluster, dashboard URL, head node id): a head with no CPU, which this process joins,
    and two worker nodes with one CPU each."""
    import ray
    from tests.deploy.raytools import loopback_cluster
    with loopback_cluster(0, [1, 1]) as (cluster, dashboard):
        head = ray.get_runtime_context().get_node_id()  # the driver joins through the head
        assert len(_workers()) == 2 and head not in _workers()
        yield cluster, dashboard, head


DIGITS_TEACHER = {"family": "convnet", "widths": [8, 16], "kernels": [3, 3], "strides": [1, 1],
                  "bn": True, "pool": "avg", "hidden": [32]}


@pytest.fixture(scope="module")
def digits_teacher(tmp_path_factory, digits):
    """A small BN convnet on 8x8 digits (DeepInversion needs BatchNorm statistics)."""
    from hwsim.latency import torch_threads
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    from synth.train import TrainConfig, fit
    torch.manual_seed(0)
    model = build(DIGITS_TEACHER, digits.input_shape, digits.num_classes)
    with torch_threads(1):    # as tests/deploy/teachers.py: two threads crawl on a busy CPU
        fit(model, digits, TrainConfig(epochs=3, optimizer="adam", lr=3e-3, progress=False))
    path = tmp_path_factory.mktemp("teacher") / "teacher.pt"
    save_checkpoint(path, model, dataset=digits.metadata())
    return path


def _workers() -> set[str]:
    """The alive nodes with CPUs: the two worker nodes (the head has none)."""
    import ray
    return {n["NodeID"] for n in ray.nodes()
            if n["Alive"] and n["Resources"].get("CPU", 0) > 0}


@pytest.fixture(scope="module")
def synthetic(two_nodes, digits_teacher, tmp_path_factory):
    from cluster.pairs import run_synthesis
    from synth.inversion import InversionConfig
    out = tmp_path_factory.mktemp("synthetic")
    config = InversionConfig.preset("mnist28", iterations=30, min_iterations=10, batch_size=32)
    summary = run_synthesis(digits_teacher, out, num_images=128, pairs=2,
                            config=config, seed=0, shard_size=32)
    return out, summary


def test_the_cluster_requires_a_token(two_nodes):
    """raytools.loopback_cluster started its nodes without token authentication (Ray 2.60
    enables it by default in ray.init only): its dashboard accepted a job-API request that
    carried no token (200).  Now 401, and every node's GCS was started in token mode."""
    import urllib.error
    import urllib.request
    from ray._raylet import AuthenticationMode, get_authentication_mode
    assert get_authentication_mode() == AuthenticationMode.TOKEN
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{two_nodes[1]}/api/jobs/", timeout=10)
    assert refused.value.code in (401, 403)


def test_inversion_on_both_nodes(synthetic, two_nodes):
    from synth.data import read_parquet_table
    out, summary = synthetic
    assert summary["images_written"] == 128 and summary["written"] == 4
    table, _ = read_parquet_table(out)
    assert table.num_rows == 128
    assert nodes_of("PairActor", two_nodes[1]) == _workers()   # one pair actor on each node


def test_search_on_both_nodes(synthetic, two_nodes, digits_teacher, tmp_path):
    """Two concurrent trials, one CPU each, on two one-CPU worker nodes: one trial per node."""
    from search.run import SearchConfig, run_search
    out, _ = synthetic
    config = SearchConfig(dataset="digits", teacher=str(digits_teacher), data=str(out),
                          trials=2, concurrency=2, n_initial=2, epochs=1, pool_shards=0)
    summary = run_search(config, tmp_path / "search", progress=False)
    assert summary["trials"] == 2
    assert (tmp_path / "search" / "results.parquet").is_file()
    assert nodes_of("ImplicitFunc", two_nodes[1]) == _workers()   # Tune's trial actors, by node


def test_sweep_runs_each_config_in_its_own_run_dir(two_nodes, tmp_path):
    """``nnsynth sweep``: a grid expanded, validated, run as Ray tasks, one row per run.
    (The runs export no ONNX and price nothing: no part of what a sweep does, and this test
    took 34-48 s with them, 21-33 s without; tests/deploy/test_job_submit.py exports a run.
    Nor do they train their teachers: each run finds its own in its teacher cache, trained
    here in-process, so no Ray Train starts on the workers twice; Ray Train on this cluster
    is test_tiny_run_trains_on_workers_only's, and in a sweep task the loopback test's.)"""
    import json
    import pyarrow.parquet as pq
    from deploy.sweep import SweepConfig, expand, run_sweep
    from tests.deploy.teachers import seed_teacher_cache
    base = tmp_path / "base.yaml"
    cache = tmp_path / "teachers"
    base.write_text('teacher: {dataset: digits, model: \'{"family": "mlp", "hidden": [16]}\', '
                    f'epochs: 1, cache: "{cache}"}}\nsynthesis: {{enabled: false}}\n'
                    'search: {enabled: false}\nrefine: {enabled: false}\n'
                    'export: {onnx: false, price: false}\n')
    sweep = SweepConfig(name="s", base=str(base), root=str(tmp_path / "sweeps"),
                        grid={"teacher.batch_size": [32, 128]}, max_parallel=2)
    runs = expand(sweep)
    assert [c.teacher.batch_size for _, c in runs] == [32, 128]
    seeded = {seed_teacher_cache(c, cache).name for _, c in runs}
    assert len(seeded) == 2                        # each run's config has a teacher of its own
    rows = run_sweep(sweep, runs, echo=lambda m: None)
    assert [r["error"] for r in rows] == ["", ""]
    for r in rows:
        assert (tmp_path / "sweeps" / "s" / r["name"] / "final.pt").is_file()
        ledger = json.loads((tmp_path / "sweeps" / "s" / r["name"] / "ledger.json").read_text())
        assert ledger["stages"]["teacher"]["outputs"]["reused"]
    table = pq.read_table(tmp_path / "sweeps" / "s" / "sweep.parquet").to_pylist()
    assert [t["name"] for t in table] == [r["name"] for r in rows]
    assert all(0 < t["final_test_accuracy"] <= 1 for t in table)


@pytest.mark.timeout(1500)   # 462 s at load 19 on 2 cores; over 600 s at load 60
def test_tiny_run_trains_on_workers_only(two_nodes, tmp_path):
    """Ray Train on a cluster whose head has no CPU: ``nnsynth run tiny`` finishes, and every
    training (teacher, grow-and-prune, search trials, synthesis pairs) ran on the two worker
    nodes, never on the head (node ids recorded by the trainings and by Ray's state API).
    The export stage, in the driver, trains nothing: it exports no ONNX and prices nothing
    here (tests/deploy/test_job_submit.py runs tiny's).  Where a run trains is no matter
    of its data: tiny's stages and sizes run on 8x8 digits with the module's small BN
    convnet teacher (and an MLP student), not on 28x28 mnist5k with LeNet-5s
    (tests/deploy/test_job_submit.py runs tiny itself)."""
    import json
    from deploy.pipeline import run_pipeline
    from deploy.run_config import load_run_config
    cluster, dashboard, head = two_nodes
    tiny = load_run_config("tiny")
    config = load_run_config("tiny", {
        "teacher": {**tiny.teacher.to_dict(), "dataset": "digits", "model": json.dumps(
            DIGITS_TEACHER), "cache": ""},
        "synthesis": {**tiny.synthesis.to_dict(), "student": json.dumps(
            {"family": "mlp", "hidden": [16]})},
        "export": {"onnx": False, "price": False}})
    result = run_pipeline(config, tmp_path / "run", address=cluster.address, progress=False)
    assert 0 < result["final_test_accuracy"] <= 1
    outputs = {s: e["outputs"] for s, e in
               json.loads((tmp_path / "run" / "ledger.json").read_text())["stages"].items()}
    trained = set(outputs["teacher"]["trained_on"]) | set(outputs["refine"]["trained_on"])
    assert trained and head not in trained
    for actor in ("RayTrainWorker", "PairActor", "ImplicitFunc"):
        nodes = nodes_of(actor, dashboard)
        assert nodes and head not in nodes, actor
