"""GPU roofline baseline (Williams et al., "Roofline", CACM 2009); GTX 1080 Ti by default.

Each op takes max(compute time, memory time) plus a kernel-launch overhead:
    t = max(FLOPs / (peak * eff_c), bytes / (bandwidth * eff_m)) + launch
with FLOPs = 2 * MACs (one multiply + one add) and fp32 bytes.  Power under load is a
parameter (the board's TDP by default), so energy = power * time.  With eff = 1 and
launch_us = 0 this is the roofline's *lower bound* on GPU time, every ratio against it
conservative; the default charges each kernel a launch (``GpuConfig.launch_us``, 5 us), as
a framework on a real board pays it: a tiny layer (an LSTM step) took nanoseconds without it.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from synth.config import Config, check_choice, check_range, value_error
from hwsim.accel import MIN_DRAM_GBPS, serial_steps
from hwsim.op import Op, backward_passes, forward_elems, lookup_elems


MIN_TFLOPS = 1e-6        # TFLOP/s (1 MFLOP/s): the slowest peak a GpuConfig takes
MIN_EFFICIENCY = 1e-6    # the lowest achieved / peak fraction a GpuConfig takes


@dataclasses.dataclass(frozen=True)
class GpuConfig(Config):
    name: str = "GTX 1080 Ti"
    peak_tflops: float = 11.34        # fp32 peak, TFLOP/s (GTX 1080 Ti datasheet; ANCHORS)
    mem_gbps: float = 484.0           # GDDR5X bandwidth, GB/s (datasheet)
    power_w: float = 250.0            # board power under load, W (TDP, datasheet)
    compute_efficiency: float = 1.0   # achieved / peak FLOP/s, (0, 1]
    memory_efficiency: float = 1.0    # achieved / peak bandwidth, (0, 1]
    # per-kernel overhead, microseconds: the low end of the 5-20 us that a kernel's launch
    # takes on the host in PyTorch traces (HolisticTraceAnalysis docs, "CUDA kernel launch
    # statistics": "Usually, the launch time on the CPU side is between 5-20 microseconds");
    # NVIDIA's "Getting Started with CUDA Graphs" (developer blog, 2019) measures a few us
    # per launch too.  It was 0, the roofline bound: an LSTM of hidden 8 over 35 steps (72
    # kernels) took 3.3e-05 ms on the GPU, 33 ns, and SPRING was 0.32x its speed (now 0.36
    # ms, 3,500x).  0 gives the bound.
    launch_us: float = 5.0
    bytes_per_elem: int = 4           # fp32

    def validate(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip() or len(self.name) > 100 \
                or not self.name.isprintable():   # (None, 0 or [1] was the report's device)
            raise value_error("name", self.name, "must be a GPU's name (1-100 printable "
                                                 "characters)")
        # at least 1 MFLOP/s and 1 kB/s (as the accelerator's slowest DRAM channel), and
        # efficiencies of 1e-6: 1e-300 TFLOP/s at 1e-300 efficiency is 0 in floating point,
        # and a network's time was inf with a numpy divide-by-zero warning
        check_range("peak_tflops", self.peak_tflops, MIN_TFLOPS, 1e6)
        check_range("mem_gbps", self.mem_gbps, MIN_DRAM_GBPS, 1e6)
        check_range("power_w", self.power_w, 0, 1e5, low_open=True)
        check_range("compute_efficiency", self.compute_efficiency, MIN_EFFICIENCY, 1)
        check_range("memory_efficiency", self.memory_efficiency, MIN_EFFICIENCY, 1)
        check_range("launch_us", self.launch_us, 0, 1e6)
        if isinstance(self.bytes_per_elem, bool):   # (True == 1: it was taken as 1 byte)
            raise value_error("bytes_per_elem", self.bytes_per_elem, "must be one of 1, 2, 4, 8")
        check_choice("bytes_per_elem", self.bytes_per_elem, (1, 2, 4, 8))

    @property
    def ridge_flop_per_byte(self) -> float:
        """Roofline ridge point, FLOP/byte = peak FLOP/s / bandwidth B/s (1080 Ti: ~23.4)."""
        return self.peak_tflops * 1e12 / (self.mem_gbps * 1e9)


def phase_work(ops: Sequence[Op], mode: str):
    """(FLOPs, elements moved) per op for inference or training, arrays of shape (L,).

    Training = forward + backward-data (dX = dY W^T, same MACs) + backward-weight
    (dW = X^T dY, same MACs; only an op with weights or a product of two activations,
    ``backward_passes``) + SGD-momentum update (read W, dW, v; write W, v: 5 W traffic,
    3 FLOPs per weight).  Backward traffic: read W, dY, write dX; read X, dY, write dW.  An
    embedding has no backward-data pass: its input is indices, with no gradient (it was
    charged one, its whole table read and a gradient of its indices written: Embedding(10000,
    64) on 35 tokens moved 642,275 values more than its 3,846,790).  A norm with running
    statistics computes its batch's in training (``hwsim.op.forward_elems``: a BatchNorm's
    NORM_OPS_PER_ELEMENT element ops per value, as a LayerNorm's; its stored statistics' one
    was priced, h200)."""
    macs = np.array([o.macs for o in ops], dtype=np.float64)
    # (in training a BatchNorm computes its batch's statistics: ``forward_elems``)
    elems = np.array([forward_elems(o, mode) for o in ops], dtype=np.float64)
    W = np.array([o.weight_elems for o in ops], dtype=np.float64)
    # an embedding's forward reads the rows its indices name, not its whole table (a
    # 10,000 x 64 table looked up 35 times moved 640,000 values instead of 2,240)
    W_read = np.array([min(o.weight_elems, lookup_elems(o.in_elems, o.weight_shape[1]))
                       if o.type == "embedding" else o.weight_elems for o in ops],
                      dtype=np.float64)
    # (an attention's products, ``matmul`` ops: both operands are activations, read as I;
    # W = 0, so no weight update and no weight traffic in training.  An element-wise op of
    # two tensors, a residual add: both operands read, I = their values, ``hwsim.op.make_op``)
    I = np.array([o.in_elems for o in ops], dtype=np.float64)
    O = np.array([o.out_elems for o in ops], dtype=np.float64)
    flops_fwd = 2 * macs + elems                     # 2 FLOP per MAC; 1 per element op
    moved_fwd = W_read + I + O                       # elements read + written
    if mode == "inference":
        return flops_fwd, moved_fwd
    # the backward passes an op runs (``backward_passes``): backward-data where its input is
    # not indices, backward-weight where it has weights or is a product of two activations
    # (its second backward GEMM, dB = A^T dY).  Every op was charged a dW pass: a ReLU's
    # training cost 3x its forward FLOPs and moved a third pass of I + O values, while its
    # kernels (``evaluate``) counted forward and backward-data only (h209)
    data, weights = backward_passes(ops)
    flops = (1 + data + weights) * flops_fwd + 3 * W
    moved = moved_fwd + data * (W + O + I) + weights * (I + O + W) + 5 * W
    return flops, moved


def evaluate(ops: Sequence[Op], config: GpuConfig | None = None, mode: str = "inference") -> dict:
    """Roofline latency (ms), energy (mJ), power (W) of the workload on the GPU.

    A recurrent op's steps, and its cell's (``hwsim.accel.serial_steps``), run one after
    another, each step its own kernel(s): steps x (max(compute, memory) of a step + launch)
(training: forward and backward-data per step, backward-weight once).
    A step does 1 / steps of the op's FLOPs and moves 1 / steps of its values (the weights
    are read once, the roofline's lower bound: no cache is modelled), so the max terms sum
    to the op's own max(compute, memory); what the steps add is a launch each (the op was
    charged one launch for all its steps: with ``launch_us`` > 0 an LSTM's 35 steps cost
    one step's overhead)."""
    config = config or GpuConfig()
    check_choice("mode", mode, ("inference", "training"))
    flops, moved = phase_work(ops, mode)
    t_comp = flops / (config.peak_tflops * 1e12 * config.compute_efficiency)       # s
    t_mem = moved * config.bytes_per_elem / (config.mem_gbps * 1e9 * config.memory_efficiency)
    # kernels per op: forward (training: + backward-data + backward-weight), the forward's
    # and backward-data's once per step (backward through time is a chain too); dW, a sum
    # over the steps, one kernel; an op without weights has no dW kernel (an activation, a
    # residual add, a recurrent cell's update: it was charged one), an embedding no dX
    # kernel (its input is indices, as ``phase_work`` prices it); a product of two
    # activations (``matmul``: attention's Q K^T, A V) has two backward GEMMs, dA = dY B^T
    # and dB = A^T dY, as a layer's dX and dW (``phase_work``'s passes)
    steps = np.array([serial_steps(o) for o in ops], dtype=np.float64)
    data, weights = backward_passes(ops)
    kernels = steps * (1 + data) + weights if mode == "training" else steps
    t = np.maximum(t_comp, t_mem) + kernels * config.launch_us * 1e-6                # s per op
    seconds = float(t.sum())
    return {"device": config.name, "mode": mode, "latency_ms": seconds * 1e3,
            "energy_mj": config.power_w * seconds * 1e3,                           # W*s = 1e3 mJ
            "power_w": config.power_w, "flops": float(flops.sum()),
            "bytes": float(moved.sum() * config.bytes_per_elem),
            "memory_bound_ops": int((t_mem > t_comp).sum()),
            "achieved_tflops": float(flops.sum() / max(seconds, 1e-30) / 1e12)}
