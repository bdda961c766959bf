"""An accel table's prediction of the network it was built from is ``hwsim eval``'s figure
to the bit (h300): the rows' ms and mJ were summed while eval sums cycles and pJ, and 240
of 480 figures (5 networks x 48 arrays) differed in the last digit (0.017721999999999998
against 0.017722 ms).  Rows now carry their cycles and pJ, summed as eval sums them."""
import json

import pytest

import hwsim
from hwsim import accel, tables
from hwsim.accel import AcceleratorConfig

SPECS = [("lenet5", (1, 28, 28), 10), ({"family": "mlp", "hidden": [64, 32]}, (13,), 3),
         ({"family": "hlstm", "hidden": [8]}, (2, 9), 3)]
CONFIGS = [AcceleratorConfig(), AcceleratorConfig(rows=8, cols=64, dataflow="os", ifmap_kb=0.5,
                                                  filter_kb=0.5, ofmap_kb=0.5, clock_mhz=50),
           AcceleratorConfig(rows=256, cols=4, dataflow="is", clock_mhz=1),
           AcceleratorConfig(rows=1, cols=1, ifmap_kb=1, filter_kb=1, ofmap_kb=1, clock_mhz=1)]


@pytest.mark.parametrize("cfg", CONFIGS, ids=["default", "8x64os", "256x4is", "1x1"])
def test_a_tables_prediction_is_evals_figure(cfg):
    for spec, shape, n in SPECS:
        ops = hwsim.extract(hwsim.build_priced(spec, shape, n), shape)
        want = accel.evaluate(ops, cfg)
        table = tables.build_table(ops, "accel", cfg)
        pred = tables.predict(table, ops, config=cfg)
        assert (pred["latency_ms"], pred["energy_mj"]) == (want["latency_ms"], want["energy_mj"])
        # saved ('hwsim table --json') and read back: the same
        out, _ = tables.table_report("m", "accel", table, pred, ops=ops)
        loaded = tables.load_table(json.loads(json.dumps(out)))
        again = tables.predict(loaded, ops)
        assert (again["latency_ms"], again["energy_mj"]) == (want["latency_ms"],
                                                             want["energy_mj"])


def test_a_row_edited_apart_from_its_cycles_is_summed_by_its_ms():
    ops = hwsim.extract(hwsim.build_priced("lenet5", (1, 28, 28), 10), (1, 28, 28))
    table = tables.build_table(ops, "accel")
    out, _ = tables.table_report("m", "accel", table, tables.predict(table, ops), ops=ops)
    out["rows"][0]["latency_ms"] += 1.0   # edited by hand: its cycles no longer say it
    loaded = tables.load_table(json.loads(json.dumps(out)))
    assert "cycles" not in loaded[next(iter(loaded))]
    pred = tables.predict(loaded, ops)
    assert pred["latency_ms"] > accel.evaluate(ops)["latency_ms"] + 0.99
