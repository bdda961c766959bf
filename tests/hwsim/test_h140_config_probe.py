"""Unusual accelerator configurations and layers (h140 probe): a pool's element work is the
values its windows read (it was its input's values, whatever the windows), a max pool that
returns indices prices, and the figures users rely on hold on odd arrays and layers: cycles
equal SCALE-Sim's closed forms worked by hand, MACs equal synth.models.count_flops, DRAM bytes
and cycles never rise with a larger buffer at batch 1, and the DSE's best is the brute-force
best of its grid."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hwsim import AcceleratorConfig, accel, extract
from hwsim.dse import DseConfig, candidates, explore, geomean
from synth.models import count_flops


def _reads_by_sum_pool(x_shape, kernel, stride, padding, ceil_mode, dims):
    """Input values the windows of a (max or avg) pool read, counted by torch itself: a sum
    pool (avg pool x window, divisor 1) of ones over the zero-padded input counts the real
    input positions in each window; their sum over outputs is the total."""
    ones = torch.ones(x_shape)
    pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[dims - 1]
    if dims == 1:   # avg_pool1d has no divisor_override: mean x window, padded with zeros
        y = pool(ones, kernel, stride, padding, ceil_mode, count_include_pad=True) * kernel
    else:
        y = pool(ones, kernel, stride, padding, ceil_mode, count_include_pad=True,
                 divisor_override=1)
    return int(round(float(y.sum())))


POOLS = [   # (layer, sample shape, (kernel, stride, padding, ceil_mode, dims))
    (nn.MaxPool2d(3, 1, 1), (2, 6, 6), (3, 1, 1, False, 2)),          # overlapping: 512 vs 72
    (nn.MaxPool2d(3, 2, 1), (4, 9, 9), (3, 2, 1, False, 2)),          # ResNet's stem pool
    (nn.MaxPool2d(2, stride=5), (3, 20, 20), (2, 5, 0, False, 2)),    # stride > kernel
    (nn.MaxPool2d(3, 2, 1, ceil_mode=True), (1, 8, 8), (3, 2, 1, True, 2)),
    (nn.MaxPool2d(2), (2, 7, 7), (2, 2, 0, False, 2)),                # odd size: a row unread
    (nn.AvgPool2d(3, 1, 1), (2, 5, 5), (3, 1, 1, False, 2)),
    (nn.AvgPool1d(3), (4, 10), (3, 3, 0, False, 1)),
    (nn.MaxPool1d(4, 1), (2, 9), (4, 1, 0, False, 1)),
    (nn.AvgPool3d(2, 1), (1, 3, 4, 4), (2, 1, 0, False, 3)),
    (nn.MaxPool2d(2), (2, 6, 6), (2, 2, 0, False, 2)),                # tiles: = input values
]


@pytest.mark.parametrize("layer, shape, geo", POOLS, ids=lambda v: str(v) if
                         isinstance(v, nn.Module) else None)
def test_a_pools_element_work_is_the_values_its_windows_read(layer, shape, geo):
    (op,) = extract(layer, shape, batch=2)
    kernel, stride, padding, ceil_mode, dims = geo
    assert op.elems == _reads_by_sum_pool((2,) + shape, kernel, stride, padding, ceil_mode,
                                          dims)
    # the vector unit does them: cols lanes, one element op a lane per cycle
    cfg = AcceleratorConfig(rows=4, cols=3)
    assert accel.evaluate([op], cfg)["compute_cycles"] == math.ceil(op.elems / 3)


def test_dilated_and_adaptive_pools_by_hand():
    # MaxPool3d(2, dilation=2) on 6^3: per dimension outputs 0 and 1 read positions {0, 2}
    # and {2, 4}: 4 reads, 4^3 = 64 in all (of 216 input values)
    (op,) = extract(nn.MaxPool3d(2, dilation=2), (1, 6, 6, 6))
    assert op.elems == 64
    # AdaptiveAvgPool2d(3) on 5 x 5: windows [0, 2), [1, 4), [3, 5) per dimension (torch's
    # floor(i L / n) to ceil((i + 1) L / n)): 2 + 3 + 2 = 7 reads, 7 x 7 x 2 channels
    (op,) = extract(nn.AdaptiveAvgPool2d(3), (2, 5, 5))
    assert op.elems == 98
    (op,) = extract(nn.AdaptiveAvgPool1d(1), (4, 8))      # a global pool: its input
    assert op.elems == 32


@pytest.mark.parametrize("layer", [nn.MaxPool2d(2, return_indices=True),
                                   nn.AdaptiveMaxPool2d(2, return_indices=True)])
def test_a_max_pool_returning_indices_prices(layer):
    """nn.MaxPool2d(return_indices=True) returns (values, indices): extract() raised
    AttributeError ('tuple' object has no attribute 'shape')."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.pool = layer

        def forward(self, x):
            return self.pool(x)[0]

    (op,) = extract(Net(), (3, 4, 4))
    assert op.type == "pool" and op.out_shape == (1, 3, 2, 2) and op.elems == 48


# --- cycles: SCALE-Sim's closed forms, worked by hand ---------------------------------------
# SCALE-Sim (Samajdar et al., arXiv 1811.02883; scalesim/compute/systolic_compute_ws.py): the
# GEMM (T x K) @ (K x N), array R x C.  ws: ceil(K/R) x ceil(N/C) folds, each the R cycles
# of its filter demand matrix (weights loaded) plus its R + C + T - 2 suffix (inputs stream,
# sums drain); the total is the last cycle's index: folds x (2R + C + T - 2) - 1.  os:
# ceil(T/R) x ceil(N/C) folds of R + C + K - 2, minus 1.  is: ceil(K/R) x ceil(T/C) folds of
# 2R + C + N - 2, minus 1.  Never below ceil(T K N / (R C)).  A grouped conv runs its G
# GEMMs p at a time as one block-diagonal GEMM (T x pK) @ (pK x pN), p the best of 1, G,
# floor(R / K), floor(C / N) and the smaller of those two (h320: one at a time, a depthwise
# conv was slower than the dense conv of its shape).
CASES = [   # (layer, sample shape, (T, K, N, G) worked out from the layer)
    # Conv2d(3, 4, 2, stride=5) on 17 x 17: (17 - 2) // 5 + 1 = 4 -> T = 16, K = 3*2*2
    (nn.Conv2d(3, 4, 2, stride=5), (3, 17, 17), (16, 12, 4, 1)),
    # dilation 3, kernel 3: effective 7, (20 - 7) + 1 = 14 -> T = 196, K = 27
    (nn.Conv2d(3, 4, 3, dilation=3), (3, 20, 20), (196, 27, 4, 1)),
    # 4 groups of 2 -> 3 channels, 9 x 9 -> 7 x 7: T = 49, K = 2*3*3 = 18, N = 3, G = 4
    (nn.Conv2d(8, 12, 3, groups=4), (8, 9, 9), (49, 18, 3, 4)),
    # depthwise, padding 1: T = 81, K = 9, N = 1, G = 8
    (nn.Conv2d(8, 8, 3, groups=8, padding=1), (8, 9, 9), (81, 9, 1, 8)),
    # Conv1d(4, 6, 5, stride=2, dilation=2) on 50: (50 - 9) // 2 + 1 = 21, K = 20
    (nn.Conv1d(4, 6, 5, stride=2, dilation=2), (4, 50), (21, 20, 6, 1)),
    # a 7 x 7 kernel larger than its 3 x 3 input, padding 3: T = 9, K = 98
    (nn.Conv2d(2, 3, 7, padding=3), (2, 3, 3), (9, 98, 3, 1)),
    (nn.Linear(17, 1), (17,), (1, 17, 1, 1)),                     # one output
    (nn.Conv2d(8, 16, 1), (8, 7, 7), (49, 8, 16, 1)),              # 1 x 1
]
ARRAYS = [(3, 7), (1, 16), (16, 1), (1, 1), (5, 128), (100, 3)]


def _scalesim_cycles(T, K, N, R, C, df):
    c = lambda a, b: -(-a // b)
    if df == "ws":
        cyc = c(K, R) * c(N, C) * (2 * R + C + T - 2) - 1
    elif df == "os":
        cyc = c(T, R) * c(N, C) * (R + C + K - 2) - 1
    else:
        cyc = c(K, R) * c(T, C) * (2 * R + C + N - 2) - 1
    return max(cyc, c(T * K * N, R * C))


def _grouped_cycles(T, K, N, G, R, C, df):
    packs = {min(max(p, 1), G) for p in (1, G, R // K, C // N, min(R // K, C // N))}
    return min(G // p * _scalesim_cycles(T, p * K, p * N, R, C, df)
               + (_scalesim_cycles(T, G % p * K, G % p * N, R, C, df) if G % p else 0)
               for p in packs)


@pytest.mark.parametrize("layer, shape, tkng", CASES, ids=lambda v: str(v) if
                         isinstance(v, nn.Module) else None)
def test_cycles_equal_scalesims_closed_forms_by_hand(layer, shape, tkng):
    T, K, N, G = tkng
    for batch in (1, 3):
        (op,) = extract(layer, shape, batch=batch)
        assert (op.gemm, op.groups) == ((T * batch, K, N), G)
        assert op.macs == count_flops(layer, shape) * batch == T * batch * K * N * G
        for (R, C) in ARRAYS:
            for df in ("ws", "os", "is"):
                # buffers that hold everything, a fast DRAM: the cycles are the array's
                cfg = AcceleratorConfig(rows=R, cols=C, dataflow=df, ifmap_kb=1 << 16,
                                        filter_kb=1 << 16, ofmap_kb=1 << 16, dram_gbps=1e5)
                r = accel.evaluate([op], cfg)
                f = lambda t: _grouped_cycles(t, K, N, G, R, C, df)
                # batch 3: the whole batch as one GEMM, or the faster of the schedules
                # ``hwsim.accel._costs`` may tile it into (3 runs of 1; a run of 2 and one of 1)
                allowed = {f(T)} if batch == 1 else {f(3 * T), 3 * f(T), f(2 * T) + f(T)}
                assert r["compute_cycles"] in allowed, (R, C, df, batch)
                assert r["compute_cycles"] <= f(T * batch)
                assert r["stall_cycles"] == 0 and r["cycles"] == r["compute_cycles"]


def test_a_larger_buffer_never_costs_dram_bytes_or_cycles_at_batch_1():
    torch.manual_seed(0)
    ops = []
    for layer, shape, _ in CASES:
        ops += extract(layer, shape)
    ops += extract(nn.Sequential(nn.Conv2d(3, 8, 3), nn.MaxPool2d(3, 1, 1), nn.Flatten(),
                                 nn.Linear(8 * 6 * 6, 5)), (3, 8, 8))
    kbs = [2e-3, 0.05, 0.3, 1, 4, 32, 512, 1 << 20]
    for R, C in ARRAYS:
        for df in ("ws", "os", "is"):
            for bits in (1, 8, 13):
                for field in ("ifmap_kb", "filter_kb", "ofmap_kb"):
                    cfgs = [AcceleratorConfig(rows=R, cols=C, dataflow=df, precision_bits=bits,
                                              ifmap_kb=0.5, filter_kb=0.5, ofmap_kb=0.5,
                                              dram_gbps=0.5).replace(**{field: kb})
                            for kb in kbs]
                    per_op = [accel.evaluate_many([o], cfgs) for o in ops]
                    for res in per_op:
                        for k in ("dram_bytes", "cycles"):
                            assert (np.diff(res[k]) <= 1e-9 * res[k][:-1]).all(), (R, C, df, k)
                    total = accel.evaluate_many(ops, cfgs)
                    for k in ("dram_bytes", "cycles", "energy_mj", "latency_ms"):
                        assert np.allclose(total[k], sum(r[k] for r in per_op), rtol=1e-12)
                        assert np.isfinite(total[k]).all() and (total[k] > 0).all()


def test_dse_best_is_the_brute_force_best_of_its_grid():
    torch.manual_seed(0)
    nets = {"conv": extract(nn.Sequential(nn.Conv2d(3, 8, 3, dilation=2), nn.ReLU(),
                                          nn.Conv2d(8, 8, 3, groups=8), nn.Flatten(),
                                          nn.Linear(8 * 10 * 10, 1)), (3, 16, 16)),
            "seq": extract(nn.Conv1d(4, 6, 5, stride=7), (4, 64))}
    cfg = DseConfig(rows=(1, 3, 16, 100), cols=(1, 5, 129), ifmap_kb=(0.01, 300),
                    filter_kb=(0.02, 64), ofmap_kb=(0.5,), area_budget_mm2=2.0,
                    base=(("precision_bits", 12), ("clock_mhz", 333.0), ("dram_gbps", 3.5)))
    res = explore(nets, cfg)
    cands = candidates(cfg)
    lat = np.array([[accel.evaluate(nets[n], c)["latency_ms"] for c in cands] for n in nets])
    area = np.array([accel.evaluate(nets["seq"], c)["area_mm2"] for c in cands])
    g = geomean(lat)
    fits = np.flatnonzero(area <= 2.0)
    assert res["best"]["geomean_latency_ms"] == pytest.approx(g[fits].min(), rel=1e-12)
    best = AcceleratorConfig.from_dict(res["best"]["config"])
    for n in nets:   # the figures it reports are the model's for that configuration
        assert res["best"]["latency_ms"][n] == pytest.approx(
            accel.evaluate(nets[n], best)["latency_ms"], rel=1e-12)
