"""Foundation benchmark: teacher quality and training time on the bundled data.

Trains the MNIST teacher (lenet5_bn on mnist5k) and small models on digits and the
tabular sets exactly as `nnsynth train` does, and prints one table.

    python benchmarks/foundation.py            # ~1-2 minutes on 2 CPU cores
"""
from __future__ import annotations

import sys
import time

import torch

from common import write_result  # noqa: E402
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


def main() -> None:
    torch.set_num_threads(2)
    rows = []
    for dataset, model_name, epochs, target in RUNS:
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
    write_result("foundation.md", ["Command: `python benchmarks/foundation.py` (2 CPU threads, "
                                   "seed 0, test split = 20% stratified).", ""] + lines,
                 "# Foundation benchmark")
    return 0


if __name__ == "__main__":
    sys.exit(main())
