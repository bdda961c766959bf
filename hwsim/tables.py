"""Per-operation latency/energy lookup tables and the Chameleon-style predictor.

Chameleon (Dai et al., CVPR 2019) predicts a network's latency as the sum of per-operator
latencies looked up in a table measured once per device.  Tables here are keyed by
``Op.key()`` (type and shapes, not the layer name) and built three ways:

- ``accel``: from the analytical accelerator model (``hwsim.accel``),
- ``spring``: from the SPRING simulator (``hwsim.spring``),
- ``cpu``: by timing each operator alone on the host CPU with PyTorch (median of repeats).

``predict(table, ops)`` sums the entries; ``width_sweep`` times Linear and LSTM layers over
a range of widths on the host CPU to show where latency is not monotone in layer size (the
"hysteresis" of the symbiotic-training paper, arXiv 1901.10997).  The cost functions stay
pure; only the ``cpu`` builder measures, and it touches no files.
"""
from __future__ import annotations

import statistics
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from synth.config import short_repr
from synth.errors import UserError
from hwsim import accel as accel_mod
from hwsim import spring as spring_mod
from hwsim.workload import Op

DEVICES = ("cpu", "accel", "spring")
MAX_SWEEP_WIDTH = 4096     # an LSTM(4096, 4096) holds 134 M weights (537 MB); width 10^6 asked 4 TB
MAX_SWEEP_WIDTHS = 1000    # widths timed in one sweep
MAX_REPEATS = 10_000       # timings per operator or width


def _model_table(ops: Sequence[Op], device: str, config=None) -> dict:
    table = {}
    for op in ops:
        key = op.key()
        if key in table:
            continue
        if device == "accel":
            r = accel_mod.evaluate([op], config or accel_mod.AcceleratorConfig())
        else:
            r = spring_mod.evaluate([op], config or spring_mod.SpringConfig(), "inference")
        table[key] = {"type": op.type, "latency_ms": r["latency_ms"], "energy_mj": r["energy_mj"]}
    return table


def _conv_geometry(op: Op) -> tuple[int, int]:
    """(stride, padding) that map the op's input H to its output H with its kernel:
    s = max(1, round(H / Ho)), p = ceil(((Ho - 1) s + R - H) / 2)."""
    h, ho, r = op.in_shape[2], op.out_shape[2], op.weight_shape[2]
    s = max(1, round(h / ho))
    return s, max(0, -(-((ho - 1) * s + r - h) // 2))


def op_callable(op: Op, gen: torch.Generator):
    """A zero-argument function that runs ``op`` alone with random tensors of its shapes."""
    rand = lambda shape: torch.randn(shape, generator=gen)
    x = rand(op.in_shape)
    if op.type in ("conv", "depthwise"):
        w = rand(op.weight_shape)
        s, p = _conv_geometry(op)
        return lambda: F.conv2d(x, w, stride=s, padding=p, groups=op.groups)
    if op.type == "linear":
        w = rand(op.weight_shape)
        return lambda: F.linear(x, w)
    if op.type == "pool":
        if len(op.out_shape) == 4 and op.out_shape[2] > 1:
            k = max(1, op.in_shape[2] // op.out_shape[2])
            return lambda: F.max_pool2d(x, k)
        return lambda: F.adaptive_avg_pool2d(x, 1)
    if op.type == "batchnorm":
        c = op.in_shape[1]
        mean, var = torch.zeros(c), torch.ones(c)
        return lambda: F.batch_norm(x, mean, var, training=False)
    if op.type == "eltwise":
        return (lambda: x + x) if op.name.startswith("add") else (lambda: F.relu(x))
    if op.type == "recurrent":   # the per-step GEMM, `groups` steps one after another
        w = rand(op.weight_shape)
        return lambda: [F.linear(x, w) for _ in range(op.groups)]
    if op.type == "lstm":
        batch, k, n4 = op.gemm
        hidden = n4 // 4
        lstm = nn.LSTM(k - hidden, hidden)
        seq = rand((op.groups, batch, k - hidden))
        return lambda: lstm(seq)
    raise UserError(f"cannot time op type {short_repr(op.type)}")


def time_callable(fn, repeats: int = 20, warmup: int = 3) -> dict:
    """Median and interquartile spread of ``fn``'s wall time, milliseconds."""
    from synth.timing import wall_times_ms
    if not 1 <= repeats <= MAX_REPEATS:
        raise UserError(f"repeats must be in [1, {MAX_REPEATS:,}], got {repeats:,}")
    times = wall_times_ms(fn, repeats, warmup)
    q = statistics.quantiles(times, n=4) if len(times) >= 4 else [min(times), 0, max(times)]
    return {"median_ms": statistics.median(times), "q1_ms": q[0], "q3_ms": q[2]}


def _cpu_table(ops: Sequence[Op], repeats: int, seed: int) -> dict:
    gen = torch.Generator().manual_seed(seed)
    table = {}
    for op in ops:
        key = op.key()
        if key not in table:
            t = time_callable(op_callable(op, gen), repeats)
            table[key] = {"type": op.type, "latency_ms": t["median_ms"], "energy_mj": None}
    return table


def build_table(ops: Sequence[Op], device: str = "accel", config=None, *, repeats: int = 20,
                seed: int = 0) -> dict:
    """Op key -> {type, latency_ms, energy_mj} for the unique ops in ``ops``."""
    if device not in DEVICES:
        raise UserError(f"device must be one of {', '.join(DEVICES)}, got {short_repr(device)}")
    if device == "cpu":
        return _cpu_table(ops, repeats, seed)
    return _model_table(ops, device, config)


def predict(table: dict, ops: Sequence[Op]) -> dict:
    """Sum the table over a network's ops (Chameleon); missing ops are listed, not guessed.
    ``energy_mj`` is None when a row has no energy (the ``cpu`` table measures time only: its
    total energy was reported as 0.0 mJ)."""
    lat, energy, missing = 0.0, 0.0, []
    for op in ops:
        row = table.get(op.key())
        if row is None:
            missing.append(op.name)
            continue
        lat += row["latency_ms"]
        energy = None if energy is None or row["energy_mj"] is None else energy + row["energy_mj"]
    return {"latency_ms": lat, "energy_mj": energy, "missing": missing}


def width_sweep(kind: str, widths: Sequence[int], *, batch: int = 32, seq_len: int = 16,
                repeats: int = 30, seed: int = 0, threads: int | None = None) -> list[dict]:
    """Host-CPU latency of one Linear(w, w) or LSTM(w, w) layer per width, with a flag where
    a wider layer is faster than the previous width beyond the measurement spread."""
    if kind not in ("linear", "lstm"):
        raise UserError(f"kind must be linear or lstm, got {short_repr(kind)}")
    if len(widths) > MAX_SWEEP_WIDTHS or any(not 1 <= w <= MAX_SWEEP_WIDTH for w in widths):
        raise UserError(f"widths must be at most {MAX_SWEEP_WIDTHS:,} values in [1, "
                        f"{MAX_SWEEP_WIDTH:,}], got {len(widths):,} from {widths[0]} to {widths[-1]}")
    if threads:
        torch.set_num_threads(threads)
    gen = torch.Generator().manual_seed(seed)
    rows = []
    for w in widths:
        if kind == "linear":
            x, wt = torch.randn(batch, w, generator=gen), torch.randn(w, w, generator=gen)
            fn = lambda x=x, wt=wt: F.linear(x, wt)
            macs = batch * w * w
        else:
            lstm = nn.LSTM(w, w)
            x = torch.randn(seq_len, batch, w, generator=gen)
            fn = lambda lstm=lstm, x=x: lstm(x)
            macs = seq_len * batch * 4 * w * 2 * w
        t = time_callable(fn, repeats)
        rows.append({"kind": kind, "width": int(w), "macs": macs, **t})
    for prev, row in zip(rows, rows[1:]):
        # non-monotone: the wider layer's q3 is below the narrower layer's q1 (no overlap)
        row["faster_than_narrower"] = bool(row["q3_ms"] < prev["q1_ms"])
    if rows:
        rows[0]["faster_than_narrower"] = False
    return rows


def parse_widths(text: str) -> range:
    """``--widths start:stop:step`` (stop included) as a range of layer widths."""
    try:
        start, stop, step = (int(v) for v in text.split(":"))
    except ValueError:
        raise UserError(f"--widths must be start:stop:step, got {short_repr(text)}") from None
    if not (0 < start <= stop and step > 0):
        raise UserError(f"--widths needs 0 < start <= stop and step > 0, got {short_repr(text)}")
    return range(start, stop + 1, step)


def sweep_report(kind: str, rows: list[dict]) -> tuple[dict, str]:
    """``width_sweep``'s rows as the result dict and its human-readable table."""
    inv = [r["width"] for r in rows if r["faster_than_narrower"]]
    human = [f"{'width':>6}{'median ms':>12}{'q1':>10}{'q3':>10}  faster than narrower"]
    human += [f"{r['width']:>6}{r['median_ms']:>12.4g}{r['q1_ms']:>10.4g}{r['q3_ms']:>10.4g}  "
              f"{'yes' if r['faster_than_narrower'] else ''}" for r in rows]
    human.append(f"non-monotone at widths: {inv or 'none'}")
    return {"kind": kind, "rows": rows, "non_monotone_widths": inv}, "\n".join(human)


def table_report(name: str, device: str, table: dict, pred: dict,
                 precision: str | None = None) -> tuple[dict, str]:
    """A per-op table and its predicted total as the result dict and human-readable lines.
    Figures print with four significant digits: a SPRING op of 4e-6 ms is not '0.0000'.
    ``precision`` (SPRING's fixed point, ``"4.16"``) is recorded and printed when given."""
    rows = [{"key": repr(k), **v} for k, v in table.items()]
    at = f" at {precision} fixed point" if precision else ""
    human = [f"{len(rows)} unique ops of {name} on {device}{at}; predicted total "
             f"{pred['latency_ms']:.4g} ms"
             + (f", {pred['energy_mj']:.4g} mJ" if pred["energy_mj"] is not None else "")]
    human += [f"  {r['type']:<10}{r['latency_ms']:>12.4g} ms"
              + (f"{r['energy_mj']:>12.4g} mJ" if r["energy_mj"] is not None else "")
              for r in rows]
    out = {"device": device, "model": name, "rows": rows, "prediction": pred}
    if precision:
        out["spring_precision"] = precision
    return out, "\n".join(human)

