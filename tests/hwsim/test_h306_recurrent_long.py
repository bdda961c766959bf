"""h306: a recurrent layer on a long sequence is traced for its first ``STEPS_TRACED`` steps
and the rest counted (``hwsim.recurrent.cut_steps``): pricing lstm32 on 1 x 10,000 took 59 s
step by step and 1 x 100,000 did not end (h303)."""
import time

import pytest
import torch
from torch import nn

import hwsim
from hwsim import recurrent, workload
from synth.models.hlstm import HLSTMLayer
from synth.models.lstm import LSTMLayer, RecurrentStack


class Classifier(nn.Module):
    """(N, T, 1) -> a recurrent stack -> Linear on the last step (the lstm family's shape)."""

    def __init__(self, layers, width):
        super().__init__()
        self.rnn = RecurrentStack(layers)
        self.head = nn.Linear(width, 3)

    def forward(self, x):
        return self.head(self.rnn(x)[:, -1])


def _models():
    torch.manual_seed(0)
    return [Classifier([LSTMLayer(1, 8)], 8), Classifier([LSTMLayer(1, 8), LSTMLayer(8, 6)], 6),
            Classifier([HLSTMLayer(1, 8, 4)], 8)]


def _step_by_step(monkeypatch, fn):
    with monkeypatch.context() as m:
        m.setattr(recurrent, "STEPS_TRACED", 1 << 30)   # every step traced, as before h306
        return fn()


@pytest.mark.parametrize("k", range(3))
def test_counted_steps_price_as_traced(monkeypatch, k):
    """On 40 steps, 16 of them traced, the accelerator's figures, every op's MACs, bytes,
    shapes, GEMMs and groups, and sample_work's bound are those of tracing all 40 steps, to
    the bit; only the activation sparsity of the steps not traced is an estimate (SPRING's)."""
    model, shape = _models()[k], (40, 1)
    monkeypatch.setattr(recurrent, "STEPS_TRACED", 16)   # (256 in use: the same code, slower)
    fast = workload.extract(model, shape)
    slow = _step_by_step(monkeypatch, lambda: workload.extract(model, shape))
    assert [o.type for o in fast] == [o.type for o in slow]
    for a, b in zip(fast, slow):
        assert (a.name, a.in_shape, a.out_shape, a.weight_shape, a.macs, a.weight_bytes,
                a.in_bytes, a.out_bytes, a.gemm, a.groups, a.elems, a.weight_sparsity) == \
            (b.name, b.in_shape, b.out_shape, b.weight_shape, b.macs, b.weight_bytes,
             b.in_bytes, b.out_bytes, b.gemm, b.groups, b.elems, b.weight_sparsity)
    assert hwsim.price_ops(fast) == hwsim.price_ops(slow)
    assert workload.sample_work(model, shape) == \
        _step_by_step(monkeypatch, lambda: workload.sample_work(model, shape))
    assert recurrent.cut_steps((torch.zeros(1, 40, 1),))[1] == 40


def test_short_sequence_unchanged(monkeypatch):
    """Up to STEPS_TRACED steps nothing is cut: activation sparsity included, the ops are
    the step-by-step ones."""
    monkeypatch.setattr(recurrent, "STEPS_TRACED", 16)
    model, shape = _models()[2], (16, 1)
    assert recurrent.cut_steps((torch.zeros(1, 16, 1),)) is None
    fast = workload.extract(model, shape)
    assert fast == _step_by_step(monkeypatch, lambda: workload.extract(model, shape))


def test_long_sequence_prices_in_bounded_time():
    """20,000 steps (a .ts series of a few hundred kB) price in seconds: step by step it was
    about two minutes on this machine (hooks on every step's calls, h303)."""
    model = _models()[2]
    start = time.perf_counter()
    out = hwsim.price(model, (20_000, 1), spring=True)
    assert time.perf_counter() - start < 20
    ops = workload.extract(model, (20_000, 1))
    assert max(o.groups for o in ops if o.type == "recurrent") == 20_000
    assert out["macs"] == sum(o.macs for o in ops)
