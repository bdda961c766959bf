"""A pool-priced candidate's figures are ``hwsim eval``'s to the bit (h300).  The pool
(``cluster.hwsim_pool.HwsimShard``, through ``hwsim.price_layers``) summed per-layer ms and
mJ while ``hwsim eval`` (``hwsim.accel.evaluate``) sums cycles and pJ and then converts:
0.039178000000000004 ms against 0.039178 (h297).  Both now stack the layers' cycles and pJ
and sum them with ``hwsim.accel.layer_sum``.  No Ray: the actor's body is a plain class."""
import pytest

import hwsim
from cluster.hwsim_pool import HwsimShard, _spec_key
from hwsim.accel import AcceleratorConfig

SPECS = [("lenet5", (1, 28, 28), 10),
         ({"family": "mlp", "hidden": [32]}, (4,), 3),
         ({"family": "mlp", "hidden": [64, 17, 9]}, (13,), 3),
         ("convnet_small", (1, 28, 28), 10),
         ({"family": "lstm", "hidden": [16]}, (3, 12), 4),
         ({"family": "hlstm", "hidden": [8]}, (2, 9), 3)]
CONFIGS = [{}, {"rows": 8, "cols": 64, "dataflow": "os", "ifmap_kb": 0.5, "filter_kb": 0.5,
                "ofmap_kb": 0.5, "clock_mhz": 50},
           {"rows": 128, "cols": 128, "dataflow": "is", "ifmap_kb": 0.25, "filter_kb": 0.25,
            "ofmap_kb": 0.25, "clock_mhz": 20, "dram_gbps": 0.5},
           {"rows": 1, "cols": 1, "clock_mhz": 1, "ifmap_kb": 1, "filter_kb": 1, "ofmap_kb": 1}]
FIELDS = ("latency_ms", "energy_mj", "cycles", "compute_cycles", "stall_cycles",
          "dram_bytes", "area_mm2", "utilization", "macs")


@pytest.mark.parametrize("accel", CONFIGS, ids=["default", "8x64os", "128x128is", "1x1"])
def test_pool_prices_equal_eval_to_the_bit(accel):
    shard = HwsimShard(0)   # one shard, its layer cache shared by every spec (as in a search)
    cfg = AcceleratorConfig.from_dict(accel)
    items = [(_spec_key(s, shape, n, accel, False), s, shape, n, cfg.to_dict(), False)
             for s, shape, n in SPECS]
    pooled = shard.price_batch(items)
    assert shard.get_stats()["cached_layers"] > 0
    for (spec, shape, n), got in zip(SPECS, pooled):
        model = hwsim.build_priced(spec, shape, n)
        want = hwsim.price_report(model, shape, cfg)   # hwsim eval's report
        for f in FIELDS:
            assert got[f] == want[f], (spec, accel, f, got[f], want[f])
        # and the in-process trial's price (search.trial without the pool)
        direct = hwsim.price_ops(hwsim.extract(model, shape), cfg)
        assert all(direct[f] == want[f] for f in FIELDS), spec


def test_a_cached_layer_prices_as_a_fresh_one():
    """The shard's layer cache reused by a second network gives that network's eval figures."""
    cache = {}
    a = hwsim.extract(hwsim.build_priced({"family": "mlp", "hidden": [32, 32]}, (7,), 3), (7,))
    b = hwsim.extract(hwsim.build_priced({"family": "mlp", "hidden": [32, 32, 32]}, (7,), 3),
                      (7,))
    hwsim.price_layers(a, None, cache=cache)
    got = hwsim.price_layers(b, None, cache=cache)
    want = hwsim.accel.evaluate(b)
    assert got["latency_ms"] == want["latency_ms"] and got["energy_mj"] == want["energy_mj"]
