"""SPRING charges the on-chip buffer accesses of the ops off its GEMM array (h193).

A GEMM op's operands were charged their buffer reads (``eff MACs x 2 operands x 20 / 8 B /
operand_reuse`` at one bank's pJ per byte) and a ``resample`` op its (I + O) values, but an
element-wise op (a residual add, a product, a recurrent cell's update), a pool, a norm and an
embedding cost no SRAM energy at all: their operands came from and their results went to the
activation buffer for free.  Now each reads its I input values and writes its O output values
once (an embedding's table rows and a PReLU's slopes through the weight buffer too), as the
accelerator model charges its scratchpads.  Unit: SRAM8KB_PJ_PER_B x sqrt(sram_bank_kb / 8) x
technology_nm / 45 pJ per byte (64 KiB banks, 28 nm: 10 / 8 x sqrt(8) x 28 / 45 = 2.2 pJ/B),
values x 20 / 8 bytes.  The sram figures here are 0 before the change (the GEMM one passes)."""
import dataclasses
import math

import pytest
import torch
from torch import nn

from hwsim import extract, spring
from hwsim.accel import SRAM8KB_PJ_PER_B
from hwsim.op import make_op
from hwsim.spring import SpringConfig

PJ_PER_B = SRAM8KB_PJ_PER_B * math.sqrt(64 / 8) * 28 / 45       # one 64 KiB bank, 28 nm
BYTES = 20 / 8                                                  # a 20-bit value


def _sram_pj(ops, mode="inference"):
    r = spring.evaluate(ops, SpringConfig(), mode, chunks=False)
    return r["energy_breakdown_mj"]["sram"] * 1e9


def test_a_residual_add_reads_both_operands_and_writes_its_sum():
    a, b = torch.randn(2, 8, 4, 4), torch.randn(2, 8, 4, 4)
    add = make_op("eltwise", "add0", a, a + b, elems=a.numel(), also=(b,))
    assert (add.in_elems, add.out_elems) == (512, 256)
    assert _sram_pj([add]) == pytest.approx((512 + 256) * BYTES * PJ_PER_B, rel=1e-12)
    # training: forward and backward-data, as its element ops (x 2; it has no weights, so no
    # backward-weight pass: it was x 3 before h209)
    assert _sram_pj([add], "training") == pytest.approx(2 * 768 * BYTES * PJ_PER_B, rel=1e-12)


def test_a_pool_a_norm_and_an_activation_are_charged_their_traffic():
    pool = extract(nn.MaxPool2d(2), (8, 6, 6), batch=2)[0]
    norm = extract(nn.GroupNorm(2, 8), (8, 6, 6), batch=2)[0]
    prelu = extract(nn.PReLU(8), (8, 6, 6), batch=2)[0]     # its 8 slopes read too
    assert (pool.in_elems, pool.out_elems) == (576, 144)
    assert _sram_pj([pool]) == pytest.approx((576 + 144) * BYTES * PJ_PER_B, rel=1e-12)
    assert _sram_pj([norm]) == pytest.approx((576 + 576) * BYTES * PJ_PER_B, rel=1e-12)
    assert _sram_pj([prelu]) == pytest.approx((576 + 576 + 8) * BYTES * PJ_PER_B, rel=1e-12)


def test_an_embedding_reads_its_rows():
    """12 indices of a 100 x 16 table: 12 index values, 192 table values, 192 written."""
    idx = torch.randint(0, 100, (2, 6), generator=torch.Generator().manual_seed(0))
    emb = extract(nn.Embedding(100, 16), (6,), inputs=idx)[0]
    assert _sram_pj([emb]) == pytest.approx((12 + 192 + 192) * BYTES * PJ_PER_B, rel=1e-12)


def test_a_gemm_is_charged_as_before():
    """A Linear(16, 32) on 4 rows, dense: 2,048 MACs x 2 operands x 20 / 8 B / 16 (passes
    before too), and since h196 its 128 outputs written (``test_h196_spring_gemm_writes``)."""
    torch.manual_seed(0)
    lin = extract(nn.Linear(16, 32), (16,), batch=4)[0]
    lin = dataclasses.replace(lin, act_sparsity=0.0)
    assert _sram_pj([lin]) == pytest.approx((2048 * 2 * BYTES / 16 + 128 * BYTES) * PJ_PER_B,
                                            rel=1e-12)


def test_a_chunked_batch_charges_the_same_values():
    """Run in chunks (a batch of 64 whose 24,576 values spill a 0.01 MB buffer: streamed
    whole, in chunks not), an element-wise op still reads and writes each value once: the
    same SRAM energy as the whole batch."""
    a = torch.randn(64, 8, 4, 4)
    add = make_op("eltwise", "add0", a, a, elems=a.numel(), also=(a,))
    cfg = SpringConfig(act_buffer_mb=0.01)
    whole, chunked = (spring.evaluate([add], cfg, chunks=c) for c in (False, True))
    assert whole["nvm_bytes"] > 0 == chunked["nvm_bytes"]       # (it ran in chunks)
    whole, chunked = (r["energy_breakdown_mj"]["sram"] for r in (whole, chunked))
    assert whole * 1e9 == pytest.approx(3 * a.numel() * BYTES * PJ_PER_B, rel=1e-12)
    assert chunked == pytest.approx(whole, rel=1e-12)
