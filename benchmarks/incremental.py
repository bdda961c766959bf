"""Incremental learning by grow-and-prune on mnist5k split into old (70%) and new (30%) data.

The starting model is LeNet-300-100 trained densely on the old data and grown-and-pruned (LAMP,
10 steps of 25%).  Then the new data arrives and three ways of serving old + new are compared
(``synth.incremental.compare``): the grow-and-prune update, training from scratch (dense, then
the same pruning) and fine-tuning the old sparse model.  Cost = training MACs (3 x sparse forward
MACs x samples; growth passes at dense cost) and sample-epochs.

    python benchmarks/incremental.py [model]     # ~3-6 minutes on 2 CPU cores
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from synth.data import load_dataset
from common import write_result
from synth.grow_prune import GrowPruneSchedule, grow_and_prune
from synth.incremental import IncrementalConfig, compare, split_dataset
from synth.models import build
from synth.train import TrainConfig, fit

RESULTS = Path(__file__).parent / "results"


def main(argv):
    name = argv[1] if len(argv) > 1 else "lenet300_100"
    torch.set_num_threads(2)
    t0 = time.perf_counter()
    data = load_dataset("mnist5k", seed=0)
    old, new = split_dataset(data, 0.7, seed=0)
    torch.manual_seed(0)
    model = build(name, data.input_shape, data.num_classes)
    fit(model, old, TrainConfig(epochs=15, seed=0, device="cpu", progress=False))
    model, _ = grow_and_prune(model, old, GrowPruneSchedule(prune_steps=10, prune_fraction=0.25,
                                                            retrain_epochs=2, device="cpu"))
    config = IncrementalConfig(device="cpu")
    r = compare(model, old, new, config)
    rows = [("old model (before the new data)", r["before"]), ("grow-and-prune update", r["incremental"]),
            ("from scratch (dense + prune)", r["scratch"]), ("fine-tuning (masks fixed)", r["finetune"])]
    lines = [f"# Incremental learning: {name} on mnist5k (old {len(old.y_train)} / new "
             f"{len(new.y_train)} training samples)", "",
             f"Command: `python benchmarks/incremental.py {name}` (CPU, 2 threads, seed 0; "
             f"{time.perf_counter() - t0:.0f} s). Config: {config.to_dict()}", "",
             "| method | training MACs | sample-epochs | connections | test accuracy |",
             "|---|---|---|---|---|"]
    for label, s in rows:
        lines.append(f"| {label} | {s['train_macs']:.3g} | {s['sample_epochs']:,} | "
                     f"{s['connections']:,} | {s['test_accuracy']:.2%} |")
    lines += ["", f"Training-cost reduction of the update: {r['cost_reduction_vs_scratch']:.1%} vs "
              f"from scratch, {r['cost_reduction_vs_finetune']:.1%} vs fine-tuning "
              f"(paper: -64% / -63% for LeNet-300-100).", ""]
    text = "\n".join(lines)
    write_result(RESULTS / f"incremental_{name}.md", text)


if __name__ == "__main__":
    main(sys.argv)
