"""At batch > 1, a larger scratchpad never makes a layer slower.  The batch-tiling rule chose
the fastest schedule whose DRAM bytes and energy were at most S batch-1 runs' on the same
pads; a larger pad that lets one sample fit lowers that reference, and a fast schedule
allowed on the smaller pad was refused: LSTM(5, 11), 7 steps, batch 8 on 7 x 3 ws, filter 4
KiB, ofmap 0.25 KiB, ran 9,086 cycles with a 0.015625 KiB ifmap pad and 23,240 with a
0.0625 KiB one.  Now the schedules (``chunk_sizes``) and the rule (``_costs``: fewest
cycles of those whose activations cross DRAM at most ``ACT_REFETCH_MAX`` times or whose
DRAM bytes are at most ``DRAM_COMPULSORY_MAX`` x the compulsory bytes) do not depend on the
pads, and a schedule's cycles never rise with a larger pad."""
import dataclasses
import random

import numpy as np
import torch
from torch import nn

from hwsim import accel
from hwsim.accel import AcceleratorConfig
from hwsim.workload import build_priced, extract
from tests.hwsim.test_batch_tiling_h92 import dram_bounds

PADS = ("ifmap_kb", "filter_kb", "ofmap_kb")


def test_lstm_batch_is_no_slower_with_the_larger_ifmap_pad():
    torch.manual_seed(0)
    ops = extract(nn.LSTM(5, 11, batch_first=True), (7, 5), batch=8)
    base = AcceleratorConfig(rows=7, cols=3, dataflow="ws", filter_kb=4, ofmap_kb=0.25)
    small = accel.evaluate(ops, base.replace(ifmap_kb=0.015625))
    big = accel.evaluate(ops, base.replace(ifmap_kb=0.0625))
    assert big["cycles"] <= small["cycles"]            # 23,240 against 9,086 before
    assert big["dram_bytes"] <= small["dram_bytes"]


def test_convnet_small_batch_64_larger_ofmap_pad():
    """Cycles fall (172,131 -> 166,077); DRAM bytes rise (2,457,280 -> 2,686,592 B): on the
    128 KiB pad a schedule that re-reads more (hidden behind compute, within the rule's
    bounds) is the fastest, and a rule that keeps the fastest must take it.  Both stay within
    the rule's DRAM bound (``dram_bounds``).  (On 64 x 16 ws, ofmap 32 -> 128 KiB, the pinned
    case of 609f886, the 2 x compulsory limit lets the 32 KiB pad take a faster schedule:
    105,458 -> 103,322 cycles, 2,450,800 -> 2,956,656 B; 100,352 cycles, 2,685,296 B on 128.)"""
    torch.manual_seed(0)
    model = build_priced("convnet_small", (3, 16, 16), 10)
    ops, one = extract(model, (3, 16, 16), batch=64), extract(model, (3, 16, 16))
    for rows, pinned in ((16, ((172131, 166077), (2457280, 2686592))),
                         (64, ((103322, 100352), (2956656, 2685296)))):
        base = AcceleratorConfig(rows=rows, cols=16, dataflow="ws", ifmap_kb=128, filter_kb=8)
        configs = [base.replace(ofmap_kb=kb) for kb in (32, 128)]
        small, big = (accel.evaluate(ops, c) for c in configs)
        assert big["cycles"] <= small["cycles"]
        assert ((small["cycles"], big["cycles"]), (small["dram_bytes"], big["dram_bytes"])) \
            == pinned
        bound, _ = dram_bounds(one, ops, 64, configs)
        assert small["dram_bytes"] <= bound[0] and big["dram_bytes"] <= bound[1]


def _layer(rng: random.Random):
    kind = rng.choice(["conv", "conv", "depthwise", "linear", "lstm", "gru", "rnn"])
    if kind == "conv":
        cin, cout, k = rng.randint(1, 16), rng.randint(1, 32), rng.choice([1, 3])
        hw = rng.randint(k, 10)
        return nn.Conv2d(cin, cout, k, stride=rng.choice([1, 2])), (cin, hw, hw)
    if kind == "depthwise":
        c, hw = rng.randint(2, 12), rng.randint(3, 9)
        return nn.Conv2d(c, c, 3, groups=c), (c, hw, hw)
    if kind == "linear":
        i = rng.randint(1, 300)
        return nn.Linear(i, rng.randint(1, 300)), (i,)
    cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind]
    i = rng.randint(1, 16)
    return cls(i, rng.randint(2, 32), batch_first=True), (rng.randint(1, 8), i)


def _config(rng: random.Random) -> AcceleratorConfig:
    kb = lambda: 2.0 ** rng.randint(-6, 6)
    return AcceleratorConfig(
        rows=rng.choice([1, 3, 7, 16, 64]), cols=rng.choice([1, 3, 5, 16, 128]),
        dataflow=rng.choice(["ws", "os", "is"]), precision_bits=rng.choice([8, 16]),
        ifmap_kb=kb(), filter_kb=kb(), ofmap_kb=kb(),
        dram_gbps=rng.choice([1.0, 16.0, 200.0]))


def test_random_batches_never_slower_with_a_larger_pad():
    rng = random.Random(152)
    torch.manual_seed(152)
    configs = [_config(rng) for _ in range(40)]
    for _ in range(30):
        layer, shape = _layer(rng)
        batch = rng.choice([2, 3, 7, 8, 16, 64])
        ops = extract(layer, shape, batch=batch)
        res = accel.evaluate_many(ops, configs)
        for pad in PADS:
            for x in (2, 4, 16):
                bigger = [dataclasses.replace(c, **{pad: getattr(c, pad) * x}) for c in configs]
                big = accel.evaluate_many(ops, bigger)
                worse = big["cycles"] > res["cycles"] * (1 + accel.CYCLES_TOLERANCE + 1e-12)
                assert not worse.any(), (layer, batch, pad, x,
                                         [configs[i] for i in np.flatnonzero(worse)[:1]])


def test_random_batches_stay_within_the_rules_dram_bound():
    # DRAM bytes within the rule's bound (``dram_bounds``: per layer the larger of S batch-1
    # runs' + (ACT_REFETCH_MAX - 1) x the activations and DRAM_COMPULSORY_MAX x the
    # compulsory bytes); cycles <= S batch-1 runs' (+ SCALE-Sim's minus 1 once per run)
    rng = random.Random(1520)
    torch.manual_seed(1520)
    configs = [_config(rng) for _ in range(40)]
    for _ in range(25):
        layer, shape = _layer(rng)
        batch = rng.choice([2, 3, 7, 16, 64])
        ops, ops_1 = extract(layer, shape, batch=batch), extract(layer, shape)
        one = accel.evaluate_many(ops_1, configs)
        many = accel.evaluate_many(ops, configs)
        bound, _ = dram_bounds(ops_1, ops, batch, configs)
        assert np.all(many["dram_bytes"] <= bound * (1 + 1e-12) + 1e-6), (layer, batch)
        assert np.all(many["cycles"] <= batch * one["cycles"] + batch * len(ops)), (layer, batch)
