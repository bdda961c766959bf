"""Data-free structured pruning (DeepInversion Sec. 4.3): accuracy after removing 20% and
50% of the filters/neurons, without fine-tuning, with data-free fine-tuning (KD from the
original network on DeepInversion images) and with real-data fine-tuning (the peer that
needs the training set).

Teachers: lenet5_bn on mnist5k (as `nnsynth train --dataset mnist5k --model lenet5_bn
--epochs 15`) and resnet8_w16 on digits.  A teacher checkpoint given with --lenet/--resnet
is loaded, else it is trained here with the same settings.  Importance is measured on the
synthesized images only (Taylor, Molchanov et al. 2019); magnitude (L1) is the data-free
baseline without images.  "recovered" = (data-free - no FT) / (real FT - no FT).

    python benchmarks/dfprune.py [--images 512] [--iterations 200]   # ~10 min, 2 CPU cores
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch

from synth.checkpoint import load_model
from synth.data import load_dataset
from synth.device import pick_device
from synth.dfprune import PruneConfig, prune
from synth.distill import DistillConfig, distill
from common import command_line, write_result
from synth.inversion import InversionConfig, balanced_labels, synthesize
from synth.models import build
from synth.train import TrainConfig, evaluate, fit

TEACHERS = [("mnist5k", "lenet5_bn", "lenet"), ("digits", "resnet8_w16", "resnet")]


def teacher_for(dataset: str, variant: str, path: str | None, data):
    if path and Path(path).is_file():
        return load_model(path, pick_device()), "loaded " + path
    torch.manual_seed(0)
    model = build(variant, data.input_shape, data.num_classes)
    fit(model, data, TrainConfig(epochs=15, seed=0, progress=False))  # = nnsynth train
    return model.eval(), "trained 15 epochs"


def test_acc(model, data) -> float:
    return evaluate(model, data.x_test, data.y_test)["accuracy"]


def run(args) -> list[tuple]:
    rows = []
    for dataset, variant, key in TEACHERS:
        if key not in args.teachers.split(","):
            continue
        data = load_dataset(dataset, seed=0)
        teacher, origin = teacher_for(dataset, variant, getattr(args, key), data)
        t_acc = test_acc(teacher, data)
        start = time.perf_counter()
        inv = InversionConfig.preset("mnist28", iterations=args.iterations, batch_size=256)
        synth = synthesize(teacher, balanced_labels(args.images, data.num_classes), inv,
                           pixel_range=data.pixel_range(), seed=0)
        synth_s = time.perf_counter() - start
        print(f"{variant}/{dataset}: teacher {t_acc:.2%} ({origin}); {args.images} images in "
              f"{synth_s:.0f} s, fidelity {synth.fidelity:.2%}", file=sys.stderr)
        for ratio in (0.2, 0.5):
            for importance in ("taylor", "magnitude"):
                res = prune(teacher, synth.images, synth.labels,
                            PruneConfig(ratio=ratio, importance=importance, progress=False))
                no_ft = test_acc(res.model, data)
                df_model = copy.deepcopy(res.model)
                distill(df_model, teacher, synth.images, data,
                        DistillConfig(epochs=args.kd_epochs, lr=0.01, batch_size=64,
                                      progress=False))
                df = test_acc(df_model, data)
                real_model = copy.deepcopy(res.model)
                fit(real_model, data, TrainConfig(epochs=args.ft_epochs, lr=0.01,
                                                  keep_best=False, progress=False))
                real = test_acc(real_model, data)
                gap = real - no_ft
                rows.append((f"{variant} / {dataset}", t_acc, ratio, importance,
                             f"{res.parameters_after:,}/{res.parameters_before:,}",
                             res.flops_after / res.flops_before, no_ft, df, real,
                             (df - no_ft) / gap if gap > 1e-9 else float("nan")))
                print(rows[-1], file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lenet", default="/tmp/teacher_dfp.pt")
    parser.add_argument("--resnet", default="/tmp/teacher_dfp_resnet.pt")
    parser.add_argument("--teachers", default="lenet,resnet", help="comma list: lenet,resnet")
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--kd-epochs", type=int, default=20)
    parser.add_argument("--ft-epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "dfprune.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    rows = run(args)
    lines = ["| teacher | teacher acc | removed | importance | params after/before | MACs kept | "
             "no FT | data-free KD FT | real-data FT (peer) | recovered |", "|" + "---|" * 10]
    for r in rows:
        lines.append(f"| {r[0]} | {r[1]:.2%} | {r[2]:.0%} | {r[3]} | {r[4]} | {r[5]:.0%} | "
                     f"{r[6]:.2%} | {r[7]:.2%} | {r[8]:.2%} | {r[9]:.0%} |")
    device = pick_device()
    lines += ["", f"{args.images} DeepInversion images per teacher (<= {args.iterations} "
              f"iterations, early stop), KD {args.kd_epochs} epochs on them (T=3, lr 0.01); "
              f"real-data FT {args.ft_epochs} epochs on the real training set (lr 0.01). Device "
              f"{device}, {args.threads} threads, total {time.perf_counter() - start:.0f} s.",
              command_line()]
    write_result(args.out, lines, "# benchmarks/dfprune.py")


if __name__ == "__main__":
    main()
