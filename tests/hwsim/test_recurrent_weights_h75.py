"""A recurrent layer's steps share one weight matrix and run one after another: weights that
do not fit on chip are read again every step.  Both the accelerator (ws: weights always read
once) and SPRING (a weight tile 'stays' while the input streams past it) read them once,
so an LSTM's off-chip traffic and energy were those of weights that fit."""
import pytest
import torch
from torch import nn

from hwsim import AcceleratorConfig, SpringConfig, accel, extract, spring


def _lstm_ops():
    """nn.LSTM(4, 8), 10 steps, batch 1: one op, GEMM T=1, K=4+8=12, N=4*8=32, G=10;
    weights 32*4 + 32*8 = 384, input 40, output 80 elements."""
    torch.manual_seed(0)
    (op,) = extract(nn.LSTM(4, 8, batch_first=True), (10, 4))
    assert (op.type, op.gemm, op.groups) == ("lstm", (1, 12, 32), 10)
    assert (op.weight_elems, op.in_elems, op.out_elems) == (384, 40, 80)
    return [op]


@pytest.mark.parametrize("df", ["ws", "os", "is"])
def test_accel_rereads_weights_that_do_not_fit_every_step(df):
    """8 bits, 32x32 array (every GEMM one fold: refetch factors 1).  A 1 KiB filter
    scratchpad holds the 384 B of weights (half of it: 512 B): 384 + 40 + 80 = 504 B.  A
    256 B one (half: 128 B) does not: 10 steps x 384 B + 40 + 80 = 3,960 B (was 504)."""
    ops = _lstm_ops()
    fit = accel.evaluate(ops, AcceleratorConfig(dataflow=df, precision_bits=8, filter_kb=1))
    assert fit["dram_bytes"] == 504
    small = accel.evaluate(ops, AcceleratorConfig(dataflow=df, precision_bits=8,
                                                  filter_kb=0.25))
    assert small["dram_bytes"] == 10 * 384 + 40 + 80
    assert small["energy_dram_mj"] == pytest.approx(3960 * 1300 / 8 * 1e-9)


def test_spring_rereads_weights_that_do_not_fit_every_step():
    """Dense (sparsity off) at 20 bits: weights 384*20 + 384 mask bits = 8,064 bits.  A
    weight buffer of 100 B (800 bits) holds a tenth of them: 9 more reads of all of them,
    72,576 bits = 9,072 B restreamed; NVM 8,064 + 72,576 bits = 10,080 B (the activations,
    2,520 bits, stay in the 12 MB buffer).  The default 24 MB buffer holds them: 0 extra."""
    ops = _lstm_ops()
    r = spring.evaluate(ops, SpringConfig(sparsity=False, weight_buffer_mb=1e-4))
    assert r["restream_bytes"] == 9072 and r["nvm_bytes"] == 10080
    r = spring.evaluate(ops, SpringConfig(sparsity=False))
    assert r["restream_bytes"] == 0 and r["nvm_bytes"] == 1008


def test_a_conv_whose_input_fits_still_streams_its_weights_once():
    """Groups with their own weights (a conv's, G x K x N = its weights) are unchanged."""
    (op,) = extract(nn.Conv2d(4, 8, 3, groups=2), (4, 6, 6))
    a = accel.evaluate([op], AcceleratorConfig(precision_bits=8, filter_kb=1e-3))
    assert a["dram_bytes"] == op.weight_elems + op.in_elems + op.out_elems
    s = spring.evaluate([op], SpringConfig(weight_buffer_mb=2.5e-6))   # one 20-bit value
    assert s["restream_bytes"] == 0


def test_recurrent_traffic_is_monotone_in_buffer_size_and_above_compulsory():
    torch.manual_seed(0)
    ops = extract(nn.LSTM(16, 32, num_layers=2, bidirectional=True, batch_first=True),
                  (7, 16), batch=2)
    ops += extract(nn.Sequential(nn.Linear(16, 16)), (5, 16))
    compulsory = sum(o.weight_elems + o.in_elems + o.out_elems for o in ops)
    for df in ("ws", "os", "is"):
        prev = None
        for kb in (1e-3, 0.5, 4, 16, 64, 1024):
            r = accel.evaluate(ops, AcceleratorConfig(dataflow=df, precision_bits=8,
                                                      rows=3, cols=5, filter_kb=kb))
            assert r["dram_bytes"] >= compulsory
            assert prev is None or r["dram_bytes"] <= prev
            prev = r["dram_bytes"]
    for mode in ("inference", "training"):
        prev = None
        for mb in (2.5e-6, 1e-3, 0.01, 0.1, 24):   # 2.5e-6 MB: one 20-bit value
            r = spring.evaluate(ops, SpringConfig(weight_buffer_mb=mb), mode)
            assert prev is None or r["nvm_bytes"] <= prev
            prev = r["nvm_bytes"]
        assert r["restream_bytes"] == 0
