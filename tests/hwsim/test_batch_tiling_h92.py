"""Batch > 1 on the accelerator: DRAM bytes and energy never exceed batch 1's times B."""
import random

import numpy as np
import torch
from torch import nn

from hwsim import accel
from hwsim.accel import AcceleratorConfig
from hwsim.workload import build_priced, extract


def _layer(rng: random.Random):
    kind = rng.choice(["conv", "conv", "depthwise", "linear", "lstm", "gru"])
    if kind == "conv":
        cin, cout, k = rng.randint(1, 24), rng.randint(1, 40), rng.choice([1, 3, 5])
        hw = rng.randint(k, 14)
        return nn.Conv2d(cin, cout, k, stride=rng.choice([1, 2])), (cin, hw, hw)
    if kind == "depthwise":
        c, hw = rng.randint(2, 16), rng.randint(3, 12)
        return nn.Conv2d(c, c, 3, groups=c), (c, hw, hw)
    if kind == "linear":
        i = rng.randint(1, 300)
        return nn.Linear(i, rng.randint(1, 200)), (i,)
    cls = nn.LSTM if kind == "lstm" else nn.GRU
    i = rng.randint(1, 20)
    return cls(i, rng.randint(2, 40), batch_first=True), (rng.randint(1, 8), i)


def _config(rng: random.Random) -> AcceleratorConfig:
    return AcceleratorConfig(
        rows=rng.choice([1, 3, 8, 16, 32, 64]), cols=rng.choice([1, 5, 8, 32, 128]),
        dataflow=rng.choice(["ws", "os", "is"]), precision_bits=rng.choice([4, 8, 16]),
        ifmap_kb=rng.choice([0.25, 1, 4, 64]), filter_kb=rng.choice([0.25, 2, 64]),
        ofmap_kb=rng.choice([0.125, 1, 8, 64]), dram_gbps=rng.choice([1.0, 16.0, 200.0]))


def test_batch_b_never_costs_more_dram_or_energy_than_b_batch_1_runs():
    rng = random.Random(92)
    torch.manual_seed(92)
    configs = [AcceleratorConfig()] + [_config(rng) for _ in range(60)]
    for _ in range(40):
        layer, shape = _layer(rng)
        batch = rng.choice([2, 3, 7, 16, 64])
        one = accel.evaluate_many(extract(layer, shape), configs)
        many = accel.evaluate_many(extract(layer, shape, batch=batch), configs)
        for k in ("dram_bytes", "energy_mj"):
            assert np.all(many[k] <= batch * one[k] * (1 + 1e-12)), (layer, batch, k)


def test_default_config_resnet_batch_64():
    # the spill h88 found: 1.95x the DRAM bytes of 64 batch-1 runs on the default config
    model = build_priced("resnet8_w16", (3, 32, 32), 10)
    one = accel.evaluate(extract(model, (3, 32, 32)))
    many = accel.evaluate(extract(model, (3, 32, 32), batch=64))
    assert many["dram_bytes"] <= 64 * one["dram_bytes"]
    assert many["energy_mj"] <= 64 * one["energy_mj"]
    assert many["macs"] == 64 * one["macs"]


def test_a_batch_that_fits_is_one_gemm_as_before():
    # everything fits: the whole batch is one GEMM (SCALE-Sim's count for T = batch rows)
    lin = nn.Linear(16, 8)
    ops = extract(lin, (16,), batch=4)
    cfg = AcceleratorConfig(rows=8, cols=8)
    res = accel.evaluate(ops, cfg)
    assert res["compute_cycles"] == accel.gemm_compute_cycles(4, 16, 8, 8, 8, 0)
    assert res["dram_bytes"] == 16 * 8 + 4 * 16 + 4 * 8    # int8: weights, inputs, outputs
