"""A batch of S runs in the fastest of its allowed schedules: never slower than S / n runs of
a batch of n, each run whole (n a power of two, 1 to S), wherever those move their
activations across DRAM at most ``ACT_REFETCH_MAX`` times, or n = 1 (the rule since
test_h152_monotone_batch.py; it was: wherever S / n runs of a batch of n, as the rule priced
them, stay within S batch-1 runs' DRAM bytes and energy).  The rule tried only the largest
chunk whose activations fit where one sample's do; where weights spill the filter pad,
smaller runs re-read them every time, and a chunk that spills a little reads less and runs
much faster: Linear(292, 303) at batch 64 on a 64 x 1 ws array ran one sample at a time,
12.4 M cycles, where 32 batch-2 runs take 6.3 M cycles and 47 % fewer DRAM bytes."""
import dataclasses
import math
import random

import numpy as np
import torch
from torch import nn

from hwsim import accel
from hwsim.accel import AcceleratorConfig
from hwsim.workload import extract


def _dram_bytes(ops, configs):
    """(weights', activations') DRAM bytes of each single-GEMM op (Linear, Conv2d) run whole,
    arrays (configs,), [SS] refetch restated: weights re-read per row fold (os: ceil(T /
    rows)) or column fold (is: ceil(T / cols)) unless ws or they fit half the filter pad;
    inputs per column fold (ceil(N / cols)) unless is or they fit half the ifmap pad; partial
    sums out and back per extra row fold (2 ceil(K / rows) - 1) unless os or they fit half
    the ofmap pad."""
    (op,) = ops
    (t, k, n), g = op.gemm, op.groups
    w, i, o = np.zeros(len(configs)), np.zeros(len(configs)), np.zeros(len(configs))
    for j, c in enumerate(configs):
        b = c.precision_bits / 8
        fits = lambda elems, kb: elems * b <= kb * 1024 / 2
        r, q = math.ceil(t / c.rows), math.ceil(t / c.cols)
        f_w = 1 if c.dataflow == "ws" or fits(op.weight_elems, c.filter_kb) else (
            r if c.dataflow == "os" else q)
        reads = op.weight_elems if fits(op.weight_elems, c.filter_kb) else max(
            op.weight_elems, g * k * n)
        f_i = 1 if c.dataflow == "is" or fits(op.in_elems, c.ifmap_kb) else math.ceil(n / c.cols)
        f_o = 1 if c.dataflow == "os" or fits(op.out_elems, c.ofmap_kb) else (
            2 * math.ceil(k / c.rows) - 1)
        w[j], i[j], o[j] = b * reads * f_w, b * op.in_elems * f_i, b * op.out_elems * f_o
    return w, i + o


def _whole(ops):
    """The ops priced each as one GEMM of its whole batch: a leading dimension of 1 is one
    sample (``hwsim.accel.op_samples``), never tiled."""
    return [dataclasses.replace(o, in_shape=(1, o.in_elems), out_shape=(1, o.out_elems))
            for o in ops]


def _check(layer, shape, configs, batch=64):
    many = accel.evaluate_many(extract(layer, shape, batch=batch), configs)
    bits = np.array([c.precision_bits for c in configs])
    n = 1
    while n <= batch:
        ops = _whole(extract(layer, shape, batch=n))
        part = accel.evaluate_many(ops, configs)
        weights, acts = _dram_bytes(ops, configs)
        assert np.allclose(part["dram_bytes"], weights + acts)   # the restatement is the model's
        runs = batch // n
        once = sum(o.in_elems + o.out_elems for o in ops) * bits / 8
        # one sample at a time is always allowed
        allowed = (acts <= accel.ACT_REFETCH_MAX * once) | (n == 1)
        slower = allowed & (many["cycles"] > runs * part["cycles"] * (1 + accel.CYCLES_TOLERANCE + 1e-12))
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
