"""Synthesis speed: reference loop vs ours (early stop) vs amortized (a generator), one run.

    python benchmarks/amortized.py --teacher runs/teacher.pt --work runs/amort [--quick]

The teacher is ``nnsynth train --dataset mnist5k --model lenet5_bn --epochs 15``.  Three ways to
make the same number of class-balanced images (``--images``, batches of 256):

* reference protocol: DeepInversion for a fixed 2,000 iterations per batch (the published
  loop's protocol, our objective, ``early_stop=False``);
* ours: ``synth.inversion.synthesize`` with its stopping rule;
* amortized: ``synth.amortized`` (Fast DFKD): a generator warmed up with the same losses,
  then each batch adapted from it for a few steps; its images/s count the warm-up
  (``total``) and, separately, the sampling alone (``marginal``: the rate of every further
  image), measured on ``--extra`` more images;
* control: DeepInversion from noise for a fixed ``--noise-iters`` (annealed) per batch.

``--synth-seeds`` adds synthesis draws of the fast methods and ``--ref-draws`` of the
reference loop (about 210 CPU s per 256 images), and a table of the student over draws x KD
seeds per KD recipe (``--kd-min-steps 0,500``: ``--epochs`` passes, or at least 500 SGD steps,
``DistillConfig.min_steps``); all KD seeds of one image set run in one process.

Every job is a separate process with one torch thread, run one at a time (``nice`` it), its
JSON cached in ``--work`` (a rerun resumes).  Times are wall-clock and process CPU time: the
machine is shared, so the CPU-time rates (one thread's work) are the comparable ones and the
load average is recorded around each job.  Then a half-width LeNet-5 student is distilled on
each set (same count, ``--seeds`` seeds, real mnist5k test), and the Ray pair actors run
1 and 2 pairs (local Ray, 2 CPUs) for DeepInversion and for amortized synthesis.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import command_line, load_average, mean_sd, table, write_result, run_main  # noqa: E402
from inversion import job_distill  # noqa: E402  (KD of lenet5_bn_half on saved images)
from synth.checkpoint import load_model  # noqa: E402
from synth.data import load_dataset  # noqa: E402
from synth.files import atomic_path, write_text_atomic  # noqa: E402
from synth.inversion import InversionConfig, balanced_labels, settings_for, synthesize  # noqa: E402

BATCH = 256
REF_ITERS = 2000


def _clock():
    return time.perf_counter(), time.process_time()


def _since(t):
    return {"wall_s": time.perf_counter() - t[0], "cpu_s": time.process_time() - t[1]}


def _save_images(a, images, labels) -> None:
    with atomic_path(Path(a.work) / f"{a.name}.images.pt") as tmp:
        torch.save({"images": images, "labels": labels}, tmp)


def job_invert(a) -> dict:
    """One batch of ``a.batch`` images: fixed ``a.iters`` iterations (reference) or early-stopped."""
    teacher = load_model(a.teacher)
    data = load_dataset("mnist5k")
    cfg = InversionConfig.preset("mnist28", batch_size=a.batch, early_stop=not a.fixed,
                                 iterations=a.iters)
    labels = balanced_labels(a.batch, data.num_classes, offset=a.offset)
    t = _clock()
    r = synthesize(teacher, labels, cfg, pixel_range=data.pixel_range(), seed=a.seed)
    out = {"images": len(labels), **_since(t), "stats": r.stats}
    _save_images(a, r.images, r.labels)
    return out


def job_amortized(a) -> dict:
    """Train the generator, sample ``a.count`` images (saved), then ``a.extra`` more (timed)."""
    from synth.amortized import AmortizedConfig, sample, train_generator
    teacher = load_model(a.teacher)
    data = load_dataset("mnist5k")
    pr = data.pixel_range()
    cfg = AmortizedConfig.from_inversion(settings_for(teacher, value_range=pr),
                                         **json.loads(a.amortized))
    t = _clock()
    gen, train = train_generator(teacher, cfg, pixel_range=pr, seed=a.seed)
    train_t = _since(t)

    def student(seed):   # trained alongside on the memory bank (Fast DFKD), when asked for
        if not (cfg.adapt_steps and (cfg.kd_steps or cfg.adi_weight)):
            return None
        from synth.models import build
        torch.manual_seed(seed)
        return build("lenet5_bn_half", data.input_shape, data.num_classes)
    t = _clock()
    r = sample(gen, teacher, balanced_labels(a.count, 10), cfg, seed=a.seed + 1,
               student=student(a.seed + 1))
    sample_t = _since(t)
    _save_images(a, r.images, r.labels)
    extra = {}
    if a.extra:
        t = _clock()
        e = sample(gen, teacher, balanced_labels(a.extra, 10), cfg, seed=a.seed + 2,
                   student=student(a.seed + 2))
        extra = {"images": a.extra, **_since(t), "fidelity": e.fidelity}
    return {"config": cfg.to_dict(), "train": {**train_t, **train}, "sample": {
        "images": a.count, **sample_t, "fidelity": r.fidelity, "stats": r.stats}, "extra": extra}


def job_pairs(a) -> dict:
    """Images/s of run_synthesis with 1 and 2 pairs (local Ray, 2 CPUs), for DeepInversion at
    a fixed iteration count and for amortized synthesis (generator trained in the job)."""
    from cluster.connect import connect
    from cluster.pairs import run_synthesis
    try:
        connect(num_cpus=2)
    except ValueError:  # another Ray head runs on this machine: start our own anyway
        connect(address="local")
    out = {"load_before": os.getloadavg()}
    for method in a.methods.split(","):
        over = {"amortized": json.loads(a.amortized)} if method == "amortized" else {}
        cfg = InversionConfig.preset("mnist28", iterations=a.iters, early_stop=False,
                                     batch_size=a.batch, method=method, **over)
        for k in a.counts:
            t = _clock()
            s = run_synthesis(a.teacher, Path(a.work) / f"pairs_{method}_{k}", a.shards * a.batch,
                              k, cfg, shard_size=a.batch, seed=k)
            out[f"{method}_{k}"] = {**{key: s.get(key) for key in (
                "images_per_second", "marginal_images_per_second", "seconds", "startup_seconds",
                "generator_seconds", "generator_pairs", "written", "fidelity", "images_written",
                "pair_busy")},
                "generator": {key: v for key, v in (s.get("generator") or {}).items()
                              if key in ("steps", "seconds", "cpu_seconds", "pairs",
                                         "rank_cpu_seconds", "rank_seconds", "rank_collective_seconds",
                                         "parallel", "same_weights", "fidelity_kept")},
                "load": os.getloadavg(), **_since(t)}
    return out


def job_distill_seeds(a) -> dict:
    """``job_distill`` for KD seeds 0..a.kd_seeds-1 in one process (no start-up per student);
    each student's JSON is written as ``{a.name}_s{seed}.json``."""
    import copy
    out = {}
    for seed in range(a.kd_seeds):
        b = copy.copy(a)
        b.seed = seed
        t = time.perf_counter()
        m = job_distill(b)
        m["job_seconds"] = round(time.perf_counter() - t, 2)
        write_text_atomic(Path(a.work) / f"{a.name}_s{seed}.json", json.dumps(m, indent=1))
        out[seed] = m["test_accuracy"]
    return {"test_accuracy": out}


JOBS = {"invert": job_invert, "amortized": job_amortized, "distill": job_distill,
        "distill_seeds": job_distill_seeds,
        "pairs": job_pairs}


# --------------------------------------------------------------------------- driver
def run_job(a, name: str, job: str, args: list[str]) -> dict | None:
    """Run one job in its own single-thread process unless its JSON exists; returns it."""
    path = Path(a.work) / f"{name}.json"
    if not path.is_file():
        cmd = [sys.executable, __file__, "job", "--name", name, "--job", job, "--teacher",
               a.teacher, "--work", a.work, "--amortized", a.amortized] + args
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        before = os.getloadavg()
        print(f"[{time.strftime('%H:%M:%S')}] {name} (load {load_average()})", file=sys.stderr)
        with open(Path(a.work) / f"{name}.log", "w") as log:
            rc = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        if rc != 0:
            print(f"job {name} failed; see {a.work}/{name}.log", file=sys.stderr)
            return None
        res = json.loads(path.read_text())
        res["load_around"] = [before, os.getloadavg()]
        write_text_atomic(path, json.dumps(res, indent=1))
    return json.loads(path.read_text())


def kd_prefix(min_steps: int) -> str:
    """Job-name prefix of the students of one KD recipe: ``kd`` for ``--epochs`` passes,
    ``kd{N}`` for at least N SGD steps (``DistillConfig.min_steps``)."""
    return "kd" if not min_steps else f"kd{min_steps}"


def sources(a) -> tuple[str, ...]:
    return ("ref", "ours", "amortized") + (() if a.no_noise else ("noise",))


def kd_sources(a, n_batches: int) -> list[tuple[str, str]]:
    """(key, comma list of image-set jobs) for every set a student is distilled on; draw 0
    keeps the plain names (``ours``, ``amortized``...), draw d > 0 ends in ``_r{d}``."""
    out = []
    for d in range(a.synth_seeds):
        tag = f"_r{d}" if d else ""
        for source in sources(a):
            if source == "ref" and d >= a.ref_draws:
                continue
            names = (f"amortized{tag}" if source == "amortized"
                     else ",".join(f"{source}{k}{tag}" for k in range(n_batches)))
            out.append((f"{source}{tag}", names))
    return out


def plan(a) -> list[tuple[str, str, list[str]]]:
    n_batches = a.images // a.batch
    ref_iters = 40 if a.quick else REF_ITERS
    jobs = []
    for k in range(n_batches):   # interleaved: reference, ours, reference, ours...
        common = ["--batch", str(a.batch), "--offset", str(k * a.batch)]
        jobs.append((f"ref{k}", "invert", common + ["--fixed", "--iters", str(ref_iters),
                                                    "--seed", str(100 + k)]))
        jobs.append((f"ours{k}", "invert", common + ["--iters", str(ref_iters),
                                                     "--seed", str(200 + k)]))
    jobs.append(("amortized", "amortized", ["--count", str(a.images), "--extra", str(a.extra),
                                            "--seed", "300"]))
    # control: plain DeepInversion from noise at about the amortized method's CPU budget
    # (a fixed, fully annealed loop), without the generator
    for k in range(0 if a.no_noise else n_batches):
        jobs.append((f"noise{k}", "invert", ["--batch", str(a.batch), "--offset", str(k * a.batch),
                                             "--fixed", "--iters", str(a.noise_iters), "--seed",
                                             str(400 + k)]))
    # more synthesis draws (seeds) of every method: the student's spread over the image sets,
    # not only over KD seeds (``--ref-draws`` of them for the reference: 2,000 iterations)
    for d in range(1, a.synth_seeds):
        for k in range(n_batches):
            jobs.append((f"ours{k}_r{d}", "invert", ["--batch", str(a.batch), "--offset",
                                                     str(k * a.batch), "--iters", str(ref_iters),
                                                     "--seed", str(200 + k + 1000 * d)]))
        jobs.append((f"amortized_r{d}", "amortized", ["--count", str(a.images), "--extra", "0",
                                                      "--seed", str(300 + 1000 * d)]))
        for k in range(0 if a.no_noise else n_batches):
            jobs.append((f"noise{k}_r{d}", "invert", ["--batch", str(a.batch), "--offset",
                                                      str(k * a.batch), "--fixed", "--iters",
                                                      str(a.noise_iters), "--seed",
                                                      str(400 + k + 1000 * d)]))
    for d in range(1, a.ref_draws):   # last: the dearest (about 210 CPU s per 256 images)
        for k in range(n_batches):
            jobs.append((f"ref{k}_r{d}", "invert", ["--batch", str(a.batch), "--offset",
                                                    str(k * a.batch), "--fixed", "--iters",
                                                    str(ref_iters), "--seed",
                                                    str(100 + k + 1000 * d)]))
    ep = "2" if a.quick else str(a.epochs)
    for min_steps in a.kd_min_steps:
        for key, names in kd_sources(a, n_batches):   # all KD seeds of a set in one process
            jobs.append((f"{kd_prefix(min_steps)}_{key}", "distill_seeds", [
                "--source", names, "--count", str(a.images), "--epochs", ep,
                "--min-steps", str(min_steps), "--kd-seeds", str(a.seeds)]))
    if not a.no_pairs:
        b, it, sh = (32, 10, 4) if a.quick else (64, 100, 8)
        jobs.append(("pairs", "pairs", ["--batch", str(b), "--iters", str(it), "--shards",
                                        str(sh)]))
    return jobs


def report(a) -> list[str]:
    w = Path(a.work)
    r = {p.stem: json.loads(p.read_text()) for p in w.glob("*.json")}
    n_batches = a.images // a.batch
    refs = [r[f"ref{k}"] for k in range(n_batches) if f"ref{k}" in r]
    ours = [r[f"ours{k}"] for k in range(n_batches) if f"ours{k}" in r]
    am = r.get("amortized")
    noise = [r[f"noise{k}"] for k in range(n_batches) if f"noise{k}" in r]
    lines = [f"Teacher: `{a.teacher}` (lenet5_bn on mnist5k).  {a.images} images per method "
             f"(batches of {a.batch}); one torch thread per job, one job at a time.", ""]

    kd = kd_prefix(a.kd_min_steps[0])

    def student(source):
        acc = [r[f"{kd}_{source}_s{s}"]["test_accuracy"] for s in range(a.seeds)
               if f"{kd}_{source}_s{s}" in r]
        if not acc:
            return "", None
        return (f"{mean_sd(acc)} (median {statistics.median(acc):.4f}, min {min(acc):.4f})",
                statistics.mean(acc))

    def agg(jobs):
        n = sum(j["images"] for j in jobs)
        wall, cpu = sum(j["wall_s"] for j in jobs), sum(j["cpu_s"] for j in jobs)
        fid = sum(j["stats"]["fidelity"] * j["images"] for j in jobs) / n
        it = statistics.mean(i for j in jobs for i in j["stats"]["iterations"])
        return n, wall, cpu, fid, it

    rows, rates = [], {}
    if len(refs) == n_batches and len(ours) == n_batches and am:
        for label, key, jobs in (("reference protocol (fixed 2,000 it/batch)", "ref", refs),
                                 ("ours (early stop)", "ours", ours)):
            n, wall, cpu, fid, it = agg(jobs)
            rates[key] = (n / cpu, n / wall)
            rows.append([label, n, f"{it:.0f} it/batch", f"{cpu:.0f}", f"{wall:.0f}",
                         f"{n / cpu:.3f}", f"{n / wall:.3f}", f"{fid:.4f}", student(key)[0]])
        tr, sa, ex = am["train"], am["sample"], am["extra"]
        cpu, wall = tr["cpu_s"] + sa["cpu_s"], tr["wall_s"] + sa["wall_s"]
        n = sa["images"]
        rates["amortized"] = (n / cpu, n / wall)
        c = am["config"]
        what = (f"Fast DFKD: generator warm-up {tr['steps']} steps of {c['batch_size']}, then "
                f"batches of {c['adapt_batch']} adapted {c['adapt_steps']} steps each"
                if c.get("adapt_steps") else
                f"generator: {tr['steps']} steps of {c['batch_size']}, then sampled")
        work = (f"{tr['steps']} + {c['adapt_steps']}/batch steps" if c.get("adapt_steps")
                else f"{tr['steps']} steps")
        rows.append([f"amortized ({what})", n, work, f"{cpu:.1f}", f"{wall:.1f}",
                     f"{n / cpu:.2f}", f"{n / wall:.2f}", f"{sa['fidelity']:.4f}",
                     student("amortized")[0]])
        if len(noise) == n_batches:
            n, wall, cpu, fid, it = agg(noise)
            rows.append([f"control: DeepInversion from noise, fixed {it:.0f} it/batch, annealed "
                         f"(no generator)", n, f"{it:.0f} it/batch", f"{cpu:.1f}", f"{wall:.1f}",
                         f"{n / cpu:.2f}", f"{n / wall:.2f}", f"{fid:.4f}", student("noise")[0]])
        if ex:
            m = ex["images"]
            rows.append([f"amortized, marginal (sampling {m} more)", m, "", f"{ex['cpu_s']:.2f}",
                         f"{ex['wall_s']:.2f}", f"{m / ex['cpu_s']:.0f}", f"{m / ex['wall_s']:.0f}",
                         f"{ex['fidelity']:.4f}", ""])
            big = n + m
            rows.append([f"amortized, {big} images incl. training", big, "",
                         f"{cpu + ex['cpu_s']:.1f}", f"{wall + ex['wall_s']:.1f}",
                         f"{big / (cpu + ex['cpu_s']):.1f}", f"{big / (wall + ex['wall_s']):.1f}",
                         "", ""])
        lines += table(["method", "images", "work", "CPU s", "wall s", "images/s (CPU)",
                        "images/s (wall)", "teacher fidelity",
                        f"student test acc. (draw 0, {a.seeds} KD seeds, {recipe_name(a, kd)}: "
                        f"mean ± sd)"], rows)
        ref_cpu, ref_wall = rates["ref"]
        s_ref, s_am, s_ours = student("ref")[1], student("amortized")[1], student("ours")[1]
        lines += ["", f"Speed-up over the reference loop, images/s (CPU time; wall time): ours "
                  f"**{rates['ours'][0] / ref_cpu:.1f}x** ({rates['ours'][1] / ref_wall:.1f}x), "
                  f"amortized incl. training **{rates['amortized'][0] / ref_cpu:.1f}x** "
                  f"({rates['amortized'][1] / ref_wall:.1f}x)"
                  + (f", amortized marginal {ex['images'] / ex['cpu_s'] / ref_cpu:.0f}x" if ex else "")
                  + "."]
        if None not in (s_ref, s_am, s_ours):
            lines += [f"Student accuracy vs the reference-protocol student: amortized "
                      f"{100 * (s_am - s_ref):+.2f} pt, ours {100 * (s_ours - s_ref):+.2f} pt "
                      f"(draw 0 only, means over {a.seeds} KD seeds; over draws below)."]
        hist = tr["history"]
        lines += ["", f"Generator training (checks every {am['config']['check_every']} steps, "
                  f"fresh clean batch): loss {hist[0]['loss']:.3f} -> {tr['loss_kept']:.3f}, "
                  f"BN term {hist[0]['bn_loss']:.2f} -> {tr['bn_loss_kept']:.2f}, fidelity "
                  f"{hist[0]['fidelity']:.3f} -> {tr['fidelity_kept']:.3f} (kept step "
                  f"{tr['kept_step']} of {tr['steps']}).  Config: `{json.dumps(am['config'])}`", ""]
        loads = [f"{k}: {v['load_around'][0][0]:.1f} -> {v['load_around'][1][0]:.1f}"
                 for k, v in sorted(r.items()) if isinstance(v, dict) and "load_around" in v
                 and not k.startswith("kd")]
        lines += [f"1-min load average before -> after each job (2-core machine shared with "
                  f"other sessions): {'; '.join(loads)}.", ""]
    if a.synth_seeds > 1 and len(refs) == n_batches:
        for min_steps in a.kd_min_steps:
            lines += draws_table(a, r, agg, n_batches, kd_prefix(min_steps))
    p = r.get("pairs")
    if p:
        prow = []
        for method in ("deepinversion", "amortized"):
            one, two = p.get(f"{method}_1"), p.get(f"{method}_2")
            if not (one and two):
                continue
            for k, s in ((1, one), (2, two)):
                cpu = busiest_cpu(s)
                prow.append([method, k, s["images_written"], f"{s['seconds']:.1f}",
                             f"{s['images_per_second']:.2f}",
                             f"{s['marginal_images_per_second']:.1f}",
                             "" if s.get("generator_seconds") is None else f"{s['generator_seconds']:.1f}",
                             s.get("generator_pairs") or "",
                             "" if cpu is None else f"{cpu:.1f}",
                             f"{s['fidelity']:.3f}", f"{s['load'][0]:.1f}"])
            cpus = busiest_cpu(one), busiest_cpu(two)
            prow.append([method, "2 vs 1", "", "", f"**{two['images_per_second'] / one['images_per_second']:.2f}x**",
                         f"{two['marginal_images_per_second'] / one['marginal_images_per_second']:.2f}x",
                         "", "", "" if None in cpus else f"{cpus[0] / cpus[1]:.2f}x", "", ""])
        lines += ["## Pair actors: run_synthesis, 1 vs 2 pairs (local Ray, 2 CPUs, 1 thread each)",
                  "", *table(["method", "pairs", "images", "s (after actor start-up)",
                              "images/s", "images/s after the generator", "generator s",
                              "warm-up pairs", "CPU s of the busiest pair (warm-up + shards)",
                              "fidelity", "load after"], prow), ""]
    return lines


def busiest_cpu(s: dict) -> float | None:
    """Process CPU seconds of the busiest pair in a ``job_pairs`` entry: its warm-up rank's
    (the slowest rank's) plus its shards'; what the job would take if every pair had its own
    core.  None for results from before ``pair_busy`` was recorded."""
    busy = s.get("pair_busy")
    if not busy:
        return None
    gen = s.get("generator") or {}
    warm = max(gen.get("rank_cpu_seconds") or [gen.get("cpu_seconds") or 0.0])
    return warm + max(b["cpu_seconds"] for b in busy.values())


def recipe_name(a, kd: str) -> str:
    if kd == "kd":
        return f"{a.epochs} epochs = {a.epochs * -(-a.images // 128)} SGD steps"
    return f">= {kd[2:]} SGD steps"


def draws_table(a, r, agg, n_batches, kd: str = "kd") -> list[str]:
    """Per method: the student's mean over KD seeds for each synthesis draw, the mean and sd
    over draws, the mean, sd, median and minimum over all (draw, KD seed) students, the gap
    to the reference's pooled mean, fidelity and CPU-time speed-up ranges over draws."""
    n, _, cpu, _, _ = agg([r[f"ref{k}"] for k in range(n_batches)])
    ref_rate = n / cpu
    rows, ref_mean = [], None
    for source, label in (("ref", "reference protocol"), ("ours", "ours (early stop)"),
                          ("amortized", "amortized (Fast DFKD)"),
                          ("noise", f"control: DeepInversion, fixed {a.noise_iters} it, annealed")):
        per_draw, pooled, fids, speed = [], [], [], []
        for d in range(a.synth_seeds):
            tag = f"_r{d}" if d else ""
            acc = [r[f"{kd}_{source}{tag}_s{s}"]["test_accuracy"] for s in range(a.seeds)
                   if f"{kd}_{source}{tag}_s{s}" in r]
            if not acc:
                continue
            if source == "amortized":
                j = r[f"amortized{tag}"]
                m, c, fid = j["sample"]["images"], j["train"]["cpu_s"] + j["sample"]["cpu_s"], \
                    j["sample"]["fidelity"]
            else:
                m, _, c, fid, _ = agg([r[f"{source}{k}{tag}"] for k in range(n_batches)])
            per_draw.append(statistics.mean(acc))
            pooled += acc
            fids.append(fid)
            speed.append(m / c / ref_rate)
        if per_draw:
            mean = statistics.mean(pooled)
            ref_mean = mean if source == "ref" else ref_mean
            gap = "" if ref_mean is None else f"{100 * (mean - ref_mean):+.2f}"
            rows.append([label, len(per_draw), ", ".join(f"{v:.4f}" for v in per_draw),
                         mean_sd(per_draw), mean_sd(pooled), gap,
                         f"{statistics.median(pooled):.4f}", f"{min(pooled):.4f}",
                         f"{min(fids):.3f}-{max(fids):.3f}",
                         f"{min(speed):.1f}-{max(speed):.1f}x"])
    return [f"## Synthesis draws x KD seeds, KD {recipe_name(a, kd)}", "",
            *table(["method", "draws", f"student mean per draw ({a.seeds} KD seeds each)",
                    "mean ± sd over draws", "mean ± sd over all students",
                    "vs reference (pt)", "median", "worst student", "fidelity",
                    "speed-up (CPU)"], rows), ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", nargs="?", default="all", choices=["all", "job", "report"])
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--extra", type=int, default=1024, help="more samples for the marginal rate")
    ap.add_argument("--seeds", type=int, default=3, help="KD seeds per image set")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--amortized", default="{}", help="AmortizedConfig overrides (JSON)")
    ap.add_argument("--synth-seeds", type=int, default=1,
                    help="synthesis draws of ours/amortized/control (KD seeds each)")
    ap.add_argument("--noise-iters", type=int, default=200,
                    help="iterations per batch of the DeepInversion control (fixed, annealed)")
    ap.add_argument("--no-pairs", action="store_true")
    ap.add_argument("--no-noise", action="store_true", help="skip the DeepInversion control")
    ap.add_argument("--ref-draws", type=int, default=1,
                    help="synthesis draws of the reference loop (<= --synth-seeds)")
    ap.add_argument("--kd-min-steps", type=lambda v: [int(x) for x in v.split(",")],
                    default=[0], help="KD recipes: comma list of DistillConfig.min_steps "
                    "(0: --epochs passes only); the first fills the main table")
    ap.add_argument("--md", default=None)
    ap.add_argument("--only", default="", help="run only jobs whose names start so (comma list)")
    # job arguments
    ap.add_argument("--name"), ap.add_argument("--job", choices=sorted(JOBS))
    ap.add_argument("--batch", type=int, default=BATCH)
    ap.add_argument("--iters", type=int, default=REF_ITERS)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fixed", action="store_true")
    ap.add_argument("--count", type=int, default=1024)
    ap.add_argument("--min-steps", type=int, default=0)
    ap.add_argument("--kd-seeds", type=int, default=1)
    ap.add_argument("--source", default="ref0")
    ap.add_argument("--jitter", type=int, default=2)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--methods", default="deepinversion,amortized")
    ap.add_argument("--counts", type=lambda v: [int(x) for x in v.split(",")], default=[1, 2],
                    help="job pairs: the pair counts to run (1,2; 2 alone for an A/B of the "
                         "warm-up, e.g. with --amortized '{\"sync_every\": 0}')")
    a = ap.parse_args()
    if a.mode == "job" and not (a.job and a.name):
        ap.error("job mode needs --job and --name")
    try:   # checked here, not in each job process
        overrides = json.loads(a.amortized)
        if not isinstance(overrides, dict):
            raise ValueError("a JSON object expected")
        from synth.amortized import AmortizedConfig
        from synth.inversion import InversionConfig
        AmortizedConfig.from_inversion(InversionConfig(), **overrides)
    except ValueError as e:   # json's errors and the config's UserError alike
        ap.error(f"--amortized {a.amortized!r}: {e}")
    if a.mode != "report" and not Path(a.teacher).is_file():
        ap.error(f"--teacher: no file {a.teacher} (train one: nnsynth train --dataset mnist5k "
                 "--model lenet5_bn --epochs 15 --out FILE)")
    Path(a.work).mkdir(parents=True, exist_ok=True)
    if a.quick and a.mode != "job":
        a.batch, a.images, a.extra = 32, 64, 256
    if a.mode == "job":
        torch.set_num_threads(1)
        t = time.perf_counter()
        result = JOBS[a.job](a)
        result["job_seconds"] = round(time.perf_counter() - t, 2)
        write_text_atomic(Path(a.work) / f"{a.name}.json", json.dumps(result, indent=1))
        return
    if a.mode == "all":
        for name, job, args in plan(a):
            if not a.only or name.startswith(tuple(a.only.split(","))):
                run_job(a, name, job, args)
    lines = report(a) + [f"Load average now: {load_average()}.", command_line()]
    title = f"# Synthesis speed: reference loop vs early stop vs amortized ({'quick' if a.quick else 'full'} run)"
    if a.md:
        write_result(a.md, lines, title)
    else:
        print("\n".join([title, ""] + lines))


if __name__ == "__main__":
    run_main(main)
