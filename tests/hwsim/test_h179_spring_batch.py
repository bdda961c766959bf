"""h179: SPRING runs a batch whose activations do not fit on chip in chunks.

An op's input and output stay on chip where they fit SPRING's 12 MB activation buffer; a
whole batch that does not fit streamed them through the NVM at every layer, with no other
schedule: ``nnsynth hwsim eval --spec resnet8_w16 --input-shape 3x32x32 --batch 256
--spring`` took 2.8x the time of 256 runs of one sample and 4.5x that of two runs of 128
(lstm64: 2.9x).  The prices (hwsim.price, hwsim eval --spring, the hwsim pool, the
latency tables) now run a batch whole or in chunks through the whole network, whichever
takes fewer cycles (``hwsim.spring.evaluate(chunks=True)``).
"""
import torch
from torch import nn

import hwsim
from hwsim import extract, spring

SHAPE = (16, 32, 32)   # 16 x 32 x 32 values in and out a sample: 256 samples spill 12 MB


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())


def _ops(batch):
    return extract(_model(), SHAPE, batch=batch)


def test_a_batch_that_spills_is_no_slower_than_its_chunks():
    one, half, whole = (spring.evaluate(_ops(b), chunks=True) for b in (1, 128, 256))
    assert half["nvm_bytes"] < 128 * one["nvm_bytes"]   # 128 samples fit: weights read once
    assert whole["latency_ms"] <= 2 * half["latency_ms"] * (1 + 1e-9)
    assert whole["energy_mj"] <= 2 * half["energy_mj"] * (1 + 1e-9)
    assert whole["latency_ms"] <= 256 * one["latency_ms"]
    for mode in ("inference", "training"):
        a, b = (spring.evaluate(_ops(n), mode=mode, chunks=True) for n in (128, 256))
        assert b["cycles"] <= 2 * a["cycles"] * (1 + 1e-9), mode
        assert abs(sum(r["cycles"] for r in b["layers"]) - b["cycles"]) <= 1e-6 * b["cycles"]


def test_a_batch_that_fits_prices_as_before():
    """Where the whole batch fits, chunks only read the weights again: the whole batch."""
    assert spring.evaluate(_ops(64), chunks=True) == spring.evaluate(_ops(64), chunks=False)


def test_the_price_and_the_cli_run_a_spilling_batch_in_chunks():
    """hwsim.price / price_ops (the search, the pipeline's summary), price_report (hwsim
    eval --spring) and price_layers (the hwsim pool) price the chunked schedule."""
    ops = _ops(256)
    chunked = spring.evaluate(ops, chunks=True)
    assert chunked["latency_ms"] < 0.5 * spring.evaluate(ops, chunks=False)["latency_ms"]
    assert hwsim.price_ops(ops, None, True)["spring_latency_ms"] == chunked["latency_ms"]
    report = hwsim.price_report(_model(), SHAPE, batch=256, spring=True)
    assert report["spring_inference"]["latency_ms"] == chunked["latency_ms"]


def test_price_layers_prices_a_batch_on_spring_as_price_ops():
    ops = _ops(256)
    p, q = hwsim.price_layers(ops, None, True), hwsim.price_ops(ops, None, True)
    for k in ("spring_latency_ms", "spring_energy_mj", "spring_power_w", "latency_ms"):
        assert abs(p[k] - q[k]) <= 1e-9 * abs(q[k]), k
