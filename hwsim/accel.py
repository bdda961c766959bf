"""Analytical systolic-array accelerator model (application-driven DSE, arXiv 1903.07676).

Pure functions of (workload, configuration), vectorized with numpy over layers x
configurations so that thousands of configurations evaluate per second.

The array is dense: a zero weight or activation is multiplied as any other, so a pruned
model costs what its dense architecture costs (the op records' sparsity columns are SPRING's,
``hwsim.spring``, which skips zeros; ``hwsim.dense_note`` is the line that tells the user).

Scope, as SCALE-Sim's [SS]: a layer is its GEMM (the MACs on the array, the reads of its
weights, inputs and outputs) plus its element-wise work on the vector unit.  A layer's bias
is neither read from DRAM nor added: Linear(64, 32) reads 2,048 weights, not its 32 biases
too (one value per output channel beside K of them; h290).  Ops run one after another as
extracted, none fused: a recurrent layer's per-step GEMMs each pay a fold's weight load,
fill and drain every step (``hwsim.serial_note`` says so in a report: an H-LSTM's eight
small gate GEMMs a step cost more than an LSTM's one though they have fewer MACs).

Sources of the formulas (cited again where used):
- [SS]  SCALE-Sim (Samajdar et al., arXiv 1811.02883; PyPI ``scalesim`` 3.0.0): GEMM mapping
  (Sr, Sc, T) per dataflow and its compute-cycle counts, which we match in closed form.
- [H14] Horowitz, "Computing's energy problem", ISSCC 2014, 45 nm: 8-bit int multiply 0.2 pJ,
  add 0.03 pJ; 32-bit 3.1 / 0.1 pJ; SRAM 8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ per 64-bit
  access; DRAM 1.3-2.6 nJ per 64 bits; areas 8-bit mult 282 um^2, add 36 um^2.
- [S45] 45 nm 6T SRAM cell 0.346 um^2 (Intel 45 nm), ~50 % array efficiency.
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from synth.config import Config, check_choice, check_range, value_error
from hwsim.op import (BATCH_IN_GROUPS, GEMM_TYPES, Op, batch_shared_elems, lookup_elems,
                       numel)
from hwsim.scatters import TARGETED

DATAFLOWS = ("ws", "os", "is")

# --- technology constants at 45 nm, 0.9 V [H14] ---------------------------------------------
MULT8_PJ = 0.2          # pJ per 8-bit integer multiply [H14]; scales ~ bits^2 (3.1 pJ at 32 b)
ADD8_PJ = 0.03          # pJ per 8-bit integer add [H14]; scales ~ bits (0.1 pJ at 32 b)
SRAM8KB_PJ_PER_B = 10.0 / 8   # pJ per byte of an 8 KB SRAM (10 pJ / 64 bit) [H14]
DRAM_PJ_PER_B = 1300.0 / 8    # pJ per byte of DRAM (1.3 nJ / 64 bit, low end) [H14]
MULT8_UM2 = 282.0       # um^2 per 8-bit multiplier [H14]; ~ bits^2
ADD8_UM2 = 36.0         # um^2 per 8-bit adder [H14]; ~ bits
DFF_UM2_PER_BIT = 4.5   # um^2 per flip-flop bit, 45 nm standard cell (assumption, NanGate45 DFF)
SRAM_UM2_PER_BIT = 0.346 / 0.5   # um^2 per bit: 6T cell [S45] at 50 % array efficiency
REF_NM, REF_VDD = 45.0, 0.9
MAX_ARRAY_DIM = 4096           # PE rows or columns (any rows x cols: square or not)
MAX_SCRATCHPAD_KB = 1 << 20    # KiB per scratchpad
# the slowest clock and DRAM channel: below them a workload's cycles or milliseconds overflow
# to inf (clock_mhz 1e-320 priced lenet5 at 'inf ms, inf mJ' with numpy overflow warnings,
# and the DSE's slowdowns as 'nanx its own best'); 1 kHz and 1 kB/s keep every figure finite
MIN_CLOCK_MHZ = 1e-3           # MHz (1 kHz)
MIN_DRAM_GBPS = 1e-6           # GB/s (1 kB/s)
SCRATCHPADS = ("ifmap_kb", "filter_kb", "ofmap_kb")


def word_kb(bits) -> float:
    """KiB of one operand word of ``bits`` bits: the least a scratchpad holds (a pad that
    holds no operand cannot feed the array)."""
    return bits / 8 / 1024


def check_scratchpad(name: str, kb, bits) -> None:
    """A scratchpad ``name`` of ``kb`` KiB holds at least one ``bits``-bit word; else one
    line naming it and the least size.  (1e-300 KiB held none and was priced as a pad that
    spills every operand.)"""
    if kb < word_kb(bits):
        raise value_error(name, kb, f"must hold at least one {bits}-bit word "
                                    f"({word_kb(bits):.6g} KiB)")


@dataclasses.dataclass(frozen=True)
class AcceleratorConfig(Config):
    """A systolic array with three operand scratchpads and one DRAM channel."""
    rows: int = 32                 # PE array rows (Sr in [SS])
    cols: int = 32                 # PE array columns (Sc in [SS])
    dataflow: str = "ws"           # weight-, output- or input-stationary [SS]
    precision_bits: int = 8        # operand width, bits
    ifmap_kb: float = 64.0         # input-activation scratchpad, KiB (double-buffered [SS])
    filter_kb: float = 64.0        # weight scratchpad, KiB
    ofmap_kb: float = 64.0         # output scratchpad, KiB
    clock_mhz: float = 500.0       # MHz
    dram_gbps: float = 16.0        # off-chip bandwidth, GB/s (1e9 B/s)
    technology_nm: float = 45.0    # process node, nm (energies/areas scaled from 45 nm)
    vdd: float = 0.9               # supply, V
    leakage_mw_per_mm2: float = 5.0  # static power density, mW/mm^2 (assumption)

    def validate(self) -> None:
        check_range("rows", self.rows, 1, MAX_ARRAY_DIM, integer=True)
        check_range("cols", self.cols, 1, MAX_ARRAY_DIM, integer=True)
        check_choice("dataflow", self.dataflow, DATAFLOWS)
        check_range("precision_bits", self.precision_bits, 1, 64, integer=True)
        for name in SCRATCHPADS:
            check_range(name, getattr(self, name), 0, MAX_SCRATCHPAD_KB, low_open=True)
            check_scratchpad(name, getattr(self, name), self.precision_bits)
        check_range("clock_mhz", self.clock_mhz, MIN_CLOCK_MHZ, 1e5)
        check_range("dram_gbps", self.dram_gbps, MIN_DRAM_GBPS, 1e5)
        check_range("technology_nm", self.technology_nm, 3, 180)
        check_range("vdd", self.vdd, 0.3, 2.0)
        check_range("leakage_mw_per_mm2", self.leakage_mw_per_mm2, 0, 1e4)


def read_accel_file(path) -> AcceleratorConfig:
    """The ``AcceleratorConfig`` of a YAML file (what ``nnsynth hwsim eval --accel`` and
    ``nnsynth search --accel`` take), read through ``synth.files``' bounded loader: a file
    of no YAML document (empty, or comments only) is the default array; one holding
    anything but a mapping, or a value out of range, is a one-line ConfigError naming the
    file ('a.yaml: rows must be in [1, 4096], got 0').  The one reader of such a file: the
    search command had its own twin of hwsim's (h299)."""
    from synth.errors import ConfigError
    from synth.files import read_yaml_file
    what = "accelerator config"
    values = read_yaml_file(path, what)
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"{what} {path} must hold a mapping of keys, got "
                          f"{type(values).__name__}")
    try:
        return AcceleratorConfig.from_dict(values, where="accel")
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


# --- workload as arrays -----------------------------------------------------------------------
def layer_arrays(ops: Sequence[Op]) -> dict[str, np.ndarray]:
    """Op records -> float arrays of shape (L, 1), ready to broadcast against configs (1, C)."""
    col = lambda f: np.array([float(f(o)) for o in ops], dtype=np.float64).reshape(-1, 1)
    return {"T": col(lambda o: o.gemm[0]), "K": col(lambda o: o.gemm[1]),
            "N": col(lambda o: o.gemm[2]), "G": col(lambda o: o.groups),
            "gemm": col(lambda o: o.type in GEMM_TYPES and o.gemm[0] > 0),
            "macs": col(lambda o: o.macs), "elems": col(lambda o: o.elems),
            # I: every value the op reads as input (an element-wise op's two tensor operands,
            # ``hwsim.op.make_op``), values; Ish: those of them read once whatever the
            # samples (an operand broadcast over the batch, ``batch_shared_elems``)
            "W": col(lambda o: o.weight_elems), "I": col(lambda o: o.in_elems),
            "Ish": col(batch_shared_elems),
            "O": col(lambda o: o.out_elems), "sw": col(lambda o: o.weight_sparsity),
            "sa": col(lambda o: o.act_sparsity),
            # table values an embedding lookup reads (one row per index); 0 for other ops
            "lookup": col(lambda o: lookup_elems(o.in_elems, o.weight_shape[1])
                          if o.type == "embedding" else 0),
            # weights an op off the array reads once (a PReLU's slopes); 0 for GEMM ops and
            # embeddings (``weight_reads``, ``table_reads``)
            "Wv": col(lambda o: 0 if o.type == "embedding" or (o.type in GEMM_TYPES
                                                               and o.gemm[0] > 0)
                      else o.weight_elems),
            # ops that only move values (``resample``: Upsample, PixelShuffle): 1, else 0
            "move": col(lambda o: o.type == "resample"),
            "S": col(op_samples),
            # ops whose samples are their groups (``BATCH_IN_GROUPS``: attention's products,
            # one GEMM per sample and head): 1, else 0 (their rows are the samples)
            "bg": col(lambda o: o.type in BATCH_IN_GROUPS),
            # recurrent ops (one GEMM per step, ``groups`` steps): 1, else 0 (``step_fit``)
            "rec": col(lambda o: o.type in RECURRENT_TYPES)}


# op types that run one GEMM per time step (``hwsim.workload``: torch's LSTM/GRU/RNN, synth's
# per-step Linear layers of an LSTM or H-LSTM cell)
RECURRENT_TYPES = ("lstm", "gru", "rnn", "recurrent")


def serial_steps(op: Op) -> int:
    """Time steps an op runs one after another (step t+1 needs step t's hidden state), each
    of its work's 1 / steps share: a recurrent op's ``groups`` (its steps; a bidirectional
    torch RNN's are steps x 2 directions, the two directions of a step independent, so
    groups / 2), a recurrent layer's cell update (``hwsim.recurrent.cell_op``: an
    ``eltwise`` op of kind ``cell`` over batch x T x ...: its T = ``in_shape[1]``), 1 for
    any other op (an input projection applied to all steps at once is a ``linear`` op).
    SPRING (``hwsim.spring._pass``) and the GPU roofline (``hwsim.gpu.evaluate``) price
    such an op step by step; the accelerator model runs every group one after another
    (``_untiled_costs``)."""
    geo = dict(op.geometry)
    if op.type in RECURRENT_TYPES:
        dirs = 2 if geo.get("bidirectional") and op.groups % 2 == 0 else 1
        return max(1, op.groups // dirs)
    if op.type == "eltwise" and geo.get("kind") == "cell" and len(op.in_shape) >= 2:
        return max(1, int(op.in_shape[1]))
    return 1


def op_samples(op: Op) -> int:
    """Independent samples (the batch) an op covers, over which a compiler may tile it
    (``chunk_sizes``): a recurrent op's rows per step (``gemm[0]``), any other op's leading
    dimension where its input and output share it; 1 where that does not divide the op's
    input, output and what carries the samples evenly: its GEMM rows, or for an op whose
    samples are its groups (``BATCH_IN_GROUPS``: attention's products, a GEMM per sample and
    head, whose rows are one head's queries) its groups.  (An element-wise op's operand
    broadcast over the batch, ``batch_shared_elems``, is no sample's: its input less it.)
    A batch-1 extract gives 1 (batch first).  (A product's samples were taken from its rows
    where its shapes allowed: its shapes were made flat to avoid that, and a batch of them
    was never tiled.)  A write or scatter recorded against its target (``hwsim.copies``'
    ``TARGETED``: ``x[mask] = 0``) covers its target's samples: the values it reads and
    writes are what its mask or indices select there, whatever their count (its shape
    divides; the counts need not)."""
    if op.type in RECURRENT_TYPES:
        s = op.gemm[0]
    elif op.in_shape and op.out_shape and op.in_shape[0] == op.out_shape[0]:
        s = op.in_shape[0]
    else:
        return 1
    carrier = op.groups if op.type in BATCH_IN_GROUPS else op.gemm[0]
    if op.type == "resample" and dict(op.geometry).get("func") in TARGETED:
        counts = (numel(op.out_shape),)
    else:
        counts = (op.in_elems - batch_shared_elems(op), op.out_elems)   # per sample
    return s if s > 1 and not (carrier % s or any(c % s for c in counts)) else 1


def config_arrays(configs: Sequence[AcceleratorConfig]) -> dict[str, np.ndarray]:
    """Configs -> arrays of shape (1, C); dataflow as code 0=ws, 1=os, 2=is."""
    row = lambda f: np.array([float(f(c)) for c in configs], dtype=np.float64).reshape(1, -1)
    fields = [f.name for f in dataclasses.fields(AcceleratorConfig) if f.name != "dataflow"]
    out = {name: row(lambda c, n=name: getattr(c, n)) for name in fields}
    out["df"] = row(lambda c: DATAFLOWS.index(c.dataflow))
    return out


# --- compute cycles [SS] ----------------------------------------------------------------------
def gemm_compute_cycles(T, K, N, R, C, df):
    """Compute cycles of one (T x K) @ (K x N) GEMM on an R x C systolic array, as SCALE-Sim
    3.0.0 counts them ("Total Cycles" with no stalls) [SS]; cycles, broadcastable arrays.

    ws: weights K x N pinned, ceil(K/R)*ceil(N/C) folds, each R cycles to load weights plus
        R + C + T - 2 to stream T rows through and drain:  folds*(2R + C + T - 2) - 1
    os: outputs T x N pinned, ceil(T/R)*ceil(N/C) folds of R + C + K - 2 cycles, minus 1
    is: inputs K x T pinned, ceil(K/R)*ceil(T/C) folds of 2R + C + N - 2 cycles, minus 1

    and never fewer than ceil(T*K*N / (R*C)): a PE does one MAC a cycle.  Only a 1x1 array
    on os reaches that floor (folds of K cycles; SCALE-Sim's "minus 1" counts the last
    cycle's index, so Linear(5, 3) took 14 cycles for 15 MACs on one PE, utilization 1.07);
    every other array and dataflow is above it by the fill and drain of each fold.

    Not monotone in the array's size: every fold crosses the whole array (its R cycles of
    weight load, its R + C fill and drain), so a row or column more than the layer uses
    adds cycles to each fold, and SCALE-Sim counts them so.  Linear(8, 3) at batch 2 (T=2,
    K=8, N=3): 7 x 7 ws 41 cycles, 7 x 14 ws 55, 32 x 32 ws 95, 4 x 4 ws 23; os 19, 26, 69,
    13.  More PEs are faster only where the layer fills them: the DSE
    (``hwsim.dse.explore``) finds each workload's size rather than the largest array.
    """
    ws = np.ceil(K / R) * np.ceil(N / C) * (2 * R + C + T - 2) - 1
    os_ = np.ceil(T / R) * np.ceil(N / C) * (R + C + K - 2) - 1
    is_ = np.ceil(K / R) * np.ceil(T / C) * (2 * R + C + N - 2) - 1
    one_mac_per_pe = np.ceil(T * K * N / (R * C))
    return np.maximum(np.where(df == 0, ws, np.where(df == 1, os_, is_)), one_mac_per_pe)


def grouped_gemm_cycles(L, R, C, df):
    """Compute cycles of an op's ``G`` GEMMs (T x K) @ (K x N), broadcastable arrays.

    A recurrent op's groups are its steps (``rec``: step t + 1 reads h_t): G GEMMs one
    after another [SS].  Any other op's groups are independent GEMMs of one shape (a grouped
    or depthwise convolution's groups, attention's heads and samples): p of them run as one
    GEMM (T x pK) @ (pK x pN) whose weight matrix is block-diagonal, each group's K x N
    block on the diagonal and zeros around it (the zeros are multiplied, not stored: the
    scratchpad traffic stays the groups' own, ``_sram_bytes``), ceil(G / p) such GEMMs.
    p is the best of 1 (one GEMM per group), the groups that fill the array's rows
    (floor(R / K)), its columns (floor(C / N)) or both, and all G at once (the dense layer of
    the same shape with zeros off the diagonal).  So a grouped layer is never slower than its
    dense counterpart: run one group at a time, a depthwise Conv2d(16, 16, 3) on 8 x 8 took
    16 folds of the 32 x 32 array for 5 of the dense Conv2d(16, 16, 3) with 16x its MACs,
    3.2x its latency (h320)."""
    T, K, N, G = L["T"], L["K"], L["N"], L["G"]
    one = G * gemm_compute_cycles(T, K, N, R, C, df)
    packable = (L["rec"] <= 0) & (G > 1)
    if not np.any(packable):
        return one
    best = one
    rows, cols = np.floor(R / np.maximum(K, 1)), np.floor(C / np.maximum(N, 1))
    for p in (G, rows, cols, np.minimum(rows, cols)):
        p = np.clip(p, 1, G)
        full = np.floor(G / p)
        rest = G - full * p
        cycles = full * gemm_compute_cycles(T, p * K, p * N, R, C, df) + np.where(
            rest > 0, gemm_compute_cycles(T, rest * K, rest * N, R, C, df), 0.0)
        best = np.minimum(best, cycles)
    return np.where(packable, best, one)


def _refetch(L, c, R, C):
    """DRAM reads per element of (weights, inputs, outputs) for the dataflow's loop order when
    the operand does not fit half its scratchpad (double buffering [SS]); 1 when it fits.
    Partial sums that spill go out and back once per extra row fold: 2*ceil(K/R) - 1."""
    B = c["precision_bits"] / 8.0                                     # bytes per element
    fits_w = L["W"] * B <= c["filter_kb"] * 1024 / 2
    # (the elements that must fit: ``step_fit``'s where given, a recurrent op's step; else
    # the operand's)
    fits_i = L.get("Ifit", L["I"]) * B <= c["ifmap_kb"] * 1024 / 2
    fits_o = L.get("Ofit", L["O"]) * B <= c["ofmap_kb"] * 1024 / 2
    kf, tr, tc, nc = np.ceil(L["K"] / R), np.ceil(L["T"] / R), np.ceil(L["T"] / C), np.ceil(L["N"] / C)
    psum = 2 * kf - 1
    df = c["df"]
    f_w = np.where(df == 0, 1.0, np.where(df == 1, np.where(fits_w, 1, tr), np.where(fits_w, 1, tc)))
    f_i = np.where(df == 2, 1.0, np.where(fits_i, 1, nc))
    f_o = np.where(df == 1, 1.0, np.where(fits_o, 1, psum))
    return f_w, f_i, f_o


def weight_reads(L, c):
    """Weight elements read from DRAM before the dataflow's refetch: the weights once when
    they fit half the filter scratchpad, else every group's own (G x K x N).  The two differ
    where groups share one weight matrix: the steps of a recurrent layer (``recurrent``,
    ``lstm``: step t+1 needs all of step t's output, so weights that do not fit are read
    again every step; they were read once, an LSTM's DRAM traffic and energy T times too
    small).  A conv's groups each have their own weights: G x K x N is its weights."""
    B = c["precision_bits"] / 8.0
    fits_w = L["W"] * B <= c["filter_kb"] * 1024 / 2
    return np.where(fits_w, L["W"], np.maximum(L["W"], L["G"] * L["K"] * L["N"]))


def table_reads(L, c):
    """Table elements an embedding lookup reads from DRAM: where the table fits half the
    filter scratchpad, each row it needs at most once (no more than the table, nor than the
    lookups); else one row per lookup (index), a repeated index read again.  A lookup
    does no MAC: its cost is this traffic (it was priced as free)."""
    B = c["precision_bits"] / 8.0
    fits_w = L["W"] * B <= c["filter_kb"] * 1024 / 2
    return np.where(fits_w, np.minimum(L["W"], L["lookup"]), L["lookup"])


def _sram_bytes(L, c, R, C):
    """Scratchpad <-> array traffic, bytes, per operand (w, i, o) [SS] demand matrices:
    the stationary operand is read once; a streamed operand once per fold that reuses it."""
    B = c["precision_bits"] / 8.0
    T, K, N, G = L["T"], L["K"], L["N"], L["G"]
    kf, tr, tc, nc = np.ceil(K / R), np.ceil(T / R), np.ceil(T / C), np.ceil(N / C)
    df = c["df"]
    w = G * K * N * np.where(df == 0, 1.0, np.where(df == 1, tr, tc))
    i = G * T * K * np.where(df == 2, 1.0, nc)
    o = G * T * N * np.where(df == 1, 1.0, 2 * kf - 1)
    return B * w, B * i, B * o


def tech_scale(c):
    """(energy factor, area factor) from 45 nm/0.9 V: dynamic energy ~ C V^2 with C ~ node;
    area ~ node^2 (classical scaling; a first-order assumption, stated)."""
    node = c["technology_nm"] / REF_NM
    return node * (c["vdd"] / REF_VDD) ** 2, node ** 2


def area_mm2(c):
    """Die area, mm^2: PEs (multiplier + accumulator adder + 3 operand registers) + SRAM."""
    b = c["precision_bits"]
    _, a_scale = tech_scale(c)
    pe_um2 = (MULT8_UM2 * (b / 8) ** 2 + ADD8_UM2 * (2 * b / 8)      # accumulator is 2b wide
              + DFF_UM2_PER_BIT * 3 * b)                               # [H14] + DFFs
    sram_bits = (c["ifmap_kb"] + c["filter_kb"] + c["ofmap_kb"]) * 1024 * 8
    return (c["rows"] * c["cols"] * pe_um2 + sram_bits * SRAM_UM2_PER_BIT) * a_scale * 1e-6


def step_fit(L):
    """``L`` with the elements of input and output that must fit their scratchpads
    (``Ifit``, ``Ofit``, read by ``_refetch``).  A recurrent op (``rec``) runs step by step,
    the weights reused across steps: what must fit is one step's working set, the GEMM's
    T x K input (x_t and h_{t-1} of each sample) and its T x N output (the gate
    pre-activations), or else the whole sequence's input and output (where either fits,
    nothing is fetched twice).  At any batch: a batch of 64 of lstm64 that tested the whole
    sequence spilled and ran one sample at a time, 6x slower than the batch; at batch 1 a
    sequence that spilled was charged a whole-sequence GEMM's refetches (LSTM(4, 8) over
    100 steps on a 4x4 array, 1 KiB pads: 4,784 DRAM bytes for 50 steps' 984; 1,584 now).
    Any other op: its input and output, as before."""
    step = L["rec"] > 0
    return {**L, "Ifit": np.where(step, np.minimum(L["T"] * L["K"], L["I"]), L["I"]),
            "Ofit": np.where(step, np.minimum(L["T"] * L["N"], L["O"]), L["O"])}


def chunk_sizes(S) -> list:
    """The samples per chunk a batch of S = ``L["S"]`` samples may be tiled into (arrays of
    S's shape, 1 to S): each power of two below S, and S split into n nearly equal chunks,
    ceil(S / n) samples each, for n = 1, 2, 3, 4, 6, 8, 12, ... (2^k and 3 x 2^k) below S.
    A function of S alone, never of the scratchpads: any chunk that fits a smaller pad is a
    candidate on a larger one (``_costs``).  (The largest chunk that fits, b, was a candidate
    of its own and moved with the pads; ceil(S / ceil(S / b)) <= b is on this list where
    ceil(S / b) is such an n, and otherwise one with fewer than 1.5 x its chunks.)"""
    top = float(np.max(S))
    levels = range(int(np.ceil(np.log2(top))) + 1)
    sizes = [np.minimum(2.0 ** j, S) for j in levels]
    splits = sorted({2 ** j * m for j in levels for m in (2, 3) if 2 ** j * m < top})
    sizes += [np.ceil(S / np.minimum(n, S)) for n in splits]
    out, seen = [], set()
    for b in sizes:
        key = b.tobytes()
        if key not in seen:
            seen.add(key)
            out.append(b)
    return out


def chunk_schedules(S) -> list:
    """The schedules a batch of S = ``L["S"]`` samples may run as (``_costs``), each a pair
    (b, P) of arrays of S's shape: S / P runs of P samples one after another, each run tiled
    as ``chunk_sizes(P)`` tiles a batch (floor(P / b) chunks of b samples and one of P mod b),
    for P = S / 2^k wherever 2^k divides S, k >= 0 (P = S: the batch's own ``chunk_sizes``).
    A function of S alone, never of the scratchpads.  Each schedule appears once (two pairs
    that run the same chunks, such as two runs of S / 2 and chunks of S / 2, are one).

    Closed under doubling: every schedule of S, run twice, is a schedule of 2S (the same b
    and P, 2^(k+1) dividing 2S), and ``_costs``' bounds are linear in the samples, so a batch
    of 2S has the schedule of S run twice among its own and its cycles are at most
    (1 + CYCLES_TOLERANCE) x twice those of S.  (With P = S alone, 2 + 1 samples was a
    schedule of batch 3 and 2 + 1 + 2 + 1 none of batch 6: Linear(50, 300) on 1 x 16 ws,
    1 KiB pads, took 96,894 cycles at batch 6, one sample at a time, 2.9x its 33,248 at
    batch 3, h273.)"""
    out, seen = [], set()
    top = float(np.max(S))
    for k in range(int(np.ceil(np.log2(max(top, 1.0)))) + 1):
        div = S % 2 ** k == 0
        if not div.any():
            break
        P = np.where(div, S / 2 ** k, S)
        for b in chunk_sizes(P):
            full = np.floor(P / b)
            rest = P - full * b
            runs = S / P   # the chunks it runs: (b, runs x full) and (rest, runs)
            key = b"".join(a.tobytes() for a in (b, runs * full, np.where(rest > 0, rest, 0.0),
                                                 np.where(rest > 0, runs, 0.0)))
            if key not in seen:
                seen.add(key)
                out.append((b, P))
    return out


# per-layer costs that add up over the chunks of a tiled batch
_CHUNK_ADDITIVE = ("cycles", "compute_cycles", "stall_cycles", "dram_bytes", "energy_mac_pj",
                   "energy_sram_pj", "energy_dram_pj", "energy_leak_pj", "energy_pj",
                   "act_dram_bytes")
# a tiled batch's schedule may move its activations across DRAM at most this many times,
# bytes over the bytes of its inputs read and outputs written once (``_costs``): a bound that
# does not move with the pads (the one it replaced, S batch-1 runs' on the same pads, did)
ACT_REFETCH_MAX = 2.0
# ... or, failing that, its DRAM bytes are at most this many times the layer's compulsory
# bytes, S x its weights read once (each sample's run reads them) plus its inputs read and
# outputs written once, at precision_bits / 8 B a value (``_costs``): a whole batch whose
# inputs spill re-reads them once per fold, yet moves far fewer bytes than S batch-1 runs
# that each read the weights (lenet300_100 at batch 16).  Nor does this move with the pads.
DRAM_COMPULSORY_MAX = 2.0
# of the allowed schedules, those whose cycles are within this fraction of the fewest (a
# ratio: 0.01 = 1 % more cycles) are taken as equally fast, and of them the one that moves
# the fewest DRAM bytes is run (``_costs``).  The fastest often wins by the fill and drain of
# a few folds, or SCALE-Sim's "minus 1" once per run, while moving several times the bytes:
# lenet300_100 at batch 16 on 4 x 4 os, 32/512/8 KiB, took 270,460 cycles and 1,103,104 B
# where 270,469 cycles move 304,504 B (2.8x the energy).  The price: a larger pad may raise
# a layer's cycles by up to this fraction (never more), where a schedule that moves fewer
# bytes comes within it; so may more DRAM bandwidth, and a faster clock its time (a chunked
# schedule's DRAM-bound chunks speed up: Linear(300, 10) at batch 16 on 3 x 2 os, 1/2.75/1
# KiB, 700 MHz: 3.4 -> 3.45 GB/s, 9,088 -> 9,153 cycles, 42,160 -> 40,960 B; h310).  At
# batch 1 (one schedule) neither ever raises the latency.
CYCLES_TOLERANCE = 0.01
# values (layers x configurations x cost arrays x chunk sizes) up to which ``_costs`` holds
# every schedule's costs between its two passes rather than pricing each chunk again: 2^22
# float64 values, 32 MiB (a network of 100 layers on one configuration at batch 256 holds
# about 20,000)
HELD_SCHEDULE_VALUES = 1 << 22


def _costs(L, c):
    """All per-layer costs, arrays of shape (L, C).

    Batch tiling (an op of S > 1 samples, ``op_samples``): ``_refetch`` knows only whether an
    operand fits, so a batch whose inputs or partial sums spill re-reads them on every fold.
    A compiler may run such a batch in chunks, each chunk priced as its own op (weights read
    again per chunk, a fill and drain per fold), the chunks' costs summed: floor(S / b)
    chunks of b samples and one of S mod b, b each of ``chunk_sizes(S)`` (1: one sample at a
    time, priced as batch 1 is; S: the whole batch, one GEMM), or 2^k runs of S / 2^k
    samples each so tiled (``chunk_schedules``: twice the batch has the schedule of the batch
    run twice, so it costs at most (1 + CYCLES_TOLERANCE) x twice its cycles).  The whole
    batch and its chunks test the fit of a recurrent op's step (``step_fit``).

    The rule, per layer and configuration: of the schedules whose activations (inputs,
    outputs, spilled partial sums) cross DRAM at most ``ACT_REFETCH_MAX`` (2) times, in
    bytes over the bytes of reading the inputs and writing the outputs once, or whose DRAM
    bytes are at most ``DRAM_COMPULSORY_MAX`` (2) x the compulsory bytes (S x weights + inputs
    + outputs, each once, at precision_bits / 8 B a value), and one sample at a time
    (always), those within ``CYCLES_TOLERANCE`` (1 %) of the fewest cycles and no slower
    than one sample at a time; of those, fewest DRAM bytes; then fewest cycles; then least
    energy (pJ).  Neither the schedules nor the bounds depend on the scratchpads, and a
    schedule's cycles, activation and DRAM bytes never rise with a larger pad (only whether
    an operand fits sets its refetch): what is allowed on a pad is allowed on any larger one,
    so the fewest cycles never rise with a larger ifmap, filter or ofmap pad, and a layer's
    cycles rise by at most CYCLES_TOLERANCE (where a schedule that moves fewer bytes comes
    within it; with CYCLES_TOLERANCE = 0 they never rise).  A layer's DRAM bytes at batch
    S are at most the larger of S batch-1 runs' plus (ACT_REFETCH_MAX - 1) x its activations'
    bytes (a chunk reads weights no more often than one sample at a time does) and
    DRAM_COMPULSORY_MAX x its compulsory bytes.  (With the first limit alone, 609f886,
    lenet300_100's Linear(784, 300) at batch 16 on 16 x 4 os, 8/8/8 KiB pads, whose weights
    spill and whose inputs are re-read once per column fold, ran in chunks: 240,596 cycles
    against 60,149 whole, which moves 1,180,800 B, 16 batch-1 runs 3,780,544 B.)
    Not monotone: DRAM bytes may rise with a larger pad where it lets a schedule that
    re-reads more (within the bounds, hidden behind compute) be the fastest (convnet_small at
    batch 64, 16 x 16 ws, ifmap/filter 128/8 KiB: ofmap 32 -> 128 KiB, 172,131 -> 166,077
    cycles, 2,457,280 -> 2,686,592 B): any rule that keeps the fastest allowed does, and no
    rule under which a larger pad never raises cycles avoids it in general (lstm64x2's
    Linear(64, 256) at batch 16 on 4 x 4 ws, ifmap/filter 8/32 KiB: ofmap 32 -> 128 KiB,
    73,728 -> 573,440 B for 6.8 % fewer cycles, which a 4 KiB ifmap pad shows to be forced:
    tests/hwsim/test_h170_forced_dram_rise.py; preferring fewer bytes within a tolerance of
    the fewest cycles would make cycles rise with a pad by up to that tolerance); and
    energy, as a schedule's own SRAM access energy (~ sqrt(KiB)) and leakage (~ area) rise
    with its pads [H14].  (The rule was the fastest schedule whose DRAM bytes and energy were
    at most S batch-1 runs' on the same pads; that reference falls when a larger pad lets one
    sample fit, so a schedule allowed on a small pad was refused on a larger one: LSTM(5,
    11), 7 steps, batch 8 on 7 x 3 ws, filter/ofmap 4/0.25 KiB: ifmap 0.015625 -> 0.0625 KiB,
    9,086 -> 23,240 cycles.  The price: where even one sample spills, a whole batch that
    re-reads its activations more than twice is no longer taken, and one sample at a time
    or a chunk is (that LSTM now 42,112 cycles on the 0.015625 KiB pad).  With no bound the
    fastest schedule took 9.5x the energy for 2 % fewer cycles: resnet8_w16 at batch 16 on
    4 x 4 ws.)  Nor is the schedule always one that no other beats in both cycles and bytes,
    nor a batch's cycles monotone in the batch: one sample at a time is allowed whatever it
    moves, while a whole batch that moves fewer bytes in fewer cycles may be refused by the
    bounds (lenet5's first conv at batch 2 on 4 x 4 ws, 8/8/8 KiB pads: one at a time 22,230
    cycles and 124,172 B, whole 22,091 and 124,022 B; Conv2d(8, 10, 3) on 8 x 8 x 8 on 128 x
    2 os, pads 0.1/1/0.1 KiB: 1,998 cycles at batch 2, 999 at batch 3, whose whole batch
    the 2 x compulsory bound allows).  Allowing whatever moves no more than one sample at a
    time on the same pads would end the guarantee above: on a pad where one sample fits
    (that conv's ifmap 1 KiB) one at a time moves 3,184 B, the whole batch 6,560, and its
    cycles would rise with the pad, 999 -> 1,998 (h204).  A batch-1
    workload (every S = 1) is one run of each op."""
    S = L["S"]
    k = _untiled_costs(step_fit(L), c)
    if not (S > 1).any():
        return k
    per_sample = ("macs", "elems", "I", "O", "lookup")
    bg = L["bg"] > 0
    tiles = (S > 1) & (L["gemm"] > 0)
    # the schedules of some layer (chunks of b < S where the op is tiled): one no layer can
    # use (b = S everywhere: the whole batch, ``k``) is not priced
    sizes = [(b, P) for b, P in chunk_schedules(S) if (tiles & (b < S)).any()]
    # of the allowed, those within CYCLES_TOLERANCE of the fewest cycles and no slower than
    # one sample at a time; of those the fewest DRAM bytes, then fewest cycles, then least
    # energy (pJ).  Two passes over the schedules (the fewest cycles first): each schedule's
    # (layers x configs) arrays are held between them where they are few
    # (``HELD_SCHEDULE_VALUES``: one network's price), and so is each chunk size's price,
    # which several schedules share; else each chunk is priced again in the second pass (the
    # DSE's grids: every schedule's arrays at once would be gigabytes).  Each chunk was
    # priced in both passes always, one sample at a time three times.
    held_values = len(sizes) * len(_CHUNK_ADDITIVE) * S.size * np.size(c["rows"])
    hold = held_values <= HELD_SCHEDULE_VALUES
    priced: dict = {}   # chunk size (n's bytes) -> the layer on n samples, while ``hold``

    def on(n):   # the layer on n samples: (x / S) exact where S divides x, * n; the samples
        # are the GEMM's rows T, or its groups G (``bg``: a GEMM per sample and head); an
        # operand broadcast over the batch (``Ish``) is read whole by every chunk
        key = n.tobytes()
        if key in priced:
            return priced[key]
        part = {f: L[f] / S * n for f in per_sample}
        part["I"] = (L["I"] - L["Ish"]) / S * n + L["Ish"]
        part["T"] = np.where(bg, L["T"], L["T"] / S * n)
        part["G"] = np.where(bg, L["G"] / S * n, L["G"])
        x = _untiled_costs(step_fit({**L, **part}), c)
        if hold:
            priced[key] = {f: x[f] for f in _CHUNK_ADDITIVE}
        return x

    def chunked(b, P=S):   # S / P runs of P samples, each floor(P / b) chunks of b samples
        runs, full = S / P, np.floor(P / b)   # and one of P mod b (``chunk_schedules``)
        rest = np.where(tiles, P - full * b, 0.0)
        one = on(b)
        if not (rest > 0).any():
            return {n: runs * full * one[n] for n in _CHUNK_ADDITIVE}
        last = on(np.maximum(rest, 1.0))
        return {n: runs * (full * one[n] + np.where(rest > 0, last[n], 0.0))
                for n in _CHUNK_ADDITIVE}

    once = np.maximum(L["I"] + L["O"], 1e-300) * c["precision_bits"] / 8.0   # bytes
    comp = (S * L["W"] + L["I"] + L["O"]) * c["precision_bits"] / 8.0     # bytes
    allowed = lambda x: ((x["act_dram_bytes"] <= ACT_REFETCH_MAX * once)
                         | (x["dram_bytes"] <= DRAM_COMPULSORY_MAX * comp))
    singles = chunked(np.ones_like(S))
    # the whole batch where allowed, else one sample at a time (always allowed); an op that
    # is not tiled (``tiles`` false) runs whole, its only schedule
    base = {n: np.where(tiles & ~allowed(k), singles[n], k[n]) for n in _CHUNK_ADDITIVE}

    def schedules():   # each schedule's costs, and where the rule allows it (one sample at
        for b, P in sizes:   # a time: ``singles``, priced once)
            x = singles if (b == 1).all() else chunked(b, P)
            yield x, tiles & (b < S) & (allowed(x) | (b == 1))

    listed = list(schedules()) if hold else None
    fewest = base["cycles"]
    for x, ok in listed if listed is not None else schedules():
        fewest = np.where(ok, np.minimum(fewest, x["cycles"]), fewest)
    cap = np.maximum(fewest, np.minimum(fewest * (1 + CYCLES_TOLERANCE), singles["cycles"]))
    out, held = base, base["cycles"] <= cap
    for x, ok in listed if listed is not None else schedules():
        dc, dd = x["cycles"] - out["cycles"], x["dram_bytes"] - out["dram_bytes"]
        better = ~held | (dd < 0) | ((dd == 0) & ((dc < 0) | ((dc == 0) & (
            x["energy_pj"] < out["energy_pj"]))))
        use = ok & (x["cycles"] <= cap) & better
        out = {n: np.where(use, x[n], out[n]) for n in _CHUNK_ADDITIVE}
        held = held | use
    out["utilization"] = np.where(out["compute_cycles"] > 0, L["macs"] / np.maximum(
        out["cycles"] * c["rows"] * c["cols"], 1), 0.0)
    return out


def _untiled_costs(L, c):
    """Per-layer costs of each op run as one GEMM (its whole batch at once), arrays of
    shape (L, C)."""
    R, C, df = c["rows"], c["cols"], c["df"]
    gemm = L["gemm"] > 0
    B = c["precision_bits"] / 8.0
    # compute: GEMM ops on the array, G groups packed as ``grouped_gemm_cycles`` packs them
    # (a recurrent op's steps one after another [SS]); element-wise work on a
    # C-lane vector unit at the array's output edge, one element per lane per cycle
    # (assumption).  A GEMM op's own element-wise work (a recurrent cell's gate
    # non-linearities and update, a transposed conv's col2im adds: ``Op.elems``) follows its
    # GEMM: step t+1's GEMM needs h_t, so they do not overlap (it was not priced at all)
    comp_gemm = grouped_gemm_cycles(L, R, C, df)
    comp_vec = np.ceil(L["elems"] / C)
    compute = np.where(gemm, comp_gemm, 0.0) + comp_vec
    # memory: DRAM bytes with refetch; bytes per cycle = GB/s * 1e9 / (MHz * 1e6)
    f_w, f_i, f_o = _refetch(L, c, R, C)
    # a non-GEMM op reads its input and writes its output once (an element-wise op of two
    # tensors: both, I = their values, ``hwsim.op.make_op``); an embedding also reads its
    # table rows (``table_reads``, elements; 0 for other ops), a PReLU its slopes (``Wv``):
    # bytes = values x B (B = precision_bits / 8)
    dram = B * np.where(gemm, weight_reads(L, c) * f_w + L["I"] * f_i + L["O"] * f_o,
                        L["I"] + L["O"] + table_reads(L, c) + L["Wv"])
    bytes_per_cycle = c["dram_gbps"] * 1e3 / c["clock_mhz"]
    mem = dram / bytes_per_cycle
    cycles = np.maximum(compute, mem)             # double-buffered: transfer overlaps compute
    stall = cycles - compute
    # energy, pJ [H14] scaled by technology
    e_scale, _ = tech_scale(c)
    b8 = c["precision_bits"] / 8.0
    mac_pj = (MULT8_PJ * b8 ** 2 + ADD8_PJ * 2 * b8) * e_scale        # mult + 2b-wide accumulate
    sram_pj = lambda kb: SRAM8KB_PJ_PER_B * np.sqrt(kb / 8.0) * e_scale   # ~ sqrt(capacity) [H14]
    sw, si, so = _sram_bytes(L, c, R, C)
    e_mac = (np.where(gemm, L["macs"] * mac_pj, 0.0)                    # array MACs, and
             + L["elems"] * ADD8_PJ * b8 * e_scale)                    # vector element ops
    e_sram = np.where(gemm, sw * sram_pj(c["filter_kb"]) + si * sram_pj(c["ifmap_kb"])
                      + so * sram_pj(c["ofmap_kb"]),
                      B * (L["I"] * sram_pj(c["ifmap_kb"]) + L["O"] * sram_pj(c["ofmap_kb"])
                           + (L["lookup"] + L["Wv"]) * sram_pj(c["filter_kb"])))
    # (each table row or slope read, once through the filter pad; a non-GEMM op's I values,
    # both operands of an element-wise op, through the ifmap pad: bytes x pJ per byte)
    e_dram = dram * DRAM_PJ_PER_B                                      # off-chip: node-independent
    seconds = cycles / (c["clock_mhz"] * 1e6)
    e_leak = c["leakage_mw_per_mm2"] * area_mm2(c) * seconds * 1e9     # mW*s = 1e9 pJ
    util = np.where(compute > 0, L["macs"] / np.maximum(cycles * R * C, 1), 0.0)
    return {"cycles": cycles, "compute_cycles": compute, "stall_cycles": stall,
            "dram_bytes": dram, "energy_mac_pj": e_mac, "energy_sram_pj": e_sram,
            "energy_dram_pj": e_dram, "energy_leak_pj": e_leak,
            "energy_pj": e_mac + e_sram + e_dram + e_leak, "utilization": util,
            # activations' DRAM bytes (inputs, outputs and spilled partial sums), the part of
            # ``dram_bytes`` that ``_costs``' batch tiling bounds
            "act_dram_bytes": B * (L["I"] * np.where(gemm, f_i, 1.0)
                                   + L["O"] * np.where(gemm, f_o, 1.0))}


def evaluate_many(ops: Sequence[Op], configs: Sequence[AcceleratorConfig]) -> dict[str, np.ndarray]:
    """Totals for every config at once: arrays of length len(configs).
    latency_ms, energy_mj, cycles, area_mm2, utilization (MAC-weighted), dram_bytes."""
    if not configs:
        return {}
    return evaluate_arrays(layer_arrays(ops), config_arrays(configs))


def evaluate_arrays(L: dict[str, np.ndarray], c: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``evaluate_many`` on a workload's ``layer_arrays`` and configurations already laid out
    as ``config_arrays`` lays them out (every field an array of shape (1, C)), valid
    AcceleratorConfig values: the DSE's grid of up to a million points, without a million
    config objects."""
    return _totals(L, c, _costs(L, c))


# the per-layer costs a workload's totals are sums of (``_totals``), in cycles, pJ and bytes
SUMMED = ("cycles", "compute_cycles", "stall_cycles", "energy_pj", "dram_bytes")


def layer_sum(a) -> np.ndarray:
    """The sum over layers (axis 0) of a per-layer cost array of shape (L, C): the one
    summation every accelerator total is (``_totals``, ``evaluate``'s breakdown, and
    ``hwsim.price_layers``' sums of cached layers), so a network priced whole and layer by
    layer gives the same figure to the bit.  (The pool summed per-layer ms and mJ, eval
    cycles and pJ then converted: 0.039178000000000004 ms against 0.039178, h297.)"""
    return np.ascontiguousarray(a, dtype=np.float64).sum(axis=0)


def layer_costs(ops: Sequence[Op], config: AcceleratorConfig) -> dict[str, np.ndarray]:
    """The ``SUMMED`` costs of each op of ``ops`` on ``config``: arrays of shape (L, 1)
    (cycles, pJ, bytes), which ``summed_totals`` sums as ``evaluate_many`` does.  An op's
    costs do not depend on the ops around it (``_costs`` prices each layer alone), so those
    of ``layer_costs([op])`` stacked in order are ``layer_costs(ops)``."""
    k = _costs(layer_arrays(ops), config_arrays([config]))
    return {n: k[n] for n in SUMMED}


def summed_totals(costs: dict[str, np.ndarray], macs: float,
                  config: AcceleratorConfig) -> dict[str, float]:
    """``evaluate_many``'s totals (one config) from per-layer ``costs`` (``layer_costs``'
    arrays, stacked over the workload's ops in order) and the workload's MACs."""
    c = config_arrays([config])
    return {name: float(v[0]) for name, v in
            _totals({"macs": np.array([[float(macs)]])}, c, costs).items()}


def _totals(L, c, k) -> dict[str, np.ndarray]:
    """``evaluate_arrays``' totals from the per-layer costs ``k`` (``_costs``)."""
    cycles = layer_sum(k["cycles"])
    macs = float(L["macs"].sum())
    return {"cycles": cycles, "compute_cycles": layer_sum(k["compute_cycles"]),
            "stall_cycles": layer_sum(k["stall_cycles"]),
            "latency_ms": cycles / (c["clock_mhz"][0] * 1e3),           # cycles / (cycles/ms)
            "energy_mj": layer_sum(k["energy_pj"]) * 1e-9,              # 1 mJ = 1e9 pJ
            "area_mm2": np.broadcast_to(area_mm2(c)[0], cycles.shape).copy(),
            "dram_bytes": layer_sum(k["dram_bytes"]),
            "utilization": macs / np.maximum(cycles * c["rows"][0] * c["cols"][0], 1)}


def evaluate(ops: Sequence[Op], config: AcceleratorConfig | None = None) -> dict:
    """Totals and a per-layer breakdown for one config (see ``evaluate_many`` for units)."""
    config = config or AcceleratorConfig()
    L, c = layer_arrays(ops), config_arrays([config])
    costs = _costs(L, c)   # once: the totals are its sums (it was priced again for them)
    k = {name: v[:, 0] for name, v in costs.items()}
    per_ms = config.clock_mhz * 1e3
    layers = [{"name": o.name, "type": o.type, "macs": o.macs,
               "cycles": float(k["cycles"][i]), "compute_cycles": float(k["compute_cycles"][i]),
               "stall_cycles": float(k["stall_cycles"][i]),
               "latency_ms": float(k["cycles"][i] / per_ms),
               "energy_mj": float(k["energy_pj"][i] * 1e-9),
               "dram_bytes": float(k["dram_bytes"][i]), "utilization": float(k["utilization"][i])}
              for i, o in enumerate(ops)]
    totals = {name: float(v[0]) for name, v in _totals(L, c, costs).items()}
    totals.update({f"{n}_mj": float(layer_sum(costs[f"{n}_pj"])[0] * 1e-9)
                   for n in ("energy_mac", "energy_sram", "energy_dram", "energy_leak")})
    totals["macs"] = int(sum(o.macs for o in ops))
    totals["config"] = config.to_dict()
    totals["layers"] = layers
    return totals


def peak_macs_per_s(config: AcceleratorConfig) -> float:
    """Array peak, MAC/s = rows * cols * clock."""
    return config.rows * config.cols * config.clock_mhz * 1e6

