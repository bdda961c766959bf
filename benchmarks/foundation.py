"""Foundation benchmark: teacher quality and training time on the bundled data.

Trains the MNIST teacher (lenet5_bn on mnist5k) and small models on digits and the
tabular sets exactly as `nnsynth train` does, and prints one table.

    python benchmarks/foundation.py            # ~1-2 minutes on 2 CPU cores
    python benchmarks/foundation.py --runs digits/convnet_small --epochs 2 --out /tmp/f.md
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

from common import command_line, write_result, run_main  # noqa: E402
from synth.data import load_dataset
from synth.models import build, count_flops, count_parameters
from synth.train import TrainConfig, fit

RUNS = [  # (data set, model, epochs, target test accuracy from the issue)
    ("mnist5k", "lenet5_bn", 15, 0.97),
    ("mnist5k", "lenet300_100", 15, None),
    ("digits", "convnet_small", 20, 0.95),
    ("digits", "convnet_digits", 15, 0.95),
    ("iris", "mlp_small", 60, None),
    ("wine", "mlp_small", 60, None),
    ("breast_cancer", "mlp_small", 60, None),
]


NAMES = [f"{dataset}/{model}" for dataset, model, _, _ in RUNS]


def parse(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default=",".join(NAMES),
                    help="comma-separated DATASET/MODEL rows (default: all)")
    ap.add_argument("--epochs", type=int, default=None,
                    help="epochs of every row instead of its own")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="foundation.md",
                    help="results file (a name under benchmarks/results/ or a path)")
    args = ap.parse_args(argv)
    unknown = [r for r in args.runs.split(",") if r not in NAMES]
    if unknown:
        ap.error(f"unknown --runs {','.join(unknown)}; known: {', '.join(NAMES)}")
    if args.epochs is not None and args.epochs < 1:
        ap.error(f"--epochs must be >= 1, got {args.epochs}")
    if args.threads < 1:
        ap.error(f"--threads must be >= 1, got {args.threads}")
    return args


def main(argv=None) -> int:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    chosen = args.runs.split(",")
    rows = []
    for dataset, model_name, epochs, target in RUNS:
        if f"{dataset}/{model_name}" not in chosen:
            continue
        epochs = args.epochs or epochs
        data = load_dataset(dataset, seed=0)
        torch.manual_seed(0)
        model = build(model_name, data.input_shape, data.num_classes)
        start = time.perf_counter()
        metrics = fit(model, data, TrainConfig(epochs=epochs, seed=0, progress=False))
        seconds = time.perf_counter() - start
        ok = "" if target is None else ("yes" if metrics["test_accuracy"] >= target else "NO")
        rows.append((dataset, model_name, epochs, count_parameters(model),
                     count_flops(model, data.input_shape), metrics["test_accuracy"], seconds,
                     "" if target is None else f">= {target:.0%}", ok))
    header = "| data set | model | epochs | params | MACs | test acc | train s | target | met |"
    lines = [header, "|" + "---|" * 9]
    for r in rows:
        lines.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:,} | {r[4]:,} | {r[5]:.2%} | "
                     f"{r[6]:.1f} | {r[7]} | {r[8]} |")
    write_result(args.out, [f"{command_line()} ({args.threads} CPU threads, seed 0, "
                            "test split = 20% stratified).", ""] + lines,
                 "# Foundation benchmark")
    return 0


if __name__ == "__main__":
    sys.exit(run_main(main))
