"""Throughput of the sharded hwsim pool: 1 vs 2 actors, and the cost of a cached repeat.

Each round prices the same batch of distinct candidates (small ResNets or LeNet-5s of
different widths) on a new pool of 1 and of 2 shards, alternating, after the actors are
warm (started, torch imported); a class count unique to each run keeps caches cold.  Reported: candidates/s per pool size (median over rounds),
their ratio (target >= 1.6x on this 2-CPU machine), and the latency of a repeated candidate
from the driver cache and from the actor's cache (driver cache cleared).

    python benchmarks/hwsim_pool.py [--candidates 24] [--rounds 3] [--family resnet|lenet5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cluster.connect import connect  # noqa: E402
from cluster.hwsim_pool import HwsimPool  # noqa: E402
from common import write_result, run_main  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "hwsim_pool.md"


def specs(n: int, offset: int, family: str = "lenet5") -> list[dict]:
    """n distinct candidate specs (widths vary with the index): LeNet-5 or small ResNets."""
    out = []
    for i in range(offset, offset + n):
        if family == "lenet5":
            out.append({"family": "lenet5", "channels": [4 + i % 7, 8 + (i // 7) % 9],
                        "hidden": [60 + i, 84], "bn": bool(i % 2)})
        else:
            out.append({"family": "resnet", "depths": [1 + i % 2, 1, 1], "width": 16 + i % 24})
    return out


def throughput(shards: int, batch: list[dict], tag: str, shape, classes: int):
    """(candidates per wall second, CPU seconds of each shard for the batch)."""
    pool = HwsimPool(shards, name_prefix=f"bench-{tag}-{shards}-")
    pool.stats()                                            # wait until the actors are up
    pool.price_specs(specs(2, 10_000 + shards), (1, 28, 28), 10)   # warm: imports, first build
    cpu0 = [s["cpu_s"] for s in pool.stats()]
    t0 = time.perf_counter()
    res = pool.price_specs(batch, shape, classes)
    secs = time.perf_counter() - t0
    assert not any("error" in r for r in res), res
    cpu = [s["cpu_s"] - c for s, c in zip(pool.stats(), cpu0)]
    pool.shutdown()
    return len(batch) / secs, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--candidates", type=int, default=24)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--family", choices=("lenet5", "resnet"), default="resnet")
    ap.add_argument("--out", default=str(RESULTS),
                    help="results file (a name under benchmarks/results/ or a path)")
    args = ap.parse_args()
    for name in ("candidates", "rounds"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    connect(num_cpus=2)
    shape = (1, 28, 28) if args.family == "lenet5" else (3, 32, 32)
    rates = {1: [], 2: []}
    cpu = {1: [], 2: []}
    for r in range(args.rounds):
        for shards in ((1, 2) if r % 2 == 0 else (2, 1)):
            # the same candidates for both pool sizes (equal work); a fresh class count per run
            # makes every key new, so nothing comes from a cache
            batch = specs(args.candidates, 0, args.family)
            classes = 10 + 2 * r + shards
            rate, shard_cpu = throughput(shards, batch, f"r{r}", shape, classes)
            rates[shards].append(rate)
            cpu[shards].append(shard_cpu)
            print(f"round {r}: {shards} shard(s) {rate:.2f} candidates/s, shard CPU s "
                  f"{[round(c, 2) for c in shard_cpu]}", flush=True)
    pool = HwsimPool(2, name_prefix="bench-cache-")
    one = specs(1, 0)
    pool.price_specs(one, (1, 28, 28), 10)
    driver, actor = [], []
    for _ in range(20):
        t0 = time.perf_counter()
        pool.price_specs(one, (1, 28, 28), 10)
        driver.append((time.perf_counter() - t0) * 1e3)
        pool.cache.clear()
        t0 = time.perf_counter()
        pool.price_specs(one, (1, 28, 28), 10)
        actor.append((time.perf_counter() - t0) * 1e3)
    stats = pool.stats()
    pool.shutdown()
    m1, m2 = statistics.median(rates[1]), statistics.median(rates[2])
    paired = [b / a for a, b in zip(rates[1], rates[2])]
    # with one free core per actor a batch takes max(shard CPU) instead of sum(shard CPU)
    ideal = [sum(c) / max(c) for c in cpu[2]]
    cpu_per_cand = statistics.median(sum(c) / args.candidates for c in cpu[1] + cpu[2])
    lines = ["# hwsim pool: 1 vs 2 actors, cached repeats", "",
             f"Command: `python benchmarks/hwsim_pool.py --candidates {args.candidates} "
             f"--rounds {args.rounds} --family {args.family}`; local Ray, 2 CPUs, actors of 0.5 CPU",
             "and 1 torch thread; each candidate = build + workload extraction + accelerator",
             f"pricing of a distinct {args.family} spec (input {shape}).",
             f"Machine load average at the end: {os.getloadavg()[0]:.1f} (shared with other jobs).",
             "", "| pool | candidates/s (median) | per round | ratio |", "|---|---|---|---|",
             f"| 1 actor | {m1:.2f} | {', '.join(f'{v:.2f}' for v in rates[1])} | 1.00x |",
             f"| 2 actors | {m2:.2f} | {', '.join(f'{v:.2f}' for v in rates[2])} | {m2 / m1:.2f}x |",
             "", f"Per-round paired ratios (2 / 1): {', '.join(f'{v:.2f}' for v in paired)} "
             f"(median {statistics.median(paired):.2f}x).  CPU per candidate in the actor: "
             f"{cpu_per_cand * 1e3:.1f} ms (median).  Split of the 2-actor batches by actor CPU "
             f"time: sum/max = {', '.join(f'{v:.2f}' for v in ideal)}, the speedup two free "
             "cores would give.",
             "", "| cached repeat of one candidate | median ms | max ms |", "|---|---|---|",
             f"| driver cache | {statistics.median(driver):.4f} | {max(driver):.4f} |",
             f"| actor cache (Ray round trip) | {statistics.median(actor):.3f} | {max(actor):.3f} |",
             "", f"Actor stats after the cache test: {stats}"]
    write_result(args.out, lines)


if __name__ == "__main__":
    run_main(main)
