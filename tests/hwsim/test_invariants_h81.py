"""Random workloads with the layers added here (GRU, RNN, LSTM with projections, transposed
and 3-d convolutions) next to the old ones, on random accelerator and SPRING configurations:
utilization <= 1, cycles >= ceil(MACs / PEs), off-chip bytes >= compulsory, energy = the sum
of its parts, cycles monotone in every buffer size, and off-chip bytes where an op is not
tiled over a batch.

A batch (an op of S > 1 samples, ``hwsim.accel.op_samples``) runs the fastest schedule whose
activations cross DRAM at most ``ACT_REFETCH_MAX`` times (``hwsim.accel._costs``): a larger
pad never raises its cycles, but may make a schedule that re-reads more, hidden behind
compute, the fastest, and its DRAM bytes rise (seed 50 of ``_workloads``, a ConvTranspose2d
(10, 10, 2, stride 2) at batch 3 on 8 x 7 ws, 0.34/2.6/1.48 KiB pads: ofmap x 8, 981 -> 730
cycles, 3,050 -> 3,100 B).  Only the cycles are the rule's guarantee; an op run whole (S = 1)
fetches an operand again only where it does not fit, so its bytes never rise with a pad."""
import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from hwsim import AcceleratorConfig, SpringConfig, accel, extract, spring


def _layer(rng):
    i, h = int(rng.integers(1, 12)), int(rng.integers(1, 24))
    kind = rng.integers(0, 8)
    if kind == 0:
        return (nn.GRU(i, h, num_layers=int(rng.integers(1, 3)),
                       bidirectional=bool(rng.integers(2)), batch_first=True),
                (int(rng.integers(1, 6)), i))
    if kind == 1:
        return nn.RNN(i, h, batch_first=True), (int(rng.integers(1, 6)), i)
    if kind == 2:
        p = int(rng.integers(0, h))
        return nn.LSTM(i, h, proj_size=p, batch_first=True), (int(rng.integers(1, 6)), i)
    if kind == 3:
        return (nn.ConvTranspose2d(i, h, int(rng.integers(1, 4)), stride=int(rng.integers(1, 3))),
                (i, int(rng.integers(1, 6)), int(rng.integers(1, 6))))
    if kind == 4:
        return nn.Conv3d(i, h, 2), (i, 3, int(rng.integers(2, 5)), 3)
    if kind == 5:
        return nn.GRUCell(i, h), (i,)
    if kind == 6:
        return nn.Conv2d(i, h, 3, padding=1), (i, int(rng.integers(1, 8)), 5)
    return nn.Linear(i, h), (int(rng.integers(1, 4)), i)


def _workloads(n=30, seed=81):
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(n):
            m, shape = _layer(rng)
            if rng.integers(2):   # sparse weights: SPRING's zero skipping at work
                with torch.no_grad():
                    for p in m.parameters():
                        p.mul_((torch.rand(p.shape) > 0.7).float())
            out.append(extract(m, shape, batch=int(rng.integers(1, 4))))
    return out


def _accel_configs(rng, n=6):
    return [AcceleratorConfig(rows=int(rng.integers(1, 40)), cols=int(rng.integers(1, 40)),
                              dataflow=str(rng.choice(accel.DATAFLOWS)),
                              precision_bits=int(rng.choice([4, 8, 16])),
                              ifmap_kb=float(rng.uniform(0.01, 4)),
                              filter_kb=float(rng.uniform(0.01, 4)),
                              ofmap_kb=float(rng.uniform(0.01, 4))) for _ in range(n)]


def check_accel(ops, cfg, compulsory: float) -> dict:
    """The accelerator's invariants on one workload and configuration (``compulsory``: the
    elements that must cross DRAM at least once); returns its result."""
    r = accel.evaluate(ops, cfg)
    assert r["utilization"] <= 1 + 1e-12
    assert r["cycles"] >= math.ceil(r["macs"] / (cfg.rows * cfg.cols))
    assert r["dram_bytes"] >= compulsory * cfg.precision_bits / 8 - 1e-6
    parts = sum(r[f"energy_{p}_mj"] for p in ("mac", "sram", "dram", "leak"))
    assert r["energy_mj"] == pytest.approx(parts, rel=1e-9)
    for f in ("ifmap_kb", "filter_kb", "ofmap_kb"):   # no cycles more with a larger buffer
        big = accel.evaluate(ops, dataclasses.replace(cfg, **{f: getattr(cfg, f) * 8}))
        assert big["cycles"] <= r["cycles"] + 1e-9
        for op, x, y in zip(ops, r["layers"], big["layers"]):
            assert y["cycles"] <= x["cycles"] + 1e-9, op.name
            if accel.op_samples(op) == 1:   # and no bytes more where an op runs whole
                assert y["dram_bytes"] <= x["dram_bytes"] + 1e-9, op.name
    return r


def test_accelerator_invariants_on_random_workloads():
    rng = np.random.default_rng(1)
    for ops in _workloads():
        for cfg in _accel_configs(rng):
            compulsory = sum(o.weight_elems + o.in_elems + o.out_elems for o in ops)
            r = check_accel(ops, cfg, compulsory)
            pes = cfg.rows * cfg.cols
            for op, layer in zip(ops, r["layers"]):
                assert layer["utilization"] <= 1 + 1e-12
                assert layer["cycles"] >= math.ceil(op.macs / pes)
                # the cell / col2im element ops follow the GEMM on the cols-lane vector unit
                assert layer["compute_cycles"] >= math.ceil(op.elems / cfg.cols)


def test_spring_invariants_on_random_workloads():
    rng = np.random.default_rng(2)
    for ops in _workloads():
        for _ in range(3):
            cfg = SpringConfig(weight_buffer_mb=float(rng.uniform(1e-5, 1e-3)),
                               act_buffer_mb=float(rng.uniform(1e-5, 1e-3)),
                               mask_buffer_mb=float(rng.uniform(1e-6, 1e-4)),
                               sparsity=bool(rng.integers(2)))
            for mode in ("inference", "training"):
                r = spring.evaluate(ops, cfg, mode)
                assert r["utilization"] <= 1 + 1e-12
                assert r["cycles"] >= r["effective_macs"] / cfg.macs_per_cycle
                assert r["effective_macs"] <= r["macs"] + 1e-6
                assert r["energy_mj"] == pytest.approx(sum(r["energy_breakdown_mj"].values()),
                                                       rel=1e-9)
                # the weights are read at least once: their nonzero values and their masks
                w = sum(o.weight_elems * ((1 - o.weight_sparsity) * cfg.bits + 1)
                        if cfg.sparsity else o.weight_elems * (cfg.bits + 1) for o in ops)
                assert r["nvm_bytes"] >= w / 8 - 1e-6
                for f in ("weight_buffer_mb", "act_buffer_mb", "mask_buffer_mb"):
                    big = spring.evaluate(ops, dataclasses.replace(cfg, **{f: getattr(cfg, f) * 8}),
                                          mode)
                    assert big["nvm_bytes"] <= r["nvm_bytes"] + 1e-6
                    assert big["cycles"] <= r["cycles"] + 1e-6
                    assert big["restream_bytes"] <= r["restream_bytes"] + 1e-6
