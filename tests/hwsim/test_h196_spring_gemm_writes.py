"""SPRING charges the buffer writes of a GEMM op's results (h196).

A conv's or linear's operand reads were charged (``eff MACs x 2 operands x 20 / 8 B /
operand_reuse``), but its output values, reduced in the lanes and written to the activation
buffer, cost no SRAM energy.  Now each of its O outputs is written once (in training the
backward passes' dX, the input's I values, and dW, the weights' W, too), at the unit every
other buffer access is charged: SRAM8KB_PJ_PER_B x sqrt(sram_bank_kb / 8) x technology_nm /
45 pJ per byte (64 KiB banks, 28 nm: 10 / 8 x sqrt(8) x 28 / 45 = 2.2 pJ/B), values x 20 / 8
bytes.  Each test fails before the change (the writes' term missing)."""
import dataclasses
import math

import pytest
import torch
from torch import nn

from hwsim import extract, spring
from hwsim.accel import SRAM8KB_PJ_PER_B
from hwsim.spring import SpringConfig

PJ_PER_B = SRAM8KB_PJ_PER_B * math.sqrt(64 / 8) * 28 / 45       # one 64 KiB bank, 28 nm
BYTES = 20 / 8                                                  # a 20-bit value
READS = 2 * BYTES / 16                                          # bytes per MAC (operand_reuse 16)


def _sram_pj(ops, mode="inference"):
    r = spring.evaluate(ops, SpringConfig(), mode, chunks=False)
    return r["energy_breakdown_mj"]["sram"] * 1e9


def _dense(op):
    return dataclasses.replace(op, act_sparsity=0.0, weight_sparsity=0.0)


def test_a_linear_writes_its_outputs():
    """Linear(16, 32) on 4 rows: 2,048 MACs' operand reads and its 128 outputs written."""
    torch.manual_seed(0)
    lin = _dense(extract(nn.Linear(16, 32), (16,), batch=4)[0])
    assert (lin.macs, lin.in_elems, lin.out_elems, lin.weight_elems) == (2048, 64, 128, 512)
    assert _sram_pj([lin]) == pytest.approx((2048 * READS + 128 * BYTES) * PJ_PER_B,
                                            rel=1e-12)


def test_a_conv_writes_its_output_activations():
    """Conv2d(3, 8, 3, padding=1) on 2 x 3 x 8 x 8: 27 MACs for each of its 1,024 outputs."""
    torch.manual_seed(0)
    conv = _dense(extract(nn.Conv2d(3, 8, 3, padding=1), (3, 8, 8), batch=2)[0])
    assert (conv.macs, conv.out_elems) == (27 * 1024, 1024)
    assert _sram_pj([conv]) == pytest.approx((27 * 1024 * READS + 1024 * BYTES) * PJ_PER_B,
                                             rel=1e-12)


def test_training_writes_each_passes_results():
    """Training: forward, backward-data and backward-weight passes (3 x 2,048 MACs' reads), and
    their results written: Y (128), dX (64), dW (512)."""
    torch.manual_seed(0)
    lin = _dense(extract(nn.Linear(16, 32), (16,), batch=4)[0])
    want = (3 * 2048 * READS + (128 + 64 + 512) * BYTES) * PJ_PER_B
    assert _sram_pj([lin], "training") == pytest.approx(want, rel=1e-12)


def test_a_chunked_batch_writes_each_output_once():
    """Linear(64, 4) on 256 rows whose activations spill a 0.02 MB buffer: run in chunks (no
    spill), it writes each of its 1,024 outputs once, as the whole batch does."""
    torch.manual_seed(0)
    lin = _dense(extract(nn.Linear(64, 4), (64,), batch=256)[0])
    cfg = SpringConfig(act_buffer_mb=0.02)
    whole, chunked = (spring.evaluate([lin], cfg, chunks=c) for c in (False, True))
    assert whole["nvm_bytes"] > chunked["nvm_bytes"]                  # (it ran in chunks)
    want = (256 * 64 * 4 * READS + 256 * 4 * BYTES) * PJ_PER_B
    for r in (whole, chunked):
        assert r["energy_breakdown_mj"]["sram"] * 1e9 == pytest.approx(want, rel=1e-12)
