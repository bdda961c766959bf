"""Application-driven design-space exploration (arXiv 1903.07676).

The accelerator's parameters (array rows and columns, dataflow, the three scratchpad sizes)
are searched for one or several target networks at once.  Every configuration is priced
on every network with the vectorized model (``hwsim.accel.evaluate_arrays``), so the whole
grid -- or a seeded random sample of ``budget`` points from it -- costs milliseconds.

Returned: the Pareto set over (latency, energy, area) -- for several networks, latency and
energy are geometric means across networks -- and the single best configuration by
geometric-mean performance across networks (performance = 1 / latency) within an area
budget, as the paper chooses one accelerator for many DNNs.  Each network's own best
configuration is reported too, with the cross-network matrix "tuned for A, run on B".
"""
from __future__ import annotations

import dataclasses
import logging
import time
from typing import Mapping, Sequence

import numpy as np
from tqdm.auto import tqdm

from synth.config import Config, check_range, check_seed, short_repr, value_error
from synth.data_registry import first_repeated
from synth.errors import ConfigError
from hwsim.accel import (DATAFLOWS, MAX_ARRAY_DIM, MAX_SCRATCHPAD_KB, SCRATCHPADS,
                         AcceleratorConfig, check_scratchpad, evaluate_arrays, layer_arrays)
from hwsim.op import Op


MAX_GRID = 1_000_000   # configurations in one DSE grid (the default grid has 5,184)
EVAL_VALUES = 500_000   # layers x configurations priced at once (each cost array 4 MB)
PROGRESS_DELAY_S = 2.0  # explore's progress bar shows once pricing has taken this long
# explore says, once, what is left where pricing would take longer than this, s: 990,000
# configurations of resnet34 (123 layers) took 115 s at ~8,600 configurations/s (~1e6
# layer-configurations/s, 2 cores under load); mlp_small's (3 layers) 3 s; several networks add
LONG_DSE_S = 60.0
log = logging.getLogger(__name__)


# the DseConfig fields that list grid values (each AcceleratorConfig field but dataflows,
# which lists values of dataflow)
GRID_FIELDS = ("rows", "cols", "ifmap_kb", "filter_kb", "ofmap_kb", "dataflows")


@dataclasses.dataclass(frozen=True)
class DseConfig(Config):
    rows: tuple = (4, 8, 16, 32, 64, 128)
    cols: tuple = (4, 8, 16, 32, 64, 128)
    dataflows: tuple = DATAFLOWS
    ifmap_kb: tuple = (8, 32, 128, 512)
    filter_kb: tuple = (8, 32, 128, 512)
    ofmap_kb: tuple = (8, 32, 128)
    budget: int = 0                   # configs to sample (0: the whole grid)
    area_budget_mm2: float = 4.0      # the best config must fit this area, mm^2
    seed: int = 0
    base: tuple = ()                  # fixed AcceleratorConfig fields as (name, value) pairs

    def validate(self) -> None:
        size = 1
        for name in GRID_FIELDS:
            values = getattr(self, name)
            if not isinstance(values, (list, tuple)):
                raise ConfigError(f"{name} must be a list of values, got {short_repr(values)}")
            if not values:
                raise ConfigError(f"{name} must list at least one value")
            for v in values if name != "dataflows" else ():   # AcceleratorConfig's ranges
                if name in ("rows", "cols"):
                    check_range(f"{name} value", v, 1, MAX_ARRAY_DIM, integer=True)
                else:
                    check_range(f"{name} value", v, 0, MAX_SCRATCHPAD_KB, low_open=True)
            seen: set = set()
            for v in values:   # rows: [4, 4] evaluated each configuration twice and listed
                key = v if isinstance(v, (int, float, str)) else repr(v)   # it twice in the
                if key in seen:    # Pareto set ("evaluated 192" of 48 distinct ones)
                    raise ConfigError(f"{name} lists {short_repr(v)} twice; list each value "
                                      f"once")
                seen.add(key)
            size *= len(values)
        if size > MAX_GRID:
            raise ConfigError(f"the DSE grid has {size:,} configurations; the limit is "
                              f"{MAX_GRID:,} (list fewer values)")
        base_ok = isinstance(self.base, Mapping) or (
            isinstance(self.base, (list, tuple))   # field names are strings: [[[1], 2]] was a
            and all(isinstance(p, (list, tuple)) and len(p) == 2 and isinstance(p[0], str)
                    for p in self.base))            # TypeError (unhashable) in candidates
        if not base_ok:
            raise ConfigError(f"base must be a mapping of AcceleratorConfig field: value, got "
                              f"{short_repr(self.base)}")
        if not isinstance(self.base, Mapping):   # [[precision_bits, 8], [precision_bits, 16]]
            names = [p[0] for p in self.base]      # ran every point at 16 bits, not a word said
            twice = first_repeated(names)   # (linear: names[:i] per name was quadratic)
            if twice is not None:
                raise ConfigError(f"base lists {short_repr(names[twice])} twice; give each "
                                  f"field once")
        for name, value in dict(self.base).items():   # candidates() sets these per grid point
            grid = "dataflows" if name == "dataflow" else name
            if grid in GRID_FIELDS:
                raise ConfigError(f"base.{name} is set by the grid ({grid}); give it as "
                                  f"{grid}: [{short_repr(value)}] instead")
        _check_base(dict(self.base))
        # every grid point's scratchpads hold a word of the base's precision: the grid is
        # priced without a config object per point (``_grid_arrays`` validates the first
        # only), so ifmap_kb: [0.000001] ran as a pad that held no operand
        bits = dict(self.base).get("precision_bits",
                                   AcceleratorConfig.__dataclass_fields__["precision_bits"].default)
        if isinstance(bits, int) and not isinstance(bits, bool) and 1 <= bits <= 64:
            for name in SCRATCHPADS:
                check_scratchpad(f"{name} value", min(getattr(self, name)), bits)
        bad = [d for d in self.dataflows if d not in DATAFLOWS]
        if bad:
            raise ConfigError(f"dataflows must be among {', '.join(DATAFLOWS)}, got {short_repr(bad[0])}")
        check_range("budget", self.budget, 0, 10_000_000, integer=True)
        check_range("area_budget_mm2", self.area_budget_mm2, 0, 1e6, low_open=True)
        check_seed("seed", self.seed)


def _check_base(base: dict) -> None:
    """The base's fields, AcceleratorConfig's ranges, checked when the DseConfig is made: an
    error names the field as ``base.NAME`` (it was first raised by ``explore``, after the
    networks were built, as 'precision_bits must be an integer, got 'x'', with no word of
    the base nor, from ``hwsim dse``, of the file).  No grid field is in the base (refused
    before), so AcceleratorConfig's defaults stand in for them: its 64 KiB pads hold a word
    of any precision it takes."""
    try:
        AcceleratorConfig.from_dict(base, where="dse.base")
    except ConfigError as e:
        if e.field is None:   # an unknown key: named 'dse.base.KEY' already
            raise
        raise ConfigError(f"base.{e}", field=f"base.{e.field}", value=e.value, low=e.low,
                          high=e.high, low_open=e.low_open, high_open=e.high_open,
                          integer=e.integer, expected=e.expected, got=e.got) from None


def _grid_points(cfg: DseConfig) -> list[np.ndarray]:
    """The grid (or a seeded sample of ``budget`` of its points, in grid order) as one index
    array per GRID_ORDER field: point p takes ``values[k][idx[k][p]]``.  Grid order is
    itertools.product's (the last field varies fastest)."""
    sizes = [len(getattr(cfg, f)) for f in GRID_ORDER]
    n = int(np.prod(sizes))
    pick = np.arange(n)
    if cfg.budget and cfg.budget < n:
        pick = np.sort(np.random.default_rng(cfg.seed).choice(n, cfg.budget, replace=False))
    return list(np.unravel_index(pick, sizes))


# the order of a grid point's fields (the AcceleratorConfig field each sets: dataflows sets
# dataflow)
GRID_ORDER = ("rows", "cols", "dataflows", "ifmap_kb", "filter_kb", "ofmap_kb")


def _config(cfg: DseConfig, idx: list[np.ndarray], p: int) -> AcceleratorConfig:
    """Grid point ``p`` as a validated AcceleratorConfig."""
    r, c, d, i, f, o = (getattr(cfg, name)[int(k[p])] for name, k in zip(GRID_ORDER, idx))
    return AcceleratorConfig.from_dict({**dict(cfg.base), "rows": int(r), "cols": int(c),
                                        "dataflow": d, "ifmap_kb": float(i),
                                        "filter_kb": float(f), "ofmap_kb": float(o)},
                                       where="dse.base")


def candidates(cfg: DseConfig) -> list[AcceleratorConfig]:
    """The grid (or a seeded sample of ``budget`` grid points) as validated configs."""
    idx = _grid_points(cfg)
    return [_config(cfg, idx, p) for p in range(len(idx[0]))]


def _grid_arrays(cfg: DseConfig, idx: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The grid points laid out as ``hwsim.accel.config_arrays`` lays out configs, shape (C,)
    here.  Every value is valid: DseConfig checked each grid value against AcceleratorConfig's
    ranges, and the base fields are validated here with the first point."""
    base = _config(cfg, idx, 0)
    fields = [f.name for f in dataclasses.fields(AcceleratorConfig) if f.name != "dataflow"]
    n = len(idx[0])
    out = {name: np.full(n, float(getattr(base, name))) for name in fields}
    for name, k in zip(GRID_ORDER, idx):
        if name == "dataflows":
            out["df"] = np.array([DATAFLOWS.index(d) for d in cfg.dataflows], dtype=np.float64)[k]
        else:
            out[name] = np.asarray(getattr(cfg, name), dtype=np.float64)[k]
    return out


def pareto_mask(points: np.ndarray, block: int = 512) -> np.ndarray:
    """Boolean mask of non-dominated rows (minimization in every column).  A row is
    dominated when another is <= in all objectives and < in at least one."""
    pts = np.asarray(points, dtype=np.float64)
    keep = np.zeros(len(pts), dtype=bool)
    if not len(pts):
        return keep
    # lexicographic order: a point can only be dominated by one before it, and a point
    # dominated by a dominated point is dominated by a point of the front (transitivity), so
    # each block of the sorted points is checked against the front before it and against
    # the block itself, vectorized: O(n * (|front| + block))
    order = np.lexsort(pts.T[::-1])
    srt = pts[order]
    front = srt[:0]

    def dominated_by(a: np.ndarray, b: np.ndarray) -> np.ndarray:   # b[i] dominated by some a
        le = (a[None, :, :] <= b[:, None, :]).all(axis=2)
        lt = (a[None, :, :] < b[:, None, :]).any(axis=2)
        return (le & lt).any(axis=1)
    for start in range(0, len(srt), block):
        rows = np.arange(start, min(start + block, len(srt)))
        if len(front):    # most points fall here: the block against the block is then small
            rows = rows[~dominated_by(front, srt[rows])]
        b = srt[rows]
        rows = rows[~dominated_by(b, b)]
        keep[order[rows]] = True
        front = np.concatenate([front, srt[rows]])
    return keep


def geomean(x: np.ndarray, axis: int = 0) -> np.ndarray:
    return np.exp(np.log(np.maximum(x, 1e-300)).mean(axis=axis))


def fastest(latency: np.ndarray, energy: np.ndarray, area: np.ndarray,
            allowed: np.ndarray) -> int:
    """Index of the lowest latency among ``allowed``, ties by energy, then area."""
    idx = np.flatnonzero(allowed)
    return int(idx[np.lexsort((area[idx], energy[idx], latency[idx]))[0]])


def _say_if_long(done: int, total: int, seconds: float, long_s: float, networks: int) -> None:
    """Warn once that pricing ``total`` configurations will take more than ``long_s`` seconds
    beyond the ``seconds`` the first ``done`` took (at that rate)."""
    rate = done / max(seconds, 1e-9)   # configurations per second
    left = (total - done) / rate       # s
    if left > long_s:
        shown = f"{left / 60:.0f} min" if left >= 90 else f"{left:.0f} s"
        log.warning("the DSE grid's %s configurations on %d network%s will take about %s more "
                    "at %s configurations/s here; --budget N prices a seeded sample of N "
                    "(Ctrl-C stops)", f"{total:,}", networks, "s" * (networks > 1), shown,
                    f"{rate:,.0f}")


def explore(workloads: Mapping[str, Sequence[Op]], cfg: DseConfig | None = None, *,
            progress: bool = False, long_s: float = LONG_DSE_S) -> dict:
    """Search the space for the networks in ``workloads`` (name -> ops).  ``progress``: a
    bar on stderr over the configurations priced, with its rate and time left (a
    million-point grid on resnet34 takes two minutes here, and said nothing).  Where the
    first chunk's rate says the rest will take more than ``long_s`` seconds, a warning says
    so once, with the rate and the option that prices a sample (the bar draws only on a
    terminal's refreshes; the line stays in a log).  A long grid is priced, not refused: a
    DSE of a large space is a run one starts knowingly, and the time depends on the
    networks' layers more than on the grid (MAX_GRID bounds the memory)."""
    cfg = cfg or DseConfig()
    if not workloads:
        raise ConfigError("explore needs at least one network workload")
    idx = _grid_points(cfg)
    grid = _grid_arrays(cfg, idx)
    names = list(workloads)
    layers = {n: layer_arrays(workloads[n]) for n in names}
    n_cfg = len(idx[0])
    lat, en = np.empty((len(names), n_cfg)), np.empty((len(names), n_cfg))
    area = np.empty(n_cfg)
    # in chunks of configurations: the cost model holds several (layers x configs) arrays,
    # which for a million-point grid and a deep network would take gigabytes at once
    step = max(1, EVAL_VALUES // max(len(layers[n]["macs"]) for n in names))
    bar = tqdm(total=n_cfg, desc="dse", unit="config", disable=not progress, leave=False,
               delay=PROGRESS_DELAY_S)
    began = time.perf_counter()
    for start in range(0, n_cfg, step):
        part = {k: v[None, start:start + step] for k, v in grid.items()}
        for i, n in enumerate(names):
            res = evaluate_arrays(layers[n], part)
            lat[i, start:start + step] = res["latency_ms"]              # (networks, configs), ms
            en[i, start:start + step] = res["energy_mj"]                # mJ
        area[start:start + step] = res["area_mm2"]                      # mm^2 (network-independent)
        bar.update(min(step, n_cfg - start))
        if start == 0 and step < n_cfg:   # the first chunk's rate: configurations per second
            _say_if_long(min(step, n_cfg), n_cfg, time.perf_counter() - began, long_s,
                         len(names))
    bar.close()
    g_lat, g_en = geomean(lat), geomean(en)
    front = np.flatnonzero(pareto_mask(np.stack([g_lat, g_en, area], axis=1)))
    fits = area <= cfg.area_budget_mm2
    if not fits.any():
        # of a sample (budget), the smallest sampled: budget 1 drew one 4.046 mm^2 point of
        # the default grid and read as if no configuration fitted 4 mm^2
        size = int(np.prod([len(getattr(cfg, f)) for f in GRID_ORDER]))
        # (a value error, with the field and value: the CLI names --area-budget where it was
        # typed; 'area_budget_mm2=0.001 is below ...' named the config's field, h252)
        if n_cfg < size:
            raise value_error("area_budget_mm2", cfg.area_budget_mm2,
                              f"must be at least the smallest area of the {n_cfg:,} "
                              f"configuration{'s' * (n_cfg > 1)} sampled (budget) of the "
                              f"grid's {size:,}, {area.min():.3f} mm^2 (or raise the budget)")
        raise value_error("area_budget_mm2", cfg.area_budget_mm2,
                          f"must be at least the smallest configuration's area, "
                          f"{area.min():.3f} mm^2")
    # max geomean performance; among equal latencies the least energy, then area (a point
    # of the Pareto set: argmin alone took the first in grid order, with any scratchpads)
    best = fastest(g_lat, g_en, area, fits)
    own = {n: fastest(lat[i], en[i], area, fits) for i, n in enumerate(names)}

    def row(i: int) -> dict:
        return {"config": _config(cfg, idx, i).to_dict(), "area_mm2": float(area[i]),
                "geomean_latency_ms": float(g_lat[i]), "geomean_energy_mj": float(g_en[i]),
                "latency_ms": {n: float(lat[k, i]) for k, n in enumerate(names)},
                "energy_mj": {n: float(en[k, i]) for k, n in enumerate(names)}}

    # tuned for network a, run on network b: latency relative to b's own best, >= 1
    cross = {a: {b: float(lat[kb, own[a]] / lat[kb, own[b]]) for kb, b in enumerate(names)}
             for a in names}
    out = {"networks": names, "evaluated": n_cfg, "budget": cfg.budget, "seed": cfg.seed,
           "area_budget_mm2": cfg.area_budget_mm2,
           "pareto": [row(i) for i in front],
           "best": row(best), "per_network_best": {n: row(i) for n, i in own.items()},
           "cross_slowdown": cross,
           "best_slowdown": {n: float(lat[k, best] / lat[k, own[n]]) for k, n in enumerate(names)}}
    # a pruned network is priced as its dense architecture (the array multiplies zeros): said
    # per network, as hwsim eval says it (a 75%-pruned mlp_small's figures were the dense one's)
    from hwsim import dense_note
    notes = {n: dense_note(workloads[n], "SPRING (nnsynth hwsim eval --spring)") for n in names}
    notes = {n: note for n, note in notes.items() if note}
    if notes:
        out["notes"] = notes
    return out
