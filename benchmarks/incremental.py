"""Incremental learning: cost to the same accuracy on old + new data, over seeds.

mnist5k's training samples are split into old and new data: at random, half and half
(``--old-fraction``; at 70/30 the accuracy that the new data add, about 1 pt, is within the
noise of the 400-sample validation set that decides when to stop), or shifted
(``--split shifted``: the classes 5-9 mostly arrive with the new data).  Per seed, a
LeNet-300-100 is trained densely on the old data (the dense model a user who never pruned would
fine-tune) and grown-and-pruned from it (LAMP, 10 steps of 25%: the sparse model the update
starts from).  Then the new data arrives and four ways of serving old + new are each trained
until the validation accuracy reaches the same target (``synth.incremental.compare``): the
grow-and-prune update (sparse, new data + a small replay), dense fine-tuning (old + new),
fine-tuning the sparse model with its masks fixed (old + new) and dense training from scratch;
then three ablations of the update.  The target is the dense fine-tuning's validation plateau
(constant learning rate, 8 passes) minus 0.5 pt.

Cost: MACs that count the masks' sparsity (3 x sparse forward MACs per training sample, growth
passes at the dense weight-gradient cost, validation checks at the sparse forward cost), CPU
and wall time of the whole method.  Each seed is cached as JSON under
results/incremental_<model>/ so an interrupted run resumes; the table is rebuilt from the cache.

    python benchmarks/incremental.py [--model lenet300_100] [--seeds 0 1 2 3 4]  # ~2 min a seed
    python benchmarks/incremental.py --split shifted --seeds 0 1 2
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from common import RESULTS, command_line, machine_note, table, write_result, run_main
from synth.data import load_dataset
from synth.files import write_text_atomic
from synth.grow_prune import GrowPruneSchedule, grow_and_prune
from synth.incremental import (IncrementalConfig, compare, cost_parts, incremental_update,
                               split_dataset)
from synth.masked import connections
from synth.models import build
from synth.train import TrainConfig, fit

LABELS = {"incremental": "grow-and-prune update (sparse, new + replay)",
          "finetune": "fine-tuning the dense model (old + new)",
          "finetune_sparse": "fine-tuning the sparse model, masks fixed (old + new)",
          "scratch": "training from scratch (dense, old + new)",
          "no_prune": "update without pruning back (ends 25% larger)",
          "no_growth": "update without growth or pruning (sparse, new + replay)",
          "all_old": "update with all the old data replayed"}
ABLATIONS = {"no_prune": {"prune_steps": 0}, "no_growth": {"growth_ratio": 0.0, "prune_steps": 0},
             "all_old": {"replay_ratio": 1e6}}


def old_models(name: str, old, seed: int):
    """The dense model trained on the old data and the grown-and-pruned one derived from it."""
    torch.manual_seed(seed)
    dense = build(name, old.input_shape, old.num_classes)
    fit(dense, old, TrainConfig(epochs=15, seed=seed, device="cpu", progress=False))
    schedule = GrowPruneSchedule(prune_steps=10, prune_fraction=0.25, retrain_epochs=2,
                                 seed=seed, device="cpu")
    sparse, _ = grow_and_prune(copy.deepcopy(dense), old, schedule)
    return dense, sparse


def split_by_class(data, old_fraction: float, seed: int, leak: float = 0.1):
    """A shifted split: the old data hold ``old_fraction`` of the classes 0-4 samples and only
    ``leak`` of the classes 5-9 ones; the new data the rest (new digits mostly arrive late)."""
    gen = torch.Generator().manual_seed(seed)
    keep = torch.rand(len(data.y_train), generator=gen) < torch.where(
        data.y_train < data.num_classes // 2, old_fraction, leak)
    return tuple(dataclasses.replace(data, name=f"{data.name}:{tag}", x_train=data.x_train[m],
                                     y_train=data.y_train[m])
                 for tag, m in (("old", keep), ("new", ~keep)))


def run_seed(name: str, seed: int, config: IncrementalConfig, old_fraction: float,
             split: str) -> dict:
    data = load_dataset("mnist5k", seed=0)
    old, new = (split_dataset if split == "random" else split_by_class)(data, old_fraction,
                                                                         seed=seed)
    t0 = time.perf_counter()
    dense, sparse = old_models(name, old, seed)
    setup = time.perf_counter() - t0
    r = compare(sparse, old, new, config.replace(seed=seed), dense_model=dense)
    r.pop("model")
    for key, change in ABLATIONS.items():     # what each part of the update costs or saves
        r[key] = incremental_update(sparse, old, new, config.replace(seed=seed, **change),
                                    r["target"])[1]
    return {**r, "seed": seed, "config": config.to_dict(), "old_fraction": old_fraction,
            "split": split, "setup_seconds": round(setup, 1), "old": len(old.y_train),
            "new": len(new.y_train), "dense_connections": connections(dense)}


def cell(values, fmt):
    """median [min, max] over seeds."""
    if len(values) == 1:
        return fmt.format(values[0])
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}, " \
           f"{fmt.format(max(values))}]"


def seed_seconds(run: dict) -> float:
    """Wall seconds of one seed: the old models, the plateau run, every method."""
    return run["setup_seconds"] + sum(v["seconds"] for v in run.values()
                                      if isinstance(v, dict) and "seconds" in v)


def per_sample_ms(runs: list[dict], key: str) -> float:
    return 1e3 * statistics.median(r[key]["cpu_seconds"] / max(1, r[key]["samples"]) for r in runs)


def figure(summary: dict, key: str):
    """``key`` of one method's summary; ``cost_macs`` also from a seed cached before the
    name (``train_macs`` then, the same sum: ``cost_parts``)."""
    return cost_parts(summary)[key] if key.endswith("_macs") else summary[key]


def report(name: str, runs: list[dict], config: IncrementalConfig, seconds: float) -> list[str]:
    def rows_for(keys):
        rows = []
        for key in keys:
            s = [r[key] for r in runs]
            rows.append([LABELS[key], f"{sum(x['reached'] for x in s)}/{len(s)}",
                         cell([figure(x, "cost_macs") / 1e9 for x in s], "{:.3f}"),
                         cell([x["samples"] for x in s], "{:,.0f}"),
                         cell([x["cpu_seconds"] for x in s], "{:.1f}"),
                         cell([x["seconds"] for x in s], "{:.1f}"),
                         cell([x["connections"] for x in s], "{:,.0f}"),
                         cell([x["test_accuracy"] * 100 for x in s], "{:.1f}")])
        return rows

    header = ["method", "reached", "GMACs", "samples", "CPU s", "wall s", "connections",
              "test acc %"]
    rows = rows_for(("incremental", "finetune", "finetune_sparse", "scratch"))
    ratio_rows = []
    for peer in ("finetune", "scratch", "finetune_sparse"):
        cols = [[1 - figure(r["incremental"], k) / figure(r[peer], k) for r in runs]
                for k in ("cost_macs", "samples", "cpu_seconds", "seconds")]
        ratio_rows.append([LABELS[peer]] + [cell([v * 100 for v in c], "{:+.0f}%")
                                            for c in cols])
    before = [r["before"] for r in runs]
    inc = [r["incremental"] for r in runs]
    split = ("old and new drawn at random from one distribution" if runs[0].get("split", "random")
             == "random" else "shifted: classes 5-9 mostly (90%) in the new data")
    lines = [f"Split: {split}.  "
             f"{len(runs)} seeds (split, old models and training differ per seed): median "
             f"[min, max].  Old / new training samples: {runs[0]['old']} / {runs[0]['new']}; "
             f"validation {400} (early stopping), test 1000.  Target validation accuracy "
             f"(dense fine-tuning plateau - {config.target_margin:.1%}): "
             f"{cell([r['target'] * 100 for r in runs], '{:.2f}')}%.  The sparse model before "
             f"the update: {cell([b['connections'] for b in before], '{:,.0f}')} connections "
             f"(dense {runs[0]['dense_connections']:,}), test "
             f"{cell([b['test_accuracy'] * 100 for b in before], '{:.1f}')}%.", "",
             "Cost to the target (GMACs = cost_macs: training steps + growth passes + "
             "validation checks, counting the masks' sparsity; samples = training samples "
             "processed; reached = seeds that "
             "reached the target within the budget of "
             f"{config.max_epochs:g} passes over old + new):", ""]
    lines += table(header, rows)
    lines += ["", "Cost reduction of the grow-and-prune update (paper, LeNet-300-100: -63% vs "
              "fine-tuning, -64% vs scratch; positive = cheaper):", ""]
    lines += table(["against", "MACs", "samples", "CPU time", "wall time"], ratio_rows)
    lines += ["", "Parts of the update (same target, same seeds):", ""]
    lines += table(header, rows_for(("incremental",) + tuple(ABLATIONS)))
    lines += ["", f"Update details: grown {cell([x['grown'] for x in inc], '{:,.0f}')}, pruned "
              f"{cell([x['pruned'] for x in inc], '{:,.0f}')} connections; trained on "
              f"{inc[0]['train_samples']:,} samples (new + replay); training steps "
              f"{cell([cost_parts(x)['training_macs'] / 1e9 for x in inc], '{:.3f}')} GMACs, "
              f"growth passes "
              f"{cell([x['growth_macs'] / 1e9 for x in inc], '{:.3f}')} GMACs, validation "
              f"checks {cell([x['eval_macs'] / 1e9 for x in inc], '{:.3f}')} GMACs.", "",
              "CPU ms per training sample (median; growth and checks included): " + ", ".join(
                  f"{LABELS[k].split(' (')[0]} {per_sample_ms(runs, k):.3f}"
                  for k in ("incremental", "finetune", "finetune_sparse", "scratch")) + ".", "",
              "Time on a CPU: a masked layer costs as much as a dense one (PyTorch multiplies "
              "the zeros), so CPU and wall time show only the saving in samples seen and the "
              "cost of growth and validation; the MACs column is what hardware that skips "
              "zeros would pay.  CPU s = processor time of the benchmark process (1 thread), "
              "less sensitive than wall time to the other jobs on this shared machine.", "",
              f"Config: {config.to_dict()}", "",
              f"{command_line()} (torch 1 thread; {seconds:.0f} s this run, cached seeds not "
              f"rerun; a seed took {cell([seed_seconds(r) for r in runs], '{:.0f}')} s wall, "
              f"old models included).  Per-seed JSON: incremental_{name}/seed*.json.",
              machine_note()]
    return lines


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="lenet300_100")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--old-fraction", type=float, default=0.5,
                    help="share of mnist5k's training samples that is old data (shifted split: "
                         "of the classes 0-4 samples)")
    ap.add_argument("--split", choices=("random", "shifted"), default="random",
                    help="random: old and new from one distribution; shifted: classes 5-9 "
                         "mostly in the new data (90%%)")
    ap.add_argument("--work", default=None, help="folder of the per-seed JSON cache (default "
                    "benchmarks/results/incremental_TAG, TAG from the model and split)")
    ap.add_argument("--out", default=None, help="results file (default benchmarks/results/"
                    "incremental_TAG.md)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    config = IncrementalConfig(device="cpu")
    tag = f"{args.model}" + ("" if args.old_fraction == 0.5 else f"_old{args.old_fraction:g}") \
        + ("" if args.split == "random" else f"_{args.split}")
    folder = Path(args.work) if args.work else RESULTS / f"incremental_{tag}"
    t0 = time.perf_counter()
    runs = []
    for seed in args.seeds:
        path = folder / f"seed{seed}.json"
        cached = json.loads(path.read_text()) if path.exists() else None
        if cached and (cached.get("config"), cached.get("old_fraction"),
                       cached.get("split", "random")) == (config.to_dict(), args.old_fraction,
                                                          args.split):
            runs.append(cached)
            continue
        run = run_seed(args.model, seed, config, args.old_fraction, args.split)
        write_text_atomic(path, json.dumps(run, indent=1))
        runs.append(run)
        print(f"seed {seed}: {json.dumps({k: run[k] for k in ('target',)})}", file=sys.stderr)
    write_result(args.out or RESULTS / f"incremental_{tag}.md",
                 report(tag, runs, config, time.perf_counter() - t0),
                 f"# Incremental learning: cost to the same accuracy ({args.model}, mnist5k)")


if __name__ == "__main__":
    run_main(main, sys.argv[1:])
