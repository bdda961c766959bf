"""Kendall tau of the accuracy predictors on held-out architectures of the cached set.

For each training size n (25, 50, 100) and each split seed, fit on n architectures and rank
the 100 held out (the same held-out set for every n within a seed).  Features: the space
encoding; the encoding plus log10 parameters and FLOPs ("+costs"); and what the searchers
use, ``Space.features`` (encoding + per-list summaries: log2 product, min, max, last) plus
costs, fitted on the logit of accuracy (``accuracy_logit``).  The peer is the
zero-cost proxy "more parameters = more accurate" (tau of log parameters vs accuracy).

    python benchmarks/search_predictors.py --seeds 10
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from search.predictors import BoostedTreesPredictor, GPPredictor, accuracy_logit, kendall_tau
from search.space import load_space
from common import command_line, run_main, write_result

SET = Path(__file__).parent / "data" / "convnet_archs.parquet"
OUT = Path(__file__).parent / "results" / "search_predictors.md"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--sizes", default="25,50,100")
    ap.add_argument("--held-out", type=int, default=100)
    ap.add_argument("--out", default=str(OUT),
                    help="results file (a name under benchmarks/results/ or a path)")
    args = ap.parse_args()
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
    except ValueError:
        ap.error(f"--sizes: comma-separated integers expected, got {args.sizes!r}")
    rows = pq.read_table(SET).to_pylist()
    if args.seeds < 1 or args.held_out < 2 or min(sizes) < 2:
        ap.error(f"--seeds must be >= 1, --held-out and --sizes >= 2; got {args.seeds}, "
                 f"{args.held_out}, {args.sizes}")
    if args.held_out + max(sizes) > len(rows):
        ap.error(f"--held-out {args.held_out} + the largest of --sizes {max(sizes)} exceeds the "
                 f"{len(rows)} architectures of {SET.name}")
    space = load_space("convnet")
    specs = [json.loads(r["spec"]) for r in rows]
    costs = np.log10([[r["parameters"], r["flops"]] for r in rows])
    y = np.array([r["accuracy"] for r in rows])
    # (features, target): the searchers use the last one (space.features + costs, logit)
    variants = {("encoding", "accuracy"): (space.encode(specs), y),
                ("+costs", "accuracy"): (np.hstack([space.encode(specs), costs]), y),
                ("+summaries+costs", "logit"): (np.hstack([space.features(specs), costs]),
                                                accuracy_logit(y))}
    results: dict[tuple, list[float]] = {}
    seconds: dict[str, list[float]] = {}
    for seed in range(args.seeds):
        order = np.random.default_rng(seed).permutation(len(rows))
        test, pool = order[:args.held_out], order[args.held_out:]
        results.setdefault(("params proxy", "-", 0), []).append(kendall_tau(costs[test, 0], y[test]))
        for n in sizes:
            train = pool[:n]
            for (feats, target), (x, y_fit) in variants.items():
                for name, make in (("xgboost", BoostedTreesPredictor), ("gp", GPPredictor)):
                    start = time.perf_counter()
                    pred = make().fit(x[train], y_fit[train]).predict(x[test])
                    seconds.setdefault(name, []).append(time.perf_counter() - start)
                    results.setdefault((name, f"{feats} / {target}", n), []).append(
                        kendall_tau(pred, y[test]))
            print(f"seed {seed} n={n} done", flush=True)
    proxy = float(np.mean(results[("params proxy", "-", 0)]))
    lines = [f"# Accuracy predictors: Kendall tau on {args.held_out} held-out architectures",
             "", f"Cached set: {len(rows)} convnets (space `convnet`) trained 10 epochs on digits "
             f"(benchmarks/search_arch_set.py); accuracy on val+test (504 images). "
             f"Mean ± std over {args.seeds} random splits.", "",
             "| predictor | features / fitted target | train archs | Kendall tau | vs params proxy |",
             "|---|---|---|---|---|",
             f"| params proxy (peer) | log10 parameters | 0 | {proxy:.3f} | 1.00x |"]
    for (name, feats, n), taus in results.items():
        if name == "params proxy":
            continue
        lines.append(f"| {name} | {feats} | {n} | {np.mean(taus):.3f} ± {np.std(taus):.3f} | "
                     f"{np.mean(taus) / proxy:.2f}x |")
    lines += ["", "Fit + predict seconds (mean, this machine, 1 thread): " + ", ".join(
        f"{k} {np.mean(v):.2f}" for k, v in seconds.items()), "",
        command_line()]
    write_result(args.out, lines)


if __name__ == "__main__":
    run_main(main)
