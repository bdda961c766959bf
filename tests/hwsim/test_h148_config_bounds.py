"""Unusual but legal accelerator/SPRING/DSE configurations priced right, illegal ones refused in
one line (helper h148's probe).

Fixed here (the first four fail before): a clock or a DRAM/NVM channel of 1e-320 priced a
network at 'inf ms, inf mJ' with numpy overflow warnings (the DSE printed 'nanx its own
best'); SPRING's operand_reuse below 1 read more than one operand per MAC (1e-300: 1e294 mJ)
and a mask buffer of no bit streamed 7.8e296 bytes; a DSE base listing a field twice ran with
the last value without a word.  The rest pin what held under the probe: SCALE-Sim's
weight-stationary cycles on shapes and arrays no other test uses, LPPool's window reads
against torch's own windows, cycles that never fall when the bandwidth drops, and tables that
add up to the accelerator's and SPRING's totals on unusual layers.
"""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from torch import nn

from deploy.cli.main import cli
from hwsim import AcceleratorConfig, SpringConfig, accel, extract, spring
from hwsim.dse import DseConfig, explore
from hwsim.tables import build_table, predict
from synth.errors import ConfigError


def _net():
    torch.manual_seed(0)
    return extract(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(8 * 6 * 6, 10)), (3, 8, 8))


@pytest.mark.parametrize("field,value,words", [
    ("clock_mhz", 1e-320, "clock_mhz must be in [0.001, 100000.0], got 1e-320"),
    ("dram_gbps", 5e-324, "dram_gbps must be in [1e-06, 100000.0], got 5e-324"),
    ("clock_mhz", 0.0009, "clock_mhz must be in [0.001"),
])
def test_accelerator_clock_and_bandwidth_that_overflow_are_refused(field, value, words):
    with pytest.raises(ConfigError) as e:
        AcceleratorConfig(**{field: value})
    assert str(e.value).startswith(words) and "\n" not in str(e.value)
    assert e.value.field == field


def test_slowest_legal_clock_and_bandwidth_price_finite():
    ops = _net()
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no numpy overflow
        for cfg in (AcceleratorConfig(clock_mhz=1e-3), AcceleratorConfig(dram_gbps=1e-6,
                                                                          clock_mhz=1e5),
                    AcceleratorConfig(dram_gbps=1e-6, clock_mhz=1e-3, rows=4096, cols=4096,
                                      precision_bits=64, technology_nm=180, vdd=2.0,
                                      leakage_mw_per_mm2=1e4)):
            r = accel.evaluate(ops, cfg)
            for k in ("cycles", "latency_ms", "energy_mj", "dram_bytes", "area_mm2"):
                assert math.isfinite(r[k]) and r[k] > 0, (cfg, k)


@pytest.mark.parametrize("field,value", [("clock_mhz", 1e-320), ("nvm_gbps", 5e-324),
                                         ("operand_reuse", 1e-300), ("operand_reuse", 0.5),
                                         ("mask_buffer_mb", 1e-300)])
def test_spring_values_that_overflow_or_mean_nothing_are_refused(field, value):
    with pytest.raises(ConfigError) as e:
        SpringConfig(**{field: value})
    assert str(e.value).startswith(f"{field} must ") and "\n" not in str(e.value)
    # the least legal values price finite figures
    least = {"clock_mhz": 1e-3, "nvm_gbps": 1e-6, "operand_reuse": 1.0,
             "mask_buffer_mb": 2.5e-7}[field]
    r = spring.evaluate(_net(), SpringConfig(**{field: least}), "training")
    assert all(math.isfinite(r[k]) for k in ("latency_ms", "energy_mj", "nvm_bytes"))


def test_dse_base_with_a_field_twice_is_refused():
    with pytest.raises(ConfigError, match=r"^base lists 'precision_bits' twice"):
        DseConfig(base=(("precision_bits", 8), ("precision_bits", 16)))
    # once each is fine, and the grid runs at that precision
    cfg = DseConfig(rows=(3,), cols=(5,), dataflows=("os",), ifmap_kb=(1,), filter_kb=(1,),
                    ofmap_kb=(1,), base=(("precision_bits", 13),))
    res = explore({"n": _net()}, cfg)
    assert res["evaluated"] == 1 and len(res["pareto"]) == 1
    assert res["best"]["config"]["precision_bits"] == 13
    one = accel.evaluate(_net(), AcceleratorConfig(rows=3, cols=5, dataflow="os",
                                                   precision_bits=13, ifmap_kb=1, filter_kb=1,
                                                   ofmap_kb=1))
    assert res["best"]["latency_ms"]["n"] == pytest.approx(one["latency_ms"], rel=1e-12)


def test_cli_refuses_an_overflowing_clock_in_one_line(tmp_path):
    path = tmp_path / "accel.yaml"
    path.write_text("clock_mhz: 1.0e-320\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no numpy overflow on the way
        r = CliRunner().invoke(cli, ["hwsim", "eval", "--spec", "mlp_small", "--accel",
                                     str(path)])
    assert r.exit_code == 2, r.output
    lines = [l for l in r.output.splitlines() if l.strip()]
    assert lines == [f"error: {path}: clock_mhz must be in [0.001, 100000.0], got 1e-320"], lines


# --- held under the probe --------------------------------------------------------------------
def _ws(K, M, T, Sr, Sc):   # ANCHORS / SCALE-Sim weight stationary
    return math.ceil(K / Sr) * math.ceil(M / Sc) * (2 * Sr + Sc + T - 2) - 1


@pytest.mark.parametrize("C,M,R,H,stride,rows,cols", [
    (3, 5, 3, 7, 1, 1, 7), (3, 5, 3, 7, 1, 7, 1), (16, 33, 3, 13, 2, 5, 3),
    (7, 100, 5, 11, 3, 13, 17), (64, 64, 3, 9, 1, 4096, 1), (3, 4, 2, 5, 1, 1, 4096),
    (1, 1, 1, 1, 1, 1, 1), (5, 6, 1, 4, 4, 3, 3)])
def test_ws_conv_cycles_follow_scalesim_on_odd_arrays(C, M, R, H, stride, rows, cols):
    torch.manual_seed(0)
    (op,) = extract(nn.Conv2d(C, M, R, stride=stride), (C, H, H))
    T = ((H - R) // stride + 1) ** 2
    cfg = AcceleratorConfig(rows=rows, cols=cols, ifmap_kb=1024, filter_kb=1024, ofmap_kb=1024,
                            dram_gbps=1e5)
    layer = accel.evaluate([op], cfg)["layers"][0]
    assert layer["compute_cycles"] == _ws(C * R * R, M, T, rows, cols)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_lppool_reads_are_torchs_windows(d):
    """LPPool (p finite, inf and -inf; ceil_mode windows past the end) reads what torch's
    own sum-pool of ones counts; its elements are in + reads (+ out for -inf, + 2 out for
    finite p)."""
    rng = np.random.default_rng(d)
    cls = (nn.LPPool1d, nn.LPPool2d, nn.LPPool3d)[d - 1]
    n = 0
    while n < 12:
        k = tuple(int(v) for v in rng.integers(1, 4, d))
        s = tuple(int(v) for v in rng.integers(1, 5, d))
        size = tuple(int(rng.integers(kk, 8)) for kk in k)
        p = [1, 2.5, float("inf"), -float("inf")][n % 4]
        ceil = bool(n % 3)
        m = cls(p, k[0] if d == 1 else k, stride=s[0] if d == 1 else s, ceil_mode=ceil)
        x = torch.rand((2, 2) + size) + 0.1
        y = m(x)
        if not y.numel():
            continue
        ones = torch.ones((2, 2) + size)
        if d == 1:
            cnt = F.avg_pool2d(ones.unsqueeze(2), (1,) + k, (1,) + s, 0, ceil_mode=ceil,
                               divisor_override=1)
        else:
            cnt = (F.avg_pool2d, F.avg_pool3d)[d - 2](ones, k, s, 0, ceil_mode=ceil,
                                                       divisor_override=1)
        reads = int(cnt.sum())
        (op,) = extract(nn.Sequential(m), (2,) + size, batch=2)
        extra = {float("inf"): 0, -float("inf"): y.numel()}.get(p, 2 * y.numel())
        assert op.elems == x.numel() + reads + extra, (k, s, size, p, ceil)
        n += 1


def _odd_layers():
    torch.manual_seed(0)
    return [(nn.Conv2d(6, 9, 3, stride=4, dilation=2, groups=3), (6, 17, 17)),
            (nn.Conv2d(5, 7, 1), (5, 6, 6)), (nn.Conv2d(4, 8, 3, groups=4), (4, 7, 7)),
            (nn.ConvTranspose2d(4, 6, 3, stride=2, groups=2), (4, 5, 5)),
            (nn.ConvTranspose1d(3, 5, 4, stride=3, dilation=2), (3, 9)),
            (nn.Linear(13, 7), (5, 13)), (nn.LPPool2d(float("inf"), (2, 3), stride=(1, 2),
                                                      ceil_mode=True), (3, 7, 8)),
            (nn.MaxPool2d(2, stride=5), (3, 11, 11)),
            (nn.LSTM(5, 8, num_layers=2, batch_first=True), (6, 5)),
            (nn.GRU(5, 8, bidirectional=True, batch_first=True), (6, 5)), (nn.RNNCell(5, 8), (5,))]


def test_tables_add_up_to_the_models_on_unusual_layers():
    accel_cfgs = [AcceleratorConfig(), AcceleratorConfig(rows=1, cols=7, dataflow="is",
                                                         precision_bits=5, ifmap_kb=0.5,
                                                         filter_kb=0.25, ofmap_kb=0.125,
                                                         dram_gbps=0.3)]
    spring_cfgs = [SpringConfig(), SpringConfig(weight_buffer_mb=1e-4, act_buffer_mb=1e-4,
                                                mask_buffer_mb=1e-4)]
    for m, shape in _odd_layers():
        model = m if isinstance(m, (nn.LSTM, nn.GRU)) else nn.Sequential(m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ops = extract(model, shape, batch=3)
        for device, cfgs, run in (("accel", accel_cfgs, accel.evaluate),
                                  ("spring", spring_cfgs, spring.evaluate)):
            for cfg in cfgs:
                whole = run(ops, cfg)
                p = predict(build_table(ops, device, cfg), ops, config=cfg)
                assert p["latency_ms"] == pytest.approx(whole["latency_ms"], rel=1e-9)
                assert p["energy_mj"] == pytest.approx(whole["energy_mj"], rel=1e-9)


def test_cycles_never_fall_when_the_bandwidth_drops():
    rng = np.random.default_rng(148)
    for m, shape in _odd_layers():
        model = m if isinstance(m, (nn.LSTM, nn.GRU)) else nn.Sequential(m)
        for batch in (1, 4):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ops = extract(model, shape, batch=batch)
            for _ in range(4):
                base = AcceleratorConfig(
                    rows=int(rng.choice([1, 3, 7, 16])), cols=int(rng.choice([1, 5, 8, 33])),
                    dataflow=str(rng.choice(["ws", "os", "is"])),
                    precision_bits=int(rng.choice([1, 4, 12, 32])),
                    ifmap_kb=float(rng.choice([0.0625, 1, 64])),
                    filter_kb=float(rng.choice([0.0625, 1, 64])),
                    ofmap_kb=float(rng.choice([0.0625, 1, 64])))
                cfgs = [base.replace(dram_gbps=g) for g in (256, 16, 1, 0.1, 1e-3, 1e-6)]
                cycles = accel.evaluate_many(ops, cfgs)["cycles"]
                assert (np.diff(cycles) >= -1e-9 * cycles[:-1]).all(), (base, cycles)
