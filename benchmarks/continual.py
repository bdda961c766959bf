"""Data-free class-incremental learning (DeepInversion Sec. 4.4) on mnist5k.

An old lenet5_bn knows digits 0-4; real data of 5-9 arrives and nothing of 0-4 is kept.
The enlarged network is trained by plain fine-tuning, by LwF (the peer: distillation of
the old head on the new data) and by the DeepInversion method (LwF plus images inverted
from the old network, distilled over the full head).  Accuracy on the test images of all
ten classes, of the old and of the new classes; joint training on real 0-9 is the upper
bound.  A second table chains two steps (0-4 -> 5-7 -> 8-9) for LwF and DeepInversion.

    python benchmarks/continual.py [--images 512] [--iterations 200]   # ~10 min, 2 CPU cores
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from synth.continual import (METHODS, ContinualConfig, class_subset, incremental,
                             learn_new_classes, per_class_accuracy, synthesize_old)
from synth.data import load_dataset
from synth.device import pick_device
from common import command_line, write_result, run_main
from synth.inversion import InversionConfig
from synth.models import build
from synth.train import TrainConfig, fit

OLD, NEW = list(range(5)), list(range(5, 10))


def trained(data, classes, epochs):
    torch.manual_seed(0)
    model = build("lenet5_bn", data.input_shape, len(classes))
    fit(model, class_subset(data, classes), TrainConfig(epochs=epochs, seed=0, progress=False))
    return model.eval()


def row(name, model, everything, extra=""):
    acc = per_class_accuracy(model, everything)
    per = acc["per_class"]
    return (name, acc["accuracy"], sum(per[:5]) / 5, sum(per[5:]) / 5, extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--old-epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-steps", action="store_true", help="skip the two-step table")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "continual.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    data = load_dataset("mnist5k", seed=0)
    everything = class_subset(data, OLD + NEW)
    old = trained(data, OLD, args.old_epochs)
    inv = InversionConfig.preset("mnist28", iterations=args.iterations, batch_size=256)
    t0 = time.perf_counter()
    synth_x = synthesize_old(old, args.images, data.pixel_range(), inv, seed=0)
    synth_s = time.perf_counter() - t0
    rows = [row("old network (0-4 only)", old, class_subset(data, OLD), "on 0-4 only")]
    new_data = class_subset(data, NEW, offset=len(OLD))
    for method in METHODS:
        cfg = ContinualConfig(method=method, epochs=args.epochs, progress=False)
        model, m = learn_new_classes(old, new_data, cfg,
                                     synth_x if method == "deepinversion" else None)
        rows.append(row(method, model, everything, f"{m['train_seconds']:.0f} s train"))
        print(rows[-1], file=sys.stderr)
    rows[0] = rows[0][:2] + (rows[0][1], float("nan"), rows[0][4])
    rows.append(row("joint training on real 0-9 (upper bound)",
                    trained(data, OLD + NEW, args.old_epochs), everything))
    lwf, di = rows[2][1], rows[3][1]
    lines = ["| method | acc on 0-9 | acc old 0-4 | acc new 5-9 | note |", "|---|---|---|---|---|"]
    lines += [f"| {r[0]} | {r[1]:.2%} | {r[2]:.2%} | "
              f"{'-' if r[3] != r[3] else f'{r[3]:.2%}'} | {r[4]} |" for r in rows]
    lines += ["", f"DeepInversion / LwF on all ten classes: {di / lwf:.2f}x "
              f"({(di - lwf) * 100:+.1f} points). {args.images} images inverted from the old "
              f"network in {synth_s:.0f} s (<= {args.iterations} iterations, early stop); "
              f"{args.epochs} epochs per method."]
    if not args.no_steps:
        lines += ["", "Two steps, 0-4 -> 5-7 -> 8-9 (accuracy on the classes seen so far):", "",
                  "| method | after step 1 (0-7) | after step 2 (0-9) |", "|---|---|---|"]
        for method in ("lwf", "deepinversion"):
            cfg = ContinualConfig(method=method, epochs=args.epochs, progress=False)
            _, hist = incremental(old, data, OLD, [[5, 6, 7], [8, 9]], cfg, inv, args.images)
            lines.append(f"| {method} | {hist[0]['test_accuracy']:.2%} | "
                         f"{hist[1]['test_accuracy']:.2%} |")
            print(lines[-1], file=sys.stderr)
    lines += ["", f"Device {pick_device()}, {args.threads} threads, total "
              f"{time.perf_counter() - start:.0f} s.",
              command_line()]
    write_result(args.out, lines, "# benchmarks/continual.py")


if __name__ == "__main__":
    run_main(main)
