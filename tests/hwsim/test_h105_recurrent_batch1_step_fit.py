"""A recurrent layer at batch 1 runs step by step as a batch does: one step's working set
(x_t and h_{t-1} in, the gate pre-activations out) must fit the scratchpads, not the whole
sequence's.  A sequence that spilled its pads at batch 1 was charged the refetches of a
whole-sequence GEMM (on ws its input once per column fold, its output once per extra row
fold and back), which a step-by-step accelerator does not make."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from hwsim import accel
from hwsim.accel import AcceleratorConfig
from hwsim.workload import build_priced, extract

# a 4 x 4 ws array (a 12-deep, 32-wide step is 3 row folds, 8 column folds) with 1 KiB
# activation pads (half of one: 512 int8 values); the 64 KiB filter pad holds the weights
SMALL = AcceleratorConfig(rows=4, cols=4, ifmap_kb=1, ofmap_kb=1)
HALF = 512


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.RNN])
def test_a_sequence_twice_as_long_costs_twice_the_dram_and_energy(cls):
    # (4 in, 8 hidden): 50 steps' input (200) and output (400) fit half a pad, 100 steps'
    # output (800) does not; one step (12 in, at most 32 gate values out) does
    torch.manual_seed(0)
    layer = cls(4, 8, batch_first=True)
    ops = {t: extract(layer, (t, 4)) for t in (50, 100)}
    (op,) = ops[100]
    assert op.out_elems > HALF and ops[50][0].out_elems <= HALF
    assert op.gemm[0] * op.gemm[1] <= HALF and op.gemm[0] * op.gemm[2] <= HALF
    short, long_ = (accel.evaluate(ops[t], SMALL) for t in (50, 100))
    # the weights are read once either way; the rest doubles (LSTM: 4.9x the bytes of 50
    # steps, 800 outputs read and written 5 times)
    w = op.weight_elems
    assert long_["dram_bytes"] - w == 2 * (short["dram_bytes"] - w)
    assert 1.5 * short["energy_mj"] <= long_["energy_mj"] <= 2 * short["energy_mj"]


def test_batch_1_lstm_reads_its_sequence_once():
    # LSTM(4, 8) over 100 steps, int8: weights (4 x 8 x 12) fit, the sequence does not; DRAM
    # is the weights once, the input sequence once, the outputs once
    torch.manual_seed(0)
    (op,) = ops = extract(nn.LSTM(4, 8, batch_first=True), (100, 4))
    assert op.gemm == (1, 12, 32) and op.groups == 100 and op.out_elems > HALF
    res = accel.evaluate(ops, SMALL)
    assert res["dram_bytes"] == op.weight_elems + op.in_elems + op.out_elems
    assert res["compute_cycles"] == (100 * accel.gemm_compute_cycles(1, 12, 32, 4, 4, 0)
                                     + math.ceil(op.elems / 4))


@pytest.mark.parametrize("name", ["lstm32", "hlstm32", "lstm64x2"])
def test_registered_models_recurrent_ops_scale_with_sequence_length(name):
    # the family's per-step GEMMs (W_hh h_{t-1}; an H-LSTM's gate networks) at batch 1: ten
    # times the steps cost at most ten times the DRAM bytes and energy (4 steps fit the
    # pads, 40 do not).  The input projection W_ih x over all steps is one GEMM, not per step
    short, long_ = (3, 4), (3, 40)
    p = {}
    for s in (short, long_):
        layers = accel.evaluate(extract(build_priced(name, s, 10), s), SMALL)["layers"]
        rec = [r for r in layers if r["type"] in accel.RECURRENT_TYPES]
        assert rec
        p[s] = {k: sum(r[k] for r in rec) for k in ("dram_bytes", "energy_mj")}
    for k in ("dram_bytes", "energy_mj"):
        assert p[long_][k] <= 10 * p[short][k] * (1 + 1e-9), (k, p[long_][k] / p[short][k])


@pytest.mark.parametrize("make, shape", [(lambda: nn.Linear(300, 200), (70, 300)),
                                         (lambda: nn.Conv2d(16, 64, 3), (16, 12, 12))])
def test_non_recurrent_ops_refetch_as_before(make, shape):
    # a batch-1 Linear over 70 rows and a conv whose input and output spill half their pads:
    # on ws the input is read once per column fold, partial sums once per extra row fold
    torch.manual_seed(1)
    (op,) = ops = extract(make(), shape)
    T, K, N = op.gemm
    assert op.in_elems > HALF and op.out_elems > HALF
    res = accel.evaluate(ops, SMALL)
    assert res["dram_bytes"] == (op.weight_elems + op.in_elems * math.ceil(N / 4)
                                 + op.out_elems * (2 * math.ceil(K / 4) - 1))
    L = accel.layer_arrays(ops)
    fit = accel.step_fit(L)
    assert np.array_equal(fit["Ifit"], L["I"]) and np.array_equal(fit["Ofit"], L["O"])
