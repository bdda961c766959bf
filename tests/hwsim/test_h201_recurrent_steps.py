"""A recurrent layer's time steps run one after another on SPRING and the GPU (h201).

Step t+1's GEMM needs step t's hidden state, yet SPRING spread a recurrent op's work (all
steps' T x N outputs, G = steps groups) over its 64 x 72 = 4,608 PE lane slots as one pass,
and its cell's element ops through the lanes at once: an LSTM(8 -> 8) cost 4 cycles at 1
step and at 35 (``nnsynth hwsim eval --spec '{"family":"lstm","hidden":[8],"dropout":0.0,
"frame":1}' --input-shape 8x35 --spring``: 5.714e-06 ms both), while the accelerator model
grew linearly.  Now each step is a pass of its own (``hwsim.spring._pass``, steps from
``hwsim.accel.serial_steps``): per step ceil(T*N / 4608) x ceil(K_eff / 16) cycles, each
below one cycle's capacity here, so 1 cycle a step, and the cell's ceil(step elems / 4608)
= 1.  The dynamic energy (MACs, element ops, buffer and NVM accesses) does not depend on
the order; only the static energy (5 W x latency) grows with the latency.  The GPU
roofline charged one kernel launch for all of an op's steps: now one per step (the max of
compute and memory summed over steps is the op's own, each step 1 / steps of its work).

Cycles at 700 MHz: ms = cycles / 700e3.  All figures below by hand; before the fix
(one pass): lstm 4 cycles at 35 steps, hlstm 11 (its cell's 4,760 element ops 2 cycles)."""
import dataclasses

import pytest
from torch import nn

from hwsim import extract, gpu, spring
from hwsim.accel import serial_steps
from hwsim.spring import SpringConfig
from hwsim.workload import build_priced

MHZ = 700.0


def _ops(family, steps):
    spec = {"family": family, "hidden": [8], "dropout": 0.0, "frame": 1}
    return extract(build_priced(spec, (8, steps), 10), (8, steps))


def _cycles(ops, mode="inference"):
    r = spring.evaluate(ops, SpringConfig(), mode)
    return {l["name"]: l["cycles"] for l in r["layers"]}, r


def test_serial_steps_of_each_op():
    ops = _ops("lstm", 35)
    assert [(o.name, o.type, o.groups, serial_steps(o)) for o in ops] == [
        ("rnn.layers.0.ih", "linear", 1, 1),          # x W_ih for all steps at once
        ("rnn.layers.0.hh", "recurrent", 35, 35),
        ("rnn.layers.0.cell", "eltwise", 1, 35),      # batch x 35 x 8, 9 ops a unit
        ("head", "linear", 1, 1)]


def test_lstm_steps_are_serial_on_spring():
    one, r1 = _cycles(_ops("lstm", 1))
    many, r35 = _cycles(_ops("lstm", 35))
    # 1 step: ih, hh (a linear at one step), cell, head: 1 cycle each
    assert list(one.values()) == [1, 1, 1, 1]
    # 35 steps: ih 35 x 32 = 1,120 outputs, one pass (K = 8 -> 1 multiplier round): 1;
    # hh: 35 steps of 32 outputs, 1 cycle each; cell: 35 steps of 72 element ops, 1 each
    assert many == {"rnn.layers.0.ih": 1, "rnn.layers.0.hh": 35, "rnn.layers.0.cell": 35,
                    "head": 1}
    recurrent = ("rnn.layers.0.hh", "rnn.layers.0.cell")
    assert sum(many[n] for n in recurrent) == 35 * sum(one[n] for n in recurrent)
    assert r35["latency_ms"] == pytest.approx(72 / (MHZ * 1e3), rel=1e-12)
    assert r35["compute_cycles"] == r35["cycles"] == 72          # no op waits on the NVM


def test_hlstm_steps_are_serial_on_spring():
    one, _ = _cycles(_ops("hlstm", 1))
    many, r35 = _cycles(_ops("hlstm", 35))
    gates = [n for n in many if ".gates." in n]
    assert len(gates) == 8 and all(many[n] == 35 for n in gates)    # 16 or 8 outputs a step
    assert all(one[n] == 1 for n in gates)
    # cell: 4,760 / 35 = 136 element ops a step, 1 cycle each (not ceil(4,760 / 4,608) = 2)
    assert many["rnn.layers.0.cell"] == 35 and one["rnn.layers.0.cell"] == 1
    assert sum(v for n, v in many.items() if n != "head") == 35 * sum(
        v for n, v in one.items() if n != "head") == 315
    assert r35["latency_ms"] == pytest.approx(316 / (MHZ * 1e3), rel=1e-12)


def test_only_static_energy_follows_the_latency():
    for family in ("lstm", "hlstm"):
        ops = _ops(family, 35)
        r = spring.evaluate(ops, SpringConfig())
        a = spring._arrays(ops)
        parallel = spring._run({**a, "steps": a["steps"] * 0 + 1}, SpringConfig(), "inference")
        e = r["energy_breakdown_mj"]
        for part, key in (("mac", "e_mac"), ("vector", "e_vec"), ("sram", "e_sram"),
                          ("nvm", "e_nvm")):                          # order-free
            assert e[part] == pytest.approx(parallel[key] * 1e-9, rel=1e-12)
        assert e["static"] == pytest.approx(5.0 * r["latency_ms"], rel=1e-12)   # W x ms = mJ
        assert parallel["cycles"].sum() < r["cycles"]


def test_training_backward_through_time_is_serial():
    many, r = _cycles(_ops("lstm", 35), "training")
    # hh: forward 35 + backward-data 35 (a chain) + backward-weight 1 (a sum over the
    # steps: 1,120 outputs, one pass) + update ceil(3 x 256 / 4,608) = 1
    assert many["rnn.layers.0.hh"] == 72
    # cell: forward and backward-data element ops, each 35 steps of 1 cycle (it has no
    # weights: no backward-weight pass, h209; it was 105 with one)
    assert many["rnn.layers.0.cell"] == 70
    assert many["rnn.layers.0.ih"] == many["head"] == 4               # 1 + 1 + 1 + 1
    assert r["latency_ms"] == pytest.approx(150 / (MHZ * 1e3), rel=1e-12)


def test_bidirectional_torch_lstm_runs_its_two_directions_together():
    m = nn.LSTM(4, 8, batch_first=True, bidirectional=True)
    (op,) = extract(m, (10, 4))
    assert (op.type, op.groups, op.gemm, serial_steps(op)) == ("lstm", 20, (1, 12, 32), 10)
    cycles, _ = _cycles([op])
    # per step 2 directions x 32 outputs, 1 cycle; 2 x 9 x 8 = 144 element ops, 1 cycle
    assert cycles == {op.name: 20}


def test_gpu_charges_a_launch_per_step():
    ops = _ops("lstm", 35)
    base = gpu.GpuConfig(launch_us=0.0)
    slow = dataclasses.replace(base, launch_us=5.0)
    assert gpu.GpuConfig() == slow                     # (5 us a kernel by default, h204)
    # kernels: ih 1, hh 35, cell 35, head 1 = 72; training: forward and backward-data per
    # step, backward-weight once where there are weights: ih 3, hh 71, cell 70 (no weights:
    # no dW kernel, h204), head 3 = 147
    for mode, kernels in (("inference", 72), ("training", 147)):
        extra = (gpu.evaluate(ops, slow, mode)["latency_ms"]
                 - gpu.evaluate(ops, base, mode)["latency_ms"])
        assert extra == pytest.approx(kernels * 5e-3, rel=1e-9)
