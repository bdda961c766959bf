"""Symbiotic training benchmark: an LSTM / H-LSTM language model sized by latency vs a stacked
2-layer LSTM baseline (width 200, Zaremba et al.'s "small" configuration) on enwiki.

    python benchmarks/symbiotic.py [--quick] [--no-ray] [--seeds 0,1,2] [--work DIR] [--out FILE]

One training of the baseline and the candidates (Ray tasks), then the choices for two
platforms: ``host`` (this CPU, measured, interleaved best-of-N with IQR) and ``accel`` (the
analytical accelerator).  Prints the table and writes benchmarks/results/symbiotic.md (with the
load average: timings on this shared 2-core machine are noisy), the reports and latency.png
under benchmarks/results/symbiotic/ (``--quick``: symbiotic_quick.md and symbiotic_quick/, so that
a quick run never overwrites the full run's reports).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from common import run_main
from deploy.symbiotic import run_symbiotic
from synth.files import write_text_atomic
from synth.symbiotic import SymbioticConfig

OUT = Path(__file__).parent / "results"


def verdicts(report: dict) -> list[str]:
    m = report["models"]
    b, s, p = m["baseline"], m["symbiotic"], m["plain"]
    ratio_p = b["parameters"] / s["nonzero_parameters"]
    ratio_l = b["host_best_ms"] / s["host_best_ms"]
    apart = s["host_hi_ms"] < b["host_lo_ms"]
    iqr_apart = s["host_q3_ms"] < b["host_q1_ms"]
    within = lambda k: s[k] <= b[k] * 1.01   # noqa: E731
    lines = [f"- parameters: baseline {b['parameters']:,} / symbiotic {s['nonzero_parameters']:,}"
             f" = {ratio_p:.1f}x (target >= 5x: {'yes' if ratio_p >= 5 else 'NO'})",
             f"- host latency at batch 1 (best): {b['host_best_ms']:.2f} / {s['host_best_ms']:.2f}"
             f" ms = {ratio_l:.2f}x; block-best spreads {b['host_lo_ms']:.2f}-{b['host_hi_ms']:.2f}"
             f" vs {s['host_lo_ms']:.2f}-{s['host_hi_ms']:.2f} "
             f"{'do not overlap' if apart else 'OVERLAP'}; single-pass IQRs "
             f"{'do not overlap' if iqr_apart else 'overlap'} "
             f"(target >= 1.5x and apart: {'yes' if ratio_l >= 1.5 and apart else 'NO'})",
             f"- perplexity val {s['val_perplexity']:.2f} vs baseline {b['val_perplexity']:.2f},"
             f" test {s['test_perplexity']:.2f} vs {b['test_perplexity']:.2f} (target <= +1%: "
             f"val {'yes' if within('val_perplexity') else 'NO'}, "
             f"test {'yes' if within('test_perplexity') else 'NO'})",
             f"- symbiotic vs plain smallest-that-keeps-perplexity ({p['cell']} {p['hidden']}): "
             f"host {s['host_best_ms']:.2f} vs {p['host_best_ms']:.2f} ms (block-best "
             f"{s['host_lo_ms']:.2f}-{s['host_hi_ms']:.2f} vs {p['host_lo_ms']:.2f}-"
             f"{p['host_hi_ms']:.2f}); {report['platform']} table {s['table_ms']:.4g} vs "
             f"{p['table_ms']:.4g} ms"]
    return lines


def table(report: dict) -> str:
    rows = [f"| {name} | {m['cell']} {m['hidden']} | sparse layers {m['sparse_layers']} | "
            f"{m['parameters']:,} | {m['nonzero_parameters']:,} | {m['val_perplexity']:.2f} | "
            f"{m['test_perplexity']:.2f} | {m['host_best_ms']:.2f} | {m['host_lo_ms']:.2f}-"
            f"{m['host_hi_ms']:.2f} | {m['host_q1_ms']:.2f}-{m['host_q3_ms']:.2f} | "
            f"{m['table_ms']:.4g} |" for name, m in report["models"].items()]
    head = ("| model | cell, widths | execution | params | nonzero | val ppl | test ppl | host ms "
            f"(best) | block-best lo-hi | host IQR | {report['platform']} table ms |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|")
    return "\n".join([head] + rows)


def figures(report: dict) -> dict:
    m = report["models"]
    b, s, p = m["baseline"], m["symbiotic"], m["plain"]
    return {"params_x": b["parameters"] / s["nonzero_parameters"],
            "host_x": b["host_best_ms"] / s["host_best_ms"],
            "apart": s["host_hi_ms"] < b["host_lo_ms"],
            "val_pct": 100 * (s["val_perplexity"] / b["val_perplexity"] - 1),
            "test_pct": 100 * (s["test_perplexity"] / b["test_perplexity"] - 1),
            "vs_plain_host_x": p["host_best_ms"] / s["host_best_ms"],
            "vs_plain_apart": s["host_hi_ms"] < p["host_lo_ms"],
            "vs_plain_table_x": p["table_ms"] / s["table_ms"],
            "plain": f"{p['cell']} {p['hidden']}", "symbiotic": f"{s['cell']} {s['hidden']}"}


def load_trained(store: Path, cfg: SymbioticConfig) -> dict | None:
    if not store.is_file():
        return None
    saved = torch.load(store, weights_only=True)
    if saved.get("config") != cfg.to_dict():
        return None
    return {(k if k == "baseline" else (k.split(":")[0], int(k.split(":")[1]))): v
            for k, v in saved["trained"].items()}


def save_trained(store: Path, cfg: SymbioticConfig, trained: dict) -> None:
    store.parent.mkdir(parents=True, exist_ok=True)
    tmp = store.with_name(store.name + ".tmp")
    torch.save({"config": cfg.to_dict(), "trained": {
        (k if k == "baseline" else f"{k[0]}:{k[1]}"): v for k, v in trained.items()}}, tmp)
    tmp.replace(store)


def run_seed(seed: int, quick: bool, use_ray: bool, parts: list, work: Path) -> dict:
    cfg = SymbioticConfig(cells=("lstm", "hlstm"), widths=(32, 64),
                          sparsities=(0.5, 0.9), epochs=1 if quick else 2,
                          max_batches=5 if quick else 40, tolerance=0.01, seed=seed)
    common = dict(min_count=20, baseline_width=200, baseline_layers=2,
                  rounds=5 if quick else 20, threads=1,
                  table_widths=range(16, 257, 16) if not quick else (),
                  cache_dir=work / "cache")
    # the trained baseline and candidates are kept (tensors and plain data only) so that a rerun
    # with the same configuration times and chooses again without training again
    store = work / f"trained{'_quick' if quick else ''}_seed{seed}.pt"
    trained = load_trained(store, cfg)
    out = {}
    for platform in ("host", "accel"):
        # the hardware-agnostic pruned model is the same for both platforms: pruned once
        report = run_symbiotic("enwiki", platform, work / f"seed{seed}" / platform,
                               config=cfg.replace(prune_plain=platform == "host"),
                               trained=trained, progress=True, use_ray=use_ray, **common)
        if trained is None:
            save_trained(store, cfg, report["trained"])
        trained = report["trained"]
        t = report["tables"]
        parts += [f"## Seed {seed}, platform {platform}", "", table(report), "",
                  *verdicts(report), "",
                  f"choice: plain {report['choice']['plain']}, symbiotic "
                  f"{report['choice']['symbiotic']} (perplexity limit "
                  f"{report['choice']['limit']:.2f}); table ms of the candidates that keep it: "
                  f"{ {k: round(v['best_ms'], 4) for k, v in report['choice']['table_ms'].items()} }",
                  "", "candidates (val / test perplexity, parameters): " + "; ".join(
                      f"{c['cell']} {c['width']}: {c['val_perplexity']:.1f} / "
                      f"{c['test_perplexity']:.1f}, {c['parameters']:,}"
                      for c in report["candidates"]),
                  "", "pruning: " + "; ".join(
                      f"{k}: steps {[(st['sparsity'], round(st['val_perplexity'], 1)) for st in v['steps']]}"
                      f" reached {v['reached']}{' (' + v['skipped'] + ')' if v.get('skipped') else ''}"
                      for k, v in report["pruning"].items()),
                  "", "hysteresis points: " + "; ".join(
                      f"{n}: {len(v['hysteresis'])} "
                      f"{[(h['cell'], h['w1'], h['w2']) for h in v['hysteresis']][:12]}"
                      for n, v in t.items()),
                  "sparse beats dense: " + "; ".join(
                      f"{n}: {[(w['cell'], w['width'], w['sparsity']) for w in v['sparse_wins'] if w['wins']] or 'nowhere'}"
                      for n, v in t.items()),
                  f"load average at the end: {report['load_average']}", ""]
        print("\n".join(parts[-16:]), flush=True)
        out[platform] = {"figures": figures(report), "report": report}
    return out


def seed_list(text: str) -> list[int]:
    try:
        seeds = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"comma-separated integers expected, got {text!r}")
    if any(s < 0 for s in seeds):
        raise argparse.ArgumentTypeError(f"seeds must be >= 0, got {text!r}")
    return list(dict.fromkeys(seeds))


def parse(argv) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="1 epoch of 5 windows, 5 timing rounds, no latency table (minutes)")
    ap.add_argument("--no-ray", action="store_true",
                    help="train in this process (on an overloaded machine Ray may not start in "
                         "time)")
    ap.add_argument("--seeds", type=seed_list, default=[0], help="comma-separated (default 0)")
    ap.add_argument("--work", default=None, help="folder of the reports and caches (default "
                    "benchmarks/results/symbiotic, with --quick symbiotic_quick)")
    ap.add_argument("--out", default=None, help="results file (default benchmarks/results/"
                    "symbiotic.md, with --quick symbiotic_quick.md)")
    return ap.parse_args(argv)


def paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """(folder of the reports and caches, results file) of a run."""
    name = "symbiotic_quick" if args.quick else "symbiotic"
    return (Path(args.work) if args.work else OUT / name,
            Path(args.out) if args.out else OUT / f"{name}.md")


def main(argv) -> None:
    args = parse(argv)
    quick, use_ray, seeds = args.quick, not args.no_ray, args.seeds
    work, out = paths(args)
    t0 = time.perf_counter()
    parts: list[str] = []
    runs = {seed: run_seed(seed, quick, use_ray, parts, work) for seed in seeds}
    summary = ["## Summary over seeds (symbiotic vs the 2x200 LSTM baseline and vs plain)", "",
               "| seed | platform | plain | symbiotic | params x | host latency x (spreads apart)"
               " | val ppl % | test ppl % | vs plain: host x (apart) | vs plain: table x |",
               "|---|---|---|---|---|---|---|---|---|---|"]
    for seed, by in runs.items():
        for platform, r in by.items():
            f = r["figures"]
            summary.append(f"| {seed} | {platform} | {f['plain']} | {f['symbiotic']} | "
                           f"{f['params_x']:.1f} | {f['host_x']:.2f} ({f['apart']}) | "
                           f"{f['val_pct']:+.2f} | {f['test_pct']:+.2f} | "
                           f"{f['vs_plain_host_x']:.2f} ({f['vs_plain_apart']}) | "
                           f"{f['vs_plain_table_x']:.2f} |")
    report = runs[seeds[-1]]["host"]["report"]
    header = ["# Symbiotic training (benchmarks/symbiotic.py" + " ".join([""] + argv) + ")", "",
              f"enwiki (gensim's Wikipedia excerpt), vocabulary {report['vocab_size']} "
              f"(min count 20), tokens {report['tokens']}; 2 epochs of 40 BPTT windows (32 x 35)"
              f" per training (a quarter of the training split: every model is undertrained "
              f"alike); host timing: 1 thread, batch 1, 35 tokens, interleaved passes, best of "
              f"20 (table) / 30 (models), spread = range of the best of 4 blocks of passes, "
              f"single-pass IQR also shown; host {report['host']}; total "
              f"{time.perf_counter() - t0:.0f} s", ""]
    print("\n".join(summary))
    write_text_atomic(out,
                      "\n".join(header + summary + [""] + parts) + "\n")


if __name__ == "__main__":
    run_main(main, sys.argv[1:])
