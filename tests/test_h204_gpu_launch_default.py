"""The GPU roofline charges each kernel a launch by default (h204).

``GpuConfig.launch_us`` was 0: a GTX 1080 Ti ran an LSTM of hidden 8 over 35 steps (72
kernels, ``hwsim.accel.serial_steps``) in 3.3e-05 ms, 33 ns, less than any kernel launch
takes, and SPRING was 0.32x its speed.  Now 5 us a kernel (the low end of the 5-20 us a launch takes on
the host in PyTorch traces, cited at the field); ``launch_us=0`` still gives the roofline's
bound."""
import pytest
import torch
from torch import nn

from hwsim import extract, gpu, spring
from hwsim.accel import serial_steps
from hwsim.workload import build_priced


def _lstm(steps=35):
    spec = {"family": "lstm", "hidden": [8], "dropout": 0.0, "frame": 1}
    return extract(build_priced(spec, (8, steps), 10), (8, steps))


def test_a_tiny_lstm_pays_a_launch_per_kernel_by_default():
    ops = _lstm()
    kernels = sum(serial_steps(o) for o in ops)
    assert kernels == 72                               # ih 1, hh 35, cell 35, head 1
    assert gpu.GpuConfig().launch_us == 5.0
    bound = gpu.evaluate(ops, gpu.GpuConfig(launch_us=0.0))["latency_ms"]
    assert bound < 1e-4                                # (the roofline alone: nanoseconds)
    got = gpu.evaluate(ops)
    assert got["latency_ms"] == pytest.approx(bound + kernels * 5e-3, rel=1e-12)
    assert got["energy_mj"] == pytest.approx(250 * got["latency_ms"], rel=1e-12)
    # training: forward and backward-data a step, backward-weight once per op with weights
    # (ih, hh and the head: the cell's update has none)
    tr = gpu.evaluate(ops, mode="training")["latency_ms"]
    tr0 = gpu.evaluate(ops, gpu.GpuConfig(launch_us=0.0), "training")["latency_ms"]
    assert [o.weight_elems > 0 for o in ops] == [True, True, False, True]
    assert tr == pytest.approx(tr0 + (2 * kernels + 3) * 5e-3, rel=1e-12)


@pytest.mark.parametrize("layer, shape, inputs, kernels", [
    (nn.ReLU(), (4, 5, 5), None, 2),                       # forward, dX: no weights, no dW
    (nn.Linear(6, 3), (6,), None, 3),                      # forward, dX, dW
    (nn.Embedding(50, 4), (7,), torch.arange(7)[None], 2),   # forward, dW: indices have no dX
])
def test_training_launches_the_kernels_an_op_has(layer, shape, inputs, kernels):
    """(Every op was charged three in training: a ReLU's dW and an embedding's dX, h204.)"""
    ops = extract(layer, shape, inputs=inputs)
    free = gpu.GpuConfig(launch_us=0.0)
    extra = (gpu.evaluate(ops, mode="training")["latency_ms"]
             - gpu.evaluate(ops, free, "training")["latency_ms"])
    assert extra == pytest.approx(kernels * 5e-3, rel=1e-9)


def test_an_attention_product_has_two_backward_gemms():
    """Q K^T and A V (``matmul``, no weights): forward, dA and dB, 3 kernels each."""
    class Attn(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = nn.MultiheadAttention(8, 2, batch_first=True)

        def forward(self, x):
            return self.m(x, x, x)[0]
    ops = [o for o in extract(Attn(), (5, 8), batch=2) if o.type == "matmul"]
    assert len(ops) == 2
    kernels = 6
    free = gpu.GpuConfig(launch_us=0.0)
    extra = (gpu.evaluate(ops, mode="training")["latency_ms"]
             - gpu.evaluate(ops, free, "training")["latency_ms"])
    assert extra == pytest.approx(kernels * 5e-3, rel=1e-9)


def test_spring_is_faster_than_the_gpu_on_a_tiny_lstm():
    c = spring.compare(_lstm())
    assert c["speedup"] > 1 and c["energy_efficiency"] > 1
