"""h179: an accel or cpu latency table finds a model's ops whatever their zeros.

``Op.key()`` holds the fraction of zero weights and of zero inputs (measured on a random
input through the model).  The accelerator model prices zeros like any value and a host
timing runs the op on random tensors, yet a table found an op only at the sparsities it was
built at: ``nnsynth hwsim table --device accel --model digits_cs.pt --json > t.json`` and
``nnsynth hwsim table --table t.json --model convnet_small@1x8x8`` (the same layers, other
weights) left 3 of 8 ops 'not in the table' and predicted 0.000698 ms for 0.002018; a pruned
copy of the model found none of its weight layers.  SPRING skips zeros: its rows still hold
for their own sparsities only.
"""
import torch
from torch import nn

from hwsim import accel, extract, tables


def _model(seed: int, prune: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(),
                      nn.Linear(8, 3))
    if prune:
        with torch.no_grad():
            for layer in m:
                if isinstance(layer, nn.Linear):
                    layer.weight[:, ::2] = 0
    return m.eval()


def _ops(seed: int, prune: bool = False):
    return extract(_model(seed, prune), (12,))


def test_an_accel_table_prices_the_same_layers_with_other_zeros():
    built = _ops(0)
    table = tables.build_table(built, "accel")
    for other in (_ops(1), _ops(0, prune=True)):
        assert [o.key() for o in other] != [o.key() for o in built]   # other sparsities
        want = accel.evaluate(other)
        for t in (table, tables.load_table(tables.table_report("m", "accel", table,
                                                               tables.predict(table, built))[0])):
            pred = tables.predict(t, other)
            assert pred["missing"] == []
            assert abs(pred["latency_ms"] - want["latency_ms"]) <= 1e-12
            assert abs(pred["energy_mj"] - want["energy_mj"]) <= 1e-12 * want["energy_mj"]


def test_a_cpu_table_prices_the_same_layers_with_other_zeros():
    built = _ops(0)
    table = tables.build_table(built, "cpu", repeats=1)
    pred = tables.predict(table, _ops(0, prune=True), threads=torch.get_num_threads())
    assert pred["missing"] == []
    assert pred["latency_ms"] == sum(table[o.key()]["latency_ms"] for o in built)


def test_a_spring_table_still_holds_for_its_own_sparsities_only():
    built = _ops(0)
    table = tables.build_table(built, "spring")
    pruned = _ops(0, prune=True)
    missing = tables.predict(table, pruned)["missing"]
    assert {"0", "2", "4"} <= set(missing)   # the pruned weight layers: SPRING skips zeros
