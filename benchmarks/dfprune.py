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


def defaults(args) -> None:
    """`nnsynth prune --ratio 0.5` with its defaults on the mnist5k LeNet-5-BN teacher, over
    seeds: the same pruned model (Taylor importance on the 256 images the CLI inverts) then
    (a) the new default KD fine-tuning (``synth.dfprune.finetune_kd``: KD_STEPS steps, lr
    KD_LR, jitter), (b) the old default (20 epochs of 256 images at batch 128 = 40 steps, lr
    0.01, no jitter), (c) real-data fine-tuning (the peer, 3 epochs, lr 0.01).  One JSON per
    seed in results/dfprune_defaults/ (resumable); with --cli also the command line itself."""
    import json
    import os
    import subprocess
    from common import machine_note, mean_sd, table
    from synth.dfprune import KD_STEPS, finetune_kd, kd_defaults
    from synth.files import write_text_atomic
    from synth.workflows import synthesized_images
    cache = Path(__file__).parent / "results" / "dfprune_defaults"
    cache.mkdir(parents=True, exist_ok=True)
    teacher_path = Path(args.lenet)
    if not teacher_path.is_file():   # as a user trains it
        subprocess.run(["nnsynth", "train", "--dataset", "mnist5k", "--model", "lenet5_bn",
                        "--epochs", "15", "--out", str(teacher_path)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    teacher = load_model(teacher_path, "cpu").eval()
    data = load_dataset("mnist5k", seed=0)
    records = []
    for seed in args.seeds:
        path = cache / f"seed{seed}.json"
        if path.is_file():
            records.append(json.loads(path.read_text()))
            continue
        t0 = time.perf_counter()
        x, y, _ = synthesized_images(teacher, None, num_images=256, iterations=200, seed=seed,
                                     device="cpu", progress=False)
        synth_s = time.perf_counter() - t0
        res = prune(teacher, x, y, PruneConfig(ratio=0.5, seed=seed, device="cpu",
                                               progress=False))
        rec = {"seed": seed, "teacher": test_acc(teacher, data), "no_ft": test_acc(res.model, data),
               "synth_seconds": synth_s, "kd_steps": KD_STEPS}
        new = copy.deepcopy(res.model)
        rec["new_seconds"] = finetune_kd(new, teacher, x, DistillConfig(
            **kd_defaults(teacher.input_shape), seed=seed, device="cpu", progress=False))
        rec["new"] = test_acc(new, data)
        old = copy.deepcopy(res.model)
        distill(old, teacher, x, data, DistillConfig(epochs=20, lr=0.01, seed=seed,
                                                     device="cpu", progress=False))
        rec["old"] = test_acc(old, data)
        real = copy.deepcopy(res.model)
        fit(real, data, TrainConfig(epochs=3, lr=0.01, keep_best=False, seed=seed,
                                    device="cpu", progress=False))
        rec["real"] = test_acc(real, data)
        write_text_atomic(path, json.dumps(rec, indent=1))
        print(rec, file=sys.stderr, flush=True)
        records.append(rec)
    cli = cache / "cli_seed0.txt"
    if args.cli and not cli.is_file():
        cmd = ["nnsynth", "prune", "--model", str(teacher_path), "--ratio", "0.5", "--out",
               str(cache / "p.pt")]
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
        (cache / "p.pt").unlink(missing_ok=True)
        write_text_atomic(cli, "$ " + " ".join(cmd[:3] + ["teacher.pt"] + cmd[4:-1]
                                               + ["p.pt"]) + "\n" + proc.stdout)
    rows = [[r["seed"], f"{r['teacher']:.2%}", f"{r['no_ft']:.2%}", f"{r['old']:.2%}",
             f"{r['new']:.2%}", f"{r['real']:.2%}", f"{100 * (r['real'] - r['new']):.1f}",
             f"{r['new_seconds']:.0f}"] for r in records]
    pct = "{:.2%}"
    rows.append(["mean ± sd", mean_sd([r["teacher"] for r in records], pct),
                 mean_sd([r["no_ft"] for r in records], pct),
                 mean_sd([r["old"] for r in records], pct), mean_sd([r["new"] for r in records], pct),
                 mean_sd([r["real"] for r in records], pct),
                 mean_sd([100 * (r["real"] - r["new"]) for r in records], "{:.2f}"),
                 mean_sd([r["new_seconds"] for r in records], "{:.0f}")])
    lines = ["`nnsynth prune --model teacher.pt --ratio 0.5` (Taylor importance on 256 inverted "
             "images, half of every layer's filters/neurons removed) on the mnist5k LeNet-5-BN "
             "teacher (`nnsynth train --dataset mnist5k --model lenet5_bn --epochs 15`); test "
             "accuracy after each fine-tuning of the same pruned model:", ""]
    lines += table(["seed", "teacher", "no FT", "old default KD (40 steps, lr 0.01)",
                    f"new default KD ({KD_STEPS} steps, lr 0.05, jitter 2)", "real-data FT (peer)",
                    "gap to real (pt)", "new KD s"], rows)
    if cli.is_file():
        lines += ["", "Seed 0 through the command line, exactly as a user types it:", "", "```",
                  cli.read_text().strip(), "```"]
    lines += ["", machine_note("One process, 1 torch thread, nice 15."), command_line()]
    write_result(Path(args.out).with_name("dfprune_defaults.md"), lines,
                 "# nnsynth prune defaults (data-free fine-tuning vs real data)")


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
    parser.add_argument("--defaults", action="store_true",
                        help="only the `nnsynth prune --ratio 0.5` defaults table, over --seeds")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cli", action="store_true", help="with --defaults: also run the CLI")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.defaults:
        defaults(args)
        return
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
