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
from common import command_line, write_result, run_main
from synth.inversion import balanced_labels, settings_for, synthesize
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
        inv = settings_for(teacher, value_range=data.pixel_range(),   # as `nnsynth prune`
                           iterations=args.iterations, device="cpu")
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
                dfs = []
                for min_steps in args.kd_min_steps:   # KD recipes side by side
                    df_model = copy.deepcopy(res.model)
                    distill(df_model, teacher, synth.images, data,
                            DistillConfig(epochs=args.kd_epochs, lr=0.01, batch_size=64,
                                          min_steps=min_steps, cutmix=0.0,   # as measured
                                          progress=False))
                    dfs.append(test_acc(df_model, data))
                df = dfs[-1]
                real_model = copy.deepcopy(res.model)
                fit(real_model, data, TrainConfig(epochs=args.ft_epochs, lr=0.01,
                                                  keep_best=False, progress=False))
                real = test_acc(real_model, data)
                gap = real - no_ft
                rows.append((f"{variant} / {dataset}", t_acc, ratio, importance,
                             f"{res.parameters_after:,}/{res.parameters_before:,}",
                             res.flops_after / res.flops_before, no_ft, dfs, real,
                             (df - no_ft) / gap if gap > 1e-9 else float("nan")))
                print(rows[-1], file=sys.stderr)
    return rows


# (name, images inverted, KD steps, BN re-calibration before KD): the fine-tuning recipes
# compared on the same seeds; the pruned model is ranked on the same images it is tuned on.
# (name, images, KD steps, BN re-calibration, CutMix: None = DistillConfig's default).  The
# first six were measured before CutMix 0.5 became the KD default (issue 18) and keep cutmix 0
VARIANTS = [("256 img, 500 steps", 256, 500, False, 0.0),
            ("256 img, 1000 steps", 256, 1000, False, 0.0),
            ("512 img, 500 steps", 512, 500, False, 0.0),
            ("512 img, 1000 steps", 512, 1000, False, 0.0),
            ("256 img, BN recal, 500 steps", 256, 500, True, 0.0),
            ("512 img, BN recal, 1000 steps", 512, 1000, True, 0.0),
            ("512 img, 1000 steps, CutMix default", 512, 1000, False, None)]


def _cpu_wall():
    return time.process_time(), time.perf_counter()


def _since(t) -> dict:
    return {"cpu_s": time.process_time() - t[0], "wall_s": time.perf_counter() - t[1]}


def defaults_seed(teacher, data, seed: int, cached: dict | None = None) -> dict:
    """One seed of the defaults study: 512 images inverted as the CLI does (the first batch of
    256 is exactly the CLI's 256-image draw: batches draw in order from one seeded generator),
    each pruned model (ranked on 256 or on all 512) fine-tuned by every recipe of VARIANTS and,
    as the peer, on real data (3 epochs, lr 0.01).  With a ``cached`` record only its missing
    recipes run (the images and pruned models are made again: the same seed gives the same
    ones, checked by their accuracy before fine-tuning; the cached peers are kept)."""
    from synth.dfprune import finetune_kd, kd_defaults, recalibrate_bn
    from synth.data import input_range
    value_range = input_range(teacher.checkpoint_info["dataset"])
    inv = settings_for(teacher, value_range=value_range, iterations=200, device="cpu",
                       min_iterations=100)   # = nnsynth prune's per-pixel default
    # (synth.choices.PER_PIXEL_ITERATIONS = 200; 100 is the mnist28 preset's own minimum)
    t = _cpu_wall()
    res = synthesize(teacher, balanced_labels(512, teacher.num_classes), inv,
                     pixel_range=value_range, seed=seed)
    rec = cached or {"seed": seed, "teacher": test_acc(teacher, data),
                     "synth": {**_since(t), "iterations": res.stats["iterations"],
                               "fidelity": res.fidelity}, "pruned": {}, "variants": {}}
    pruned = {}
    for n in (256, 512):
        x, y = res.images[:n], res.labels[:n]
        t = _cpu_wall()
        out = prune(teacher, x, y, PruneConfig(ratio=0.5, seed=seed, device="cpu",
                                               progress=False))
        p = {"prune": _since(t), "no_ft": test_acc(out.model, data)}
        pruned[n] = out.model
        if cached and p["no_ft"] != cached["pruned"][str(n)]["no_ft"]:
            print(f"seed {seed}: pruned model differs from the cached one (another teacher?): "
                  f"all recipes run again", file=sys.stderr, flush=True)
            return defaults_seed(teacher, data, seed)
        if cached:   # the same pruned model as the cached record's: its peer stands
            continue
        real = copy.deepcopy(out.model)
        t = _cpu_wall()
        fit(real, data, TrainConfig(epochs=3, lr=0.01, keep_best=False, seed=seed,
                                    device="cpu", progress=False))
        p.update(real=test_acc(real, data), real_ft=_since(t))
        rec["pruned"][str(n)] = p
    for name, n, steps, recal, cutmix in VARIANTS:
        if name in rec["variants"]:
            continue
        model = copy.deepcopy(pruned[n])
        t = _cpu_wall()
        v = {}
        if recal:
            recalibrate_bn(model, res.images[:n])
            v["after_recal"] = test_acc(model, data)
        finetune_kd(model, teacher, res.images[:n], DistillConfig(
            **kd_defaults(teacher.input_shape), **({} if cutmix is None else {"cutmix": cutmix}),
            seed=seed, device="cpu", progress=False), steps,
                    recalibrate=False)   # done above when the recipe asks for it
        v.update(acc=test_acc(model, data), kd=_since(t))
        rec["variants"][name] = v
        print(seed, name, v, file=sys.stderr, flush=True)
    return rec


def defaults(args) -> None:
    """`nnsynth prune --ratio 0.5` on the mnist5k LeNet-5-BN teacher, over seeds: every
    fine-tuning recipe of VARIANTS against real-data fine-tuning of the same pruned model, and
    the library's default recipe marked.  One JSON per seed in results/dfprune_defaults/
    (resumable); with --cli also the command line itself, as a user types it."""
    import json
    import os
    import statistics
    import subprocess
    from common import load_average, machine_note, mean_sd, table
    from synth.dfprune import KD_RECALIBRATE, KD_STEPS, NUM_IMAGES
    from synth.files import write_text_atomic
    cache = Path(__file__).parent / "results" / args.defaults_dir
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
        old = json.loads(path.read_text()) if path.is_file() else None
        if old is None or any(v[0] not in old["variants"] for v in VARIANTS):
            load = load_average()
            rec = defaults_seed(teacher, data, seed, old)
            rec.setdefault("load", [load, load_average()])
            if old is not None:   # the recipes added to a cached seed, and when
                rec.setdefault("load_added", []).append([load, load_average()])
            write_text_atomic(path, json.dumps(rec, indent=1))
        records.append(json.loads(path.read_text()))
    # as typed, then with the previous defaults; the last, a record only: as typed before
    # CutMix became the KD default (issue 18)
    clis = [(cache / "cli_seed0_cutmix.txt", []),
            (cache / "cli_seed0_previous.txt", ["--num-images", "256", "--kd-steps", "500"]),
            (cache / "cli_seed0.txt", None)]
    for cli, extra in clis:
        if not args.cli or cli.is_file() or extra is None:
            continue
        cmd = ["nnsynth", "prune", "--model", str(teacher_path), "--ratio", "0.5", *extra,
               "--out", str(cache / "p.pt")]
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        load = load_average()
        proc = subprocess.run(["/usr/bin/time", "-f", "process CPU %U s user + %S s system, "
                               "%e s wall"] + cmd, capture_output=True, text=True, env=env,
                              check=True)
        (cache / "p.pt").unlink(missing_ok=True)
        write_text_atomic(cli, "$ " + " ".join(cmd[:3] + ["teacher.pt"] + cmd[4:-1] + ["p.pt"])
                          + "\n" + proc.stdout + f"# {proc.stderr.strip().splitlines()[-1]}; "
                          f"load average {load} before, {load_average()} after\n")
    pct = "{:.2%}"

    def synth_cpu(r, n):   # CPU s of inverting n images: the batches' share by iterations
        it = r["synth"]["iterations"]
        return r["synth"]["cpu_s"] * sum(it[:n // 256]) / sum(it)

    rows = []
    default_cutmix = DistillConfig().cutmix
    for name, n, steps, recal, cutmix in VARIANTS:
        gaps = [100 * (r["pruned"][str(n)]["real"] - r["variants"][name]["acc"]) for r in records]
        acc = [r["variants"][name]["acc"] for r in records]
        cost = [synth_cpu(r, n) + r["pruned"][str(n)]["prune"]["cpu_s"]
                + r["variants"][name]["kd"]["cpu_s"] for r in records]
        is_default = ((n, steps, recal, default_cutmix if cutmix is None else cutmix)
                      == (NUM_IMAGES, KD_STEPS, KD_RECALIBRATE, default_cutmix))
        rows.append([f"**{name} (default)**" if is_default else name, mean_sd(acc, pct),
                     mean_sd([r["pruned"][str(n)]["real"] for r in records], pct),
                     mean_sd(gaps, "{:.2f}"), f"{max(gaps):.2f}",
                     f"{max(acc) - min(acc):.2%}".replace("%", " pt"),
                     ", ".join(f"{g:.1f}" for g in gaps),
                     f"{statistics.mean(cost):.0f}"])
    seeds = ", ".join(str(r["seed"]) for r in records)
    lines = ["`nnsynth prune --model teacher.pt --ratio 0.5` (Taylor importance on the inverted "
             "images, half of every layer's filters/neurons removed, then KD fine-tuning on the "
             "same images: cosine lr 0.05, batch 128, 2 px jitter relabelled by the teacher, "
             "T = 3; the recipe named CutMix adds DistillConfig's default CutMix "
             f"{DistillConfig().cutmix:g}, relabelled too, the others have none) on the mnist5k "
             "LeNet-5-BN teacher (`nnsynth train --dataset mnist5k --model lenet5_bn --epochs "
             f"15`), seeds {seeds}.  Each recipe against real-data "
             "fine-tuning (3 epochs, lr 0.01) of the same pruned model; gap = real - data-free, "
             "in points:", ""]
    lines += table(["recipe", "data-free KD FT", "real-data FT (peer)", "gap mean ± sd",
                    "worst gap", "spread (max - min)", "gap per seed", "CPU s (invert + rank "
                    "+ KD)"], rows)
    no_ft = {n: mean_sd([r["pruned"][str(n)]["no_ft"] for r in records], pct) for n in (256, 512)}
    recal = [r["variants"][VARIANTS[4][0]]["after_recal"] for r in records]
    lines += ["", f"Teacher {records[0]['teacher']:.2%}.  Before any fine-tuning: {no_ft[256]} "
              f"(ranked on 256 images), {no_ft[512]} (on 512); after BN re-calibration on the 256 "
              f"images alone {mean_sd(recal, pct)}.  CPU s are one torch thread's process time; "
              f"inverting 512 images took {mean_sd([r['synth']['cpu_s'] for r in records], '{:.0f}')} "
              f"CPU s (the 256-image share by iterations), fidelity "
              f"{min(r['synth']['fidelity'] for r in records):.3f} at least.  Load average "
              f"(1/5/15 min) before -> after each seed: "
              + "; ".join(f"seed {r['seed']}: {r['load'][0]} -> {r['load'][1]}" for r in records)
              + "."]
    for (cli, extra), what in zip(clis, ("exactly as a user types it (the defaults)",
                                        "with the previous image and step defaults (256 "
                                        "images, 500 steps), for the cost",
                                        "as typed before CutMix 0.5 became the KD default")):
        if cli.is_file():
            lines += ["", f"Seed 0 through the command line, {what}:", "", "```",
                      cli.read_text().strip(), "```"]
    lines += ["", machine_note("One process, 1 torch thread, nice 15."), command_line()]
    write_result(Path(args.out).with_name(f"{args.defaults_dir}.md"), lines,
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
    parser.add_argument("--kd-min-steps", type=lambda v: [int(x) for x in v.split(",")],
                        default=[0, 500], help="KD recipes compared (DistillConfig.min_steps)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "dfprune.md"))
    parser.add_argument("--defaults", action="store_true",
                        help="only the `nnsynth prune --ratio 0.5` defaults table, over --seeds")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cli", action="store_true", help="with --defaults: also run the CLI")
    parser.add_argument("--defaults-dir", default="dfprune_defaults",
                        help="with --defaults: the study's name under results/ (per-seed JSON "
                             "cache in that folder, the table in NAME.md); one teacher per name")
    args = parser.parse_args()
    known = [key for _, _, key in TEACHERS]
    unknown = [t for t in args.teachers.split(",") if t not in known]
    if unknown:
        parser.error(f"--teachers: unknown {','.join(unknown)}; known: {', '.join(known)}")
    torch.set_num_threads(args.threads)
    if args.defaults:
        defaults(args)
        return
    from common import machine_note
    start = time.perf_counter()
    rows = run(args)
    kd_cols = " | ".join(f"data-free KD FT, min_steps {m}" for m in args.kd_min_steps)
    n = 9 + len(args.kd_min_steps)
    lines = ["| teacher | teacher acc | removed | importance | params after/before | MACs kept | "
             f"no FT | {kd_cols} | real-data FT (peer) | recovered (last KD) |", "|" + "---|" * n]
    for r in rows:
        kd = " | ".join(f"{v:.2%}" for v in r[7])
        lines.append(f"| {r[0]} | {r[1]:.2%} | {r[2]:.0%} | {r[3]} | {r[4]} | {r[5]:.0%} | "
                     f"{r[6]:.2%} | {kd} | {r[8]:.2%} | {r[9]:.0%} |")
    device = pick_device()
    lines += ["", f"{args.images} DeepInversion images per teacher (<= {args.iterations} "
              f"iterations, early stop), KD {args.kd_epochs} epochs on them (T=3, lr 0.01, batch "
              f"64), or more epochs where that is fewer than min_steps SGD steps "
              f"(DistillConfig.min_steps); "
              f"real-data FT {args.ft_epochs} epochs on the real training set (lr 0.01). Device "
              f"{device}, {args.threads} threads, total {time.perf_counter() - start:.0f} s.",
              machine_note("nice 15."), command_line()]
    write_result(args.out, lines, "# benchmarks/dfprune.py")


if __name__ == "__main__":
    run_main(main)
