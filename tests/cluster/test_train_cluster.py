"""Ray Train on a cluster whose head has no CPU: ``nnsynth run tiny`` finishes, and every
training (teacher, grow-and-prune, search trials, synthesis pairs) ran on the two worker
nodes, never on the head (node ids recorded by the trainings and by Ray's state API)."""
import pytest


@pytest.fixture(scope="module")
def headless_cluster():
    import ray
    from tests.deploy.raytools import loopback_cluster
    with loopback_cluster(0, [1, 1]) as (cluster, dashboard):
        head = ray.get_runtime_context().get_node_id()  # the driver joins through the head
        yield cluster, head, dashboard


@pytest.mark.timeout(1500)   # 462 s at load 19 on 2 cores; over 600 s at load 60
def test_tiny_run_trains_on_workers_only(headless_cluster, tmp_path):
    from deploy.pipeline import run_pipeline
    from deploy.run_config import load_run_config
    from tests.deploy.raytools import nodes_of
    cluster, head, dashboard = headless_cluster
    config = load_run_config("tiny", {"teacher": {**load_run_config("tiny").teacher.to_dict(),
                                                  "cache": ""}})
    result = run_pipeline(config, tmp_path / "run", address=cluster.address, progress=False)
    assert 0 < result["final_test_accuracy"] <= 1
    import json
    outputs = {s: e["outputs"] for s, e in
               json.loads((tmp_path / "run" / "ledger.json").read_text())["stages"].items()}
    trained = set(outputs["teacher"]["trained_on"]) | set(outputs["refine"]["trained_on"])
    assert trained and head not in trained
    for actor in ("RayTrainWorker", "PairActor", "ImplicitFunc"):
        nodes = nodes_of(actor, dashboard)
        assert nodes and head not in nodes, actor
