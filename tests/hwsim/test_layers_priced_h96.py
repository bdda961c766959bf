"""Upsample, PixelShuffle/Unshuffle, 3-d pools and the remaining activations (PReLU,
LogSoftmax, Softplus, Mish, Hardsigmoid, Hardtanh, SELU, CELU, GLU, ...) are priced as what
they are on accel, gpu and spring, timed by host tables as the layer's own function, and
their functional forms price as their modules (they were refused, or free as functions)."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import hwsim
from hwsim import gpu, tables
from hwsim.accel import serial_steps
from hwsim.workload import INTERPOLATION_OPS, build_priced, extract
from synth.errors import UserError
from synth.models import list_variants

# (layer, its input sample shape, the op type it is priced as)
LAYERS = [
    (nn.Upsample(scale_factor=2), (4, 5, 5), "resample"),
    (nn.Upsample(scale_factor=2, mode="bilinear"), (4, 5, 5), "resample"),
    (nn.Upsample(size=(7, 9), mode="bilinear", align_corners=True), (4, 5, 5), "resample"),
    (nn.Upsample(scale_factor=1.5, mode="bicubic"), (4, 6, 6), "resample"),
    (nn.Upsample(scale_factor=2, mode="linear"), (4, 6), "resample"),
    (nn.Upsample(scale_factor=2, mode="trilinear"), (2, 3, 4, 4), "resample"),
    (nn.UpsamplingNearest2d(scale_factor=3), (2, 4, 4), "resample"),
    (nn.UpsamplingBilinear2d(size=8), (2, 4, 4), "resample"),
    (nn.PixelShuffle(2), (8, 4, 4), "resample"),
    (nn.PixelUnshuffle(2), (2, 6, 6), "resample"),
    (nn.MaxPool3d(2), (2, 4, 6, 6), "pool"),
    (nn.MaxPool3d(3, stride=2, padding=1, dilation=1, ceil_mode=True), (2, 5, 6, 6), "pool"),
    (nn.AvgPool3d((1, 2, 2), count_include_pad=False, padding=(0, 1, 1)), (2, 4, 6, 6),
     "pool"),
    (nn.AdaptiveAvgPool3d((1, 2, 3)), (2, 4, 6, 6), "pool"),
    (nn.AdaptiveMaxPool3d(2), (2, 4, 6, 6), "pool"),
    (nn.PReLU(4), (4, 5, 5), "eltwise"),
    (nn.PReLU(), (4, 5, 5), "eltwise"),
    (nn.LogSoftmax(dim=1), (4, 5, 5), "eltwise"),
    (nn.Softmin(dim=2), (4, 5, 5), "eltwise"),
    (nn.Softmax2d(), (4, 5, 5), "eltwise"),
    (nn.Softplus(beta=2, threshold=5), (4, 5, 5), "eltwise"),
    (nn.Mish(), (4, 5, 5), "eltwise"),
    (nn.Hardsigmoid(), (4, 5, 5), "eltwise"),
    (nn.Hardtanh(-0.5, 2.0), (4, 5, 5), "eltwise"),
    (nn.SELU(), (4, 5, 5), "eltwise"),
    (nn.CELU(alpha=0.5), (4, 5, 5), "eltwise"),
    (nn.GLU(dim=1), (4, 5, 5), "eltwise"),
    (nn.LogSigmoid(), (4, 5, 5), "eltwise"),
    (nn.Softsign(), (4, 5, 5), "eltwise"),
    (nn.Tanhshrink(), (4, 5, 5), "eltwise"),
    (nn.Hardshrink(0.3), (4, 5, 5), "eltwise"),
    (nn.Softshrink(0.3), (4, 5, 5), "eltwise"),
    (nn.Threshold(0.1, -2.0), (4, 5, 5), "eltwise"),
    (nn.RReLU(0.1, 0.3), (4, 5, 5), "eltwise"),
]


@pytest.mark.parametrize("layer, shape, kind", LAYERS, ids=lambda v: type(v).__name__
                         if isinstance(v, nn.Module) else None)
def test_each_layer_is_priced_on_every_model_and_timed_as_itself(layer, shape, kind):
    ops = extract(layer, shape, batch=2)
    assert len(ops) == 1 and ops[0].type == kind
    op = ops[0]
    x = torch.randn((2,) + shape)
    y = layer.eval()(x)
    assert op.out_shape == tuple(y.shape) and op.in_elems == x.numel()
    for cost in (hwsim.price_ops(ops, spring_cfg=True),):
        for k in ("latency_ms", "energy_mj", "spring_latency_ms", "spring_energy_mj"):
            assert math.isfinite(cost[k]) and cost[k] > 0, k
        assert cost["dram_bytes"] >= op.in_bytes // 4 + op.out_bytes // 4   # 8-bit: in + out
    g = gpu.evaluate(ops)
    assert g["latency_ms"] > 0 and g["bytes"] >= op.in_bytes + op.out_bytes
    for device in ("accel", "spring"):
        row = tables.build_table(ops, device)[op.key()]
        assert row["latency_ms"] > 0 and row["energy_mj"] > 0
    # the host table runs the layer's own function with its settings: same output as the
    # layer on the same input (drawn first from the table's generator; a PReLU's slopes next)
    gen = torch.Generator().manual_seed(3)
    out = tables.op_callable(op, gen)()
    xin = torch.randn(op.in_shape, generator=torch.Generator().manual_seed(3))
    if isinstance(layer, nn.PReLU):
        gen = torch.Generator().manual_seed(3)
        torch.randn(op.in_shape, generator=gen)
        w = torch.rand(op.weight_shape, generator=gen)
        torch.testing.assert_close(out, F.prelu(xin, w))
    else:
        torch.testing.assert_close(out, layer(xin))
    row = tables.build_table(ops, "cpu", repeats=2)[op.key()]
    assert row["latency_ms"] > 0


def test_prelu_reads_its_slopes_and_interpolation_counts_its_ops():
    prelu = extract(nn.PReLU(4), (4, 5, 5))[0]
    relu = extract(nn.ReLU(), (4, 5, 5))[0]
    assert prelu.weight_shape == (4,) and prelu.elems == relu.elems
    a, b = hwsim.price_ops([prelu]), hwsim.price_ops([relu])
    assert a["dram_bytes"] == b["dram_bytes"] + 4 and a["weight_bytes"] == 16   # 4 slopes, 8 b
    assert gpu.evaluate([prelu])["bytes"] == gpu.evaluate([relu])["bytes"] + 16
    up = {m: extract(nn.Upsample(scale_factor=2, mode=m), (2, 4, 4))[0]
          for m in ("nearest", "bilinear")}
    assert up["nearest"].elems == 0
    assert up["bilinear"].elems == INTERPOLATION_OPS["bilinear"] * 2 * 8 * 8 == 512
    assert (hwsim.price_ops([up["bilinear"]])["energy_mj"]
            > hwsim.price_ops([up["nearest"]])["energy_mj"])
    assert up["nearest"].key() != up["bilinear"].key()


class Net(nn.Module):
    """conv -> layer -> pool -> linear, the layer a module or a function of x."""

    def __init__(self, layer, channels=8):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.layer = layer if isinstance(layer, nn.Module) else None
        self.fn = None if isinstance(layer, nn.Module) else layer
        self.slopes = nn.Parameter(torch.full((8,), 0.25))   # for F.prelu
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(channels * 4, 10)

    def forward(self, x):
        x = self.conv(x)
        x = self.layer(x) if self.layer is not None else self.fn(self, x)
        return self.fc(self.pool(x).flatten(1))


FORMS = [   # (module, function of (net, x), channels after)
    (nn.PReLU(8), lambda n, x: F.prelu(x, n.slopes), 8),
    (nn.PReLU(8), lambda n, x: torch.prelu(x, n.slopes), 8),
    (nn.LogSoftmax(1), lambda n, x: F.log_softmax(x, 1), 8),
    (nn.LogSoftmax(1), lambda n, x: x.log_softmax(dim=1), 8),
    (nn.Softmin(1), lambda n, x: F.softmin(x, 1), 8),
    (nn.Softplus(), lambda n, x: F.softplus(x), 8),
    (nn.Softplus(2, 5), lambda n, x: F.softplus(x, beta=2, threshold=5), 8),
    (nn.Mish(), lambda n, x: F.mish(x), 8),
    (nn.Hardsigmoid(), lambda n, x: F.hardsigmoid(x, inplace=True), 8),
    (nn.Hardtanh(-2.0, 2.0), lambda n, x: F.hardtanh(x, -2.0, 2.0), 8),
    (nn.Hardtanh(-2.0, 2.0), lambda n, x: F.hardtanh_(x, -2.0, 2.0), 8),
    (nn.SELU(), lambda n, x: torch.selu(x), 8),
    (nn.SELU(), lambda n, x: torch.selu_(x), 8),
    (nn.CELU(0.5), lambda n, x: F.celu(x, 0.5), 8),
    (nn.GLU(1), lambda n, x: F.glu(x, 1), 4),
    (nn.Threshold(0.1, 0.0), lambda n, x: F.threshold(x, 0.1, 0.0), 8),
    (nn.Upsample(scale_factor=2), lambda n, x: F.interpolate(x, scale_factor=2), 8),
    (nn.Upsample(scale_factor=2, mode="bilinear"),
     lambda n, x: F.interpolate(x, scale_factor=2.0, mode="bilinear"), 8),
    (nn.Upsample(size=(9, 9), mode="bilinear", align_corners=True),
     lambda n, x: F.interpolate(x, (9, 9), None, "bilinear", True), 8),
    (nn.Upsample(scale_factor=(2, 3), mode="bilinear"),
     lambda n, x: F.interpolate(x, scale_factor=[2, 3], mode="bilinear"), 8),
    (nn.Upsample(size=(7, 8)), lambda n, x: F.interpolate(x, size=[7, 8]), 8),
    (nn.PixelShuffle(2), lambda n, x: F.pixel_shuffle(x, 2), 2),
    (nn.PixelUnshuffle(2), lambda n, x: F.pixel_unshuffle(x, downscale_factor=2), 32),
]


@pytest.mark.parametrize("module, fn, channels", FORMS)
def test_functional_form_prices_as_its_module(module, fn, channels):
    a = extract(Net(module, channels), (3, 6, 6), batch=2)
    b = extract(Net(fn, channels), (3, 6, 6), batch=2)
    assert len(a) == 4 and [o.key() for o in b] == [o.key() for o in a]
    assert hwsim.price_ops(b, spring_cfg=True) == hwsim.price_ops(a, spring_cfg=True)
    assert gpu.evaluate(b) == gpu.evaluate(a)
    assert hwsim.stored_weight_bytes(b) == hwsim.stored_weight_bytes(a)   # F.prelu's slopes


def test_calls_inside_priced_modules_are_not_counted_again():
    # nn.Upsample calls F.interpolate, nn.Softmin F.softmin (and that one Tensor.softmax),
    # nn.PReLU F.prelu: one op each, and F.interpolate inside nn.Upsample is no refusal
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Upsample(scale_factor=2, mode="bilinear"),
                      nn.Softmin(1), nn.PReLU(), nn.MaxPool3d((1, 2, 2)), nn.Mish())
    assert [o.type for o in extract(m, (3, 6, 6))] == ["conv", "resample", "eltwise",
                                                       "eltwise", "pool", "eltwise"]


def test_an_antialiased_interpolate_is_still_refused():
    class Net2(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 2, 1)

        def forward(self, x):
            return F.interpolate(self.conv(x), scale_factor=0.5, mode="bilinear",
                                 antialias=True)
    with pytest.raises(UserError, match="cannot price layer 'interpolate"):
        extract(Net2(), (2, 8, 8))


# Totals of every registered variant (batch 2), recorded from the code at f976b76 before
# these layers were priced: number of ops, accel latency_ms, energy_mj, dram_bytes, spring
# latency_ms, energy_mj, gpu latency_ms, flops, accel-table and spring-table predictions.
# (the resnets' rows since h104: a ReLU module a block calls twice is two ops, not one op
# of both calls' values; SPRING's lanes take whole cycles per op: its latency up to 0.55 %
# more here (resnet8_w16).  accel and gpu unchanged.  Since h190 a residual add reads both
# operands: each add of O output values reads 2 O, not O.  The resnets' rows moved by hand
# from the rows before: accel DRAM + sum(O) B (8-bit), cycles + sum(max(ceil(O/32), 3O/32) -
# max(ceil(O/32), 2O/32)) at 32 B a cycle, energy + sum(O) x (SRAM8KB_PJ_PER_B x sqrt(8) +
# DRAM_PJ_PER_B) pJ + leakage over those cycles; GPU + O x 4 B / 484 GB/s an add; SPRING
# unchanged (nothing spills at batch 2); equal to 1e-15: resnet8_w16 sum(O) = 14,336,
# resnet18_w16 30,720, resnet18 122,880, resnet34 225,280.  Since h193 SPRING charges the on-chip
# buffer accesses of every op off its GEMM array (element-wise, pool, norm, embedding): each
# row's SPRING energy and SPRING-table energy (5th and last) moved by hand from the rows
# before: + sum over those ops of (I + O + table rows read + slopes) values x 20 / 8 B x
# SRAM8KB_PJ_PER_B x sqrt(64 / 8) x 28 / 45 pJ/B, equal to 1e-12 (convnet_small 53,312 values:
# 0.0010612 -> 0.0013544 mJ; resnet8_w16 204,928: 0.0083206 -> 0.0094477; lstm64 938);
# nothing else moved.  Since h196 SPRING charges a GEMM op's output writes too: the same
# two figures moved by hand, + sum over its conv/linear/recurrent ops of O values x 20 / 8 B
# x the same pJ/B, equal to 1e-12 (convnet_small 12,298 values: 0.0013544 -> 0.0014220 mJ;
# resnet8_w16 43,018: 0.0094477 -> 0.0096843; resnet18 307,210: 0.62771 -> 0.62939).
# Since h201 SPRING runs a recurrent op's 7 steps and its cell's one after another: the
# lstm/hlstm rows' SPRING latency (5th) by hand, per op max(compute, NVM) cycles with
# compute = 7 x ceil(step outputs / 4,608) x ceil(K_eff / 16) and a cell 7 x ceil(step
# elems / 4,608) = 7 (it was 1 pass of all steps): lstm32 11.35 -> 24 cycles (hh 7.35 NVM
# -> 7 x 2, cell 1 -> 7), lstm64 36.778125 -> 41.778125 (cell 2 -> 7; hh stays NVM-bound,
# 29.4), lstm64x2 97.578125 -> 107.578125 (two cells), hlstm32 16 -> 93 (4 gate-hid ops
# 2 -> 14, 4 gate-out 1 -> 7, cell 2 -> 7), hlstm64 37.7 -> 165 (hid 4 -> 28, out 3.675 ->
# 7, 7, 14, 14, cell 3 -> 7), at 700 MHz; their SPRING energy and SPRING-table energy
# (6th, last) + 5 W static x the added latency, nothing else (equal to 1e-12).)
SHAPES = {"convnet": (3, 16, 16), "resnet": (3, 16, 16), "lenet5": (1, 28, 28),
          "mlp": (1, 8, 8), "lstm": (3, 7), "hlstm": (3, 7)}
RECORDED = {
    'convnet_small': [8, 0.00695, 0.013844364895356447, 80602.0, 3.038392857142857e-05, 0.001421995901715823, 0.0006661322314049588, 1651328.0, 0.0069500000000000004, 0.001421995901715823],
    'convnet_digits': [9, 0.232316, 0.23505653791180162, 1365162.0, 0.0028422857142857143, 0.047736439201354314, 0.012388191473173292, 24053120.0, 0.232316, 0.04773643920135431],
    'lstm32': [4, 0.006666, 0.0017011206842602084, 9278.0, 3.4285714285714284e-05, 0.00037700236398775566, 7.667768595041322e-05, 130112.0, 0.006665999999999999, 0.00037700236398775566],
    'lstm64': [4, 0.024102, 0.005072715135762622, 26654.0, 5.968303571428572e-05, 0.0010345230370477861, 0.00022028099173553722, 489600.0, 0.024102000000000002, 0.0010345230370477861],
    'lstm64x2': [7, 0.04955, 0.01305937780597822, 70174.0, 0.00015368303571428572, 0.0029062332976126405, 0.0005799504132231405, 1415168.0, 0.04955, 0.0029062332976126414],
    'hlstm32': [10, 0.016514, 0.0019947422204544553, 10556.0, 0.00013285714285714287, 0.0008411912960433448, 8.72396694214876e-05, 125632.0, 0.016514, 0.0008411912960433448],
    'hlstm64': [10, 0.027766, 0.005494711575554544, 29084.0, 0.0002357142857142857, 0.001825822223667037, 0.00024036363636363635, 480640.0, 0.027766, 0.001825822223667037],
    'lenet5': [11, 0.02173, 0.020831995803665283, 120996.0, 0.00018888671875, 0.0036818739718902497, 0.0010189040185403823, 1690024.0, 0.02173, 0.0036818739718902493],
    'lenet5_bn': [15, 0.023357, 0.025167326185243404, 147028.0, 0.00019745814732142857, 0.0039030499444556643, 0.001234044514408151, 1703040.0, 0.023356999999999996, 0.0039030499444556647],
    'lenet5_bn_half': [15, 0.0110375, 0.010194818206590408, 59183.0, 7.150739397321429e-05, 0.0012919311171167304, 0.0004891157024793387, 553440.0, 0.011037499999999999, 0.0012919311171167302],
    'lenet5_half': [11, 0.010224, 0.008027153015801345, 46167.0, 6.436453683035714e-05, 0.001182088148909481, 0.0003815454545454545, 546932.0, 0.010223999999999999, 0.001182088148909481],
    'lenet300_100': [5, 0.012382, 0.008956353315342086, 53038.0, 0.00013326590401785713, 0.001834385305614343, 0.00043833057851239664, 199600.0, 0.012382, 0.0018343853056143429],
    'lenet300_100_bn': [7, 0.012482, 0.009222814924535578, 54638.0, 0.00013612304687500001, 0.0018575079042881563, 0.00045155371900826443, 200400.0, 0.012482, 0.0018575079042881565],
    'mlp_small': [5, 0.001362, 0.0012128441151588929, 7210.0, 2.0035714285714283e-05, 0.0002525708794674967, 5.958677685950413e-05, 25408.0, 0.001362, 0.0002525708794674967],
    'resnet18': [67, 2.691184, 2.3983077716803605, 13348554.0, 0.029491571428571426, 0.629394766888101, 0.12641569854388038, 556140544.0, 2.6911840000000007, 0.629394766888101],
    'resnet34': [123, 5.205808, 4.526509448439532, 24985290.0, 0.05594556898716517, 1.2874671183959832, 0.23490956646989375, 1160632320.0, 5.205807999999999, 1.2874671183959825],
    'resnet18_w16': [67, 0.202046, 0.21872961914129135, 1246266.0, 0.0019298303571428567, 0.04199752772431004, 0.010706686134067951, 35226112.0, 0.20204599999999995, 0.04199752772431004],
    'resnet8_w16': [30, 0.047644, 0.06603341272461809, 373754.0, 0.0002624375, 0.009684250331941925, 0.00326026808343172, 12598528.0, 0.04764399999999999, 0.009684250331941924],
}


def test_registered_variants_price_as_before():
    assert set(RECORDED) <= set(list_variants())
    for name, want in RECORDED.items():
        shape = SHAPES[list_variants()[name]["family"]]
        ops = extract(build_priced(name, shape, 5), shape, batch=2)
        p = hwsim.price_ops(ops, spring_cfg=True)
        # (the roofline's figure, recorded before h204 gave each kernel a 5 us launch by
        # default: one a step, ``serial_steps``)
        g = gpu.evaluate(ops, gpu.GpuConfig(launch_us=0.0))
        launches = sum(serial_steps(o) for o in ops) * 5e-3                 # ms
        assert gpu.evaluate(ops)["latency_ms"] == pytest.approx(g["latency_ms"] + launches,
                                                                rel=1e-12), name
        got = [len(ops), p["latency_ms"], p["energy_mj"], p["dram_bytes"],
               p["spring_latency_ms"], p["spring_energy_mj"], g["latency_ms"], g["flops"],
               tables.predict(tables.build_table(ops, "accel"), ops)["latency_ms"],
               tables.predict(tables.build_table(ops, "spring"), ops)["energy_mj"]]
        assert got == pytest.approx(want, rel=1e-12, abs=0), name
