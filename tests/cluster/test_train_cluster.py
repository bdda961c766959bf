"""Ray Train on a cluster whose head has no CPU: ``nnsynth run tiny`` finishes, and every
training (teacher, grow-and-prune, search trials, synthesis pairs) ran on the two worker
nodes, never on the head (node ids recorded by the trainings and by Ray's state API)."""
import pytest


@pytest.fixture(scope="module")
def headless_cluster():
    import ray
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster
    from cluster.connect import connect
    from tests.deploy.raytools import free_ports
    ray_constants.ENABLE_RAY_CLUSTER = False        # every node on 127.0.0.1
    dashboard = free_ports(1)[0]
    cluster = Cluster(initialize_head=True,    # the dashboard serves ray.util.state below
                      head_node_args={"num_cpus": 0, "include_dashboard": True,
                                      "dashboard_host": "127.0.0.1",
                                      "dashboard_port": dashboard})
    cluster.add_node(num_cpus=1)
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes(timeout=180)   # add_node returns before the GCS lists the node
    connect(cluster.address)
    head = ray.get_runtime_context().get_node_id()  # the driver joins through the head
    assert len([n for n in ray.nodes() if n["Alive"]]) == 3
    yield cluster, head, f"http://127.0.0.1:{dashboard}"
    ray.shutdown()
    cluster.shutdown()


def _nodes_of(class_name: str, dashboard: str) -> set[str]:
    """Nodes of the actors of ``class_name``, asked of *this* cluster's dashboard (without an
    address, ray.util.state asks the Ray most recently started on the machine).  The name
    may come qualified (Tune's function trainables: ``wrap_function.<locals>.ImplicitFunc``)."""
    from ray.util.state import list_actors
    return {a.node_id for a in list_actors(address=dashboard, limit=10000)
            if a.class_name.rsplit(".", 1)[-1] == class_name}


@pytest.mark.timeout(1500)   # 462 s at load 19 on 2 cores; over 600 s at load 60
def test_tiny_run_trains_on_workers_only(headless_cluster, tmp_path):
    from deploy.pipeline import run_pipeline
    from deploy.run_config import load_run_config
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
        nodes = _nodes_of(actor, dashboard)
        assert nodes and head not in nodes, actor
