"""Grow-and-prune against the peer (torch.nn.utils.prune) on mnist5k, plus compaction latency.

For each model: train one dense network; from the same weights run
- peer: ``torch.nn.utils.prune.global_unstructured`` (L1), ``fraction`` of the remaining weights
  per step, ``retrain`` epochs of fine-tuning per step (``synth.train.fit``, cosine lr);
- ours: ``synth.grow_prune.grow_and_prune`` with the same number of steps, fraction and retraining
  epochs (same training budget), LAMP layer-adaptive scores instead of one global |w| threshold;
  optionally (--kd) retraining by distillation from the dense model on the same randomly shifted
  inputs (``synth.distill.live_kd_fn``, --shift), RigL regrowth (--regrow) and removal of weights
  that cannot matter (--remove-dead, ``synth.masked.remove_dead``).
(`nnsynth grow-prune`'s defaults as a user types them, over seeds, and what growth adds at
equal budget: benchmarks/grow_prune_defaults.py.)
The headline is the largest reduction in nonzero weights (Linear/Conv2d weights, dense count /
nonzero count) whose test accuracy is within 0.5 points of the dense model's.  Then the chosen
masked model is compacted (``synth.compact``): outputs compared and CPU latency measured.

    python benchmarks/grow_prune.py                     # both models as 2 processes, ~10-15 min
    python benchmarks/grow_prune.py --model lenet300_100 --threads 1
    python benchmarks/grow_prune.py --model lenet300_100 --steps 26 --kd --kd-temp 2 --shift 2 \
        --remove-dead --seeds 3 4 5 6 7 8 9 10 --jobs 8    # several seeds, mean curves
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.nn.utils import prune

from synth import masked
from synth.compact import compact
from synth.data import load_dataset
from synth.distill import live_kd_fn
from common import command_line, run_main, write_result
from synth.files import write_text_atomic
from synth.grow_prune import GrowPruneSchedule, grow_and_prune
from synth.models import build, count_parameters, prunable_layers
from synth.train import TrainConfig, evaluate, fit

RESULTS = Path(__file__).parent / "results"
MODELS = {"lenet300_100": dict(steps=20), "lenet5_bn": dict(steps=20)}
MAX_LOSS = 0.005


def connections(model) -> int:
    return masked.connections(model)


def peer_curve(dense, data, steps, fraction, train_cfg, seed=0):
    """torch.nn.utils.prune global L1, iterative, fine-tuning after each step."""
    model = copy.deepcopy(dense)
    params = [(m, "weight") for _, m in prunable_layers(model)]
    total = connections(model)
    curve = []
    for step in range(1, steps + 1):
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=fraction)
        fit(model, data, train_cfg.replace(seed=seed + step), desc="peer")
        acc = evaluate(model, data.x_test, data.y_test)["accuracy"]
        curve.append({"step": step, "connections": connections(model),
                      "reduction": total / connections(model), "test_accuracy": acc})
    return curve


def ours_curve(dense, data, steps, train_cfg, args):
    """Our curve: LAMP (or --criterion) pruning with optional KD from the dense model on
    consistently shifted inputs (--shift), RigL regrowth (--regrow), dead-weight removal."""
    model = copy.deepcopy(dense)
    total = connections(model)
    loss_fn = None
    if args.kd:
        loss_fn = live_kd_fn(copy.deepcopy(dense), args.kd_temp, args.kd_alpha, args.shift,
                             seed=train_cfg.seed)
    schedule = GrowPruneSchedule(prune_steps=steps, prune_fraction=args.fraction,
                                 criterion=args.criterion, seed=train_cfg.seed,
                                 regrow_fraction=args.regrow, remove_dead=args.remove_dead,
                                 retrain_epochs=args.retrain, lr=train_cfg.lr,
                                 batch_size=args.batch, optimizer=args.optimizer,
                                 weight_decay=args.weight_decay, device="cpu")
    snaps = {}
    model, history = grow_and_prune(model, data, schedule, loss_fn=loss_fn,
                                    on_step=lambda m, row: snaps.__setitem__(
                                        row["step"], copy.deepcopy(m.state_dict())))
    curve = [{"step": r["step"], "connections": r["connections"],
              "reduction": total / max(1, r["connections"]), "test_accuracy": r["test_accuracy"],
              "flops": r["nonzero_flops"], "parameters": r["nonzero_parameters"]}   # nonzero
             for r in history if r["phase"] == "prune"]
    return model, curve, snaps


def best(curve, dense_acc):
    ok = [c for c in curve if c["test_accuracy"] >= dense_acc - MAX_LOSS - 1e-9]
    return max(ok, key=lambda c: c["reduction"]) if ok else None


def paired_latency_ms(a, b, x, repeats=100):
    """Median CPU latency of two models, measured alternately so that load spikes hit both."""
    a.eval()
    b.eval()
    times = ([], [])
    with torch.no_grad():
        for _ in range(5):
            a(x), b(x)
        for _ in range(repeats):
            for model, out in ((a, times[0]), (b, times[1])):
                t = time.perf_counter()
                model(x)
                out.append(time.perf_counter() - t)
    return tuple(1000 * sorted(t)[len(t) // 2] for t in times)


def compaction_lines(model, data, batches=(1, 256)) -> list[str]:
    """Compact ``model`` (masked, eval) and compare outputs, sizes and latency."""
    model.cpu().eval()
    small = compact(model)
    lines = []
    for batch in batches:
        x = data.x_test[:batch]
        with torch.no_grad():
            diff = (small(x) - model(x)).abs().max().item()
        lm, ls = paired_latency_ms(model, small, x)
        lines.append(f"Compaction (batch {batch}): widths {small.spec}, parameters "
                     f"{count_parameters(model):,} -> {count_parameters(small):,}, max |diff| "
                     f"{diff:.1e}, CPU latency masked {lm:.3f} ms -> compact {ls:.3f} ms "
                     f"({lm / ls:.2f}x)")
    acc_small = evaluate(small, data.x_test, data.y_test)["accuracy"]
    acc = evaluate(model, data.x_test, data.y_test)["accuracy"]
    lines.append(f"Compacted test accuracy {acc_small:.2%} (masked {acc:.2%})")
    return lines


def latency_only(args) -> None:
    """A quick prune (1 epoch per step) of each model, then compaction outputs and latency."""
    torch.set_num_threads(args.threads)
    data = load_dataset("mnist5k", seed=0)
    lines = ["# Compaction: masked vs compacted model, CPU latency", "",
             f"Command: `python benchmarks/grow_prune.py --latency` ({args.threads} torch "
             f"thread(s); medians of 100 alternating runs; models: 5 dense epochs, then 16 LAMP "
             f"steps of 20% with 1 retraining epoch)", ""]
    for name in MODELS:
        torch.manual_seed(0)
        model = build(name, data.input_shape, data.num_classes)
        fit(model, data, TrainConfig(epochs=5, seed=0, device="cpu", progress=False))
        model, _ = grow_and_prune(model, data, GrowPruneSchedule(
            prune_steps=16, prune_fraction=0.2, retrain_epochs=1, device="cpu"))
        lines += [f"## {name}: {connections(model):,} nonzero weights", ""]
        lines += compaction_lines(model, data) + [""]
    text = "\n".join(lines)
    write_result(Path(args.out) if args.out else RESULTS / "grow_prune_latency.md", text)


def curves(name: str, args) -> dict:
    """Dense model, then the peer's and our curves from it (seed ``args.seed``); a JSON-able dict
    (``args.json`` gets it too), plus the masked model chosen for compaction under "_model"."""
    torch.set_num_threads(args.threads)
    data = load_dataset("mnist5k", seed=0)        # one split: every seed is tested on the same 1,000
    cfg = TrainConfig(epochs=args.dense_epochs, lr=0.05, weight_decay=1e-4, seed=args.seed,
                      device="cpu", progress=False)
    torch.manual_seed(args.seed)
    dense = build(name, data.input_shape, data.num_classes)
    t0 = time.perf_counter()
    fit(dense, data, cfg)
    dense_acc = evaluate(dense, data.x_test, data.y_test)["accuracy"]
    retrain = cfg.replace(epochs=args.retrain)
    steps = args.steps or MODELS[name]["steps"]
    out = {"model": name, "seed": args.seed, "dense_accuracy": dense_acc, "steps": steps,
           "weights": connections(dense), "ours_label": ours_label(args)}
    if not args.skip_peer:
        out["peer"] = peer_curve(dense, data, steps, args.fraction, retrain, 1000 * args.seed)
    model, out["ours"], snaps = ours_curve(dense, data, steps,
                                           retrain.replace(seed=1000 * args.seed), args)
    if args.control:  # the dense model trained the same way as ours, without pruning
        no_prune = argparse.Namespace(**{**vars(args), "fraction": 1e-12})
        out["control"] = ours_curve(dense, data, steps, retrain.replace(seed=1000 * args.seed),
                                    no_prune)[1]
    out["seconds"] = time.perf_counter() - t0
    if args.json:
        write_text_atomic(Path(args.json), json.dumps(out, indent=1))
    ob = best(out["ours"], dense_acc)
    if ob is not None:
        model.load_state_dict(snaps[ob["step"]])
        out["_model"], out["_data"] = model, data
    return out


def ours_label(args) -> str:
    return (f"{args.criterion}" + (f" + KD from dense (T {args.kd_temp}, alpha {args.kd_alpha}"
                                   f"{f', shift {args.shift} px' if args.shift else ''})"
                                   if args.kd else "")
            + (f", batch {args.batch}" if args.batch != 64 else "")
            + (f", {args.optimizer}" if args.optimizer != "sgd" else "")
            + (f", weight decay {args.weight_decay}" if args.weight_decay != 1e-4 else "")
            + (f" + regrow {args.regrow}" if args.regrow else "")
            + (" + dead-weight removal" if args.remove_dead else ""))


def _fmt(b) -> str:
    return ("none" if b is None else
            f"{b['reduction']:.1f}x ({b['connections']:,} weights, {b['test_accuracy']:.2%})")


def _headline(peer, ours, dense_acc):
    """Best point of each curve within MAX_LOSS of dense, and the ratio of their reductions."""
    pb, ob = best(peer, dense_acc), best(ours, dense_acc)
    return pb, ob, (ob["reduction"] / pb["reduction"]) if ob and pb else float("nan")


def _row(p, o, *extra) -> str:
    return " | ".join([f"| {p['step']}", f"{p['reduction']:.1f}x", f"{p['test_accuracy']:.2%}",
                       f"{o['reduction']:.1f}x", f"{o['test_accuracy']:.2%}", *extra]) + " |"


def render(run: dict, args) -> str:
    """One seed's table: both curves step by step, the headline, then compaction."""
    name, dense_acc, peer, ours = run["model"], run["dense_accuracy"], run["peer"], run["ours"]
    lines = [f"## {name}  (seed {run['seed']}, dense test accuracy {dense_acc:.2%}, "
             f"{run['weights']:,} weights; {run['steps']} steps x {args.retrain} epochs, "
             f"fraction {args.fraction}, ours: {run['ours_label']}; {run['seconds']:.0f} s)", "",
             "| step | peer reduction | peer test acc | ours reduction | ours test acc | ours MACs |",
             "|---|---|---|---|---|---|"]
    lines += [_row(p, o, f"{o['flops']:,}") for p, o in zip(peer, ours)]
    pb, ob, ratio = _headline(peer, ours, dense_acc)
    lines += ["", f"Largest reduction within {MAX_LOSS:.1%} of dense: peer {_fmt(pb)}; "
              f"ours {_fmt(ob)}; ours/peer = {ratio:.2f}x", ""]
    if "_model" in run:   # compaction of the chosen masked model
        lines += compaction_lines(run["_model"], run["_data"])
    return "\n".join(lines) + "\n"


def mean_curve(runs: list[dict], key: str) -> list[dict]:
    """Per step: geometric-mean reduction, mean test accuracy over the seeds."""
    out = []
    for rows in zip(*(r[key] for r in runs)):
        red = math.exp(sum(math.log(r["reduction"]) for r in rows) / len(rows))
        out.append({"step": rows[0]["step"], "reduction": red,
                    "connections": round(runs[0]["weights"] / red),
                    "test_accuracy": sum(r["test_accuracy"] for r in rows) / len(rows)})
    return out


def report(paths: list[str]) -> str:
    """Several seeds (JSON files from --json): for each variant of ours (its label), the
    per-seed headlines, the mean curves of both and the headline on the mean curves.  A run
    without a peer curve (--skip-peer) takes the peer of the same seed from another file."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    peers = {r["seed"]: r["peer"] for r in runs if "peer" in r}
    sections = []
    for label in dict.fromkeys(r["ours_label"] for r in runs):
        group = [dict(r, peer=r.get("peer", peers.get(r["seed"]))) for r in runs
                 if r["ours_label"] == label and r["seed"] in peers]
        sections.append(_report_group(sorted(group, key=lambda r: r["seed"])))
    return "\n".join(sections)


def _report_group(runs: list[dict]) -> str:
    lines = [f"### {runs[0]['model']}, ours: {runs[0]['ours_label']} "
             f"(seeds {', '.join(str(r['seed']) for r in runs)})", "",
             "| seed | dense | peer best | ours best | ours/peer |", "|---|---|---|---|---|"]
    for r in runs:
        pb, ob, ratio = _headline(r["peer"], r["ours"], r["dense_accuracy"])
        lines.append(f"| {r['seed']} | {r['dense_accuracy']:.2%} | {_fmt(pb)} | {_fmt(ob)} | "
                     f"{ratio:.2f}x |")
    dense = sum(r["dense_accuracy"] for r in runs) / len(runs)
    peer, ours = mean_curve(runs, "peer"), mean_curve(runs, "ours")
    lines += ["", f"Mean over seeds (dense {dense:.2%}; reduction: geometric mean; per-seed "
              f"accuracies in the step columns):", "",
              "| step | peer reduction | peer test acc | ours reduction | ours test acc | "
              "peer per seed | ours per seed |", "|---|---|---|---|---|---|---|"]
    for i, (p, o) in enumerate(zip(peer, ours)):
        each = [" / ".join(f"{r[k][i]['test_accuracy']:.1%}" for r in runs) for k in ("peer", "ours")]
        lines.append(_row(p, o, *each))
    pb, ob, ratio = _headline(peer, ours, dense)
    lines += ["", f"Mean curves, largest reduction within {MAX_LOSS:.1%} of the mean dense "
              f"accuracy: peer {_fmt(pb)}; ours {_fmt(ob)}; **ours/peer = {ratio:.2f}x**", ""]
    if all("control" in r for r in runs):
        # stricter reference: the dense model retrained with our recipe (KD, shifts) for the
        # same epochs without pruning; its mean accuracy after the last step sets the bar
        control = mean_curve(runs, "control")
        ref = control[-1]["test_accuracy"]
        cb, ob2 = best(peer, ref), best(ours, ref)
        ratio2 = (f"{ob2['reduction'] / cb['reduction']:.2f}x" if ob2 and cb else
                  "undefined: the peer never comes within 0.5 pt of this bar" if ob2 else "n/a")
        per_step = ", ".join(f"{c['test_accuracy']:.1%}" for c in control)
        lines += [f"Dense model trained the same way as ours (same KD/shift retraining, same "
                  f"epochs, no pruning): mean test accuracy {ref:.2%} after the last step "
                  f"(per step: {per_step}).  "
                  f"Against that bar: peer {_fmt(cb)}; ours {_fmt(ob2)}; "
                  f"**ours/peer = {ratio2}**", ""]
    return "\n".join(lines)


def ours_options(args) -> list[str]:
    """The command-line options that define the curves (to re-run one seed in a subprocess)."""
    opts = ["--dense-epochs", args.dense_epochs, "--retrain", args.retrain, "--fraction",
            args.fraction, "--steps", args.steps, "--criterion", args.criterion, "--regrow",
            args.regrow, "--batch", args.batch, "--optimizer", args.optimizer, "--weight-decay",
            args.weight_decay, "--kd-temp", args.kd_temp, "--kd-alpha", args.kd_alpha,
            "--shift", args.shift, "--threads", args.threads]
    flags = [f for f, on in (("--kd", args.kd), ("--remove-dead", args.remove_dead),
                             ("--control", args.control)) if on]
    return [str(o) for o in opts] + flags


def seeds_report(args) -> None:
    """--seeds: one subprocess per seed (--jobs at a time), JSON per seed beside --out, then the
    combined report (and the first seed's compaction lines) in --out."""
    out = Path(args.out or RESULTS / f"grow_prune_{args.model}_seeds.md")
    folder = out.with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / f"seed{s}.json" for s in args.seeds]
    cmds = [[sys.executable, __file__, "--model", args.model, "--seed", str(s), "--json", str(f),
             "--out", str(f.with_suffix(".md"))] + ours_options(args)
            for s, f in zip(args.seeds, files)]
    t0 = time.perf_counter()
    procs: list[subprocess.Popen] = []
    for cmd in cmds:
        while sum(p.poll() is None for p in procs) >= args.jobs:
            time.sleep(0.5)
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL))
    if any(p.wait() for p in procs):
        sys.exit("a seed's run failed")
    shown = " ".join(sys.argv[1:])
    compaction = [ln for ln in files[0].with_suffix(".md").read_text().splitlines()
                  if ln.startswith("Compact")]
    text = (f"# Grow-and-prune vs torch.nn.utils.prune, {args.model}, seeds "
            f"{', '.join(map(str, args.seeds))}\n\nCommand: `python benchmarks/grow_prune.py "
            f"{shown}` ({args.jobs} processes at a time, {args.threads} torch thread each, CPU; "
            f"{time.perf_counter() - t0:.0f} s wall)\n\n"
            f"Each seed trains its own dense model ({args.dense_epochs} epochs); peer and ours "
            f"then prune it for {args.steps or MODELS[args.model]['steps']} steps of "
            f"{args.fraction:.0%} with {args.retrain} retraining epochs each (the same budget). "
            f"Per-seed tables: {folder.name}/seed*.md; curves: {folder.name}/seed*.json.\n\n"
            + report([str(f) for f in files])
            + f"\nCompaction of seed {args.seeds[0]}'s chosen model:\n\n" + "\n".join(compaction)
            + "\n")
    write_result(out, text)


def run_one(name: str, args) -> str:
    return render(curves(name, args), args)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=sorted(MODELS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dense-epochs", type=int, default=20)
    ap.add_argument("--retrain", type=int, default=3)
    ap.add_argument("--fraction", type=float, default=0.2)
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--kd", action="store_true")
    ap.add_argument("--criterion", default="lamp", choices=["lamp", "magnitude", "layerwise"])
    ap.add_argument("--regrow", type=float, default=0.0,
                    help="ours: also prune this fraction and regrow as many by |dL/dW| (RigL)")
    ap.add_argument("--remove-dead", action="store_true",
                    help="ours: drop weights of unused units and constant inputs")
    ap.add_argument("--batch", type=int, default=64, help="ours: retraining batch size")
    ap.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"], help="ours")
    ap.add_argument("--weight-decay", type=float, default=1e-4, help="ours")
    ap.add_argument("--kd-temp", type=float, default=4.0)
    ap.add_argument("--kd-alpha", type=float, default=0.5, help="weight of the label loss")
    ap.add_argument("--shift", type=int, default=0,
                    help="ours with --kd: inputs shifted by up to this many pixels")
    ap.add_argument("--control", action="store_true",
                    help="also retrain the dense model with our recipe, no pruning (the bar)")
    ap.add_argument("--seed", type=int, default=0, help="dense init and training seed")
    ap.add_argument("--seeds", type=int, nargs="+", help="several seeds, combined report")
    ap.add_argument("--jobs", type=int, default=1, help="with --seeds: processes at a time")
    ap.add_argument("--json", default=None, help="also write this seed's curves as JSON")
    ap.add_argument("--skip-peer", action="store_true", help="ours only (with --json)")
    ap.add_argument("--report", nargs="+", metavar="JSON",
                    help="only combine --json files of several seeds into mean curves")
    ap.add_argument("--out", default=None, help="results file (default: printed with --model, "
                    "else benchmarks/results/grow_prune.md, grow_prune_latency.md with --latency, "
                    "grow_prune_MODEL_seeds.md with --seeds)")
    ap.add_argument("--latency", action="store_true", help="only the compaction latency table")
    args = ap.parse_args()
    if (args.seeds or args.skip_peer) and not args.model:
        ap.error("--seeds and --skip-peer need --model")
    if args.latency:
        latency_only(args)
        return
    if args.report:
        missing = [p for p in args.report if not Path(p).is_file()]
        if missing:
            ap.error(f"--report: no file {', '.join(missing)}")
        text = report(args.report)
        if args.out:
            write_result(Path(args.out), text)
        else:
            print(text)
        return
    if args.skip_peer:
        curves(args.model, args)
        return
    if args.seeds:
        seeds_report(args)
        return
    if args.model:
        text = run_one(args.model, args)
        if args.out:
            write_result(Path(args.out), text)
        else:
            print(text)
        return
    # both models in parallel, one process each, with every option of this command (the parts
    # in a temporary folder: a run cut short leaves nothing under results/)
    import tempfile
    with tempfile.TemporaryDirectory(prefix="grow_prune_") as tmp:
        parts = {m: Path(tmp) / f"{m}.md" for m in MODELS}
        procs = [subprocess.Popen([sys.executable, __file__, "--model", m, "--out", str(p),
                                   "--seed", str(args.seed)] + ours_options(args))
                 for m, p in parts.items()]
        if any(p.wait() for p in procs):
            sys.exit("a model run failed")
        text = (f"# Grow-and-prune vs torch.nn.utils.prune (mnist5k, seed {args.seed})\n\n"
                f"{command_line()} (one process per model, {args.threads} torch "
                f"thread{'s' if args.threads > 1 else ''} each, CPU)\n\n" + "\n".join(p.read_text() for p in parts.values()))
    write_result(Path(args.out) if args.out else RESULTS / "grow_prune.md", text, echo=False)
    print(text)


if __name__ == "__main__":
    run_main(main)
