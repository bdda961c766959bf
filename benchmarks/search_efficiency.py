"""Search efficiency on the cached architecture set used as a lookup table (no retraining):
trials each searcher needs to find an architecture within 0.5 points of the best in the set.

Searchers: SteerageSearcher (boosted trees), ChameleonSearcher (GP + EI), our RandomSearcher,
and Ray Tune's OptunaSearch (TPE).  Ours score every unevaluated member of the set with the
predictor (a finite candidate set, as on tabular NAS benchmarks).  Optuna proposes points of
the space (depth, per-layer width/kernel/stride, pool, hidden); each is snapped to the
nearest unevaluated member of the set (L1 distance in the space encoding).  All run the
Searcher API (suggest / on_trial_complete) without a Ray cluster, in batches of 4.

    python benchmarks/search_efficiency.py --seeds 10
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from common import write_result  # noqa: E402
from search.costs import CostModel
from search.searchers import ChameleonSearcher, RandomSearcher, SteerageSearcher
from search.space import load_space, spec_key

SET = Path(__file__).parent / "data" / "convnet_archs.parquet"
OUT = Path(__file__).parent / "results" / "search_efficiency.md"
BATCH = 4


def run_ours(cls, space, specs, table, target, seed, **kw) -> int:
    costs = CostModel((1, 8, 8), 10)
    for s in specs:
        costs.prime(s, {"parameters": table[spec_key(s)][1], "flops": table[spec_key(s)][2]})
    searcher = cls(space, batch_size=BATCH, n_initial=10, candidates=specs, cost_model=costs,
                   cost_features=True, seed=seed, **kw)
    n = 0
    while True:
        batch = []
        for _ in range(BATCH):
            s = searcher.suggest(f"t{n + len(batch)}")
            if s is None or s == "FINISHED":
                break
            batch.append((f"t{n + len(batch)}", s["spec"]))
        if not batch:
            return n
        for tid, key in batch:  # the whole batch completes before the next proposal
            n += 1
            searcher.on_trial_complete(tid, {"accuracy": table[key][0]})
        if max(table[k][0] for _, k in batch) >= target:
            return n - len(batch) + 1 + next(i for i, (_, k) in enumerate(batch)
                                             if table[k][0] >= target)


def optuna_space(trial):
    depth = trial.suggest_int("depth", 1, 4)
    for i in range(depth):
        trial.suggest_categorical(f"w{i}", [4, 8, 16, 32, 64])
        trial.suggest_categorical(f"k{i}", [1, 3, 5])
        trial.suggest_categorical(f"s{i}", [1, 2])
    trial.suggest_categorical("pool", ["avg", "max", "flatten"])
    trial.suggest_categorical("hidden", [0, 32, 64])


def run_optuna(space, specs, table, target, seed) -> int:
    from ray.tune.search.optuna import OptunaSearch
    searcher = OptunaSearch(space=optuna_space, metric="accuracy", mode="max", seed=seed)
    enc = space.encode(specs)
    left = np.ones(len(specs), dtype=bool)
    n = 0
    while left.any():
        batch = []
        for _ in range(min(BATCH, int(left.sum()))):
            cfg = searcher.suggest(f"t{n + len(batch)}")
            d = cfg["depth"]
            spec = space.complete({"widths": [cfg[f"w{i}"] for i in range(d)],
                                   "kernels": [cfg[f"k{i}"] for i in range(d)],
                                   "strides": [cfg[f"s{i}"] for i in range(d)],
                                   "pool": cfg["pool"],
                                   "hidden": [cfg["hidden"]] if cfg["hidden"] else []})
            dist = np.abs(enc - space.encode([spec])).sum(axis=1)
            dist[~left] = np.inf
            i = int(np.argmin(dist))
            left[i] = False
            batch.append((f"t{n + len(batch)}", spec_key(specs[i])))
        for tid, key in batch:
            n += 1
            searcher.on_trial_complete(tid, {"accuracy": table[key][0]})
        if max(table[k][0] for _, k in batch) >= target:
            return n - len(batch) + 1 + next(i for i, (_, k) in enumerate(batch)
                                             if table[k][0] >= target)
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--tolerance", type=float, default=0.005)  # 0.5 points
    args = ap.parse_args()
    logging.getLogger("optuna").setLevel(logging.WARNING)
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = pq.read_table(SET).to_pylist()
    space = load_space("convnet")
    specs = [json.loads(r["spec"]) for r in rows]
    table = {r["spec"]: (r["accuracy"], r["parameters"], r["flops"]) for r in rows}
    best = max(v[0] for v in table.values())
    target = best - args.tolerance
    hits = sum(v[0] >= target for v in table.values())
    runners = {
        "steerage (xgboost)": lambda s: run_ours(SteerageSearcher, space, specs, table, target, s),
        "chameleon (GP+EI)": lambda s: run_ours(ChameleonSearcher, space, specs, table, target, s),
        "random (ours)": lambda s: run_ours(RandomSearcher, space, specs, table, target, s),
        "OptunaSearch TPE (Ray Tune)": lambda s: run_optuna(space, specs, table, target, s),
    }
    trials, seconds = {}, {}
    for name, fn in runners.items():
        for seed in range(args.seeds):
            start = time.perf_counter()
            trials.setdefault(name, []).append(fn(seed))
            seconds.setdefault(name, []).append(time.perf_counter() - start)
        print(name, trials[name], flush=True)
    rand = float(np.median(trials["random (ours)"]))
    expected = (len(rows) + 1) / (hits + 1)  # mean draws without replacement to a first hit
    lines = ["# Search efficiency on the cached set (lookup table, no retraining)", "",
             f"{len(rows)} convnets trained briefly on digits; best accuracy {best:.4f}; "
             f"target >= {target:.4f} (within {args.tolerance * 100:.1f} points): {hits} "
             f"architectures qualify, so uniform random search needs {expected:.1f} trials on "
             f"average.  Batches of {BATCH}; {args.seeds} seeds.", "",
             "| searcher | median trials | mean | min-max | vs random (median) | s per run |",
             "|---|---|---|---|---|---|"]
    for name, t in trials.items():
        lines.append(f"| {name} | {np.median(t):.1f} | {np.mean(t):.1f} | {min(t)}-{max(t)} | "
                     f"{rand / np.median(t):.2f}x fewer | {np.mean(seconds[name]):.1f} |")
    lines += ["", "Per-seed trials: " + "; ".join(f"{k}: {v}" for k, v in trials.items()), "",
              f"Command: `python benchmarks/search_efficiency.py --seeds {args.seeds}`"]
    write_result(OUT, lines)


if __name__ == "__main__":
    main()
