"""Per-operation latency/energy lookup tables and the Chameleon-style predictor.

Chameleon (Dai et al., CVPR 2019) predicts a network's latency as the sum of per-operator
latencies looked up in a table measured once per device.  Tables here are keyed by
``Op.key()`` (type, shapes and geometry, not the layer name) and built three ways:

- ``accel``: from the analytical accelerator model (``hwsim.accel``),
- ``spring``: from the SPRING simulator (``hwsim.spring``),
- ``cpu``: by timing each operator alone on the host CPU with PyTorch (median of repeats),
  the layer's own op (``Op.geometry``: pooling kind, dilation, stride, padding, groups, bias,
  activation; ``hwsim.host_ops.op_callable`` runs it), at a stated torch thread count.  A
  host timing depends on the threads (one 3x32x32 conv: 24 ms at 2 threads, 0.09 ms at 1 on
  a loaded machine), the torch build and the CPU, so the table records them
  (``Table.conditions``, ``hwsim.latency.host_identity``) and ``predict`` warns in one line
  when it is used under others.

``predict(table, ops)`` sums the entries; ``load_table`` reads a table back from the report
``table_report`` makes (``nnsynth hwsim table --json``); ``width_sweep`` times Linear and
LSTM layers over a range of widths on the host CPU to show where latency is not monotone in
layer size (the "hysteresis" of the symbiotic-training paper, arXiv 1901.10997).  The cost
functions stay pure; only the ``cpu`` builder measures, and it touches no files.
"""
from __future__ import annotations

import ast
import logging
import math
import statistics
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from synth.config import check_range, short_repr
from synth.errors import UserError
from hwsim import accel as accel_mod
from hwsim import spring as spring_mod
from hwsim.host_ops import op_callable   # also this module's name for it (callers use both)
from hwsim.latency import condition_mismatch, host_identity, torch_threads
from hwsim.op import Op

log = logging.getLogger(__name__)

DEVICES = ("cpu", "accel", "spring")
MAX_SWEEP_WIDTH = 4096     # an LSTM(4096, 4096) holds 134 M weights (537 MB); width 10^6 asked 4 TB
MAX_SWEEP_WIDTHS = 1000    # widths timed in one sweep
MAX_REPEATS = 10_000       # timings per operator or width
# The largest latency (ms) or energy (mJ) a table's row may hold, written or read
# (``entry_problem``): a million times the slowest op the accelerator model prices
# (MAX_EXTRACT_MACS, 1.1e12 MACs, on one PE at MIN_CLOCK_MHZ, 1 kHz: ~1e12 ms).  Rows of
# 1.7e308 mJ each summed to inf, printed as 'energy_mj: null' without a word; below this
# bound any number of rows sums finitely.  An op's energy can pass it on a legal array: a
# 4096 x 4096 one of 64-bit PEs at 180 nm leaks 5.2e7 W at 1e4 mW/mm^2, and with one-word
# scratchpads at 1 kB/s an LSTM(512)'s recurrent op over 3,000 steps streams its weights for
# 2.5e7 s: 1.3e18 mJ.  'hwsim table' wrote that row, and read it back refused it (h313).
MAX_TABLE_ENTRY = 1e18
# the lengths of Op.key() in tables saved before it held the op's geometry (9), and before
# it held its traffic and MACs (10, h219); a row of such a table is found by the op's key cut
# to its length (``Table.row``)
OLD_KEY_LENGTHS = (10, 9)
PROGRESS_DELAY_S = 2.0     # a cpu table's progress bar shows once timing has taken this long


# the devices whose cost of an op does not depend on which of its values are zero: the
# accelerator model multiplies zeros like any weight (dense, ``hwsim.accel``), and a host
# timing runs the op on random tensors of its shapes (``op_callable``).  SPRING skips zeros
# (``hwsim.spring``): its rows hold for the measured sparsities only.
SPARSITY_BLIND = ("accel", "cpu")
SPARSITY_AT = (7, 8)       # Op.key()'s weight_sparsity and act_sparsity


def blind_key(key: tuple) -> tuple:
    """``key`` (``Op.key()``, or a short one without geometry) without the op's weight and
    activation sparsity: the work as a sparsity-blind device sees it."""
    return key[:SPARSITY_AT[0]] + key[SPARSITY_AT[1] + 1:]


class Table(dict):
    """Op key -> {type, latency_ms, energy_mj}, with how the rows were made: ``device``, for
    ``cpu`` the measurement ``conditions`` (``host_identity`` at the thread count timed;
    None: unknown, a table saved before they were recorded), for ``accel`` and ``spring`` the
    ``config`` that priced them (its ``to_dict``; None: a table saved before it was
    recorded).  ``key_lengths``: the shorter lengths of its keys (``OLD_KEY_LENGTHS``: a
    table saved before ``Op.key()`` held the op's geometry, or its traffic and MACs), to
    which lookups cut an op's key when its whole key is not found.  On a ``SPARSITY_BLIND`` device an op is found by its shapes
    and geometry whatever its zeros (``blind_key``): ``Op.key()`` holds the fraction of zero
    weights and of zero inputs (measured on a random input through the model), so a table
    built from one checkpoint missed every layer after a ReLU of another with the same
    layers (``nnsynth hwsim table --table`` of a trained convnet_small on the spec: 3 of 8
    ops 'not in the table', 0.000698 ms predicted for 0.002018), and every layer of the
    model pruned from it."""

    def __init__(self, rows=(), *, device: str | None = None, conditions: dict | None = None,
                 key_lengths: tuple = (), config: dict | None = None):
        super().__init__(rows)
        self.device, self.conditions = device, conditions
        self.key_lengths = tuple(sorted(key_lengths, reverse=True))
        self.config = config
        self.warned: set = set()
        self._blind: tuple[int, dict] | None = None   # (len when made, blind key -> row)

    def _blind_rows(self) -> dict:
        """``blind_key`` -> the first row of that key, made again when rows were added."""
        if self._blind is None or self._blind[0] != len(self):
            index: dict = {}
            for key, row in self.items():
                index.setdefault(blind_key(key), row)
            self._blind = (len(self), index)
        return self._blind[1]

    def warn_once(self, message: str | None) -> None:
        """Log ``message`` (if any) as a warning, once per table."""
        if message and message not in self.warned:
            self.warned.add(message)
            log.warning(message)

    def row(self, op: Op) -> dict | None:
        full = op.key()
        for key in (full, *(full[:n] for n in self.key_lengths)):
            row = self.get(key)
            if row is None and self.device in SPARSITY_BLIND:
                row = self._blind_rows().get(blind_key(key))
            if row is not None:
                return row
        return None


# the config class of each model device: a table records the one that priced it
_CONFIGS = {"accel": accel_mod.AcceleratorConfig, "spring": spring_mod.SpringConfig}


def config_text(device: str, config) -> str:
    """The configuration an ``accel`` or ``spring`` price is for, in words (``config``: its
    config class or ``to_dict``): the array, its dataflow and clock first, then every other
    field off hwsim's default by name ('8x64 os at 50 MHz, ifmap_kb 0.5'), "hwsim's default"
    said where all are; SPRING's PEs and clock, then its other fields off the paper's (its
    fixed point is said apart, ``table_report``'s precision).  A table's line said 'on
    accel' whatever array priced it (h297): one built on 8x64 os at 50 MHz read as the
    default 32x32's."""
    cls = _CONFIGS[device]
    given = config.to_dict() if isinstance(config, cls) else cls.from_dict(
        dict(config or {}), where=device).to_dict()
    default = cls().to_dict()
    shown = lambda v: f"{v:g}" if isinstance(v, float) else str(v)   # noqa: E731
    if device == "accel":
        head = (f"{given['rows']}x{given['cols']} {given['dataflow']} at "
                f"{shown(given['clock_mhz'])} MHz")
        skip = ("rows", "cols", "dataflow", "clock_mhz")
    else:
        head = f"SPRING {given['pes']} PEs at {shown(given['clock_mhz'])} MHz"
        skip = ("pes", "clock_mhz", "int_bits", "frac_bits")
    rest = [f"{k} {shown(v)}" for k, v in given.items() if k not in skip and v != default[k]]
    if not rest and all(given[k] == default[k] for k in skip if k in default):
        return f"{head}, hwsim's default" if device == "accel" else f"{head}, the paper's"
    return ", ".join([head, *rest])


def _device_config(device: str, config):
    """``config`` (None: the default) as ``device``'s config class; another class is a
    one-line error (a SpringConfig given for accel was an AttributeError deep in the model)."""
    cls = _CONFIGS[device]
    if config is None:
        return cls()
    if isinstance(config, dict):
        return cls.from_dict(config, where=device)
    if not isinstance(config, cls):
        raise UserError(f"a {device} table is priced with a {cls.__name__}, got "
                        f"{type(config).__name__}")
    return config


# each device in words, and what brings an op's figure within MAX_TABLE_ENTRY there (or
# prices it without the bound)
_REMEDY = {"accel": ("accelerator", "a faster clock_mhz or dram_gbps (or a smaller array, "
                     "technology_nm or leakage_mw_per_mm2: the array leaks as long as the op "
                     "runs) prices it within it; hwsim eval prices it without a bound"),
           "spring": ("SPRING configuration", "a faster clock_mhz or nvm_gbps prices it "
                      "within it; hwsim eval --spring prices it without a bound"),
           "cpu": ("host", "no host timing comes near it: time it again")}


def _checked(row: dict, op: Op, device: str) -> dict:
    """``row``, the one ``build_table`` makes of ``op``, where ``load_table`` would read it
    back (``entry_problem``); else a one-line UserError naming the op, the figure and what
    to change: a table of it was written, then refused when read (h313)."""
    for figure in ("latency_ms", "energy_mj"):
        problem = entry_problem(row[figure], none=figure == "energy_mj")
        if problem:
            on, remedy = _REMEDY[device]
            raise UserError(f"op {op.name}'s {figure} {problem} on this {on}, so a table "
                            f"holding it could not be read back: {remedy}")
    return row


def _model_table(ops: Sequence[Op], device: str, config) -> dict:
    table = {}
    for op in ops:
        key = op.key()
        if key in table:
            continue
        if device == "accel":   # with its cycles and pJ, which ``predict`` sums as eval does
            k = accel_mod.layer_costs([op], config)
            r = accel_mod.summed_totals(k, op.macs, config)
            row = {"type": op.type, "latency_ms": r["latency_ms"],
                   "energy_mj": r["energy_mj"], **{f: float(k[f][0, 0]) for f in EXACT}}
        else:
            r = spring_mod.evaluate([op], config, "inference")
            row = {"type": op.type, "latency_ms": r["latency_ms"], "energy_mj": r["energy_mj"]}
        table[key] = _checked(row, op, device)
    return table


# an accel row's own units (``accel.layer_costs``): summed as ``hwsim eval`` sums them
# (``accel.layer_sum``, then converted at the table's clock), a prediction is eval's figure
# to the bit; sums of the rows' ms and mJ differed in the last digit (0.017721999999999998
# against 0.017722 ms, 240 of 480 figures on 48 arrays, up to 4.1e-16 relative: h300)
EXACT = ("cycles", "energy_pj")


def _exact_fields(row: dict, read: dict, config: dict | None) -> dict:
    """An accel table row's ``EXACT`` fields where it has them and they are its latency_ms
    and energy_mj (cycles at the table's clock, pJ): ``predict`` sums them.  A row without
    them, or whose ms or mJ were edited apart from them, keeps its ms and mJ alone, which
    ``predict`` then sums (the row's own figures, never silently replaced)."""
    values = [row.get(f) for f in EXACT]
    if config is None or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                 and math.isfinite(v) and v >= 0 for v in values):
        return {}
    cycles, pj = (float(v) for v in values)
    if cycles / (float(config["clock_mhz"]) * 1e3) != read["latency_ms"] or (
            pj * 1e-9 != read["energy_mj"]):
        return {}
    return {"cycles": cycles, "energy_pj": pj}


def _exact_sum(table: "Table", found: list) -> tuple[float, float] | None:
    """(latency_ms, energy_mj) of the ``found`` rows (one per op of a network, in its order)
    of an accel ``table`` summed in cycles and pJ as ``accel.evaluate`` sums them; None where
    a row lacks them (a table saved before rows held them) or the table records no config."""
    if table.device != "accel" or table.config is None or not found or any(
            any(f not in row for f in EXACT) for row in found):
        return None
    import numpy as np
    column = lambda f: np.array([row[f] for row in found], dtype=np.float64).reshape(-1, 1)
    clock = float(table.config["clock_mhz"])
    return (float(accel_mod.layer_sum(column("cycles"))[0] / (clock * 1e3)),
            float(accel_mod.layer_sum(column("energy_pj"))[0] * 1e-9))


def time_callable(fn, repeats: int = 20, warmup: int = 3) -> dict:
    """Median and interquartile spread of ``fn``'s wall time, milliseconds."""
    from synth.timing import wall_times_ms
    check_range("repeats", repeats, 1, MAX_REPEATS, integer=True)   # the CLI reads its fields
    times = wall_times_ms(fn, repeats, warmup)
    q = statistics.quantiles(times, n=4) if len(times) >= 4 else [min(times), 0, max(times)]
    return {"median_ms": statistics.median(times), "q1_ms": q[0], "q3_ms": q[2]}


def _cpu_table(ops: Sequence[Op], repeats: int, seed: int, threads: int | None,
               progress: bool = False) -> Table:
    gen = torch.Generator().manual_seed(seed)
    rows = {}
    with torch_threads(threads) as used:
        # (a bar once the timing has taken PROGRESS_DELAY_S: resnet34 on 3x224x224 times
        # its convolutions for over a minute)
        for op in tqdm(ops, desc="time ops", unit="op", disable=not progress, leave=False,
                       delay=PROGRESS_DELAY_S):
            key = op.key()
            if key not in rows:
                t = time_callable(op_callable(op, gen), repeats)
                rows[key] = _checked({"type": op.type, "latency_ms": t["median_ms"],
                                      "energy_mj": None}, op, "cpu")
        conditions = host_identity(used)
    return Table(rows, device="cpu", conditions=conditions)


def build_table(ops: Sequence[Op], device: str = "accel", config=None, *, repeats: int = 20,
                seed: int = 0, threads: int | None = None, progress: bool = False) -> Table:
    """Op key -> {type, latency_ms, energy_mj} for the unique ops in ``ops``.  ``cpu`` times
    them with ``threads`` torch threads (None: the current setting), which the table records
    with the torch build and the CPU; the caller's thread count is given back after."""
    if device not in DEVICES:
        raise UserError(f"device must be one of {', '.join(DEVICES)}, got {short_repr(device)}")
    if device == "cpu":
        return _cpu_table(ops, repeats, seed, threads, progress)
    config = _device_config(device, config)
    return Table(_model_table(ops, device, config), device=device, config=config.to_dict())


def config_mismatch(table: "Table", config) -> str | None:
    """Why an ``accel``/``spring`` table cannot price ops under ``config`` (it was built for
    another configuration: its rows are that one's latencies and energies), or None (also
    for a table saved before tables recorded their configuration: ``predict`` warns)."""
    if table.device not in _CONFIGS or config is None:
        return None
    given = _device_config(table.device, config).to_dict()
    if table.config is None:
        return None
    diff = [k for k in given if table.config.get(k) != given[k]]
    if not diff:
        return None
    k = diff[0]
    more = f" (and {len(diff) - 1} more field{'s' * (len(diff) > 2)})" if len(diff) > 1 else ""
    return (f"this {table.device} table was built for {k}={short_repr(table.config.get(k))}, "
            f"not {short_repr(given[k])}{more}: its rows price that configuration; build a "
            f"table for this one (nnsynth hwsim table --device {table.device})")


def predict(table: dict, ops: Sequence[Op], *, threads: int | None = None,
            config=None) -> dict:
    """Sum the table over a network's ops (Chameleon); missing ops are listed, not guessed.
    ``energy_mj`` is None when a row has no energy (the ``cpu`` table measures time only: its
    total energy was reported as 0.0 mJ); both are None when no op is in the table.  A
    ``cpu`` Table used under other conditions than it was measured at (``threads``: the
    torch threads the prediction is for, default the current setting; this machine's CPU
    and torch) logs one warning line, once per table.  ``config``: the AcceleratorConfig or
    SpringConfig the prediction is for; an ``accel``/``spring`` Table built for another is a
    one-line UserError (its rows price the configuration it was built with)."""
    if isinstance(table, Table) and config is not None:
        message = config_mismatch(table, config)
        if message:
            raise UserError(message)
        if table.device in _CONFIGS and table.config is None:
            table.warn_once(f"this {table.device} table does not record the configuration it "
                            f"was built for (saved before tables recorded it): its rows may "
                            f"price another one")
    if isinstance(table, Table) and table.device == "cpu":
        table.warn_once(condition_mismatch(table.conditions, threads))
    lookup = table.row if isinstance(table, Table) else (lambda op: table.get(op.key()))
    lat, energy, missing, found = 0.0, 0.0, [], []
    for op in ops:
        row = lookup(op)
        if row is None:
            missing.append(op.name)
            continue
        found.append(row)
        lat += row["latency_ms"]
        energy = None if energy is None or row["energy_mj"] is None else energy + row["energy_mj"]
        if not math.isfinite(lat) or energy is not None and not math.isfinite(energy):
            # a table given as a dict (load_table bounds each row): inf printed as null
            raise UserError(f"latency table: the {'latency' if not math.isfinite(lat) else 'energy'}"
                            f" of op {op.name} brings the sum past what a float holds "
                            f"(rows up to {MAX_TABLE_ENTRY:.0e} each, MAX_TABLE_ENTRY)")
    if ops and len(missing) == len(ops):   # no row of the table is one of these ops: it was
        lat = energy = None                  # '0 ms, 0 mJ' (a table of another model's layers)
    elif isinstance(table, Table) and not missing:   # hwsim eval's figure to the bit
        lat, energy = _exact_sum(table, found) or (lat, energy)
    return {"latency_ms": lat, "energy_mj": energy, "missing": missing}


def entry_problem(value, none: bool = False) -> str | None:
    """The rule a table row's latency_ms and energy_mj keep, where ``build_table`` writes
    them and ``load_table`` reads them: a finite number >= 0 of at most MAX_TABLE_ENTRY
    (``none``: or None, a ``cpu`` row's energy).  Why ``value`` breaks it, in words that
    follow the figure's name ('is 1.32e+18; the limit is 1e+18 ...'), or None."""
    if value is None and none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 <= value < float("inf"):
        return f"must be a finite number >= 0, got {short_repr(value)}"
    if value > MAX_TABLE_ENTRY:
        return (f"is {value:.4g}; the limit is {MAX_TABLE_ENTRY:.0e} (MAX_TABLE_ENTRY, the "
                f"most a table's row holds)")
    return None


def _number(value, where: str, none: bool = False) -> float | None:
    problem = entry_problem(value, none)
    if problem:
        raise UserError(f"{where} {problem}")
    return None if value is None else float(value)


class _Floats(ast.NodeTransformer):
    """The names ``repr`` gives a float that is not a number literal, as those floats."""
    NAMES = {"inf": float("inf"), "nan": float("nan")}

    def visit_Name(self, node):
        value = self.NAMES.get(node.id)
        return node if value is None else ast.copy_location(ast.Constant(value), node)


def op_key(text: str) -> tuple:
    """``Op.key()`` read back from its ``repr`` (a table row's ``key``, ``table_report``):
    a literal, where an infinite setting is written ``inf`` (an LPPool2d(inf), a max pool
    of |x|; a Hardtanh with no lower bound: ``-inf``), which ``ast.literal_eval`` refuses (such
    a table could not be read back).  Any other name or call is refused as before (ValueError),
    and nothing is evaluated."""
    return ast.literal_eval(_Floats().visit(ast.parse(text, mode="eval")))


def _is_own_table_file(path) -> bool:
    """True when ``path`` holds a report ``table_report`` writes (``hwsim table --out`` or
    the ``--json`` line saved): a JSON object of a known device with its rows and
    prediction.  Only a regular file within the size a table is read at is read."""
    import stat

    from synth.files import MAX_YAML_BYTES, read_json
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_YAML_BYTES:
            return False
        report = read_json(path, MAX_YAML_BYTES)
    except (OSError, ValueError):
        return False
    return (isinstance(report, dict) and report.get("device") in DEVICES
            and isinstance(report.get("rows"), list) and isinstance(report.get("prediction"),
                                                                    dict))


def check_table_out(path, option: str = "--out"):
    """``path`` can take a latency table: nothing is there yet, or a table nnsynth wrote
    (replaced); anything else is a one-line error before the table is built."""
    from synth.files import check_replaceable
    return check_replaceable(path, option, _is_own_table_file, "a latency table nnsynth wrote")


def load_table(report: dict, where: str = "latency table") -> Table:
    """The Table in ``report`` (``table_report``'s dict, ``nnsynth hwsim table --json``).  A
    report written before measurement conditions (and op geometry, or op traffic) were
    recorded loads too: its conditions are unknown (``predict`` warns) and lookups cut an
    op's key to its keys' length (``OLD_KEY_LENGTHS``)."""
    if not isinstance(report, dict) or not isinstance(report.get("rows"), list):
        raise UserError(f"{where} must be the JSON object 'hwsim table --json' writes "
                        f"(with rows)")
    device = report.get("device")
    if device not in DEVICES:
        raise UserError(f"{where} device must be one of {', '.join(DEVICES)}, got "
                        f"{short_repr(device)}")
    conditions = report.get("conditions")
    if conditions is not None and not isinstance(conditions, dict):
        raise UserError(f"{where} conditions must be a mapping, got {short_repr(conditions)}")
    config = report.get("config")
    if config is not None:
        if device not in _CONFIGS:
            raise UserError(f"{where} has a config, but a {device} table is measured, not "
                            f"priced with one")
        from synth.errors import ConfigError
        try:
            config = _CONFIGS[device].from_dict(config, where=f"{where} config").to_dict()
        except ConfigError as e:   # a value's error ('rows must be in [1, 4096], got 10^9')
            if where in str(e):    # named neither the file nor its config (h278); an
                raise              # unknown key's does
            raise UserError(f"{where} config: {e}") from None
    rows, lengths, first = {}, set(), {}
    for i, row in enumerate(report["rows"]):
        at = f"{where} rows[{i}]"
        try:
            key = op_key(row["key"])
            hash(key)
        except (TypeError, KeyError, ValueError, SyntaxError, MemoryError, RecursionError):
            raise UserError(f"{at} has no op key 'hwsim table' wrote") from None
        if not isinstance(key, tuple) or not key or not isinstance(key[0], str):
            raise UserError(f"{at} has no op key 'hwsim table' wrote")
        # the op type its key names, as 'hwsim table' writes it (a null or a list passed
        # here and was a TypeError traceback when the row was printed; another type printed
        # a conv's row as a pool's)
        kind = row.get("type", key[0])
        if kind != key[0] or not isinstance(kind, str):
            raise UserError(f"{at} type must be the op type its key names "
                            f"({short_repr(key[0])}), got {short_repr(kind)}")
        # one row per op, as 'hwsim table' writes them: two (a table edited or joined by
        # hand) priced the op by whichever came last, without a word
        if key in first:
            raise UserError(f"{at} is the op of rows[{first[key]}] again; a table holds one "
                            f"row per op")
        first[key] = i
        lengths.add(len(key))
        rows[key] = {"type": kind,
                     "latency_ms": _number(row.get("latency_ms"), f"{at} latency_ms"),
                     "energy_mj": _number(row.get("energy_mj"), f"{at} energy_mj", none=True)}
        rows[key].update(_exact_fields(row, rows[key], config if device == "accel" else None))
    return Table(rows, device=device, conditions=conditions if device == "cpu" else None,
                 key_lengths=tuple(n for n in OLD_KEY_LENGTHS if n in lengths), config=config)


def width_sweep(kind: str, widths: Sequence[int], *, batch: int = 32, seq_len: int = 16,
                repeats: int = 30, seed: int = 0, threads: int | None = None,
                progress: bool = False) -> list[dict]:
    """Host-CPU latency of one Linear(w, w) or LSTM(w, w) layer per width, with a flag where
    a wider layer is faster than the previous width beyond the measurement spread.
    ``progress``: a bar on stderr over the widths once timing has taken PROGRESS_DELAY_S
    (one LSTM(4096, 4096) call takes 8 s here: --widths 2048:4096:2048 --repeats 4 ran 75 s
    without a word)."""
    if kind not in ("linear", "lstm"):
        raise UserError(f"kind must be linear or lstm, got {short_repr(kind)}")
    if len(widths) > MAX_SWEEP_WIDTHS or any(not 1 <= w <= MAX_SWEEP_WIDTH for w in widths):
        raise UserError(f"widths must be at most {MAX_SWEEP_WIDTHS:,} values in [1, "
                        f"{MAX_SWEEP_WIDTH:,}], got {len(widths):,} from {widths[0]} to {widths[-1]}")
    gen = torch.Generator().manual_seed(seed)
    rows = []
    with torch_threads(threads):
        for w in tqdm(widths, desc=f"{kind} widths", unit="width", disable=not progress,
                      leave=False, delay=PROGRESS_DELAY_S):
            rows.append(_sweep_row(kind, w, batch, seq_len, repeats, gen))
    for prev, row in zip(rows, rows[1:]):
        # non-monotone: the wider layer's q3 is below the narrower layer's q1 (no overlap)
        row["faster_than_narrower"] = bool(row["q3_ms"] < prev["q1_ms"])
    if rows:
        rows[0]["faster_than_narrower"] = False
    return rows


def _sweep_row(kind: str, w: int, batch: int, seq_len: int, repeats: int,
               gen: torch.Generator) -> dict:
    if kind == "linear":
        x, wt = torch.randn(batch, w, generator=gen), torch.randn(w, w, generator=gen)
        fn = lambda: F.linear(x, wt)
        macs = batch * w * w
    else:
        lstm = nn.LSTM(w, w)
        x = torch.randn(seq_len, batch, w, generator=gen)
        fn = lambda: lstm(x)
        macs = seq_len * batch * 4 * w * 2 * w
    t = time_callable(fn, repeats)
    return {"kind": kind, "width": int(w), "macs": macs, **t}


def parse_widths(text: str) -> range:
    """``--widths start:stop:step`` (stop included) as a range of layer widths."""
    try:
        start, stop, step = (int(v) for v in text.split(":"))
    except ValueError:
        raise UserError(f"--widths must be start:stop:step, got {short_repr(text)}") from None
    if not (0 < start <= stop and step > 0):
        raise UserError(f"--widths needs 0 < start <= stop and step > 0, got {short_repr(text)}")
    return range(start, stop + 1, step)


def _measured_at(conditions: dict) -> str:
    n = conditions.get("threads")
    return (f"{n} torch thread{'s' if n != 1 else ''}, torch {conditions.get('torch')}, "
            f"CPU {conditions.get('cpu') or 'unknown'}")


def sweep_report(kind: str, rows: list[dict], conditions: dict | None = None
                 ) -> tuple[dict, str]:
    """``width_sweep``'s rows as the result dict and its human-readable table; ``conditions``
    (``host_identity`` of the threads it ran with) are recorded and printed when given."""
    inv = [r["width"] for r in rows if r["faster_than_narrower"]]
    human = [f"measured with {_measured_at(conditions)}"] if conditions else []
    human += [f"{'width':>6}{'median ms':>12}{'q1':>10}{'q3':>10}  faster than narrower"]
    human += [f"{r['width']:>6}{r['median_ms']:>12.4g}{r['q1_ms']:>10.4g}{r['q3_ms']:>10.4g}  "
              f"{'yes' if r['faster_than_narrower'] else ''}" for r in rows]
    human.append(f"non-monotone at widths: {inv or 'none'}")
    out = {"kind": kind, "rows": rows, "non_monotone_widths": inv}
    if conditions:
        out["conditions"] = conditions
    return out, "\n".join(human)


def table_report(name: str, device: str, table: dict, pred: dict,
                 precision: str | None = None, source: str | None = None,
                 ops: Sequence[Op] | None = None) -> tuple[dict, str]:
    """A per-op table and its predicted total as the result dict and human-readable lines.
    Figures print with four significant digits: a SPRING op of 4e-6 ms is not '0.0000'.
    ``precision`` (SPRING's fixed point, ``"4.16"``) is recorded and printed when given, and
    so are a host table's measurement conditions (``load_table`` reads the dict back).
    ``source``: the file a saved table was read from, named in place of the model.
    ``ops``: the model's, whose zero weights an accel prediction prices as any other
    (``hwsim.dense_note``, said as ``hwsim eval`` says it).  The warnings ``predict`` logged
    for ``table`` (a host table used at other threads) are the result's ``warning``."""
    rows = [{"key": repr(k), **v} for k, v in table.items()]
    conditions = getattr(table, "conditions", None)
    at = f" at {precision} fixed point" if precision else ""
    at += f" ({_measured_at(conditions)})" if conditions else ""
    total = ("no prediction (none of its ops is in the table)" if pred["latency_ms"] is None
             else f"predicted total {pred['latency_ms']:.4g} ms"
             + (f", {pred['energy_mj']:.4g} mJ" if pred["energy_mj"] is not None else ""))
    if pred["latency_ms"] is not None and pred.get("missing"):
        # a partial sum (a table of an earlier version of the model): said where the total is
        # ('predicted total' read as the model's; the ops left out were on a later line)
        total += (f" of the ops in the table only ({len(pred['missing'])} op"
                  f"{'s' * (len(pred['missing']) > 1)} not counted, below)")
    # ``source``: the saved table the rows come from (``--table``): its rows are the ops of
    # the model it was built for, not of ``name`` ('5 unique ops of wine_gp.pt' listed the
    # 5 of the wine.pt it was built from, 3 of which wine_gp.pt does not have)
    whose = f"in {source}" if source else f"of {name}"
    config = getattr(table, "config", None)
    if device in _CONFIGS:   # the configuration its rows price: another's are not these
        on = (f" ({config_text(device, config)})" if config is not None else
              " (its configuration not recorded: saved before tables recorded it)")
        at = on + at
    human = [f"{len(rows)} unique ops {whose} on {device}{at}; "
             + (f"{name}: " if source else "") + total]
    human += [f"  {r['type']:<10}{r['latency_ms']:>12.4g} ms"
              + (f"{r['energy_mj']:>12.4g} mJ" if r["energy_mj"] is not None else "")
              for r in rows]
    if pred.get("missing"):   # a saved table (--table) need not hold every op of the model
        human.append(f"not in the table, not counted: {len(pred['missing'])} ops "
                     f"({', '.join(map(str, pred['missing'][:10]))}"
                     f"{', ...' if len(pred['missing']) > 10 else ''})")
    out = {"device": device, "model": name, "rows": rows, "prediction": pred}
    from hwsim import dense_note, zero_weights
    note = (dense_note(ops, "SPRING (hwsim table --device spring)")
            if device == "accel" and ops else None)
    if note:   # a pruned model's accel total is its dense architecture's
        out.update(zero_weights=zero_weights(ops), note=note)
        human.insert(1, f"note: {note}")
    warned = sorted(getattr(table, "warned", ()))
    if warned:   # predict's warnings (logged on stderr): --json lacked them
        out["warning"] = "; ".join(warned)
    if source:
        out["table"] = source
    if precision:
        out["spring_precision"] = precision
    if conditions:
        out["conditions"] = conditions
    if config is not None:
        out["config"] = config
        out["config_text"] = config_text(device, config)
    return out, "\n".join(human)
