"""A tensor add reads both of its operands (h190).

A residual add ``out + identity`` (and since h182 every element-wise op of two tensors) was
priced as reading one operand: its input was the first (or larger) operand's values, so the
accelerator's DRAM bytes and SRAM energy, SPRING's NVM traffic and the GPU roofline's bytes
of every shortcut left out the shortcut tensor.  Now the op's input is both tensor operands
(``hwsim.op.make_op``'s ``also``): a broadcast operand its own values, a number none.  The
figures below are computed by hand from the models' formulas and constants."""
import math

import pytest
import torch
from torch import nn

from hwsim import accel, extract, gpu, spring
from hwsim.accel import ADD8_PJ, DRAM_PJ_PER_B, SRAM8KB_PJ_PER_B, AcceleratorConfig
from hwsim.spring import SpringConfig

BATCH, C, H = 2, 4, 4
V = BATCH * C * H * H            # values of one activation tensor: 128


class Block(nn.Module):
    """Two 3x3 convolutions and a shortcut: relu(conv2(relu(conv1(x))) + x)."""

    def __init__(self, inplace=False):
        super().__init__()
        torch.manual_seed(0)
        self.conv1 = nn.Conv2d(C, C, 3, padding=1)
        self.conv2 = nn.Conv2d(C, C, 3, padding=1)
        self.relu = nn.ReLU(inplace=inplace)
        self.inplace = inplace

    def forward(self, x):
        out = self.conv2(self.relu(self.conv1(x)))
        if self.inplace:                 # torchvision's BasicBlock: out += identity
            out += x
            return self.relu(out)
        return self.relu(out + x)


def _add(model=None, inputs=None):
    ops = extract(model or Block(), (C, H, H), batch=BATCH, inputs=inputs)
    (add,) = [o for o in ops if o.name.startswith("add")]
    return add


def test_the_residual_add_reads_both_operands():
    add = _add()
    assert (add.type, add.in_shape, add.elems) == ("eltwise", (BATCH, C, H, H), V)
    assert (add.in_elems, add.out_elems) == (2 * V, V)     # out and identity read, sum written


def test_the_accelerator_prices_the_shortcut_read():
    """Default accelerator: 32 columns, 8-bit values (1 B), 16 GB/s at 500 MHz = 32 B a
    cycle, 45 nm at 0.9 V, 64 KiB pads.  The add: ceil(128 / 32) = 4 vector cycles; DRAM
    (256 + 128) values x 1 B = 384 B, 12 cycles: 12 cycles (it was 256 B, 8 cycles).
    Energy: 128 x ADD8_PJ, 384 B through the ifmap/ofmap pads at SRAM8KB_PJ_PER_B x
    sqrt(64 / 8) pJ a byte, 384 x DRAM_PJ_PER_B, leakage over 12 cycles."""
    cfg = AcceleratorConfig()
    r = accel.evaluate([_add()], cfg)
    assert r["compute_cycles"] == 4
    assert r["dram_bytes"] == 384
    assert r["cycles"] == 12
    sram = 384 * SRAM8KB_PJ_PER_B * math.sqrt(64 / 8)
    leak = cfg.leakage_mw_per_mm2 * r["area_mm2"] * 12 / 500e6 * 1e9
    assert r["energy_sram_mj"] * 1e9 == pytest.approx(sram, rel=1e-12)
    assert r["energy_dram_mj"] * 1e9 == pytest.approx(384 * DRAM_PJ_PER_B, rel=1e-12)
    assert r["energy_mj"] * 1e9 == pytest.approx(
        V * ADD8_PJ + sram + 384 * DRAM_PJ_PER_B + leak, rel=1e-12)


def test_spring_streams_both_operands_when_they_spill():
    """SPRING with a 100-value (2,000-bit) activation buffer and 1 GB/s of NVM: the add's
    input and output spill.  Read: 256 values x 21 bits (20-bit values, none zero, and a mask
    bit each) = 5,376 bits; written: 128 x 21 = 2,688 bits: 1,008 B (it was 672).  At 700
    MHz, 8e9 / 700e6 bits a cycle: 8,064 / (80 / 7) = 705.6 cycles (one of compute).  Energy
    5,376 x 1 + 2,688 x 5 pJ of NVM, 128 x ADD8_PJ x 20 / 8 x 28 / 45 of vector ops, its
    256 + 128 values x 20 / 8 B through the 64 KiB buffer banks (SRAM8KB_PJ_PER_B x
    sqrt(64 / 8) x 28 / 45 pJ/B; since h193, 0 before), 5 W over 705.6 cycles."""
    cfg = SpringConfig(act_buffer_mb=2000 / 8e6, nvm_gbps=1.0)
    add = _add()
    assert add.act_sparsity == 0.0        # a conv's output and a Gaussian input: no zeros
    r = spring.evaluate([add], cfg, chunks=False)
    assert r["nvm_bytes"] == 1008
    assert r["cycles"] == pytest.approx(8064 * 700e6 / 8e9, rel=1e-12) == pytest.approx(705.6)
    e_static = 5.0 * 705.6 / 700e6 * 1e12
    assert r["energy_mj"] * 1e9 == pytest.approx(
        5376 + 2688 * 5 + V * ADD8_PJ * 20 / 8 * 28 / 45 + e_static
        + 3 * V * 20 / 8 * SRAM8KB_PJ_PER_B * math.sqrt(64 / 8) * 28 / 45, rel=1e-9)


def test_the_gpu_roofline_moves_both_operands():
    """GTX 1080 Ti: (256 + 128) values x 4 B = 1,536 B at 484 GB/s, 128 FLOP; one kernel's
    launch, 5 us."""
    r = gpu.evaluate([_add()])
    assert r["bytes"] == 1536
    assert r["latency_ms"] == pytest.approx((max(V / 11.34e12, 1536 / 484e9) + 5e-6) * 1e3,
                                            rel=1e-12)


def test_its_zeros_are_both_operands_measured_before_the_add():
    """The input has 48 of its 128 values zero (the shortcut), the conv's output none: the
    add's input, 256 values, has 48 zeros.  An in-place ``out += x`` followed by an in-place
    ReLU (torchvision's BasicBlock) measures them before either overwrites its input (it was
    the zeros of the ReLU's output, measured after the forward)."""
    x = torch.randn(BATCH, C, H, H, generator=torch.Generator().manual_seed(1))
    x[:, :3, 0] = 0.0                                  # 2 x 3 x 4 x ... = 24 values
    x[:, :3, 1] = 0.0                                  # another 24: 48 zeros
    assert int((x == 0).sum()) == 48
    for inplace in (False, True):
        add = _add(Block(inplace), inputs=x.clone())
        assert add.act_sparsity == pytest.approx(48 / (2 * V)), inplace
        assert add.in_elems == 2 * V


class _Arith(nn.Module):
    def __init__(self, call):
        super().__init__()
        self.conv, self.call = nn.Conv2d(C, C, 1), call
        self.register_buffer("scale", torch.full((C, 1, 1), 0.5))   # (a Parameter of 2 or
        # more dimensions outside a layer is refused: no cost model prices it)

    def forward(self, x):
        y = self.conv(x)
        return self.call(self, x, y)


# (the call, values of the op's input): both tensor operands, a broadcast one its own values
# (a per-sample gate of B x C, a scale of C shared by the batch), a number none
FORMS = [
    (lambda m, x, y: x * y, 2 * V),
    (lambda m, x, y: y - x, 2 * V),
    (lambda m, x, y: y * y.mean((2, 3), keepdim=True), V + BATCH * C),
    (lambda m, x, y: y * m.scale, V + C),
    (lambda m, x, y: y * 2, V),
    (lambda m, x, y: y * y, 2 * V),           # two operand streams, one tensor
]


@pytest.mark.parametrize("form", FORMS, ids=range(len(FORMS)))
def test_an_elementwise_op_reads_each_tensor_operand(form):
    call, values = form
    ops = extract(_Arith(call), (C, H, H), batch=BATCH)
    op = ops[-1]
    assert op.type == "eltwise" and op.in_shape == (BATCH, C, H, H)
    assert (op.in_elems, op.out_elems, op.elems) == (values, V, V)
    r = accel.evaluate([op])
    assert r["dram_bytes"] == values + V                 # 8-bit: a byte a value
    assert accel.op_samples(op) == BATCH                 # the batch is still its samples


def test_a_batch_shared_operand_is_read_by_every_chunk():
    """SPRING run one sample at a time: the product with a (C, 1, 1) scale reads the
    scale's 4 values in each run, and half of the 128 feature values: 64 + 4 values
    (it was (128 + 4) / 2 = 66, the scale split over the runs)."""
    ops = extract(_Arith(lambda m, x, y: y * m.scale), (C, H, H), batch=BATCH)
    a = spring._arrays(ops[-1:])
    half = spring._scaled(a, 1)
    assert half["I"][0] == V // 2 + C and half["O"][0] == V // 2
    assert spring._scaled(a, BATCH)["I"][0] == V + C


def test_a_resnet_add_moves_twice_its_output():
    """resnet8_w16 at batch 1 on 3x32x32: each of its three shortcut adds reads 2 x its
    output's values (16 x 32 x 32, 32 x 16 x 16, 64 x 8 x 8)."""
    from hwsim.workload import build_priced
    ops = extract(build_priced("resnet8_w16", (3, 32, 32), 10), (3, 32, 32))
    adds = [o for o in ops if o.name.startswith("add")]
    assert [(o.in_elems, o.out_elems) for o in adds] == [
        (2 * 16384, 16384), (2 * 8192, 8192), (2 * 4096, 4096)]
