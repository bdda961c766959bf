"""A batch of a recurrent layer runs step by step: one step's working set must fit, not the
whole sequence's, so a batch whose step fits runs whole (batch-level latency), in no more
cycles than B batch-1 runs, DRAM bytes per layer at most the larger of theirs plus
(``ACT_REFETCH_MAX`` - 1) x its activations' bytes and ``DRAM_COMPULSORY_MAX`` x its compulsory
bytes (energy: plus the extra bytes' DRAM energy; ``check_batch_bounds``)."""
import math
import random

import pytest
import torch
from torch import nn

from hwsim import accel
from hwsim.accel import AcceleratorConfig
from hwsim.workload import build_priced, extract
from tests.hwsim.test_batch_tiling_h92 import check_batch_bounds


def _ratios(ops_1, ops_b, batch, config=None):
    one, many = accel.evaluate(ops_1, config), accel.evaluate(ops_b, config)
    return {k: many[k] / (batch * one[k]) for k in ("latency_ms", "dram_bytes", "energy_mj")}


@pytest.mark.parametrize("name, shape", [("lstm64", (1, 30)), ("lstm64", (3, 100)),
                                         ("hlstm64", (3, 100))])
def test_registered_recurrent_batch_64_runs_as_a_batch(name, shape):
    # lstm64 (1, 30) was 0.265x of 64 batch-1 runs in latency (one sample at a time: the
    # whole sequence's input spilled), (3, 100) 0.994x; 0.042x before f976b76
    model = build_priced(name, shape, 10)
    r = _ratios(extract(model, shape), extract(model, shape, batch=64), 64)
    assert r["latency_ms"] <= 0.1, r
    assert r["dram_bytes"] <= 1.0 and r["energy_mj"] <= 1.0, r


def test_a_step_that_fits_is_one_gemm_per_step_of_the_whole_batch():
    # GRU(16, 32), 50 steps, batch 64, int8 on the default 32x32 ws, 32 KiB half pads: the
    # sequence (64 x 50 x 16 B in, 64 x 50 x 32 B out) does not fit, one step
    # (64 x (16 + 32) in, 64 x 96 gate pre-activations out) does
    torch.manual_seed(0)
    ops = extract(nn.GRU(16, 32, batch_first=True), (50, 16), batch=64)
    (op,) = ops
    assert op.gemm == (64, 48, 96) and op.groups == 50
    res = accel.evaluate(ops)
    assert res["compute_cycles"] == (50 * accel.gemm_compute_cycles(64, 48, 96, 32, 32, 0)
                                     + math.ceil(op.elems / 32))
    assert res["dram_bytes"] == op.weight_elems + op.in_elems + op.out_elems


def test_recurrent_batches_cost_no_more_than_batch_1_runs_and_their_activations_once_more():
    # (the bound was B batch-1 runs' DRAM bytes and energy on the same pads, which falls where
    # a larger pad lets one sample fit: LSTM(5, 11) at batch 8 took 23,240 cycles on a larger
    # ifmap pad, 9,086 on the smaller, test_h152_monotone_batch.py)
    rng = random.Random(99)
    torch.manual_seed(99)
    configs = [AcceleratorConfig()] + [AcceleratorConfig(
        rows=rng.choice([1, 4, 16, 32, 64]), cols=rng.choice([1, 5, 32, 128]),
        dataflow=rng.choice(["ws", "os", "is"]), precision_bits=rng.choice([4, 8, 16]),
        ifmap_kb=rng.choice([0.25, 1, 4, 64]), filter_kb=rng.choice([0.25, 2, 64]),
        ofmap_kb=rng.choice([0.125, 1, 8, 64]), dram_gbps=rng.choice([1.0, 16.0, 200.0]))
        for _ in range(40)]
    models = [(build_priced("lstm32", (2, 12), 5), (2, 12)),
              (build_priced("hlstm32", (2, 12), 5), (2, 12)),
              (nn.LSTM(6, 24, num_layers=2, batch_first=True, bidirectional=True), (9, 6)),
              (nn.GRU(3, 40, batch_first=True), (2, 3)),
              (nn.RNN(20, 8, batch_first=True), (15, 20)),
              (nn.LSTM(6, 32, proj_size=8, batch_first=True), (10, 6)),
              (nn.LSTMCell(10, 30), (10,))]
    for model, shape in models:
        one = extract(model, shape)
        for batch in (2, 7, 64):
            try:   # cycles, DRAM bytes, energy; cycles with each pad 4x larger
                check_batch_bounds(one, extract(model, shape, batch=batch), batch, configs)
            except AssertionError as e:
                raise AssertionError((model, batch, str(e))) from e
