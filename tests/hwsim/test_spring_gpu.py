"""SPRING sparsity accounting, precision, training vs inference; GPU roofline by hand."""
import dataclasses

import pytest

from hwsim import gpu
from hwsim.spring import SpringConfig, compare, evaluate
from hwsim.workload import FP32_BYTES, Op
from synth.errors import ConfigError


def _conv(sw=0.0, sa=0.0, t=1024, k=576, n=64):
    return Op(type="conv", name="c", in_shape=(1, 64, 32, 32), out_shape=(1, n, 32, 32),
              weight_shape=(n, 64, 3, 3), macs=t * k * n, weight_bytes=k * n * FP32_BYTES,
              in_bytes=64 * 1024 * FP32_BYTES, out_bytes=n * 1024 * FP32_BYTES,
              weight_sparsity=sw, act_sparsity=sa, gemm=(t, k, n))


def test_sparsity_skips_compute_exactly():
    dense = evaluate([_conv()])
    for sw, sa in ((0.5, 0.0), (0.0, 0.5), (0.5, 0.6), (0.9, 0.3)):
        r = evaluate([_conv(sw, sa)])
        # paper: effective MACs = MACs * (1 - s_act) * (1 - s_w)
        assert r["effective_macs"] == pytest.approx(dense["macs"] * (1 - sa) * (1 - sw))
        assert r["skipped_fraction"] == pytest.approx(1 - (1 - sa) * (1 - sw))
        assert r["compute_cycles"] < dense["compute_cycles"]
    off = evaluate([_conv(0.5, 0.5)], SpringConfig(sparsity=False))
    assert off["effective_macs"] == dense["macs"] and off["skipped_fraction"] == 0


def test_compute_cycles_by_hand():
    # 1024*576*64 MACs = 37.7 M on 73,728 MACs/cycle -> 512 cycles; outputs 65,536 over 4,608
    # PE-lane slots = 15 rounds of ceil(576/16) = 36 -> 540 cycles; the larger wins
    r = evaluate([_conv()])
    assert r["compute_cycles"] == 540
    assert SpringConfig().macs_per_cycle == 73_728 and SpringConfig().bits == 20


def test_mask_and_compressed_storage_accounting():
    # NVM traffic: weights compressed = nonzero values * 20 b + 1 mask bit per element
    cfg = SpringConfig(act_buffer_mb=1000)            # activations stay on chip
    for sw in (0.0, 0.75):
        r = evaluate([_conv(sw, 0.0)], cfg)
        w = 576 * 64
        assert r["nvm_bytes"] == pytest.approx((w * (1 - sw) * 20 + w) / 8)
    assert r["mask_bytes"] == pytest.approx((576 * 64 + 64 * 1024) / 8)


def test_training_costs_more_than_inference_and_has_three_passes():
    op = _conv(0.0, 0.0)
    inf, tr = evaluate([op]), evaluate([op], mode="training")
    assert tr["macs"] == 3 * inf["macs"] and tr["latency_ms"] > 2 * inf["latency_ms"]
    assert tr["energy_mj"] > inf["energy_mj"]
    with pytest.raises(ConfigError, match="mode"):
        evaluate([op], mode="sleep")


def test_gpu_roofline_by_hand():
    op = _conv()
    r = gpu.evaluate([op], gpu.GpuConfig())
    flops = 2 * op.macs                                # compute-bound: 75.5 MFLOP / 11.34 TFLOP/s
    assert r["latency_ms"] == pytest.approx(flops / 11.34e12 * 1e3 + 5e-3)   # + a 5 us launch
    assert r["energy_mj"] == pytest.approx(250 * r["latency_ms"])
    assert gpu.GpuConfig().ridge_flop_per_byte == pytest.approx(23.43, abs=0.01)
    fc = dataclasses.replace(op, type="linear", macs=1000, gemm=(1, 1000, 1))
    assert gpu.evaluate([fc])["memory_bound_ops"] == 1


def test_compare_ratios_are_consistent():
    c = compare([_conv(0.3, 0.5)], mode="training")
    assert c["energy_efficiency"] == pytest.approx(c["speedup"] * c["power_reduction"])
    assert c["speedup"] > 1


def test_config_errors():
    with pytest.raises(ConfigError, match="pes"):
        SpringConfig(pes=0)
    with pytest.raises(ConfigError, match="nvm_gbps"):
        SpringConfig.from_dict({"nvm_gbps": 0})
    with pytest.raises(ConfigError, match="compute_efficiency"):
        gpu.GpuConfig(compute_efficiency=1.5)
