"""h188: the GPU roofline (hwsim.gpu) recomputed by hand from the peak FLOP/s and bandwidth
its GpuConfig states: t = max(FLOPs / peak, bytes / bandwidth) + kernels x launch, FLOPs =
2 x MACs, fp32 bytes, milliseconds, energy = power x time in mJ.  (A launch of 5 us a kernel
since h204: one a layer at inference, three in training.)"""
import pytest
import torch
from torch import nn

from hwsim import extract, gpu

PEAK = 11.34e12   # FLOP/s (GpuConfig.peak_tflops)
BW = 484e9        # B/s (GpuConfig.mem_gbps)
WATTS = 250.0
LAUNCH = 5e-6     # s a kernel (GpuConfig.launch_us)


def _by_hand(flops, nbytes, kernels=1):
    seconds = max(flops / PEAK, nbytes / BW) + kernels * LAUNCH
    return seconds * 1e3, WATTS * seconds * 1e3      # ms, mJ (W x s = J = 1e3 mJ)


def test_a_conv_and_a_linear_layer_by_hand():
    """Conv2d(3, 16, 3, padding=1) on 3x32x32: 16 x 32 x 32 x 27 MACs; 432 weights, 3,072
    inputs, 16,384 outputs at 4 B (memory-bound).  Linear(784, 300) at batch 8 (memory-bound
    too); in training 3 passes' FLOPs and the SGD-momentum update."""
    r = gpu.evaluate(extract(nn.Conv2d(3, 16, 3, padding=1), (3, 32, 32)))
    ms, mj = _by_hand(2 * 16 * 32 * 32 * 27, 4 * (432 + 3072 + 16384))
    assert r["latency_ms"] == pytest.approx(ms, rel=1e-12)
    assert ms == pytest.approx(1.6436e-4 + 5e-3, rel=1e-4)
    assert r["energy_mj"] == pytest.approx(mj, rel=1e-12) and r["bytes"] == 79_552
    ops = extract(nn.Linear(784, 300), (784,), batch=8)
    W, I, O = 784 * 300, 8 * 784, 8 * 300
    r = gpu.evaluate(ops)
    assert r["latency_ms"] == pytest.approx(_by_hand(2 * 8 * W, 4 * (W + I + O))[0], rel=1e-12)
    t = gpu.evaluate(ops, mode="training")
    flops, moved = 3 * 2 * 8 * W + 3 * W, 3 * (W + I + O) + 5 * W
    assert t["flops"] == flops and t["bytes"] == 4 * moved
    assert t["latency_ms"] == pytest.approx(_by_hand(flops, 4 * moved, 3)[0], rel=1e-12)


def test_an_embedding_trains_without_a_gradient_for_its_indices():
    """An embedding's backward computes no dX (its input is indices): training charged it a
    backward-data pass that read the whole table and dY and wrote a gradient of the indices
    (Embedding(10000, 64) looked up 35 times: 642,275 values more than the 3,846,790 its
    forward, backward-weight and update move), so the 'lower bound' GPU time was not one."""
    ops = extract(nn.Embedding(10_000, 64), (35,), inputs=torch.arange(35)[None])
    W, I, O = 640_000, 35, 35 * 64
    fwd = (O + I + O)                      # the rows read, the indices, the output
    moved = fwd + (I + O + W) + 5 * W      # backward-weight (dense dW), SGD-momentum update
    t = gpu.evaluate(ops, mode="training")
    assert t["bytes"] == 4 * moved
    assert t["flops"] == 3 * W             # the update's; a lookup has no MAC
    # (kernels: forward and backward-weight; no backward-data)
    assert t["latency_ms"] == pytest.approx(_by_hand(t["flops"], 4 * moved, 2)[0], rel=1e-12)
