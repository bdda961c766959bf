"""One small Tune search with Ray: two tiny trials on digits, priced by the hwsim pool;
results.parquet, the Pareto plot and the best checkpoint; resuming repeats nothing."""
import json

import pytest

from search.results import read_results
from search.run import SearchConfig, run_search


@pytest.fixture(scope="module")
def ray_session():
    import ray
    yield
    ray.shutdown()


def test_tiny_search_and_resume(ray_session, tmp_path):
    space = tmp_path / "tiny.yaml"
    space.write_text("family: convnet\nparams:\n  widths: {list: [4, 8], length: [1, 2]}\n"
                     "  kernels: {list: [3], length: widths}\n  strides: {list: [1], length: widths}\n"
                     "  pool: flatten\n")
    config = SearchConfig(space=str(space), dataset="digits", trials=2, concurrency=2,
                          n_initial=2, epochs=1, pool_shards=1)
    out = tmp_path / "run"
    summary = run_search(config, out, progress=False)
    table = read_results(out / "results.parquet")
    assert summary["trials"] == 2 == len(table) == table["trial_id"].nunique()
    assert table["spec"].nunique() == 2
    assert (table["latency_ms"] > 0).all() and (table["energy_mj"] > 0).all()
    assert (table["accuracy"] > 0.3).all()  # chance is 0.1
    assert summary["best_accuracy"] == table["accuracy"].max()
    assert (out / "pareto.png").stat().st_size > 1000 and (out / "best.pt").exists()
    assert json.loads((out / "search_config.json").read_text())["trials"] == 2
    again = run_search(None, out, resume=True, progress=False)  # all finished: nothing reruns
    after = read_results(out / "results.parquet")
    assert again["trials"] == 2 and list(after["trial_id"]) == list(table["trial_id"])
