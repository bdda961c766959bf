"""Application-driven design-space exploration (arXiv 1903.07676).

The accelerator's parameters (array rows and columns, dataflow, the three scratchpad sizes)
are searched for one or several target networks at once.  Every configuration is priced
on every network with the vectorized model (``hwsim.accel.evaluate_many``), so the whole
grid -- or a seeded random sample of ``budget`` points from it -- costs milliseconds.

Returned: the Pareto set over (latency, energy, area) -- for several networks, latency and
energy are geometric means across networks -- and the single best configuration by
geometric-mean performance across networks (performance = 1 / latency) within an area
budget, as the paper chooses one accelerator for many DNNs.  Each network's own best
configuration is reported too, with the cross-network matrix "tuned for A, run on B".
"""
from __future__ import annotations

import dataclasses
import itertools
from typing import Mapping, Sequence

import numpy as np

from synth.config import Config, check_range, check_seed, short_repr
from synth.errors import ConfigError
from hwsim.accel import DATAFLOWS, MAX_ARRAY_DIM, MAX_SCRATCHPAD_KB, AcceleratorConfig, evaluate_many
from hwsim.workload import Op


MAX_GRID = 1_000_000   # configurations in one DSE grid (the default grid has 5,184)


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
        for name, value in dict(self.base).items():   # candidates() sets these per grid point
            grid = "dataflows" if name == "dataflow" else name
            if grid in GRID_FIELDS:
                raise ConfigError(f"base.{name} is set by the grid ({grid}); give it as "
                                  f"{grid}: [{short_repr(value)}] instead")
        bad = [d for d in self.dataflows if d not in DATAFLOWS]
        if bad:
            raise ConfigError(f"dataflows must be among {', '.join(DATAFLOWS)}, got {short_repr(bad[0])}")
        check_range("budget", self.budget, 0, 10_000_000, integer=True)
        check_range("area_budget_mm2", self.area_budget_mm2, 0, 1e6, low_open=True)
        check_seed("seed", self.seed)


def candidates(cfg: DseConfig) -> list[AcceleratorConfig]:
    """The grid (or a seeded sample of ``budget`` grid points) as validated configs."""
    grid = list(itertools.product(cfg.rows, cfg.cols, cfg.dataflows, cfg.ifmap_kb,
                                  cfg.filter_kb, cfg.ofmap_kb))
    if cfg.budget and cfg.budget < len(grid):
        pick = np.random.default_rng(cfg.seed).choice(len(grid), cfg.budget, replace=False)
        grid = [grid[i] for i in sorted(pick)]
    base = dict(cfg.base)
    return [AcceleratorConfig.from_dict({**base, "rows": int(r), "cols": int(c), "dataflow": d,
                                         "ifmap_kb": float(i), "filter_kb": float(f),
                                         "ofmap_kb": float(o)}, where="dse")
            for r, c, d, i, f, o in grid]


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """Boolean mask of non-dominated rows (minimization in every column).  A row is
    dominated when another is <= in all objectives and < in at least one."""
    pts = np.asarray(points, dtype=np.float64)
    keep = np.zeros(len(pts), dtype=bool)
    # lexicographic order: a point can only be dominated by one before it, so one pass
    # against the running front suffices: O(n * |front|)
    order = np.lexsort(pts.T[::-1])
    front: list[int] = []
    for i in order:
        if front:
            f = pts[front]
            if ((f <= pts[i]).all(axis=1) & (f < pts[i]).any(axis=1)).any():
                continue
        keep[i] = True
        front.append(i)
    return keep


def geomean(x: np.ndarray, axis: int = 0) -> np.ndarray:
    return np.exp(np.log(np.maximum(x, 1e-300)).mean(axis=axis))


def fastest(latency: np.ndarray, energy: np.ndarray, area: np.ndarray,
            allowed: np.ndarray) -> int:
    """Index of the lowest latency among ``allowed``, ties by energy, then area."""
    idx = np.flatnonzero(allowed)
    return int(idx[np.lexsort((area[idx], energy[idx], latency[idx]))[0]])


def explore(workloads: Mapping[str, Sequence[Op]], cfg: DseConfig | None = None) -> dict:
    """Search the space for the networks in ``workloads`` (name -> ops)."""
    cfg = cfg or DseConfig()
    if not workloads:
        raise ConfigError("explore needs at least one network workload")
    configs = candidates(cfg)
    names = list(workloads)
    per = {n: evaluate_many(workloads[n], configs) for n in names}
    lat = np.stack([per[n]["latency_ms"] for n in names])           # (networks, configs), ms
    en = np.stack([per[n]["energy_mj"] for n in names])             # mJ
    area = per[names[0]]["area_mm2"]                                # mm^2 (network-independent)
    g_lat, g_en = geomean(lat), geomean(en)
    front = np.flatnonzero(pareto_mask(np.stack([g_lat, g_en, area], axis=1)))
    fits = area <= cfg.area_budget_mm2
    if not fits.any():
        raise ConfigError(f"area_budget_mm2={cfg.area_budget_mm2} is below the smallest "
                          f"configuration's area {area.min():.3f} mm^2")
    # max geomean performance; among equal latencies the least energy, then area (a point
    # of the Pareto set: argmin alone took the first in grid order, with any scratchpads)
    best = fastest(g_lat, g_en, area, fits)
    own = {n: fastest(lat[i], en[i], area, fits) for i, n in enumerate(names)}

    def row(i: int) -> dict:
        return {"config": configs[i].to_dict(), "area_mm2": float(area[i]),
                "geomean_latency_ms": float(g_lat[i]), "geomean_energy_mj": float(g_en[i]),
                "latency_ms": {n: float(lat[k, i]) for k, n in enumerate(names)},
                "energy_mj": {n: float(en[k, i]) for k, n in enumerate(names)}}

    # tuned for network a, run on network b: latency relative to b's own best, >= 1
    cross = {a: {b: float(lat[kb, own[a]] / lat[kb, own[b]]) for kb, b in enumerate(names)}
             for a in names}
    return {"networks": names, "evaluated": len(configs), "area_budget_mm2": cfg.area_budget_mm2,
            "pareto": [row(i) for i in front],
            "best": row(best), "per_network_best": {n: row(i) for n, i in own.items()},
            "cross_slowdown": cross,
            "best_slowdown": {n: float(lat[k, best] / lat[k, own[n]]) for k, n in enumerate(names)}}
