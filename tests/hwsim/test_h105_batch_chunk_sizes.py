"""A batch of S runs in the fastest of its allowed schedules: never slower than S / n runs of
a batch of n (n a power of two) wherever those stay within S batch-1 runs' DRAM bytes and
energy.  The rule tried only the largest chunk whose activations fit where one sample's do;
where weights spill the filter pad, smaller runs re-read them every time, and a chunk that
spills a little reads less and runs much faster: Linear(292, 303) at batch 64 on a 64 x 1 ws
array ran one sample at a time, 12.4 M cycles, where 32 batch-2 runs take 6.3 M cycles and
47 % fewer DRAM bytes."""
import random

import numpy as np
import torch
from torch import nn

from hwsim import accel
from hwsim.accel import AcceleratorConfig
from hwsim.workload import extract


def _check(layer, shape, configs, batch=64):
    one = accel.evaluate_many(extract(layer, shape), configs)
    many = accel.evaluate_many(extract(layer, shape, batch=batch), configs)
    n = 2
    while n < batch:
        part = accel.evaluate_many(extract(layer, shape, batch=n), configs)
        runs = batch // n
        allowed = ((runs * part["dram_bytes"] <= batch * one["dram_bytes"])
                   & (runs * part["energy_mj"] <= batch * one["energy_mj"]))
        # (a run's count is SCALE-Sim's minus 1: more runs, up to a cycle each fewer)
        slower = allowed & (many["cycles"] > runs * part["cycles"] + batch)
        assert not slower.any(), (layer, n, [configs[i] for i in np.flatnonzero(slower)[:2]],
                                  many["cycles"][slower][:2], runs * part["cycles"][slower][:2])
        n *= 2


def test_weights_that_spill_favour_bigger_chunks():
    torch.manual_seed(0)
    cfg = AcceleratorConfig(rows=64, cols=1, ifmap_kb=4, ofmap_kb=1, dram_gbps=200.0)
    _check(nn.Linear(292, 303), (292,), [cfg])


def test_lenet300_layer_on_the_dse_grid_point():
    # Linear(784, 300) at batch 64 on 32 x 32 is with 8/8/32 KiB pads: 2.0x the cycles of
    # the fastest allowed schedule
    torch.manual_seed(0)
    cfg = AcceleratorConfig(dataflow="is", ifmap_kb=8, filter_kb=8, ofmap_kb=32)
    _check(nn.Linear(784, 300), (784,), [cfg])


def test_random_layers_and_configs():
    rng = random.Random(105)
    torch.manual_seed(105)
    configs = [AcceleratorConfig(
        rows=rng.choice([1, 4, 16, 32, 64]), cols=rng.choice([1, 4, 32, 128]),
        dataflow=rng.choice(["ws", "os", "is"]), precision_bits=rng.choice([4, 8, 16]),
        ifmap_kb=rng.choice([0.25, 1, 4, 64]), filter_kb=rng.choice([0.25, 2, 64]),
        ofmap_kb=rng.choice([0.125, 1, 8, 64]), dram_gbps=rng.choice([1.0, 16.0, 200.0]))
        for _ in range(40)]
    for _ in range(8):
        if rng.random() < 0.5:
            i = rng.randint(1, 600)
            layer, shape = nn.Linear(i, rng.randint(1, 600)), (i,)
        else:
            cin, cout = rng.randint(1, 24), rng.randint(1, 48)
            layer, shape = nn.Conv2d(cin, cout, 3), (cin, 8, 8)
        _check(layer, shape, configs, batch=rng.choice([8, 32]))
