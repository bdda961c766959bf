"""DSE Pareto set and best config; per-op tables and the summing predictor."""
import numpy as np
import pytest

from hwsim import tables
from hwsim.dse import DseConfig, candidates, explore, pareto_mask
from hwsim.workload import extract
from synth.errors import ConfigError
from synth.models import build


def _dominated(pts, i):
    return bool((np.all(pts <= pts[i], axis=1) & np.any(pts < pts[i], axis=1)).any())


def test_pareto_mask_matches_brute_force():
    rng = np.random.default_rng(0)
    for pts in (rng.random((300, 3)), np.round(rng.random((300, 3)) * 4)):
        mask = pareto_mask(pts)
        assert all(mask[i] == (not _dominated(pts, i)) for i in range(len(pts)))


@pytest.fixture(scope="module")
def workloads():
    return {"lenet5": extract(build("lenet5", (1, 28, 28), 10), (1, 28, 28)),
            "resnet8_w16": extract(build("resnet8_w16", (3, 16, 16), 10), (3, 16, 16))}


def test_explore_valid_pareto_and_best(workloads):
    cfg = DseConfig(rows=(4, 16, 64), cols=(4, 16, 64), ifmap_kb=(8, 64), filter_kb=(8, 64),
                    ofmap_kb=(8,), area_budget_mm2=1.5)
    res = explore(workloads, cfg)
    assert res["evaluated"] == 3 * 3 * 3 * 2 * 2
    pts = np.array([[r["geomean_latency_ms"], r["geomean_energy_mj"], r["area_mm2"]]
                    for r in res["pareto"]])
    assert all(not _dominated(pts, i) for i in range(len(pts)))
    best = res["best"]
    assert best["area_mm2"] <= 1.5
    for name in workloads:                      # the joint best is never better than own best
        assert res["best_slowdown"][name] >= 1.0
        assert res["per_network_best"][name]["latency_ms"][name] <= best["latency_ms"][name]
    # geomean of per-network latency
    g = np.exp(np.mean(np.log(list(best["latency_ms"].values()))))
    assert best["geomean_latency_ms"] == pytest.approx(g)


def test_dse_sampling_and_errors(workloads):
    assert len(candidates(DseConfig(budget=50, seed=1))) == 50
    assert candidates(DseConfig(budget=50, seed=1)) == candidates(DseConfig(budget=50, seed=1))
    with pytest.raises(ConfigError, match="area_budget_mm2"):
        explore(workloads, DseConfig(rows=(4,), cols=(4,), area_budget_mm2=1e-6))
    with pytest.raises(ConfigError, match="dataflows"):
        DseConfig(dataflows=("zz",))
    with pytest.raises(ConfigError, match="base must be"):   # YAML base: [[[1], 2]]
        DseConfig.from_dict({"base": [[[1], 2]]})


def test_tables_predict_sums(workloads):
    ops = workloads["lenet5"]
    for dev in ("accel", "spring"):
        t = tables.build_table(ops, dev)
        pred = tables.predict(t, ops)
        assert not pred["missing"] and pred["latency_ms"] > 0
    from hwsim.accel import evaluate
    assert tables.predict(tables.build_table(ops, "accel"), ops)["latency_ms"] == \
        pytest.approx(evaluate(ops)["latency_ms"])
    cpu = tables.build_table(ops, "cpu", repeats=4)
    assert len(cpu) <= len(ops) and all(r["latency_ms"] > 0 for r in cpu.values())
    assert tables.predict({}, ops)["missing"] == [o.name for o in ops]


def test_width_sweep_flags():
    rows = tables.width_sweep("linear", [8, 16, 32], batch=2, repeats=4)
    assert [r["width"] for r in rows] == [8, 16, 32] and rows[0]["faster_than_narrower"] is False
    assert all(isinstance(r["faster_than_narrower"], bool) for r in rows)
    assert tables.width_sweep("lstm", [8], batch=2, seq_len=2, repeats=4)[0]["macs"] == 2 * 2 * 4 * 8 * 16


def test_dse_takes_non_square_arrays_and_refuses_nonsense_dimensions(workloads):
    """Rows and columns are independent axes (1 x 64 and 64 x 1 included); a 0, negative,
    NaN or too large dimension or scratchpad is refused when the DseConfig is made, naming
    the field (0 passed DseConfig and failed only when the grid was built)."""
    from hwsim.accel import AcceleratorConfig, evaluate_many
    cfg = DseConfig(rows=(1, 8, 64), cols=(1, 32, 64), ifmap_kb=(64,), filter_kb=(64,),
                    ofmap_kb=(64,), area_budget_mm2=100.0)
    res = explore(workloads, cfg)
    dims = {(r["config"]["rows"], r["config"]["cols"]) for r in res["pareto"]}
    assert res["evaluated"] == 3 * 3 * 3 and any(r != c for r, c in dims)
    one_row = [c for c in candidates(cfg) if (c.rows, c.cols, c.dataflow) == (1, 64, "ws")]
    want = evaluate_many(workloads["lenet5"],
                         [AcceleratorConfig(rows=1, cols=64, ifmap_kb=64, filter_kb=64,
                                            ofmap_kb=64)])["latency_ms"][0]
    assert evaluate_many(workloads["lenet5"], one_row)["latency_ms"][0] == want
    for bad, phrase in [({"rows": (8, 0)}, "rows value must be in [1, 4096], got 0"),
                        ({"cols": (-4,)}, "cols value must be in [1, 4096], got -4"),
                        ({"rows": (float("nan"),)},
                         "rows value must be an integer in [1, 4096], got nan"),
                        ({"cols": (4097,)}, "cols value must be in [1, 4096]"),
                        ({"ifmap_kb": (0,)}, "ifmap_kb value must be in (0, "),
                        ({"filter_kb": (-8.0,)}, "filter_kb value must be in (0, "),
                        ({"ofmap_kb": (float("nan"),)}, "ofmap_kb value must be a number")]:
        with pytest.raises(ConfigError) as err:
            DseConfig(**bad)
        assert phrase in str(err.value) and "\n" not in str(err.value), (bad, str(err.value))


def test_best_breaks_latency_ties_by_energy_then_area():
    """One Linear layer is as fast on 8 KiB as on 128 KiB scratchpads; with the grid listed
    from large to small, the best (and each network's own best) was the first in grid order:
    11x the area and more energy than a configuration of equal latency, outside the Pareto
    set.  Now the least energy, then area, among the fastest."""
    ops = {"lin": extract(build({"family": "mlp", "hidden": []}, (64,), 32), (64,))}
    cfg = DseConfig(rows=(4,), cols=(32,), dataflows=("os",), ifmap_kb=(128, 8),
                    filter_kb=(128, 8), ofmap_kb=(128, 8))
    r = explore(ops, cfg)
    lat = min(p["geomean_latency_ms"] for p in r["pareto"])
    ties = [p for p in r["pareto"] if p["geomean_latency_ms"] == lat]
    for best in (r["best"], r["per_network_best"]["lin"]):
        assert best["config"]["ifmap_kb"] == best["config"]["filter_kb"] == 8.0
        assert best["config"]["ofmap_kb"] == 8.0 and best["geomean_latency_ms"] == lat
        assert any(p["config"] == best["config"] for p in ties)
