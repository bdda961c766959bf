"""h219: ``Op.key()`` ("equal keys cost the same") left out an op's traffic and MACs.  Two
writes into one target (``z[:, :2] = 0`` and ``z[:, :40] = 0``: shapes, geometry and zeros
alike) write 2 and 40 values but had one key, so a table built from the model held one row
for both and predicted the first's cost twice, and ``hwsim.price_layers``' memo (the hwsim
pool's per-layer cache, shared across candidates) priced a model's write at another model's
count.  The key now ends with (macs, weight_bytes, in_bytes, out_bytes); tables saved before
(keys of 10, or of 9 without geometry) still find every op."""
import json
import math

import pytest
import torch
from torch import nn

import hwsim
from hwsim import accel, extract, spring, tables


class Writes(nn.Module):
    """Linear(8, 64), then zeros written into the first ``counts`` columns of a copy."""

    def __init__(self, *counts):
        super().__init__()
        torch.manual_seed(0)
        self.lin, self.counts = nn.Linear(8, 64), counts

    def forward(self, x):
        z = self.lin(x).clone()
        for k in self.counts:
            z[:, :k] = 0.0
        return z


def _writes(ops):
    return [o for o in ops if o.name.startswith("setitem")]


def test_writes_of_other_counts_have_other_keys():
    ops = extract(Writes(2, 40), (8,), batch=4)
    a, b = _writes(ops)
    assert (a.out_elems, b.out_elems) == (8, 160)
    assert a.key() != b.key()


@pytest.mark.parametrize("device", ["accel", "spring"])
def test_a_table_of_a_model_predicts_its_own_price(device):
    ops = extract(Writes(2, 40), (8,))
    table = tables.build_table(ops, device)
    assert len(table) == len(ops)
    full = accel.evaluate(ops) if device == "accel" else spring.evaluate(ops)
    pred = tables.predict(table, ops)
    assert math.isclose(pred["latency_ms"], full["latency_ms"], rel_tol=1e-12)
    assert math.isclose(pred["energy_mj"], full["energy_mj"], rel_tol=1e-12)


def test_the_layer_memo_does_not_price_one_write_as_another():
    small, large = extract(Writes(2), (8,), batch=4), extract(Writes(40), (8,), batch=4)
    cache: dict = {}
    hwsim.price_layers(large, cache=cache)
    memo = hwsim.price_layers(small, cache=cache)
    own = hwsim.price_ops(small)
    for k in ("latency_ms", "energy_mj", "dram_bytes"):
        assert math.isclose(memo[k], own[k], rel_tol=1e-12), k
    inside = extract(Writes(2, 40), (8,))   # one model, both writes
    assert math.isclose(hwsim.price_layers(inside)["latency_ms"],
                        hwsim.price_ops(inside)["latency_ms"], rel_tol=1e-12)


@pytest.mark.parametrize("length", [10, 9])
def test_tables_saved_with_older_keys_still_find_every_op(length):
    ops = extract(nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4)), (8,))
    table = tables.build_table(ops, "accel")
    out, _ = tables.table_report("m", "accel", table, tables.predict(table, ops))
    for row, key in zip(out["rows"], table):
        row["key"] = repr(key[:length])   # as a table saved before wrote it
    old = tables.load_table(json.loads(json.dumps(out)))
    assert old.key_lengths == (length,)
    pred = tables.predict(old, ops)
    assert not pred["missing"]
    assert math.isclose(pred["latency_ms"], accel.evaluate(ops)["latency_ms"], rel_tol=1e-12)
