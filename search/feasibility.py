"""What a searcher learns from trials whose measured model is outside the constraints.

A searcher checks its constraints on the architecture it proposes, priced by ``CostModel``
before any training.  A trial may measure another model: grow-and-prune
(``SearchConfig.grow_prune``) shrinks the proposal after it was checked, so a
'parameters>=20000' search proposed an mlp of 21,379 parameters and measured the 14,116 of
the model it was pruned to.  The summary refuses such a trial's model, but the searcher took
its accuracy as a plain observation (often a good one: a small pruned model keeps most of its
accuracy) and went on proposing its neighbours.  Now a trial's reported figures are checked
against the constraints, and what fails is learned in two ways, as constrained optimizers do:

1. **The observation** (every searcher with a predictor): Deb's feasibility rule (K. Deb, "An
   efficient constraint handling method for genetic algorithms", CMAME 186, 2000, Sec. 3): a
   feasible solution beats every infeasible one, and of two infeasible ones the one with less
   violation is better.  The predictor is fitted on an infeasible trial with a value below
   every feasible one, ordered by violation (``penalized``), so the acquisition and the
   evolution's seeds move away from it; this needs no cost model and holds for any objective
   told infeasible (``tell(..., figures=...)``).
2. **The costs** (every searcher, random search included): each trial that reports a
   constrained metric gives a pair (priced figure of the proposal, measured figure of the
   model).  log(measured) is fitted as a line in log(priced) (one pair: a ratio), and a
   candidate is masked when its priced figure, moved by that fit and by the largest
   favourable residual seen, still breaks a bound (``ok_many``): no trial so far shrank
   (or grew) that little.  The constraint is modelled as a function learned from the trials
   (Gardner et al., "Bayesian optimization with inequality constraints", ICML 2014, Sec. 3),
   here of the one input it depends on most, the priced cost the searcher already computes.

Why both, and not a feasibility classifier on the architecture features (Gelbart et al.,
UAI 2014): a classifier learns a region only from several infeasible trials in it, and needs
a second model in every searcher, random search too; the measured figures carry more than a
feasible bit, and one pair of them already moves the effective bound for every architecture
of the same priced cost.  The penalty alone left random search proposing the region, and a
guided search its untried members until the predictor had seen several of them.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from search.space import Constraint

_COMPARE = {"<=": np.less_equal, "<": np.less, ">=": np.greater_equal, ">": np.greater}


def figure(value) -> float | None:
    """A reported figure as a finite float, or None (absent, None, NaN, not a number)."""
    if value is None or isinstance(value, (bool, np.bool_, str, bytes)):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


# The live counts of a grown-and-pruned model: its zero weights are the connections
# grow-and-prune cut (masked, or left in a compacted layer), which a 'parameters' bound of a
# pruning search is about (the paper's parameter counts are of the connections kept); a trial
# reports both (search.trial: parameters, nonzero_parameters, flops, nonzero_flops)
LIVE_FIGURES = {"parameters": "nonzero_parameters", "flops": "nonzero_flops"}


def grow_pruned(row, default: bool = False) -> bool:
    """Whether a trial's result or results row (``grow_pruned``) measured a grown-and-pruned
    model; ``default`` where it does not say (a table written before the column: whether
    the search pruned)."""
    value = row.get("grow_pruned")
    try:
        return bool(default) if value is None or bool(value != value) else bool(value)
    except TypeError:   # pandas' NA
        return bool(default)


def measured_figures(row, pruned: bool = False) -> dict:
    """A trial's cost figures (``COST_METRICS``) as its constraints read them: for a
    grown-and-pruned model (``grow_pruned``; ``pruned`` where the row does not say) the
    nonzero parameters and MACs it kept (``LIVE_FIGURES``), else the dense counts.  A
    'parameters>=20000' search with grow_prune checked the dense 21,379 of a compacted model
    that pruning had left 5,000-odd nonzero weights, and kept it.  A figure not reported is
    None."""
    from search.space import COST_METRICS
    live = grow_pruned(row, pruned)
    return {m: figure(row.get(LIVE_FIGURES.get(m, m) if live else m)) for m in COST_METRICS}


def violation(constraints: Sequence[Constraint], figures: dict) -> float:
    """How far ``figures`` are outside ``constraints``: the sum of each failed bound's
    relative distance (0: within every one, or not measured); Deb (2000)'s constraint
    violation, each bound normalized by its value."""
    total = 0.0
    for c in constraints:
        v = figure(figures.get(c.metric))
        if v is None or c.ok({c.metric: v}):
            continue
        # a strict bound met with equality is still outside it: never 0
        total += max(abs(v - c.value) / max(abs(c.value), 1e-12), 1e-9)
    return total


def penalized(y: np.ndarray, violations: Sequence[float]) -> np.ndarray:
    """Fitting targets for infeasible observations (Deb's rule): each below the lowest of
    the feasible targets ``y`` (maximized) by one to two spans of ``y``, more for more
    violation; with no feasible target, minus the violation's monotone image."""
    v = np.asarray(violations, dtype=float)
    order = v / (1.0 + v)                      # in (0, 1), increasing in the violation
    if not len(y):
        return -order
    span = float(np.ptp(y)) if len(y) > 1 and np.ptp(y) > 0 else 1.0
    return float(np.min(y)) - span * (1.0 + order)


def fit_log_line(pairs: Sequence[tuple[float, float]]) -> tuple[float, float, float, float]:
    """(slope, intercept, lowest residual, highest residual) of log(measured) on
    log(priced) over ``pairs`` (priced, measured), both > 0.  Fewer than 3 pairs, or priced
    figures that do not spread, give slope 1 (a ratio)."""
    p = np.log([a for a, _ in pairs])
    q = np.log([b for _, b in pairs])
    slope = 1.0
    if len(p) >= 3 and np.ptp(p) > 0.1:
        slope = float(np.polyfit(p, q, 1)[0])
        slope = slope if math.isfinite(slope) and slope > 0 else 1.0
    intercept = float(np.mean(q - slope * p))
    residual = q - slope * p - intercept
    return slope, intercept, float(residual.min()), float(residual.max())


def ok_many(constraints: Sequence[Constraint], pairs: dict[str, list], priced: dict) -> np.ndarray:
    """Which candidates, of priced figures ``priced`` (metric -> array), may meet every
    constraint once measured, given the (priced, measured) ``pairs`` of the trials so far: a
    candidate is out when even the most favourable residual seen leaves its predicted figure
    outside a bound.  Metrics without pairs are not judged here (the priced check is)."""
    n = len(next(iter(priced.values()))) if priced else 0
    ok = np.ones(n, dtype=bool)
    for c in constraints:
        seen = pairs.get(c.metric)
        values = priced.get(c.metric)
        if not seen or values is None:
            continue
        slope, intercept, low, high = fit_log_line(seen)
        values = np.asarray(values, dtype=float)
        known = np.isfinite(values) & (values > 0)
        best = high if c.op[0] == ">" else low   # the residual that helps this bound most
        predicted = np.exp(slope * np.log(np.where(known, values, 1.0)) + intercept + best)
        # the residual's own rounding aside: a trial's own priced figure predicts its measured
        # one exactly, and a candidate of the same cost as a feasible trial stays in
        predicted = predicted * (1.0 + 1e-9 if c.op[0] == ">" else 1.0 - 1e-9)
        meets = _COMPARE[c.op](predicted, c.value)
        ok &= meets | ~known
    return ok
