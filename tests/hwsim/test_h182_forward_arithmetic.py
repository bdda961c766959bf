"""Arithmetic written in a model's forward is priced (h182).

Element-wise products (``x * y``, broadcast ones such as ``p * p.mean(1, keepdim=True)``),
numbers applied to tensors (``x / 2``, ``1 - x``), means and sums, and concatenations
(``torch.cat``, ``torch.stack``) called outside a layer were free: only a tensor add of two
operands of one shape was an op.  Now each is an op with the cost model of that add
(``hwsim.functional``): one element op per output value (a reduction: per value read, as a
global average pool), each tensor operand read (a broadcast one its own values, a number
none: since h190; it was the largest operand alone) and its output written once; a
concatenation is a copy (a ``resample`` op, as a padding layer).  The price differences below
are computed by hand from the models' formulas and constants."""
import math

import pytest
import torch
from torch import nn

import hwsim
from hwsim import accel, extract, gpu, spring
from hwsim.accel import ADD8_PJ, DRAM_PJ_PER_B, SRAM8KB_PJ_PER_B, AcceleratorConfig
from hwsim.spring import SpringConfig
from hwsim.tables import build_table, predict

BATCH, WIDTH = 4, 32


class Net(nn.Module):
    """Two Linear(16, 32) and a Linear(32, 4) head, fed the same shapes with or without the
    forward's own arithmetic (a product, a mean, a broadcast product, a concatenation)."""

    def __init__(self, extra: bool):
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b, self.head = nn.Linear(16, WIDTH), nn.Linear(16, WIDTH), nn.Linear(WIDTH, 4)
        self.extra = extra

    def forward(self, x):
        y, z = self.a(x), self.b(x)
        if not self.extra:
            return self.head(y)
        p = y * z                                    # N x 32 products
        m = p.mean(1, keepdim=True)                  # N x 1: 32 adds a row
        g = p * m                                    # broadcast over the row: N x 32
        h = torch.cat([g[:, :16], z[:, :16]], 1)     # a copy of N x 32 values
        return self.head(h)


# (type, elems, input values, output values) of the four ops, by hand: y * z reads both
# (2N), p * m reads p and m's BATCH values (N + BATCH; h190: both were N)
N = BATCH * WIDTH
EXPECTED = [("eltwise", N, 2 * N, N), ("eltwise", N, N, BATCH), ("eltwise", N, N + BATCH, N),
            ("resample", 0, N, N)]


def _ops(extra):
    return extract(Net(extra), (16,), batch=BATCH)


def test_the_forward_arithmetic_is_four_ops_and_the_layers_are_unchanged():
    plain, full = _ops(False), _ops(True)
    layers = [o for o in full if o.type == "linear"]
    assert [o.key() for o in layers] == [o.key() for o in plain]   # same layers, same work
    new = [o for o in full if o.type != "linear"]
    assert [(o.type, o.elems, o.in_elems, o.out_elems) for o in new] == EXPECTED
    assert [dict(o.geometry)["kind"] for o in new] == ["mul", "mean", "mul", "cat"]
    assert dict(new[2].geometry)["other"] == (BATCH, 1)


def test_the_accelerator_prices_them_as_an_add():
    """Default accelerator: 32 columns, 8-bit values (1 B), 16 GB/s at 500 MHz = 32 B a
    cycle, 45 nm at 0.9 V.  Each op: ceil(elems / 32) vector cycles, (I + O) B of DRAM,
    max of the two; energy: elems x ADD8_PJ, (I + O) B through the 64 KiB ifmap/ofmap
    pads at SRAM8KB_PJ_PER_B x sqrt(64 / 8), DRAM_PJ_PER_B a byte, leakage over its time."""
    cfg = AcceleratorConfig()
    plain, full = (accel.evaluate(_ops(x), cfg) for x in (False, True))
    compute = sum(math.ceil(e / 32) for _, e, _, _ in EXPECTED)             # 4 + 4 + 4 + 0
    dram = sum(i + o for _, _, i, o in EXPECTED)                            # bytes
    cycles = sum(max(math.ceil(e / 32), (i + o) / 32) for _, e, i, o in EXPECTED)
    # (384 + 132 + 260 + 256 B; 12 + 4.125 + 8.125 + 8 cycles.  Before h190, 900 B and
    # 28.125 cycles: y * z read 256 B, p * m 256 B)
    assert (compute, dram, cycles) == (12, 1032, 32.25)
    assert full["compute_cycles"] - plain["compute_cycles"] == compute
    assert full["dram_bytes"] - plain["dram_bytes"] == dram
    assert full["cycles"] - plain["cycles"] == pytest.approx(cycles, abs=1e-9)
    leak_pj = cfg.leakage_mw_per_mm2 * full["area_mm2"] * cycles / 500e6 * 1e9
    energy_pj = (sum(e for _, e, _, _ in EXPECTED) * ADD8_PJ
                 + dram * SRAM8KB_PJ_PER_B * math.sqrt(64 / 8) + dram * DRAM_PJ_PER_B + leak_pj)
    assert (full["energy_mj"] - plain["energy_mj"]) * 1e9 == pytest.approx(energy_pj, rel=1e-9)


def test_spring_prices_them_on_its_lanes():
    """SPRING (64 PEs x 72 lanes = 4,608 lanes, 700 MHz, 20-bit values, 28 nm): an element op
    ceil(elems / 4,608) cycles, a copy ceil(O / 4,608): one cycle each here; energy elems x
    ADD8_PJ x 20 / 8 x 28 / 45 pJ, every op's (I + O) x 20 / 8 B through 64 KiB banks (the
    copy's only before h193: the element-wise ops' operands and results were not charged),
    and 5 W of static power over the 4 cycles.  Nothing spills: no NVM traffic."""
    cfg = SpringConfig()
    plain, full = (spring.evaluate(_ops(x), cfg) for x in (False, True))
    assert full["cycles"] - plain["cycles"] == 4
    assert full["nvm_bytes"] == plain["nvm_bytes"]
    scale = 28 / 45
    e_vec = sum(e for _, e, _, _ in EXPECTED) * ADD8_PJ * 20 / 8 * scale
    e_sram = (sum(i + o for _, _, i, o in EXPECTED) * 20 / 8       # 1,032 values (256 before)
              * SRAM8KB_PJ_PER_B * math.sqrt(64 / 8) * scale)
    e_static = 5.0 * 4 / 700e6 * 1e12
    assert (full["energy_mj"] - plain["energy_mj"]) * 1e9 == pytest.approx(
        e_vec + e_sram + e_static, rel=1e-9)


def test_the_gpu_roofline_prices_their_traffic():
    """GTX 1080 Ti roofline: each op max(elems / 11.34 TFLOP/s, (I + O) x 4 B / 484 GB/s),
    and its kernel's launch, 5 us."""
    plain, full = (gpu.evaluate(_ops(x)) for x in (False, True))
    seconds = sum(max(e / 11.34e12, (i + o) * 4 / 484e9) + 5e-6 for _, e, i, o in EXPECTED)
    assert full["latency_ms"] - plain["latency_ms"] == pytest.approx(seconds * 1e3, rel=1e-9)


def test_a_cpu_table_times_each_of_them():
    """A host table has a row for each new op (timed as its own call: the product, the mean,
    the broadcast product, the concatenation), and its prediction of the model is the
    plain model's plus those rows."""
    plain, full = _ops(False), _ops(True)
    table = build_table(full, "cpu", repeats=3)
    whole, base = predict(table, full), predict(table, plain)
    assert whole["missing"] == [] and base["missing"] == []
    rows = [table.row(o)["latency_ms"] for o in full if o.type != "linear"]
    assert len(rows) == 4 and all(r > 0 for r in rows)
    assert whole["latency_ms"] == pytest.approx(base["latency_ms"] + sum(rows), rel=1e-9)


def test_a_mean_over_space_prices_as_a_global_average_pool():
    class Mean(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)

        def forward(self, x):
            return self.conv(x).mean((2, 3), keepdim=True)

    torch.manual_seed(0)
    pooled = nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1))
    a, b = extract(Mean(), (3, 10, 10), batch=2), extract(pooled, (3, 10, 10), batch=2)
    assert (a[1].elems, a[1].in_elems, a[1].out_elems) == (b[1].elems, b[1].in_elems,
                                                           b[1].out_elems) == (1024, 1024, 16)
    cfg = AcceleratorConfig()
    assert accel.evaluate(a[1:], cfg)["cycles"] == accel.evaluate(b[1:], cfg)["cycles"]
    assert accel.evaluate(a[1:], cfg)["dram_bytes"] == accel.evaluate(b[1:], cfg)["dram_bytes"]


class _One(nn.Module):
    def __init__(self, call):
        super().__init__()
        self.id, self.call = nn.Identity(), call

    def forward(self, x):
        return self.call(self.id(x))


# each call form: (the call, type, kind, elems, input values, output values) on a 2 x 3 x 4 x
# 5 input (120 values); an element-wise call's input values are both tensor operands' (h190)
FORMS = [
    (lambda x: x * x, "eltwise", "mul", 120, 240, 120),             # two operand streams
    (lambda x: torch.mul(x, x[:, :1]), "eltwise", "mul", 120, 160, 120),   # + 2 x 1 x 4 x 5
    (lambda x: x[:, :1].mul(x), "eltwise", "mul", 120, 160, 120),   # the larger operand in
    (lambda x: 2 * x, "eltwise", "mul", 120, 120, 120),
    (lambda x: x / 2, "eltwise", "div", 120, 120, 120),
    (lambda x: 1 - x, "eltwise", "sub", 120, 120, 120),
    (lambda x: x - x[0], "eltwise", "sub", 120, 180, 120),       # + 3 x 4 x 5
    (lambda x: x + 1, "eltwise", "add", 120, 120, 120),
    (lambda x: x + x[:, :, :1], "eltwise", "add", 120, 150, 120),   # a broadcast add: + 30
    (lambda x: x[:, :, :1, :1] + x[:, :1], "eltwise", "add", 120, 46, 120),   # both broadcast:
    # 6 + 40
    (lambda x: x.mean(), "eltwise", "mean", 120, 120, 1),
    (lambda x: torch.mean(x, dim=-1), "eltwise", "mean", 120, 120, 24),
    (lambda x: x.sum(1), "eltwise", "sum", 120, 120, 40),
    (lambda x: torch.cat([x, x], 2), "resample", "cat", 0, 240, 240),
    (lambda x: torch.stack([x, x, x]), "resample", "cat", 0, 360, 360),
]


@pytest.mark.parametrize("form", FORMS, ids=range(len(FORMS)))
def test_each_call_form_is_one_op(form):
    call, type_, kind, elems, i, o = form
    (op,) = extract(_One(call), (3, 4, 5), batch=2)
    assert (op.type, dict(op.geometry)["kind"], op.elems, op.in_elems, op.out_elems) == \
        (type_, kind, elems, i, o)
    out = hwsim.tables.op_callable(op, torch.Generator().manual_seed(0))()   # a host run
    assert tuple(out.shape) == op.out_shape


def test_an_in_place_product_reads_its_input_before_the_call():
    """``x *= 0`` overwrites its input: the op's input sparsity is the input's (none zero),
    not the output's (all zero)."""
    def zero(x):
        x = x.clone()
        x *= 0
        return x
    ops = extract(_One(zero), (8,), batch=2)
    (op,) = [o for o in ops if o.type == "eltwise"]
    assert op.act_sparsity == 0.0 and dict(op.geometry)["kind"] == "mul"


def test_a_residual_add_is_recorded_as_before():
    (op,) = extract(_One(lambda x: x + x), (8,), batch=2)
    assert (op.name, op.geometry, op.elems) == ("add0", (), 16)
