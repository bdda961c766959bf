"""SPRING simulator (Yu & Jha, arXiv 1909.00557): sparsity-aware, reduced-precision CNN
accelerator with a monolithic-3D non-volatile memory (M3D NVM) interface, for inference and
training.  Pure functions of (workload, SpringConfig).

Modelled, each with its source:
- Compute: 64 PEs x 72 MAC lanes x 16 multipliers = 73,728 MACs at 700 MHz (paper; ANCHORS).
  Binary-mask sparsity encoding lets the zero-skipping logic issue only pairs where both
  operands are nonzero: effective MACs = MACs * (1 - s_act) * (1 - s_w) (paper, Sec. 3).
- Precision: 20-bit fixed point, 4 integer + 16 fraction bits; training uses stochastic
  rounding (paper; ``synth.quant`` reproduces it in PyTorch).
- Storage: values kept compressed as (nonzero values at 20 b) + (1-bit mask per element);
  mask buffer 4 MB, weight buffer 24 MB, activation buffer 12 MB (paper; ANCHORS).  Their
  capacities decide the NVM traffic: activations that do not fit are streamed, and a layer
  whose weights and input both exceed their buffers re-reads one of them (``_restream``).
- Memory: the M3D NVM interface's bandwidth and per-bit read/write energy are parameters.
  The paper's exact interface figures are not in our anchors: defaults are assumptions
  (RRAM-class read 1 pJ/bit, write 5 pJ/bit; 1 TB/s dense vertical vias), stated here.
- Energy: MAC and SRAM energies from Horowitz ISSCC 2014 (45 nm) scaled like ``hwsim.accel``:
  a GEMM's operand reads (one per ``operand_reuse`` MACs) and its output values (each
  written once; in training dX and dW too), and every other op's input and output values
  (element-wise, pool, norm, copy: each read and written once) through the on-chip buffers
  at one bank's pJ per byte (SRAM8KB_PJ_PER_B x sqrt(sram_bank_kb / 8) x node / 45: 2.2 pJ
  per byte at 64 KiB banks, 28 nm).
- A product of two activations (``matmul``: an attention's Q K^T and A V) has no weights: both
  operands stream through the activation buffer (``I``, compressed at their measured
  sparsity together), the weight buffer and its NVM traffic unused; its zero-skipping keeps
  (1 - s_act) of its MACs.
- A recurrent layer's time steps run one after another (step t+1 needs step t's hidden
  state): its GEMM and its cell's element ops are priced step by step (``_pass``,
  ``hwsim.accel.serial_steps``), so its latency grows with the steps; backward-data through
  time likewise, backward-weight (a sum over the steps) in one pass.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from synth.config import Config, check_choice, check_range, short_repr, value_error
from hwsim.accel import (ADD8_PJ, MIN_CLOCK_MHZ, MIN_DRAM_GBPS, MULT8_PJ, REF_NM,
                         SRAM8KB_PJ_PER_B, chunk_schedules, layer_arrays, serial_steps)
from hwsim.op import Op, backward_passes, forward_elems

MODES = ("inference", "training")


@dataclasses.dataclass(frozen=True)
class SpringConfig(Config):
    pes: int = 64                     # processing elements (paper)
    lanes: int = 72                   # MAC lanes per PE (paper)
    multipliers: int = 16             # multipliers per lane (paper)
    clock_mhz: float = 700.0          # MHz (paper)
    int_bits: int = 4                 # fixed point: integer bits (paper)
    frac_bits: int = 16               # fixed point: fraction bits (paper)
    weight_buffer_mb: float = 24.0    # MB (paper): nonzero weight values (``_restream``)
    act_buffer_mb: float = 12.0       # MB (paper): activation values
    mask_buffer_mb: float = 4.0       # MB (paper): 1-bit masks of weights and activations
    nvm_gbps: float = 1024.0          # M3D NVM bandwidth, GB/s (assumption, see module doc)
    nvm_read_pj_per_bit: float = 1.0  # pJ/bit (assumption: RRAM read)
    nvm_write_pj_per_bit: float = 5.0  # pJ/bit (assumption: RRAM write)
    sram_bank_kb: float = 64.0        # buffers are banked; energy of one bank access [H14]
    operand_reuse: float = 16.0       # MACs served per buffer read (16 multipliers/lane share it)
    technology_nm: float = 28.0       # process node (assumption), nm
    static_w: float = 5.0             # leakage of 40 MB SRAM + logic, W (assumption)
    sparsity: bool = True             # exploit sparsity (False: dense baseline of the same chip)

    def validate(self) -> None:
        for name in ("pes", "lanes", "multipliers"):
            check_range(name, getattr(self, name), 1, 1 << 20, integer=True)
        # (1 kHz and 1 kB/s at least, as the accelerator's: clock_mhz or nvm_gbps of 1e-320
        # priced a network at 'inf ms, inf mJ'; an operand read serves at least one MAC: an
        # operand_reuse of 1e-300 read 1e300 operands a MAC, 1e294 mJ)
        check_range("clock_mhz", self.clock_mhz, MIN_CLOCK_MHZ, 1e5)
        check_range("int_bits", self.int_bits, 1, 32, integer=True)
        check_range("frac_bits", self.frac_bits, 0, 32, integer=True)
        for name in ("weight_buffer_mb", "act_buffer_mb", "mask_buffer_mb", "sram_bank_kb"):
            check_range(name, getattr(self, name), 0, 1e9, low_open=True)
        check_range("nvm_gbps", self.nvm_gbps, MIN_DRAM_GBPS, 1e9)
        if self.mask_buffer_mb * 8e6 < 2:   # one mask bit of each operand (``mask_room``): a
            # 1e-300 MB buffer held none and was priced at 7.8e296 bytes of NVM traffic
            raise value_error("mask_buffer_mb", self.mask_buffer_mb,
                              "must hold at least one mask bit of each operand (2 bits, "
                              "2.5e-07 MB)")
        # a weight or activation buffer holds at least one value of ``bits`` bits (1 MB =
        # 8e6 bits, as ``_restream`` counts it): 1e-6 MB (8 bits) against a 20-bit value was
        # priced as a buffer that re-streams every operand
        for name in ("weight_buffer_mb", "act_buffer_mb"):
            if getattr(self, name) * 8e6 < self.bits:
                raise value_error(name, getattr(self, name),
                                  f"must hold at least one {self.bits}-bit value "
                                  f"({self.bits / 8e6:.6g} MB)")
        # a bank holds at least one value too (KB = 1024 B here, as the accelerator's pads):
        # a 1e-300 KB bank was priced at ~0 pJ a buffer access (~ sqrt of its size, [H14]),
        # every SRAM access of the network free (h219)
        if self.sram_bank_kb * 1024 * 8 < self.bits:
            raise value_error("sram_bank_kb", self.sram_bank_kb,
                              f"must hold at least one {self.bits}-bit value "
                              f"({self.bits / 8 / 1024:.6g} KB)")
        check_range("operand_reuse", self.operand_reuse, 1, 1e9)
        for name in ("nvm_read_pj_per_bit", "nvm_write_pj_per_bit", "static_w"):
            check_range(name, getattr(self, name), 0, 1e6)
        check_range("technology_nm", self.technology_nm, 3, 180)
        if not isinstance(self.sparsity, bool):
            from synth.errors import ConfigError
            raise ConfigError(f"sparsity must be true or false, got {short_repr(self.sparsity)}")

    @property
    def bits(self) -> int:
        return self.int_bits + self.frac_bits       # 20 b by default

    @property
    def macs_per_cycle(self) -> int:
        return self.pes * self.lanes * self.multipliers   # 73,728 by default


def _arrays(ops: Sequence[Op], mode: str = "inference") -> dict[str, np.ndarray]:
    """The accelerator model's layer arrays, flattened to shape (L,), with each op's forward
    element ops in ``mode`` (``hwsim.op.forward_elems``: in training a BatchNorm computes its
    batch's statistics), how it runs in a chunk of its batch (``cls``, ``_classes``) and the
    time steps it runs one after another (``steps``, ``hwsim.accel.serial_steps``: a
    recurrent op's and its cell's, 1 for any other op)."""
    a = {k: v[:, 0] for k, v in layer_arrays(ops).items()}
    # the backward passes each op runs in training, 0/1 (``hwsim.op.backward_passes``):
    # backward-data ``bd`` (not an embedding), backward-weight ``bw`` (weights, or a product
    # of two activations)
    bd, bw = backward_passes(ops)
    return {**a, "bd": bd, "bw": bw,
            "elems": np.array([float(forward_elems(o, mode)) for o in ops]),
            "cls": _classes(ops, a["S"]),
            "steps": np.array([float(serial_steps(o)) for o in ops]),
            "bn": np.array([float(batch_statistics(o, mode)) for o in ops]),
            "C": np.array([float(o.in_shape[1]) if len(o.in_shape) > 1 else 1.0
                           for o in ops])}


def batch_statistics(op: Op, mode: str) -> int:
    """Passes of ``op`` in ``mode`` that reduce over its whole batch before any sample of it
    may go on: a BatchNorm's.  In training it normalizes by its batch's mean and variance
    (torch's _BatchNorm.forward; ``hwsim.op.forward_elems`` prices their sums), and its
    backward pass needs the batch's sums of dY and dY x x_hat before any sample's dX: 2.  At
    inference one that keeps no running statistics (geometry ``track_running_stats`` False:
    torch normalizes by the batch's there too; F.batch_norm(training=True)) computes them: 1;
    one with stored statistics (or a record that does not say): 0, its per-element affine
    map needs no other sample.  Every other op: 0 (a LayerNorm's, a GroupNorm's, an
    InstanceNorm's statistics are each sample's own).  ``_schedule`` prices them over the
    whole batch, a chunked batch in two passes there."""
    if op.type != "batchnorm":
        return 0
    if mode == "training":
        return 2
    return 1 if dict(op.geometry).get("track_running_stats") is False else 0


# how an op of a batch runs in a chunk of it (``_classes``, ``_scaled``)
SAMPLES, SHARED, REDUCED, UNKNOWN = range(4)


def _classes(ops: Sequence[Op], S: np.ndarray) -> np.ndarray:
    """How each op of a batch of B samples runs in a chunk of n of them, per op, array (L,).
    B is the most samples any op covers (``S``, ``hwsim.accel.op_samples``); an op that
    covers B is ``SAMPLES``: n / B of its work.  An op that covers none (S = 1): ``SHARED``
    where no dimension of its input or output is the batch (a number, a broadcast constant,
    a statistic's C values, a parameter), the same whole work in every chunk, as a chunk
    reads the weights again; ``REDUCED`` where it reduces its input's B samples, batch
    first, to an output without them (an element-wise op: ``sum``, ``mean``, ``amax``...
    over the batch).  ``UNKNOWN`` otherwise: another count of samples (a (T, B, D) layout, a
    batch flattened into its rows), a batch dimension an op does not split evenly, whose
    share of a chunk is not known."""
    B = S.max() if len(S) else 1.0
    cls = np.full(len(ops), UNKNOWN)
    for i, o in enumerate(ops):
        if S[i] == B:
            cls[i] = SAMPLES
        elif S[i] <= 1 and B not in (*o.in_shape, *o.out_shape):
            cls[i] = SHARED
        elif S[i] <= 1 and o.type == "eltwise" and o.in_shape[:1] == (B,) \
                and B not in o.out_shape:
            cls[i] = REDUCED
    return cls


def _compressed_bits(n, s, bits):
    """Binary-mask encoding, bits: nonzero values at ``bits`` + a 1-bit mask per element."""
    return n * (1 - s) * bits + n


def mask_room(a, cfg: SpringConfig):
    """Mask bits, per op, arrays (L,), that the operand kept on chip may hold: the mask
    buffer less what the other operand needs beside it.

    One 4 MB mask buffer serves the weights and the activations (SPRING Sec. 3: binary-mask
    encoding; 24 MB weight, 12 MB activation, 4 MB mask buffers): each operand's values have
    a buffer of their own, their 1-bit masks share this one.  The rule: the masks of
    everything on chip at one time fit in it together.  The operand that stays (its tile
    held while the other passes) holds its tile's mask; the one that streams past it needs
    the masks of its current tile and the next (double-buffered), a tile being at least one
    reduction of K elements (a column of the K x N weights, a row of the T x K input): 2K
    bits.  A buffer smaller than 4K bits is split in halves.  (Each operand was given the
    whole buffer: a layer whose weight masks filled it kept them all on chip while the
    input's masks streamed through the same buffer.)"""
    cap = cfg.mask_buffer_mb * 8e6                                            # bits
    return np.maximum(cap - 2 * a["K"], cap / 2)


def _restream(a, cfg: SpringConfig, w_elems, s_w, x_elems, s_x):
    """Extra NVM reads, bits, of a GEMM pass of weights (``w_elems``, sparsity ``s_w``) against
    activations (``x_elems``, ``s_x``), per op, arrays (L,): the buffer capacities at work.

    The weights' nonzero values sit in the weight buffer and their 1-bit masks in the mask
    buffer; the activations' values in the activation buffer, their masks in the mask buffer
    (SPRING Sec. 3: binary-mask encoding, 24 / 12 / 4 MB), which the two share
    (``mask_room``).  An operand that does not fit is processed in tiles that do:
    ``ceil(values / buffer)`` or ``ceil(mask / mask_room)``, the larger.  While one operand
    fits (one tile) it stays on chip and the other streams past it once (the traffic
    ``evaluate`` charges anyway).  When neither does, one of them is read again for every
    tile of the other beyond the first; the cheaper order is taken:
    ``min((tiles_w - 1) * x_bits, (tiles_x - 1) * w_bits)`` (compressed bits).

    The steps of a recurrent layer (``recurrent``, ``lstm``, ``gru``, ``rnn``: groups that
    share one weight matrix, G x K x N = steps x weights) run one after another, step t+1 on
    all of step t's output, so weights that do not fit cannot stay while the steps stream
    past them: they are read again every step, ``(steps - 1) * w_bits`` (they were read
    once: an LSTM's NVM traffic and energy as if its weights fitted)."""
    if not cfg.sparsity:
        s_w, s_x = np.zeros_like(s_w), np.zeros_like(s_x)
    b, room = cfg.bits, mask_room(a, cfg)                                     # bits
    tiles_w = np.maximum(np.ceil(w_elems * (1 - s_w) * b / (cfg.weight_buffer_mb * 8e6)),
                         np.ceil(w_elems / room))
    tiles_x = np.maximum(np.ceil(x_elems * (1 - s_x) * b / (cfg.act_buffer_mb * 8e6)),
                         np.ceil(x_elems / room))
    w_bits, x_bits = _compressed_bits(w_elems, s_w, b), _compressed_bits(x_elems, s_x, b)
    extra = np.where(tiles_x > 1,
                     np.minimum((tiles_w - 1) * x_bits, (tiles_x - 1) * w_bits), 0.0)
    # steps x weights / weights: 1 for a conv or linear (each group its own weights)
    steps = np.maximum(a["G"] * a["K"] * a["N"] / np.maximum(w_elems, 1), 1.0)
    extra = np.where(steps > 1, (steps - 1) * w_bits, extra)
    return np.where((a["gemm"] > 0) & (tiles_w > 1), extra, 0.0)


def _pass(a, cfg: SpringConfig, s_a, s_w, steps=1.0):
    """Cycles of one GEMM pass with operand sparsities (s_a, s_w), per op, arrays (L,).
    Work is spread as outputs over PE x lane slots and the reduction over the 16 multipliers:
    cycles = max(eff_MACs / MACs_per_cycle, ceil(outputs / (PEs*lanes)) * ceil(K_eff / mults)),
    per step where the op's ``steps`` run one after another (a recurrent op, ``_arrays``:
    step t+1's GEMM needs step t's hidden state), each step a pass of 1 / steps of the
    outputs and MACs: steps x that.  (All steps were spread over the PEs as one pass:
    LSTM(8 -> 8) cost 1 cycle a layer at 1 step and at 35, the 35 steps' 1,120 outputs
    fitting the 4,608 slots at once.)"""
    keep = (1 - s_a) * (1 - s_w) if cfg.sparsity else np.ones_like(s_a)
    eff = a["macs"] * keep                                                  # MACs issued
    outputs = a["T"] * a["N"] * a["G"]
    k_eff = np.maximum(np.ceil(a["K"] * keep), 1)
    cyc = steps * np.maximum(eff / steps / cfg.macs_per_cycle,
                             np.ceil(outputs / steps / (cfg.pes * cfg.lanes))
                             * np.ceil(k_eff / cfg.multipliers))
    return np.where(a["gemm"] > 0, cyc, 0.0), np.where(a["gemm"] > 0, eff, 0.0)


def _run(a, cfg: SpringConfig, mode: str) -> dict:
    """One run of the workload ``a`` (``_arrays``: each op one pass of its whole batch):
    per-op cycles (arrays (L,)) and the sums ``evaluate`` reports, all additive over runs
    (the chunks of a batch, ``_chunked``)."""
    b = cfg.bits
    zero = np.zeros_like(a["sa"])
    sw = a["sw"] if cfg.sparsity else zero
    sa = a["sa"] if cfg.sparsity else zero
    lanes = cfg.pes * cfg.lanes
    # element ops on the PEs' lanes, cycles: those of a GEMM op too (a recurrent cell's
    # gates and update, after each step's GEMM: their energy was counted, their time not);
    # a recurrent op's or cell's (``steps``) one step after another, each step's
    # ceil(elems / steps / lanes) (all steps' went through the lanes at once)
    steps = a["steps"]
    vec = steps * np.ceil(a["elems"] / steps / lanes)
    # an op that moves values (``resample``: Upsample, PixelShuffle, a copy) reads its input
    # from the activation buffer and writes its output back through the lanes, one output
    # value per lane per cycle, its interpolation ops (``elems``) overlapping: cycles
    # max(ceil(elems / lanes), ceil(O / lanes))
    vec = np.maximum(vec, np.where(a["move"] > 0, np.ceil(a["O"] / lanes), 0.0))
    # on-chip buffer accesses, values: an op off the GEMM array (element-wise, pool, norm,
    # embedding, resample) reads each of its I input values (an element-wise op's operands
    # all) from the activation buffer and writes its O output values back once, an
    # embedding's rows and a PReLU's slopes from the weight buffer (``lookup``, ``Wv``), as
    # the accelerator model charges its scratchpads (``hwsim.accel._untiled_costs``).  Only
    # a ``resample`` op's were charged: an element-wise op's operands and results (a
    # residual add, a product, a cell update), a pool's, a norm's cost no SRAM energy (h193)
    gemm = a["gemm"] > 0
    buffered = np.where(gemm, 0.0, a["I"] + a["O"] + a["lookup"] + a["Wv"])      # values
    # a GEMM op's results, values: each output is reduced in its lane's accumulator over
    # ceil(K_eff / multipliers) cycles (``_pass``) and written to the activation buffer once,
    # its O values (its operand reads are charged per MAC below).  In training the backward
    # passes write theirs too: backward-data dX (the input's I values: an attention
    # product's two operands both), backward-weight dW (W), as ``hwsim.gpu.phase_work``
    # counts them.  (Only the operand reads were charged: a conv's output activations
    # reached the buffer for free, h196)
    written = np.where(gemm, a["O"] + (a["I"] + a["W"] if mode == "training" else 0.0), 0.0)
    fwd, eff_f = _pass(a, cfg, a["sa"], a["sw"], steps)
    cycles_c, eff = fwd + vec, eff_f
    # (I: every value an op reads as input, an element-wise op's two tensor operands both,
    # ``hwsim.op.make_op``; compressed at their zeros together, ``sa``)
    # NVM traffic, bits: weights compressed, read once per batch (while a tile of them stays
    # in the weight buffer, see ``_restream``); input and output streamed when they do not
    # fit the activation buffer together: the input read, the output written (both were
    # charged half read, half written: a 3 -> 64 channel conv's write was priced as a read)
    # an embedding reads the rows its lookups name (``lookup``), at most its whole table
    w_read = np.where(a["lookup"] > 0, np.minimum(a["W"], a["lookup"]), a["W"])
    w_bits = _compressed_bits(w_read, sw, b)
    in_bits, out_bits = _compressed_bits(a["I"], sa, b), _compressed_bits(a["O"], zero, b)
    # the input and output stay on chip when their nonzero values fit the activation buffer
    # and their masks the mask buffer beside the weights' (``mask_room``); their masks were
    # charged to the activation buffer, and the mask buffer was left to the weights alone
    in_vals, out_vals = a["I"] * (1 - sa) * b, a["O"] * b
    spill = ((in_vals + out_vals > cfg.act_buffer_mb * 8e6)
             | (a["I"] + a["O"] > mask_room(a, cfg)))                         # stream them
    restream = _restream(a, cfg, a["W"], sw, a["I"], sa)
    nvm_read = w_bits + np.where(spill, in_bits, 0.0)
    nvm_write = np.where(spill, out_bits, 0.0)
    if mode == "training":
        # backward through time: step t's dX needs step t+1's (serial, as the forward
        # pass, and so are the cell's backward element ops, ``vec`` a backward pass); dW =
        # sum over steps of X_t^T dY_t is a reduction, not a chain: one pass of all steps
        bwd_d, eff_d = _pass(a, cfg, a["sa"], a["sw"], steps)
        bwd_w, eff_w = _pass(a, cfg, a["sa"], a["sa"])
        # an op runs only the backward passes it has (``bd``, ``bw``): an op without
        # weights no dW (its element ops were charged a third pass, a ReLU's training 3x its
        # forward lanes and buffer accesses, as ``hwsim.gpu.phase_work`` charged its FLOPs,
        # h209), an embedding no dX (its input is indices)
        bwd_d, eff_d = a["bd"] * bwd_d, a["bd"] * eff_d
        bwd_w, eff_w = a["bw"] * bwd_w, a["bw"] * eff_w
        # dX = dY W^T tiles W as the forward pass does, against dY (the output's size)
        restream = restream + _restream(a, cfg, a["W"], sw, a["O"], sa)
        update = np.ceil(3 * a["W"] / lanes)                                  # SGD+momentum
        cycles_c = cycles_c + bwd_d + bwd_w + update + (a["bd"] + a["bw"]) * vec
        eff = eff + eff_d + eff_w
        # activations saved for backward (write, then read), gradients and weights updated
        saved = _compressed_bits(a["I"], sa, b)
        nvm_write = nvm_write + saved + a["W"] * b                            # store X; write W
        nvm_read = nvm_read + saved + a["W"] * b                              # read X; read W
    # a reduction over the batch run in chunks (``_scaled``): the chunk's share of the
    # tensor it reduced, written to the NVM to wait for the second pass, which reads it back
    held = _compressed_bits(a["H"], sa, b) if "H" in a else zero
    nvm_read, nvm_write = nvm_read + restream + held, nvm_write + held
    bits_per_cycle = cfg.nvm_gbps * 8e9 / (cfg.clock_mhz * 1e6)
    cycles_m = (nvm_read + nvm_write) / bits_per_cycle
    cycles = np.maximum(cycles_c, cycles_m)                                   # double-buffered
    seconds = float(cycles.sum()) / (cfg.clock_mhz * 1e6)
    # energy, pJ: Horowitz 45 nm scaled by node (C ~ node, same V) [H14]
    e_scale = cfg.technology_nm / REF_NM
    mac_pj = (MULT8_PJ * (b / 8) ** 2 + ADD8_PJ * 2 * b / 8) * e_scale        # b x b mult, 2b add
    sram_pj_b = SRAM8KB_PJ_PER_B * np.sqrt(cfg.sram_bank_kb / 8) * e_scale    # pJ per byte
    e_mac = float(eff.sum()) * mac_pj
    passes = 1 + a["bd"] + a["bw"] if mode == "training" else 1.0   # per op (``bd``, ``bw``)
    n_elem_ops = (a["elems"] * passes).sum()
    e_vec = float(n_elem_ops) * ADD8_PJ * b / 8 * e_scale
    sram_bytes = eff.sum() * 2 * (b / 8) / cfg.operand_reuse                 # 2 operands per MAC
    # (a GEMM's operands: each buffer read serves ``operand_reuse`` MACs; an op off the
    # array reuses none: values x b / 8 bytes, forward and its backward passes in training
    # as its element ops, ``passes``)
    sram_bytes = sram_bytes + (buffered * passes).sum() * (b / 8)
    sram_bytes = sram_bytes + written.sum() * (b / 8)                      # GEMM results
    e_sram = float(sram_bytes * sram_pj_b)
    e_nvm = float(nvm_read.sum() * cfg.nvm_read_pj_per_bit + nvm_write.sum() * cfg.nvm_write_pj_per_bit)
    e_static = cfg.static_w * seconds * 1e12                                  # W*s = 1e12 pJ
    energy_pj = e_mac + e_vec + e_sram + e_nvm + e_static
    return {"cycles": cycles, "compute": cycles_c, "memory": cycles_m, "eff": float(eff.sum()),
            "dense": float((a["macs"] * passes).sum()),
            "nvm_read": float(nvm_read.sum()), "nvm_write": float(nvm_write.sum()),
            "restream": float(restream.sum()), "mask_bits": float(a["W"].sum() + a["I"].sum()),
            "e_mac": e_mac, "e_vec": e_vec, "e_sram": e_sram, "e_nvm": e_nvm,
            "e_static": e_static, "energy_pj": energy_pj}


# op fields that count the op's samples: scaled to a chunk of them (``_scaled``)
PER_SAMPLE = ("macs", "elems", "I", "O", "lookup")


def _scaled(a, n):
    """The workload ``a`` on ``n`` of its ``B`` samples (``_classes``).  An op of the batch
    (``SAMPLES``): its per-sample counts times n / B, a GEMM's rows T (or its groups G where
    the samples are its groups: attention's products) likewise; the weights are the same, and
    so is an element-wise op's operand broadcast over the batch (``Ish``, values: a chunk
    reads it whole, as it reads the weights).  An op without the batch (``SHARED``): whole,
    in every chunk.

    A reduction over the batch (``REDUCED``) reduces the chunk's n / B of its input into a
    partial result of its O values, and adds the partial results of the chunks before
    (read, one element op a value, written: O values each); its consumers need the whole
    batch's result, so no chunk passes it before every chunk has reached it.  The network
    runs in two passes over the chunks there, and what the second pass reads of the first
    waits: taken as the reduced tensor (``H``, values: a normalization by a batch
    statistic, x - x.mean(0), reads it again; other tensors live across the reduction, a
    residual branch's, are not in the op records and not charged).  Where the whole
    batch's of it fits the activation buffer (compressed, and its masks the mask buffer)
    it waits there; otherwise (``wait``, ``_schedule``) each chunk writes its share to the
    NVM and reads it back (``_run``).  (A batch with such a reduction ran whole, its
    activations spilling at every layer that did not fit, h200: the hardware need not.)"""
    B, cls = a["S"].max(), a["cls"]
    f = n / B
    per, red = cls == SAMPLES, cls == REDUCED
    part = {k: np.where(per, a[k] * f, a[k]) for k in PER_SAMPLE}
    part["I"] = np.where(per, (a["I"] - a["Ish"]) * f + a["Ish"],
                         np.where(red, a["I"] * f + a["O"], a["I"]))
    part["elems"] = np.where(red, a["elems"] * f + a["O"], part["elems"])
    bg = a["bg"] > 0
    part["T"] = np.where(per & ~bg, a["T"] * f, a["T"])
    part["G"] = np.where(per & bg, a["G"] * f, a["G"])
    wait = a.get("wait", 0) > 0
    part["H"] = np.where(red & wait, a["I"] * f, 0.0)
    # a BatchNorm that normalizes by its batch's statistics (``bn``, ``batch_statistics``)
    # is such a reduction too, of its chunk's n / B of the batch: the chunk adds its sums (a
    # sum and a sum of squares a channel, C values each) to the chunks' before it (2 C
    # element ops; in training the backward pass's sums likewise, in its backward passes),
    # and its input (I values) waits for the whole batch's statistics; in training its backward pass's dY
    # (its output's O values) waits for the batch's sums of dY and dY x x_hat too: two
    # passes over the chunks at each of them.  (Each chunk normalized by its own statistics,
    # a ghost batch norm that real training does not compute, h204)
    bn = per & (a["bn"] > 0)
    part["elems"] = np.where(bn, part["elems"] + 2 * a["C"], part["elems"])
    part["H"] = part["H"] + np.where(bn & wait, a["I"] * f + (a["bn"] - 1) * a["O"] * f, 0.0)
    return {**a, **part}


def _chunked(run, size: int, B: int, part: int | None = None) -> dict:
    """The batch of ``B`` samples run as B / ``part`` parts of ``part`` samples (B: one),
    each as floor(part / size) runs of ``size`` samples and one of the rest, the whole
    network each (``run(n)``: ``_run`` on n samples; weights read again every run)."""
    part = part or B
    full, rest = divmod(part, size)
    one = run(size)
    out = {k: v * full * (B // part) for k, v in one.items()}
    if rest:
        last = run(rest)
        out = {k: out[k] + last[k] * (B // part) for k in out}
    return out


def _schedule(a, cfg: SpringConfig, mode: str) -> dict:
    """The batch run whole, or in chunks run one after another through the whole network
    where that takes fewer cycles (ties: less energy).  An op's input and output stay on
    chip where they fit the activation buffer (``evaluate``): a whole batch whose
    activations do not fit streams them through the NVM at every layer, while a chunk that
    fits keeps them (resnet8_w16 on 3x32x32 at batch 256: 2.8x the time of 256 runs of one
    sample, 4.5x that of two runs of 128, where nothing spills; lstm64 2.9x).  Each op runs
    its share of a chunk (``_classes``, ``_scaled``): n / B of the batch's work; an op
    without the batch (of numbers, broadcast constants, parameters: ``scale * 2``) all of it
    in every chunk; a reduction over the batch its chunk's partial results, the network run
    in two passes over the chunks there.  Chunking needs every op's share: an op whose
    leading dimension is neither the batch nor 1 (``UNKNOWN``) runs the batch whole.
    (Until h200 any op that did not cover the batch did: conv(3, 16) -> ``y[y < 0] = 0`` ->
    conv(16, 16) -> Linear on 3x32x32, whose write was recorded with no batch of its own,
    ran a batch of 256 whole, 3.7x the chunks' time.)  In training a chunk's weight update
    stands for accumulating its gradient (an upper bound: one update per batch would do).
    A BatchNorm that normalizes by its batch's statistics (in training, ``batch_statistics``)
    computes them over the whole batch, a reduction over it: the chunks run in two passes
    there, its input held across them (in the activation buffer where the whole batch's
    fits, else through the NVM), and in training again for its backward pass's sums
    (``_scaled``).  (It was priced per chunk, each chunk normalized by its own statistics:
    a ghost batch norm, h204.)  The schedules are ``hwsim.accel.chunk_schedules``' (closed
    under doubling: twice the batch has the batch's schedule run twice among its own, h273)."""
    whole = _run(a, cfg, mode)
    B, cls = int(a["S"].max()) if len(a["S"]) else 1, a["cls"]
    if B <= 1 or (cls == UNKNOWN).any():
        return whole
    # a reduction whose input, the whole batch's, does not fit the buffers (as ``_run``
    # tests its input's and output's): what the chunks' second pass reads waits in the NVM
    s_a = a["sa"] if cfg.sparsity else 0.0
    spills = ((a["I"] * (1 - s_a) * cfg.bits > cfg.act_buffer_mb * 8e6)
              | (a["I"] > mask_room(a, cfg)))
    a = {**a, "wait": ((cls == REDUCED) | (a["bn"] > 0)) & spills}
    best, runs = whole, {}

    def run(n: int) -> dict:   # the network on n samples, once per n (the schedules share
        if n not in runs:      # their chunk sizes: one sample at a time is in every part)
            runs[n] = _run(_scaled(a, n), cfg, mode)
        return runs[n]
    for size, part in sorted({(int(b[0]), int(P[0]))
                              for b, P in chunk_schedules(np.array([float(B)]))}):
        if size >= B:
            continue
        x = _chunked(run, size, B, part)
        if (x["cycles"].sum(), x["energy_pj"]) < (best["cycles"].sum(), best["energy_pj"]):
            best = x
    return best


def evaluate(ops: Sequence[Op], config: SpringConfig | None = None, mode: str = "inference",
             *, chunks: bool = True) -> dict:
    """Latency (ms), energy (mJ), power (W) and per-op cycles of the workload on SPRING.

    training = forward + backward-data (dX = dY W^T: zeros of W and of dY skipped; dY is zero
    where the ReLU output was, so its sparsity is taken as the layer's activation sparsity)
    + backward-weight (dW = X^T dY: zeros of X and dY skipped) + weight update (3 ops/weight).
    ``chunks`` (the default): a batch runs whole or in chunks through the whole network,
    whichever takes fewer cycles (``_schedule``), the one rule of every SPRING price
    (``hwsim.price``, ``hwsim eval --spring``, the latency and ``hwsim table`` rows, the hwsim
    pool), as the accelerator model's batch tiling is of its; ``chunks=False``: the batch run
    whole, each op one pass of it, however its activations spill (the figure of the model
    before h179; the default was whole until h182, so a direct call priced a batch another
    way than every price of it)."""
    cfg = config or SpringConfig()
    check_choice("mode", mode, MODES)
    a = _arrays(ops, mode)
    r = _schedule(a, cfg, mode) if chunks else _run(a, cfg, mode)
    cycles = r["cycles"]
    seconds = float(cycles.sum()) / (cfg.clock_mhz * 1e6)
    energy_pj, eff, dense_macs = r["energy_pj"], r["eff"], r["dense"]
    return {"mode": mode, "latency_ms": seconds * 1e3, "energy_mj": energy_pj * 1e-9,
            "power_w": energy_pj * 1e-12 / max(seconds, 1e-30), "cycles": float(cycles.sum()),
            "compute_cycles": float(r["compute"].sum()), "memory_cycles": float(r["memory"].sum()),
            "macs": float(dense_macs), "effective_macs": float(eff),
            "skipped_fraction": float(1 - eff / max(dense_macs, 1)),
            "nvm_bytes": float((r["nvm_read"] + r["nvm_write"]) / 8),
            "restream_bytes": float(r["restream"] / 8),
            "mask_bytes": float(r["mask_bits"] / 8),
            "utilization": float(eff / max(cycles.sum() * cfg.macs_per_cycle, 1)),
            "energy_breakdown_mj": {"mac": r["e_mac"] * 1e-9, "vector": r["e_vec"] * 1e-9,
                                    "sram": r["e_sram"] * 1e-9, "nvm": r["e_nvm"] * 1e-9,
                                    "static": r["e_static"] * 1e-9},
            "layers": [{"name": o.name, "type": o.type, "cycles": float(cycles[i])}
                       for i, o in enumerate(ops)]}


def compare(ops: Sequence[Op], config: SpringConfig | None = None, gpu=None,
            mode: str = "inference", *, chunks: bool = True) -> dict:
    """SPRING vs a GPU roofline, as the paper reports: speedup, power reduction and
    energy-efficiency ratio (= speedup x power reduction)."""
    from hwsim import gpu as gpu_mod
    s = evaluate(ops, config, mode, chunks=chunks)
    g = gpu_mod.evaluate(ops, gpu, mode)
    speedup = g["latency_ms"] / s["latency_ms"]
    power = g["power_w"] / s["power_w"]
    return {"mode": mode, "speedup": speedup, "power_reduction": power,
            "energy_efficiency": g["energy_mj"] / s["energy_mj"], "spring": s, "gpu": g}
