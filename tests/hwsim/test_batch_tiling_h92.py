"""Batch > 1 on the accelerator: a batch of B costs no more cycles than B batch-1 runs; per
layer, DRAM bytes at most the larger of their bytes plus (``ACT_REFETCH_MAX`` - 1) x its
activations' bytes and ``DRAM_COMPULSORY_MAX`` x its compulsory bytes (B x weights +
activations once; energy: plus the extra bytes' DRAM energy); a larger scratchpad never
raises its cycles."""
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


def dram_bounds(ops_1, ops_b, batch, configs):
    """Per config, the sum over layers of the DRAM bytes the batch-tiling rule allows a layer
    (``hwsim.accel._costs``): the larger of B batch-1 runs' bytes plus (ACT_REFETCH_MAX - 1)
    x its activations' bytes (a schedule whose activations cross DRAM at most ACT_REFETCH_MAX
    times reads weights no more often than one sample at a time does) and DRAM_COMPULSORY_MAX
    x its compulsory bytes, B x weights + inputs + outputs once (bytes at precision_bits / 8
    a value); and B batch-1 runs' bytes per layer (for the energy bound)."""
    assert len(ops_1) == len(ops_b)
    bits = np.array([c.precision_bits for c in configs]) / 8
    bound, runs = np.zeros(len(configs)), np.zeros(len(configs))
    for o1, ob in zip(ops_1, ops_b):
        one = batch * accel.evaluate_many([o1], configs)["dram_bytes"]
        acts = (ob.in_elems + ob.out_elems) * bits
        comp = batch * ob.weight_elems * bits + acts
        bound += np.maximum(one + (accel.ACT_REFETCH_MAX - 1) * acts,
                            accel.DRAM_COMPULSORY_MAX * comp)
        runs += one
    return bound, runs


def check_batch_bounds(ops_1, ops_b, batch, configs):
    """The batch-tiling rule's guarantees (``hwsim.accel._costs``): of the schedules whose
    activations cross DRAM at most ``ACT_REFETCH_MAX`` times or whose DRAM bytes are at most
    ``DRAM_COMPULSORY_MAX`` x the layer's compulsory bytes, and one sample at a time (always
    allowed), the fewest cycles.  So no more cycles than B batch-1 runs; DRAM bytes per layer
    at most the larger of the two limits (``dram_bounds``); energy at most theirs plus the
    DRAM energy of the bytes those limits allow over B batch-1 runs' (a chunk's MACs are the
    same, its scratchpad traffic and cycles, so leakage, no more).  A pad 4x larger never
    raises the cycles."""
    n = len(configs)
    one = accel.evaluate_many(ops_1, configs)
    # the configs, then each with its ifmap, filter, ofmap pad 4x larger: one evaluation
    grown = configs + [c.replace(**{pad: getattr(c, pad) * 4})
                       for pad in accel.SCRATCHPADS for c in configs]
    res = accel.evaluate_many(ops_b, grown)
    many = {k: v[:n] for k, v in res.items()}
    bound, runs = dram_bounds(ops_1, ops_b, batch, configs)
    assert np.all(many["cycles"] <= batch * one["cycles"] * (1 + 1e-12)), "cycles"
    assert np.all(many["dram_bytes"] <= bound * (1 + 1e-12)), "dram"
    assert np.all(many["energy_mj"] <= (batch * one["energy_mj"] + (bound - runs)
                                        * accel.DRAM_PJ_PER_B * 1e-9) * (1 + 1e-12)), "pJ"
    for i, pad in enumerate(accel.SCRATCHPADS, 1):
        big = res["cycles"][i * n:(i + 1) * n]
        assert np.all(big <= many["cycles"] * (1 + accel.CYCLES_TOLERANCE + 1e-12)), pad


def test_batch_b_costs_no_more_than_b_batch_1_runs_and_its_activations_once_more():
    # (the bound was B batch-1 runs' DRAM bytes and energy on the same pads, which falls where
    # a larger pad lets one sample fit, so a larger pad could be slower: test_h152_monotone_
    # batch.py; the bound is now the larger of those bytes plus the activations once more and
    # DRAM_COMPULSORY_MAX x the compulsory bytes, per layer: ``dram_bounds``)
    rng = random.Random(92)
    torch.manual_seed(92)
    configs = [AcceleratorConfig()] + [_config(rng) for _ in range(60)]
    for _ in range(40):
        layer, shape = _layer(rng)
        batch = rng.choice([2, 3, 7, 16, 64])
        try:
            check_batch_bounds(extract(layer, shape), extract(layer, shape, batch=batch),
                                 batch, configs)
        except AssertionError as e:
            raise AssertionError((layer, batch, str(e))) from e


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
