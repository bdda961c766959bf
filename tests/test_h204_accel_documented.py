"""What ``hwsim.accel`` documents that it does not promise (h204): figures in its docstrings,
checked against SCALE-Sim's closed forms and the model, so that a change that moves them
moves the docstring too."""
import math

import pytest
import torch
from torch import nn

from hwsim import accel, extract
from hwsim.accel import AcceleratorConfig, gemm_compute_cycles
from synth.models import build

BIG = dict(ifmap_kb=64, filter_kb=64, ofmap_kb=64, dram_gbps=1e5)   # nothing spills or waits


def _scalesim(T, K, N, R, C, df):
    c = lambda a, b: -(-a // b)
    cyc = {"ws": c(K, R) * c(N, C) * (2 * R + C + T - 2),
           "os": c(T, R) * c(N, C) * (R + C + K - 2),
           "is": c(K, R) * c(T, C) * (2 * R + C + N - 2)}[df] - 1
    return max(cyc, c(T * K * N, R * C))


@pytest.mark.parametrize("df, want", [("ws", {(7, 7): 41, (7, 14): 55, (32, 32): 95,
                                              (4, 4): 23}),
                                      ("os", {(7, 7): 19, (7, 14): 26, (32, 32): 69,
                                              (4, 4): 13})])
def test_more_pes_than_a_layer_uses_cost_cycles_as_scalesim_counts(df, want):
    """``gemm_compute_cycles``: not monotone in the array's size.  Linear(8, 3) at batch 2."""
    (op,) = extract(nn.Linear(8, 3), (8,), batch=2)
    assert op.gemm == (2, 8, 3)
    for (r, c), cycles in want.items():
        got = accel.evaluate([op], AcceleratorConfig(rows=r, cols=c, dataflow=df, **BIG))
        assert got["cycles"] == cycles == _scalesim(2, 8, 3, r, c, df)
        assert cycles == gemm_compute_cycles(2, 8, 3, r, c, accel.DATAFLOWS.index(df))
        assert cycles >= math.ceil(op.macs / (r * c))


def test_a_dominated_schedule_and_a_batch_that_is_not_monotone():
    """``_costs``: the bounds may refuse a whole batch that beats one sample at a time in
    cycles and bytes, and a batch of 3 may take fewer cycles than one of 2."""
    torch.manual_seed(0)
    ops = {b: extract(build("lenet5", (1, 28, 28), 10), (1, 28, 28), batch=b) for b in (2,)}
    cfg = AcceleratorConfig(rows=4, cols=4, dataflow="ws", ifmap_kb=8, filter_kb=8, ofmap_kb=8)
    conv = accel.evaluate(ops[2], cfg)["layers"][0]
    assert (conv["cycles"], conv["dram_bytes"]) == (22230, 124172)
    L, c = accel.layer_arrays(ops[2][:1]), accel.config_arrays([cfg])
    whole = accel._untiled_costs(accel.step_fit(L), c)
    assert (whole["cycles"][0, 0], whole["dram_bytes"][0, 0]) == (22091, 124022)
    conv = nn.Conv2d(8, 10, 3)
    for kb, by_batch in ((0.1, {2: (1998, 7280), 3: (999, 9480)}),
                         (1.0, {2: (1998, 3184), 3: (999, 9480)})):
        cfg = AcceleratorConfig(rows=128, cols=2, dataflow="os", ifmap_kb=kb, filter_kb=1.0,
                                ofmap_kb=0.1)
        for b, want in by_batch.items():
            r = accel.evaluate(extract(conv, (8, 8, 8), batch=b), cfg)
            assert (r["cycles"], r["dram_bytes"]) == want, (kb, b)
