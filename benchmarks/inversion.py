"""DeepInversion benchmark: speed (one thread), fidelity, usefulness (DI / ADI / noise KD), pairs.

    python benchmarks/inversion.py all --teacher teacher.pt --work runs/inv [--quick] [--md PATH]

The teacher is ``nnsynth train --dataset mnist5k --model lenet5_bn --epochs 15``.  Every job is
a separate single-thread process (``torch.set_num_threads(1)``); ``all`` runs the independent
jobs side by side (``--procs``), then the distillations, then the Ray pair throughput (1 vs 2
pairs on a 2-CPU local Ray), and prints one table per question with the peer beside ours.

The peer ("reference protocol") is the published CIFAR loop's protocol: a fixed 2,000 iterations
per batch of 256.  We run that protocol with our objective (``early_stop=False``) so the images
are comparable, and we time the loop variants that explain the per-iteration cost
(``ablation``): hooks registered every step, weight gradients computed, a host sync every step.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synth.checkpoint import load_model  # noqa: E402
from synth.data import Dataset, load_dataset  # noqa: E402
from common import write_result, run_main  # noqa: E402
from synth.files import atomic_path, write_text_atomic  # noqa: E402
from synth.inversion import (BNFeatureHooks, InversionConfig, _augment, balanced_labels,  # noqa: E402
                             synthesize, total_variation)

REF_MS_PER_ITER = 89.6  # the published loop on this 2-core machine, batch 256, one thread (issue)
REF_ITERS = 2000


def _save(out: Path, name: str, obj: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / f"{name}.json", json.dumps(obj, indent=1))


# --------------------------------------------------------------------------- jobs
def job_ablation(a) -> dict:
    """ms/iteration of loop variants at batch ``a.batch``: each row removes one avoidable cost."""
    teacher = load_model(a.teacher)
    data = load_dataset("mnist5k")
    lo, hi = data.pixel_range()
    cfg = InversionConfig.preset("mnist28")
    labels = balanced_labels(a.batch, 10)
    gen = torch.Generator().manual_seed(0)

    def naive(n, hooks_per_step, weight_grads, sync_every):
        x = torch.randn((a.batch, 1, 28, 28), generator=gen).clamp(lo.min(), hi.max())
        x.requires_grad_(True)
        opt = torch.optim.Adam([x], lr=cfg.lr, betas=cfg.betas)
        teacher.eval().requires_grad_(weight_grads)
        hooks = None if hooks_per_step else BNFeatureHooks(teacher)
        start = time.perf_counter()
        for it in range(n):
            if hooks_per_step:  # a fresh set of hooks every step, removed after it
                hooks = BNFeatureHooks(teacher)
            hooks.active = True
            logits = teacher(_augment(x, cfg.jitter, cfg.flip, gen))
            hooks.active = False
            tv1, tv2 = total_variation(x)
            loss = (F.cross_entropy(logits, labels) + cfg.bn_weight * hooks.loss(cfg.first_bn_multiplier)
                    + cfg.tv_l2_weight * tv2.mean()
                    + cfg.l2_weight * torch.linalg.vector_norm(x.flatten(1), dim=1).mean())
            opt.zero_grad()
            if weight_grads:
                teacher.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                x.data = torch.max(torch.min(x.data, hi), lo)
            if it % sync_every == 0:
                float(loss.detach())
            if hooks_per_step:
                hooks.remove()
        if not hooks_per_step:
            hooks.remove()
        teacher.requires_grad_(True)
        return 1000 * (time.perf_counter() - start) / n

    rows = []
    naive(5, False, False, 25)  # warm-up
    for name, args in [("naive: hooks per step, weight grads, sync every step", (True, True, 1)),
                       ("+ hooks registered once", (False, True, 1)),
                       ("+ no weight gradients (frozen teacher)", (False, False, 1)),
                       ("+ host sync every 25 steps", (False, False, 25))]:
        rows.append({"variant": name, "ms_per_iter": naive(a.iters, *args)})
    r = synthesize(teacher, labels, cfg.replace(iterations=a.iters, early_stop=False),
                   pixel_range=(lo, hi))
    rows.append({"variant": "synth.inversion.synthesize (fixed count)",
                 "ms_per_iter": 1000 * r.stats["seconds"] / a.iters})
    return {"rows": rows, "batch": a.batch, "iters": a.iters}


def _invert(a, early_stop: bool, preset: str, teacher, data: Dataset, batches: int, **over) -> dict:
    cfg = InversionConfig.preset(preset, batch_size=a.batch, early_stop=early_stop, **over)
    labels = balanced_labels(a.batch * batches, data.num_classes, offset=a.offset)
    r = synthesize(teacher, labels, cfg, pixel_range=data.pixel_range(), seed=a.seed)
    return {"images": r.images, "labels": r.labels, "stats": r.stats,
            "confidence": float(r.teacher_confidence.mean())}


def job_invert(a) -> dict:
    """``a.batches`` batches of ``a.batch`` images, early-stopped (ours) or fixed (reference)."""
    teacher = load_model(a.teacher)
    res = _invert(a, not a.fixed, "mnist28", teacher, load_dataset("mnist5k"), a.batches,
                  iterations=a.max_iters)
    with atomic_path(Path(a.work) / f"{a.name}.images.pt") as tmp:
        torch.save({"images": res.pop("images"), "labels": res.pop("labels")}, tmp)
    return res


def padded_mnist_rgb() -> Dataset:
    """mnist5k padded to 32x32 and repeated to 3 channels (no CIFAR on this machine)."""
    d = load_dataset("mnist5k")
    f = lambda x: F.pad(x, (2, 2, 2, 2), value=float(d.pixel_range()[0])).repeat(1, 3, 1, 1)  # noqa
    return Dataset("mnist5k_rgb32", f(d.x_train), d.y_train, f(d.x_val), d.y_val, f(d.x_test),
                   d.y_test, (3, 32, 32), 10, d.class_names, d.mean * 3, d.std * 3)


def job_cifar32(a) -> dict:
    """The 32x32 colour preset (flips off: digits) on a LeNet-5-BN trained on padded RGB MNIST."""
    from synth.models import build
    from synth.train import TrainConfig, fit
    data = padded_mnist_rgb()
    torch.manual_seed(0)
    teacher = build("lenet5_bn", data.input_shape, 10)
    acc = fit(teacher, data, TrainConfig(epochs=a.teacher_epochs, progress=False))["test_accuracy"]
    teacher.eval()
    fixed = _invert(a, False, "cifar32", teacher, data, 1, iterations=a.iters, flip=False)
    ours = _invert(a, True, "cifar32", teacher, data, 1, flip=False)
    return {"teacher_test_accuracy": acc, "ms_per_iter": 1000 * fixed["stats"]["seconds"] / a.iters,
            "fixed_fidelity": fixed["stats"]["fidelity"], "ours": ours["stats"]}


# the KD protocol this benchmark's students (and amortized.py's, through job_distill) were
# measured with: no CutMix, exactly the steps asked (DistillConfig's defaults since issue 18
# are CutMix 0.5 and >= 1,920 steps; inversion_any.py measures those)
PROTOCOL = {"cutmix": 0.0, "min_steps": 0}


def job_adi(a) -> dict:
    """The ADI protocol (adi_weight a.adi_weight; 0 = plain DI on the same schedule)."""
    from synth.distill import DistillConfig, adi_distill
    from synth.models import build
    teacher = load_model(a.teacher)
    data = load_dataset("mnist5k")
    torch.manual_seed(a.seed)
    student = build("lenet5_bn_half", data.input_shape, 10)
    cfg = DistillConfig(rounds=a.rounds, images_per_round=a.batch, adi_weight=a.adi_weight,
                        final_kd_steps=a.final_kd_steps, seed=a.seed, jitter=a.jitter,
                        progress=False, **PROTOCOL)
    return adi_distill(student, teacher, data.pixel_range(), cfg,
                       InversionConfig.preset("mnist28", batch_size=a.batch), data=data)


def job_distill(a) -> dict:
    """KD of a half-width LeNet-5 on saved images (or Gaussian noise) for a.epochs."""
    from synth.distill import DistillConfig, distill
    from synth.models import build
    teacher = load_model(a.teacher)
    data = load_dataset("mnist5k")
    if a.source == "noise":
        lo, hi = data.pixel_range()
        g = torch.Generator().manual_seed(a.seed)
        x = torch.max(torch.min(torch.randn((a.count, 1, 28, 28), generator=g), hi), lo)
    else:
        x = torch.cat([torch.load(Path(a.work) / f"{s}.images.pt", weights_only=True)["images"]
                       for s in a.source.split(",")])[:a.count]
    torch.manual_seed(a.seed)
    student = build("lenet5_bn_half", data.input_shape, 10)
    m = distill(student, teacher, x, data, DistillConfig(**{
        **PROTOCOL, "epochs": a.epochs, "seed": a.seed, "jitter": a.jitter, "progress": False,
        "min_steps": getattr(a, "min_steps", 0)}))
    m.pop("history")
    return m


def job_pairs(a) -> dict:
    """Images/s of run_synthesis with 1 and 2 pairs on a local Ray with 2 CPUs (fixed iterations)."""
    from cluster.connect import connect
    from cluster.pairs import run_synthesis
    try:
        connect(num_cpus=2)
    except ValueError:  # another Ray head runs on this machine: start our own anyway
        connect(address="local")  # a fresh local Ray with all (2) CPUs
    cfg = InversionConfig.preset("mnist28", iterations=a.iters, early_stop=False, batch_size=a.batch)
    out = {}
    for k in (1, 2):
        s = run_synthesis(a.teacher, Path(a.work) / f"pairs{k}", a.shards * a.batch, k, cfg,
                          shard_size=a.batch, seed=k)
        out[k] = {"images_per_second": s["images_per_second"], "seconds": s["seconds"],
                  "startup_seconds": s["startup_seconds"],
                  "written": s["written"], "fidelity": s["fidelity"]}
    out["speedup"] = out[2]["images_per_second"] / out[1]["images_per_second"]
    return out


JOBS = {"ablation": job_ablation, "invert": job_invert, "cifar32": job_cifar32, "adi": job_adi,
        "distill": job_distill, "pairs": job_pairs}


# --------------------------------------------------------------------------- driver
def plan(a) -> tuple[list[list[str]], list[list[str]]]:
    """(phase 1: independent jobs, phase 2: distillations on phase-1 images) as arg lists."""
    q = a.quick
    b, it = (32, 20) if q else (256, 100)
    ref_iters = 40 if q else REF_ITERS
    p1 = [["ablation", "ablation", "--batch", str(b), "--iters", str(it)],
          ["cifar32", "cifar32", "--batch", str(b), "--iters", str(it),
           "--teacher-epochs", "1" if q else "8"]]
    for k in range(a.ref_batches):
        p1.append([f"ref{k}", "invert", "--fixed", "--max-iters", str(ref_iters), "--batch", str(b),
                   "--offset", str(k * b), "--seed", str(100 + k)])
    for k in range(a.ours_procs):
        p1.append([f"ours{k}", "invert", "--batches", "2", "--batch", str(b),
                   "--offset", str(2 * k * b), "--seed", str(200 + k)])
    rounds = 2 if q else a.ours_procs * 2
    for name, w in (("adi", "1.0"), ("di", "0.0"), ("adi_w0.2", "0.2")):
        p1.append([name, "adi", "--adi-weight", w, "--rounds", str(rounds), "--batch", str(b),
                   "--final-kd-steps", "20" if q else "400"])
    n_ref, n_ours = a.ref_batches * b, a.ours_procs * 2 * b
    refs = ",".join(f"ref{k}" for k in range(a.ref_batches))
    ours = ",".join(f"ours{k}" for k in range(a.ours_procs))
    ep = "2" if q else str(a.epochs)
    p2 = [["kd_ref", "distill", "--source", refs, "--count", str(n_ref), "--epochs", ep],
          ["kd_ours_same", "distill", "--source", ours, "--count", str(n_ref), "--epochs", ep],
          ["kd_ours", "distill", "--source", ours, "--count", str(n_ours), "--epochs", ep],
          ["kd_ours_nojitter", "distill", "--source", ours, "--count", str(n_ours), "--epochs", ep,
           "--jitter", "0"],
          ["kd_noise", "distill", "--source", "noise", "--count", str(n_ours), "--epochs", ep]]
    return p1, p2


def run_phase(a, jobs: list[list[str]], wait: bool = True, running: list | None = None) -> list:
    """Start ``jobs`` (at most ``a.procs`` alive, counting ``running``); wait for them if asked."""
    procs = []
    running = running or []
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for spec in jobs:
        name = spec[0]
        if (Path(a.work) / f"{name}.json").is_file():
            continue  # resume
        cmd = [sys.executable, __file__, "job", "--name", name, "--job", spec[1], "--teacher",
               a.teacher, "--work", a.work] + spec[2:]
        log = open(Path(a.work) / f"{name}.log", "w")
        procs.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)))
        while sum(p.poll() is None for _, p in procs + running) >= a.procs:
            time.sleep(0.5)
    if not wait:
        return procs
    for name, p in procs:
        if p.wait() != 0:
            print(f"job {name} failed; see {a.work}/{name}.log", file=sys.stderr)
    return procs


def report(a) -> str:
    w = Path(a.work)
    r = {p.stem: json.loads(p.read_text()) for p in w.glob("*.json")}
    g = lambda k: r.get(k)  # noqa: E731
    lines = [f"# DeepInversion benchmark ({'quick' if a.quick else 'full'} run)", "",
             f"Machine: {a.machine}. Every job one thread, {a.procs} jobs side by side.", ""]
    if g("ablation"):
        ab = g("ablation")
        base = ab["rows"][0]["ms_per_iter"]
        lines += [f"## Per-iteration cost, mnist28, batch {ab['batch']}, {ab['iters']} iterations",
                  "", "| loop variant | ms/iter | vs naive |", "|---|---:|---:|"]
        lines += [f"| {row['variant']} | {row['ms_per_iter']:.1f} | {base / row['ms_per_iter']:.2f}x |"
                  for row in ab["rows"]]
        lines += ["", f"Published loop on the issue's 2-core machine: {REF_MS_PER_ITER} ms/iter "
                  f"(not rerun here).", ""]
    refs = [g(f"ref{k}") for k in range(a.ref_batches) if g(f"ref{k}")]
    ours = [g(f"ours{k}") for k in range(a.ours_procs) if g(f"ours{k}")]
    if refs and ours:
        def agg(rs):
            n = sum(len(x["stats"]["iterations"]) for x in rs) * (a.batch_used)
            sec = sum(x["stats"]["seconds"] for x in rs)
            it = sum(sum(x["stats"]["iterations"]) for x in rs) / sum(
                len(x["stats"]["iterations"]) for x in rs)
            fid = sum(x["stats"]["fidelity"] * len(x["stats"]["iterations"]) for x in rs) / sum(
                len(x["stats"]["iterations"]) for x in rs)
            bn0 = sum(x["stats"]["bn_loss_initial"] for x in rs) / len(rs)
            bn1 = sum(x["stats"]["bn_loss_final"] for x in rs) / len(rs)
            return n, sec, n / sec, it, fid, bn0, bn1
        R, O = agg(refs), agg(ours)
        lines += ["## Speed and fidelity, mnist28 (lenet5_bn teacher on mnist5k)", "",
                  "| loop | images | mean iterations/batch | s | images/s | fidelity | BN loss start -> end |",
                  "|---|---:|---:|---:|---:|---:|---|",
                  f"| reference protocol (fixed {R[3]:.0f} it, our objective) | {R[0]} | {R[3]:.0f} | "
                  f"{R[1]:.0f} | {R[2]:.3f} | {R[4]:.4f} | {R[5]:.1f} -> {R[6]:.2f} ({R[5] / R[6]:.0f}x) |",
                  f"| ours (early stop) | {O[0]} | {O[3]:.0f} | {O[1]:.0f} | {O[2]:.3f} | {O[4]:.4f} | "
                  f"{O[5]:.1f} -> {O[6]:.2f} ({O[5] / O[6]:.0f}x) |",
                  f"| published loop, issue figure | | 2000 | | {1000 / REF_MS_PER_ITER * 256 / 2000:.2f} | "
                  f"1.0 (at 300 it) | |", "",
                  f"Speed-up, same machine: **{O[2] / R[2]:.2f}x** images/s over the fixed-{R[3]:.0f} loop; "
                  f"{O[2] / 1.43:.2f}x over the issue's 1.43 images/s (different machine).", ""]
    if g("cifar32"):
        c = g("cifar32")
        o = c["ours"]
        lines += ["## cifar32 preset (3x32x32; LeNet-5-BN trained on padded RGB mnist5k, "
                  f"test {c['teacher_test_accuracy']:.3f}; flips off)", "",
                  f"- fixed loop: {c['ms_per_iter']:.1f} ms/iter -> "
                  f"{1000 / c['ms_per_iter'] * a.batch_used / REF_ITERS:.3f} images/s at 2,000 iterations",
                  f"- ours: {o['mean_iterations']:.0f} iterations, {o['images_per_second']:.3f} images/s, "
                  f"fidelity {o['fidelity']:.4f}, BN {o['bn_loss_initial']:.1f} -> {o['bn_loss_final']:.2f}",
                  ""]
    rows = [("KD on reference-protocol images", "kd_ref"), ("KD on our early-stopped images (same count)",
             "kd_ours_same"), ("KD on our early-stopped images (DI)", "kd_ours"),
            ("KD on our early-stopped images, no KD jitter", "kd_ours_nojitter"),
            ("ADI protocol (rounds + competition, weight 1)", "adi"),
            ("ADI protocol (competition weight 0.2)", "adi_w0.2"),
            ("DI protocol (same rounds, no competition)", "di"),
            ("KD on Gaussian noise", "kd_noise")]
    lines += ["## Usefulness: lenet5_bn_half student, synthesized images only, real mnist5k test", "",
              "| student trained by | images | test accuracy |", "|---|---:|---:|"]
    for label, key in rows:
        if g(key):
            n = g(key).get("train_images", g(key).get("images"))
            lines.append(f"| {label} | {n} | {g(key)['test_accuracy']:.4f} |")
    if g("adi"):
        lines.append(f"\nTeacher test accuracy: {g('adi')['teacher_test_accuracy']:.4f}")
    if g("pairs"):
        p = g("pairs")
        lines += ["", "## Pairs (run_synthesis, local Ray with 2 CPUs, fixed iterations)", "",
                  "| pairs | images/s | s |", "|---:|---:|---:|",
                  f"| 1 | {p['1']['images_per_second']:.2f} | {p['1']['seconds']:.1f} |",
                  f"| 2 | {p['2']['images_per_second']:.2f} | {p['2']['seconds']:.1f} |",
                  "", f"Speed-up 2 vs 1 pair: **{p['speedup']:.2f}x**"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- ADI vs DI
def adi_jobs(a) -> list[list[str]]:
    """Every (budget, competition weight, seed): ``rounds`` x ``batch`` images per budget; the
    same seeds (same initial noise and KD batches) for every weight, so seeds pair up."""
    jobs = []
    for seed in range(a.seeds):  # seed-major: a run cut short leaves whole paired cells
        for budget in a.budgets.split(","):
            rounds, batch = (int(v) for v in budget.split("x"))
            for w in a.weights.split(","):
                jobs.append([f"adi_r{rounds}_b{batch}_w{w}_s{seed}", "adi", "--adi-weight", w,
                             "--rounds", str(rounds), "--batch", str(batch), "--seed", str(seed),
                             "--final-kd-steps", str(a.final_kd_steps)])
    return jobs


def teacher_note(path: str) -> str:
    """How the teacher was trained and its test accuracy, from its checkpoint."""
    try:
        info = load_model(path).checkpoint_info
    except (OSError, ValueError):
        return f"{path}, not readable now"
    m = info.get("metrics", {})
    return (f"trained on {m.get('dataset', '?')} for {m.get('epochs', '?')} epochs, test "
            f"{m.get('test_accuracy', float('nan')):.3f}")


def adi_report(a) -> str:
    """Per budget: test accuracy of each competition weight (mean, std over seeds) and its
    paired difference from plain DI (weight 0) on the same seeds."""
    import statistics as st
    w = Path(a.work)
    lines = ["## ADI vs DI at equal image budgets (lenet5_bn_half student, real mnist5k test)", "",
             f"{a.seeds} seeds per cell; KD {a.final_kd_steps} final steps + 50 per round; "
             f"machine: {a.machine}.", "",
             f"Command: `python benchmarks/inversion.py adi --teacher {a.teacher} --work DIR "
             f"--budgets {a.budgets} --weights {a.weights} --seeds {a.seeds}"
             + (f" --final-kd-steps {a.final_kd_steps}" if a.final_kd_steps != 400 else "")
             + f"` (teacher: {teacher_note(a.teacher)}).  "
             f"Same seed = same initial noise, labels and KD batches for every weight.", "",
             "| images (rounds x batch) | competition weight | test acc. mean ± std | val acc. mean | "
             "vs DI, paired (mean ± s.e.) | seeds ADI > DI | mean it./batch | s/job |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for budget in a.budgets.split(","):
        rounds, batch = (int(v) for v in budget.split("x"))
        res = {wt: {s: json.loads(p.read_text()) for s in range(a.seeds)
                    if (p := w / f"adi_r{rounds}_b{batch}_w{wt}_s{s}.json").is_file()}
               for wt in a.weights.split(",")}
        base = next((by_seed for wt, by_seed in res.items() if float(wt) == 0), {})
        for wt, by_seed in res.items():
            rows = list(by_seed.values())
            if not rows:
                continue
            acc = [r["test_accuracy"] for r in rows]
            diff = [r["test_accuracy"] - base[s]["test_accuracy"] for s, r in by_seed.items()
                    if s in base]
            ours = float(wt) > 0 and len(diff) > 1
            paired = (f"{100 * st.mean(diff):+.2f} ± {100 * st.stdev(diff) / len(diff) ** .5:.2f} pt"
                      if ours else "")
            wins = f"{sum(d > 0 for d in diff)}/{len(diff)}" if ours else ""
            lines.append(
                f"| {rounds * batch} ({rounds} x {batch}) | {wt} | {100 * st.mean(acc):.2f} ± "
                f"{100 * (st.stdev(acc) if len(acc) > 1 else 0):.2f} % | "
                f"{100 * st.mean(r['val_accuracy'] for r in rows):.2f} % | {paired} | {wins} | "
                f"{st.mean(r['mean_iterations'] for r in rows):.0f} | "
                f"{st.mean(r['job_seconds'] for r in rows):.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["all", "job", "report", "adi"])
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--procs", type=int, default=max(1, (os.cpu_count() or 2) - 2))
    ap.add_argument("--ref-batches", type=int, default=4)
    ap.add_argument("--ours-procs", type=int, default=4)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--phases", default="1,2,3")
    ap.add_argument("--md", default=None)
    ap.add_argument("--machine", default="this machine")
    # job arguments
    ap.add_argument("--name"), ap.add_argument("--job", choices=sorted(JOBS))
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--max-iters", type=int, default=REF_ITERS)
    ap.add_argument("--batches", type=int, default=1)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fixed", action="store_true")
    ap.add_argument("--teacher-epochs", type=int, default=8)
    ap.add_argument("--adi-weight", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--final-kd-steps", type=int, default=400)
    ap.add_argument("--source", default="noise")
    ap.add_argument("--count", type=int, default=1024)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--jitter", type=int, default=2, help="KD: random roll of each batch (px)")
    ap.add_argument("--budgets", default="4x64,8x64", help="adi mode: rounds x batch, comma-separated")
    ap.add_argument("--weights", default="0,0.3,1,3", help="adi mode: competition weights (0 = DI)")
    ap.add_argument("--seeds", type=int, default=8, help="adi mode: seeds per cell")
    ap.add_argument("--report-only", action="store_true", help="adi mode: report finished jobs")
    a = ap.parse_args()
    if a.mode == "adi":   # checked before any job starts (a job reads them as numbers)
        for budget in a.budgets.split(","):
            r, _, b = budget.partition("x")
            if not (r.isdigit() and b.isdigit() and int(r) > 0 and int(b) > 0):
                ap.error(f"--budgets: ROUNDSxBATCH expected (e.g. 4x64), got {budget!r}")
        try:
            [float(w) for w in a.weights.split(",")]
        except ValueError:
            ap.error(f"--weights: comma-separated numbers expected, got {a.weights!r}")
        if a.seeds < 1:
            ap.error(f"--seeds must be >= 1, got {a.seeds}")
    if a.mode == "job" and not (a.job and a.name):
        ap.error("job mode needs --job and --name")
    if a.mode != "report" and not Path(a.teacher).is_file():
        ap.error(f"--teacher: no file {a.teacher} (train one: nnsynth train --dataset mnist5k "
                 "--model lenet5_bn --epochs 15 --out FILE)")
    Path(a.work).mkdir(parents=True, exist_ok=True)
    a.batch_used = 32 if a.quick else 256
    if a.mode == "job":
        torch.set_num_threads(1)
        t = time.perf_counter()
        result = JOBS[a.job](a)
        result["job_seconds"] = round(time.perf_counter() - t, 2)
        _save(Path(a.work), a.name, result)
        return
    if a.mode == "adi":
        if not a.report_only:
            run_phase(a, adi_jobs(a))
        text = adi_report(a)
        if a.md:
            write_result(a.md, text)
        else:
            print(text)
        return
    if a.mode == "all":
        p1, p2 = plan(a)
        slow = [j for j in p1 if j[1] in ("adi", "cifar32")]  # nothing in phase 2 needs these
        background = run_phase(a, slow, wait=False) if "1" in a.phases else []
        if "1" in a.phases:
            run_phase(a, [j for j in p1 if j not in slow], running=background)
        if "2" in a.phases:
            run_phase(a, p2, running=background)
        for name, p in background:
            if p.wait() != 0:
                print(f"job {name} failed; see {a.work}/{name}.log", file=sys.stderr)
        if "3" in a.phases and not (Path(a.work) / "pairs.json").is_file():
            b, it, sh = (32, 10, 4) if a.quick else (128, 100, 8)
            run_phase(a, [["pairs", "pairs", "--batch", str(b), "--iters", str(it),
                           "--shards", str(sh)]])
    text = report(a)
    if a.md:
        write_result(a.md, text)
    else:
        print(text)


if __name__ == "__main__":
    run_main(main)
