"""Design-space exploration for LeNet-5 + ResNets, and latency tables (accelerator, SPRING,
host CPU) with the Chameleon-style predictor and the host-CPU width sweep.

Part 1 (application-driven DSE, arXiv 1903.07676): the full grid of hwsim.dse.DseConfig
(6 x 6 arrays x 3 dataflows x 4 x 4 x 3 buffer sizes = 5,184 configurations) on LeNet-5
(1x28x28) and ResNet-18 / ResNet-8 (3x32x32); the Pareto set over (latency, energy, area)
and the best configuration by geometric-mean performance within 4 mm^2, against each
network's own best ("tuned for A, run on B").  Also a single-network DSE per network.

Part 2 (Chameleon): per-op tables on accel / SPRING / host CPU for LeNet-5 and ResNet-8, the
sum-of-table prediction against the measured end-to-end CPU latency, and the host-CPU sweep
of Linear and LSTM widths (coarse and unit steps), flagging where a wider layer runs faster (non-monotone latency).

    python benchmarks/hwsim_dse.py [--threads 1] [--skip-cpu]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hwsim import tables  # noqa: E402
from hwsim.dse import DseConfig, explore  # noqa: E402
from hwsim.workload import extract  # noqa: E402
from common import command_line, run_main, write_result  # noqa: E402
from synth.models import build  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "hwsim_dse.md"
NETS = {"lenet5": (1, 28, 28), "resnet18": (3, 32, 32), "resnet8_w16": (3, 32, 32)}


def fmt_cfg(c: dict) -> str:
    return (f"{c['rows']}x{c['cols']} {c['dataflow']} {c['ifmap_kb']:.0f}/{c['filter_kb']:.0f}/"
            f"{c['ofmap_kb']:.0f} KiB")


def dse_section(workloads: dict) -> list[str]:
    lines = []
    for group in (["lenet5", "resnet18"], ["lenet5", "resnet8_w16"]):
        w = {n: workloads[n] for n in group}
        t0 = time.perf_counter()
        res = explore(w, DseConfig())
        secs = time.perf_counter() - t0
        b = res["best"]
        lines += [f"### {' + '.join(group)}: {res['evaluated']} configurations in {secs:.2f} s "
                  f"({res['evaluated'] / secs:,.0f} configs/s incl. Pareto)", "",
                  f"Pareto set: {len(res['pareto'])} configurations (geomean latency, geomean "
                  f"energy, area).  Best by geomean performance within 4 mm^2: **{fmt_cfg(b['config'])}**, "
                  f"{b['area_mm2']:.3f} mm^2.", "",
                  "| network | latency on best (ms) | energy on best (mJ) | own best config | "
                  "own best latency (ms) | best-joint slowdown | other net's config slowdown |",
                  "|---|---|---|---|---|---|---|"]
        for n in group:
            own = res["per_network_best"][n]
            other = [o for o in group if o != n][0]
            lines.append(f"| {n} | {b['latency_ms'][n]:.4f} | {b['energy_mj'][n]:.4f} | "
                         f"{fmt_cfg(own['config'])} | {own['latency_ms'][n]:.4f} | "
                         f"{res['best_slowdown'][n]:.3f}x | {res['cross_slowdown'][other][n]:.3f}x |")
        lines += ["", "Pareto samples (lowest latency, lowest energy, smallest area):", "",
                  "| config | area mm^2 | geomean ms | geomean mJ |", "|---|---|---|---|"]
        par = res["pareto"]
        picks = {id(min(par, key=lambda r: r[k])): min(par, key=lambda r: r[k])
                 for k in ("geomean_latency_ms", "geomean_energy_mj", "area_mm2")}
        for r in picks.values():
            lines.append(f"| {fmt_cfg(r['config'])} | {r['area_mm2']:.3f} | "
                         f"{r['geomean_latency_ms']:.4f} | {r['geomean_energy_mj']:.4f} |")
        lines.append("")
        print("\n".join(lines[-12:]), flush=True)
    return lines


def table_section(workloads: dict, threads: int) -> list[str]:
    torch.set_num_threads(threads)
    lines = ["## Per-op tables and the sum-of-table predictor (Chameleon)", "",
             f"Host CPU timings with {threads} torch thread(s), median of 20 runs; machine load "
             f"average {os.getloadavg()[0]:.1f} at the start (shared with other jobs).", "",
             "| network | device | unique ops | predicted ms | measured end-to-end ms | ratio |",
             "|---|---|---|---|---|---|"]
    for n in ("lenet5", "resnet8_w16"):
        ops = workloads[n]
        model = build(n, NETS[n], 10).eval()
        x = torch.randn((1,) + NETS[n])
        measured = tables.time_callable(lambda: model(x), 20)["median_ms"]
        for dev in ("accel", "spring", "cpu"):
            t = tables.build_table(ops, dev, repeats=20)
            p = tables.predict(t, ops)
            m = f"{measured:.3f}" if dev == "cpu" else "-"
            ratio = f"{p['latency_ms'] / measured:.2f}" if dev == "cpu" else "-"
            lines.append(f"| {n} | {dev} | {len(t)} | {p['latency_ms']:.4f} | {m} | {ratio} |")
    lines += ["", "## Host-CPU latency over layer width (Linear: batch 32; LSTM: batch 8, 4 steps)",
              "", "A width is flagged when its q3 is below the next-narrower width's q1 (the",
              "interquartile ranges do not overlap).", ""]
    sweeps = (("linear", range(64, 1025, 64), {}), ("linear", range(240, 273), {}),
              ("lstm", range(32, 513, 32), {"batch": 8, "seq_len": 4}),
              ("lstm", range(120, 137), {"batch": 8, "seq_len": 4}))
    for kind, widths, kw in sweeps:
        rows = tables.width_sweep(kind, list(widths), repeats=40, **kw)
        inv = [r for r in rows if r["faster_than_narrower"]]
        lines += [f"### {kind}, widths {widths.start}..{widths.stop - 1} step {widths.step}: "
                  f"{len(inv)} width(s) faster than the next-narrower one: "
                  f"{[r['width'] for r in inv]}", "",
                  "| width | median ms | q1 | q3 | faster than narrower |", "|---|---|---|---|---|"]
        lines += [f"| {r['width']} | {r['median_ms']:.4f} | {r['q1_ms']:.4f} | {r['q3_ms']:.4f} | "
                  f"{'**yes**' if r['faster_than_narrower'] else ''} |" for r in rows]
        lines.append("")
        print(f"{kind}: non-monotone at {[r['width'] for r in inv]}", flush=True)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--skip-cpu", action="store_true")
    ap.add_argument("--out", default=str(RESULTS),
                    help="results file (a name under benchmarks/results/ or a path)")
    args = ap.parse_args()
    if args.threads < 1:
        ap.error(f"--threads must be >= 1, got {args.threads}")
    workloads = {n: extract(build(n, s, 10), s) for n, s in NETS.items()}
    text = ["# hwsim DSE (LeNet-5 + ResNet) and latency tables", "",
            f"{command_line()}.", "",
            "## Design-space exploration (5,184-point grid, batch 1, 8-bit, 500 MHz, 16 GB/s)", ""]
    text += dse_section(workloads)
    if not args.skip_cpu:
        text += table_section(workloads, args.threads)
    print(f"wrote {write_result(args.out, text, echo=False)}")


if __name__ == "__main__":
    run_main(main)
