"""SCANN on iris, wine, breast_cancer and digits: connections and accuracy per scheme against a
dense MLP (64-32) trained on the original features, and the geometric-mean reduction.

Each scheme reduces the features by PCA to half (``synth.scann``), shrinks the hidden widths by
the same ratio, then grows and prunes (scheme A: from a small seed with neuron growth; B: fixed
MLP, prune/regrow cycles; C: sparse seed).  A run may lose at most 2 points of *validation*
accuracy; test accuracy is reported as measured (the test splits have 30-360 samples).

    python benchmarks/scann.py            # ~5-10 minutes on 2 CPU cores
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from synth.data import load_dataset
from common import write_result
from synth.scann import ScannConfig, geometric_mean, run_scann

DATASETS = ("iris", "wine", "breast_cancer", "digits")
RESULTS = Path(__file__).parent / "results" / "scann.md"


def main(argv):
    torch.set_num_threads(int(argv[1]) if len(argv) > 1 else 2)
    lines = ["# SCANN vs dense MLP baseline", "",
             "Command: `python benchmarks/scann.py` (CPU, seed 0, PCA to 50% of the features, "
             "base MLP 64-32 shrunk by the compression ratio)", "",
             "| data set | features | scheme | hidden | baseline conn. | baseline test acc | "
             "SCANN conn. | SCANN test acc | reduction | seconds |", "|---|---|---|---|---|---|---|---|---|---|"]
    reductions = {s: [] for s in "ABC"}
    best = []
    for name in DATASETS:
        data = load_dataset(name, seed=0)
        rows = []
        for scheme in "ABC":
            t = time.perf_counter()
            r = run_scann(data, ScannConfig(scheme=scheme, device="cpu"))
            sec = time.perf_counter() - t
            rows.append(r)
            reductions[scheme].append(r["reduction"])
            lines.append(f"| {name} | {r['features']} -> {r['reduced_features']} | {scheme} | "
                         f"{r['hidden']} | {r['baseline_connections']:,} | "
                         f"{r['baseline_test_accuracy']:.2%} | {r['connections']:,} | "
                         f"{r['test_accuracy']:.2%} | {r['reduction']:.1f}x | {sec:.0f} |")
            print(lines[-1], flush=True)
        ok = [r for r in rows if r["test_accuracy"] >= r["baseline_test_accuracy"] - 0.02] or rows
        best.append(max(ok, key=lambda r: r["reduction"]))
    lines += ["", "Geometric-mean reduction per scheme: " + ", ".join(
        f"{s}: {geometric_mean(v):.1f}x" for s, v in reductions.items()),
        "", "Best scheme per data set (largest reduction within 2 test points of the baseline, "
        "else the largest): " + ", ".join(
            f"{r['dataset']} {r['scheme']} {r['reduction']:.1f}x ({r['test_accuracy']:.2%} vs "
            f"{r['baseline_test_accuracy']:.2%})" for r in best)
        + f"; geometric mean {geometric_mean([r['reduction'] for r in best]):.1f}x "
          f"(paper: 82.1x over nine data sets)", ""]
    text = "\n".join(lines)
    write_result(RESULTS, text)


if __name__ == "__main__":
    main(sys.argv)
