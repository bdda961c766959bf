"""h219: the hardware models on configurations no other test names, drawn by a seeded loop
(hypothesis-style, without hypothesis): every figure finite and positive, the units
consistent (ms = cycles / MHz / 1e3), no result better for a resource made strictly worse
where the model promises it, and the same price by every path (one config or many, the DSE's
grid, a table's rows, price_layers' memo).  The accelerator's cycles are not monotone in its
array size (f7aa344), and a larger scratchpad may raise a layer's cycles by up to
CYCLES_TOLERANCE (``hwsim.accel._costs``): neither is checked here.

A SPRING buffer bank of 1e-300 KB was accepted and priced every SRAM access at ~0 pJ (the
energy of a bank access scales with the square root of its size): a bank now holds at least
one value, as the accelerator's scratchpads hold a word."""
import math
import random

import pytest
import torch
from torch import nn

import hwsim
from hwsim import accel, extract, gpu, spring, tables
from hwsim.accel import CYCLES_TOLERANCE, AcceleratorConfig
from hwsim.dse import DseConfig, explore
from hwsim.gpu import GpuConfig
from hwsim.spring import SpringConfig
from synth.errors import ConfigError


def _workloads() -> dict:
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, groups=8), nn.Flatten(), nn.Linear(8 * 12 * 12, 5))
    mlp = nn.Sequential(nn.Linear(20, 50), nn.ReLU(), nn.Linear(50, 7))
    return {"conv_b1": extract(conv, (3, 16, 16)), "conv_b3": extract(conv, (3, 16, 16), batch=3),
            "mlp_b4": extract(mlp, (20,), batch=4),
            "lstm_b2": extract(nn.LSTM(8, 16, batch_first=True), (7, 8), batch=2)}


WORKLOADS = _workloads()


def _log(rng, lo, hi) -> float:
    return math.exp(rng.uniform(math.log(lo), math.log(hi)))


def _accel(rng) -> AcceleratorConfig:
    bits = rng.choice([1, 4, 8, 16, 32, 64])
    word = bits / 8 / 1024
    return AcceleratorConfig(
        rows=rng.choice([1, 2, 3, 8, 16, 64, 300]), cols=rng.choice([1, 4, 5, 16, 32, 128]),
        dataflow=rng.choice(["ws", "os", "is"]), precision_bits=bits,
        ifmap_kb=max(word, _log(rng, 0.01, 1024)), filter_kb=max(word, _log(rng, 0.01, 1024)),
        ofmap_kb=max(word, _log(rng, 0.01, 1024)), clock_mhz=_log(rng, 1e-3, 1e5),
        dram_gbps=_log(rng, 1e-6, 1e5), technology_nm=_log(rng, 3, 180),
        vdd=rng.uniform(0.3, 2.0), leakage_mw_per_mm2=rng.choice([0.0, _log(rng, 1e-3, 1e4)]))


def _spring(rng) -> SpringConfig:
    ib, fb = rng.randint(1, 32), rng.randint(0, 32)
    bits = ib + fb
    return SpringConfig(
        pes=rng.choice([1, 3, 64, 1000]), lanes=rng.choice([1, 5, 72]),
        multipliers=rng.choice([1, 2, 16, 64]), clock_mhz=_log(rng, 1e-3, 1e5), int_bits=ib,
        frac_bits=fb, weight_buffer_mb=max(bits / 8e6, _log(rng, 1e-6, 1e3)),
        act_buffer_mb=max(bits / 8e6, _log(rng, 1e-6, 1e3)),
        mask_buffer_mb=max(2.5e-7, _log(rng, 1e-7, 1e2)), nvm_gbps=_log(rng, 1e-6, 1e9),
        nvm_read_pj_per_bit=_log(rng, 1e-3, 1e3), nvm_write_pj_per_bit=_log(rng, 1e-3, 1e3),
        sram_bank_kb=max(bits / 8 / 1024, _log(rng, 1e-3, 1e4)),
        operand_reuse=_log(rng, 1, 1e3), technology_nm=_log(rng, 3, 180),
        static_w=rng.choice([0.0, _log(rng, 1e-3, 1e3)]), sparsity=rng.random() < 0.7)


def _gpu(rng) -> GpuConfig:
    return GpuConfig(peak_tflops=_log(rng, 1e-6, 1e6), mem_gbps=_log(rng, 1e-6, 1e6),
                     power_w=_log(rng, 1e-3, 1e5), compute_efficiency=_log(rng, 1e-6, 1),
                     memory_efficiency=_log(rng, 1e-6, 1),
                     launch_us=rng.choice([0.0, _log(rng, 1e-3, 1e6)]),
                     bytes_per_elem=rng.choice([1, 2, 4, 8]))


def _with(config, **fields):
    return type(config)(**{**config.to_dict(), **fields})


def _positive(result: dict, keys, where) -> None:
    for k in keys:
        assert math.isfinite(result[k]) and result[k] > 0, (where, k, result[k])


def test_accelerator_figures_and_resources_over_random_configs():
    rng = random.Random(219)
    for _ in range(12):
        c = _accel(rng)
        for name, ops in WORKLOADS.items():
            r = accel.evaluate(ops, c)
            _positive(r, ("latency_ms", "energy_mj", "cycles", "area_mm2", "dram_bytes"), (name, c))
            assert 0 <= r["utilization"] <= 1
            assert math.isclose(r["latency_ms"], r["cycles"] / (c.clock_mhz * 1e3), rel_tol=1e-12)
            f = rng.uniform(1.001, 4)

            def at(**fields):
                return accel.evaluate(ops, _with(c, **fields))
            # more bandwidth or a faster clock: no slower (within the tolerance of the batch
            # rule, which may take a schedule moving fewer bytes up to 1 % slower)
            slack = 1 + CYCLES_TOLERANCE + 1e-12
            assert at(dram_gbps=min(1e5, c.dram_gbps * f))["latency_ms"] <= r["latency_ms"] * slack
            assert at(clock_mhz=min(1e5, c.clock_mhz * f))["latency_ms"] <= r["latency_ms"] * slack
            for pad in ("ifmap_kb", "filter_kb", "ofmap_kb"):   # (documented: <= 1 % more)
                bigger = at(**{pad: min(1 << 20, getattr(c, pad) * f)})
                assert bigger["cycles"] <= r["cycles"] * slack, (name, pad, c)
            # energy and area never fall with more leakage, a higher supply or older node
            assert at(leakage_mw_per_mm2=min(1e4, c.leakage_mw_per_mm2 * f))["energy_mj"] \
                >= r["energy_mj"]
            assert at(vdd=min(2.0, c.vdd * 1.1))["energy_mj"] >= r["energy_mj"]
            older = at(technology_nm=min(180, c.technology_nm * f))
            assert older["energy_mj"] >= r["energy_mj"] and older["area_mm2"] >= r["area_mm2"]
            if c.precision_bits <= 32:   # wider words: more bytes and energy
                wide = at(precision_bits=2 * c.precision_bits,
                          **{p: max(getattr(c, p), c.precision_bits / 4 / 1024)
                             for p in ("ifmap_kb", "filter_kb", "ofmap_kb")})
                if all(getattr(c, p) >= c.precision_bits / 4 / 1024
                       for p in ("ifmap_kb", "filter_kb", "ofmap_kb")):
                    assert wide["dram_bytes"] >= r["dram_bytes"]
                    assert wide["energy_mj"] >= r["energy_mj"]


def test_one_config_many_configs_tables_and_memo_agree():
    rng = random.Random(2190)
    configs = [_accel(rng) for _ in range(8)]
    for name, ops in WORKLOADS.items():
        many = accel.evaluate_many(ops, configs)
        for i, c in enumerate(configs):
            one = accel.evaluate(ops, c)
            for k in ("latency_ms", "energy_mj", "cycles", "dram_bytes", "area_mm2"):
                assert math.isclose(one[k], float(many[k][i]), rel_tol=1e-12), (name, k, c)
    for c in configs[:3]:
        s = _spring(rng)
        for name, ops in WORKLOADS.items():
            po, pl = hwsim.price_ops(ops, c, s), hwsim.price_layers(ops, c, s)
            for k in ("latency_ms", "energy_mj", "spring_latency_ms", "spring_energy_mj"):
                assert math.isclose(po[k], pl[k], rel_tol=1e-9), (name, k)
        ops = WORKLOADS["conv_b1"]   # batch 1: a model's total is the sum of its ops' rows
        for device, cfg, model in (("accel", c, accel.evaluate), ("spring", s, spring.evaluate)):
            pred = tables.predict(tables.build_table(ops, device, cfg), ops, config=cfg)
            full = model(ops, cfg)
            for k in ("latency_ms", "energy_mj"):
                assert math.isclose(pred[k], full[k], rel_tol=1e-9), (device, k)


def test_spring_and_gpu_figures_and_resources_over_random_configs():
    rng = random.Random(2191)
    for _ in range(6):
        c, g = _spring(rng), _gpu(rng)
        for mode in ("inference", "training"):
            for name, ops in WORKLOADS.items():
                r = spring.evaluate(ops, c, mode)
                _positive(r, ("latency_ms", "energy_mj", "cycles", "power_w"), (name, c))
                assert math.isclose(r["latency_ms"], r["cycles"] / (c.clock_mhz * 1e3),
                                    rel_tol=1e-9)
                f = rng.uniform(1.001, 4)
                more = {"pes": max(c.pes + 1, int(c.pes * f)), "lanes": c.lanes + 1,
                        "multipliers": c.multipliers * 2, "clock_mhz": min(1e5, c.clock_mhz * f),
                        "nvm_gbps": min(1e9, c.nvm_gbps * f),
                        "weight_buffer_mb": c.weight_buffer_mb * f,
                        "act_buffer_mb": c.act_buffer_mb * f,
                        "mask_buffer_mb": c.mask_buffer_mb * f}
                for field, value in more.items():   # more of a resource: no slower
                    faster = spring.evaluate(ops, _with(c, **{field: value}), mode)
                    assert faster["latency_ms"] <= r["latency_ms"] * (1 + 1e-12), (field, c)
                for field in ("nvm_read_pj_per_bit", "nvm_write_pj_per_bit", "static_w",
                              "technology_nm", "sram_bank_kb"):
                    value = min(getattr(c, field) * f, 180 if field == "technology_nm" else 1e6)
                    costlier = spring.evaluate(ops, _with(c, **{field: value}), mode)
                    assert costlier["energy_mj"] >= r["energy_mj"] * (1 - 1e-12), (field, c)
                if c.sparsity:   # skipping zeros never costs time
                    dense = spring.evaluate(ops, _with(c, sparsity=False), mode)
                    assert dense["latency_ms"] >= r["latency_ms"] * (1 - 1e-12)
                rg = gpu.evaluate(ops, g, mode)
                _positive(rg, ("latency_ms", "energy_mj"), (name, g))
                for field, value, sign in (("peak_tflops", min(1e6, g.peak_tflops * f), 1),
                                           ("mem_gbps", min(1e6, g.mem_gbps * f), 1),
                                           ("launch_us", g.launch_us * f + 1, -1),
                                           ("compute_efficiency", g.compute_efficiency / f, -1)):
                    other = gpu.evaluate(ops, _with(g, **{field: value}), mode)["latency_ms"]
                    assert (other - rg["latency_ms"]) * sign <= 1e-12 * rg["latency_ms"], field


def test_dse_rows_are_the_accelerators_own_prices():
    rng = random.Random(2192)
    nets = {k: WORKLOADS[k] for k in ("conv_b1", "mlp_b4")}
    for _ in range(3):
        base = {"precision_bits": rng.choice([4, 16]), "clock_mhz": rng.choice([1.0, 900.0]),
                "dram_gbps": rng.choice([0.05, 64.0]), "leakage_mw_per_mm2": 50.0}
        cfg = DseConfig(rows=(2, 16), cols=(3, 32), dataflows=("ws", "os"), ifmap_kb=(1, 64),
                        filter_kb=(0.5, 32), ofmap_kb=(4,), area_budget_mm2=1e6,
                        base=tuple(base.items()))
        res = explore(nets, cfg)
        for row in (res["best"], *res["pareto"]):
            c = AcceleratorConfig.from_dict(row["config"])
            assert all(row["config"][k] == v for k, v in base.items())
            for n, ops in nets.items():
                r = accel.evaluate(ops, c)
                assert math.isclose(r["latency_ms"], row["latency_ms"][n], rel_tol=1e-12)
                assert math.isclose(r["energy_mj"], row["energy_mj"][n], rel_tol=1e-12)
        assert all(v >= 1 - 1e-12 for v in res["best_slowdown"].values())


def test_a_spring_bank_holds_a_value():
    with pytest.raises(ConfigError, match="sram_bank_kb must hold at least one 20-bit value"):
        SpringConfig(sram_bank_kb=1e-300)
    with pytest.raises(ConfigError, match="36-bit value"):
        SpringConfig.from_dict({"int_bits": 4, "frac_bits": 32, "sram_bank_kb": 0.004})
    assert SpringConfig(sram_bank_kb=20 / 8 / 1024).sram_bank_kb > 0   # one value: allowed
