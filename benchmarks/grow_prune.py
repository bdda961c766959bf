"""Grow-and-prune against the peer (torch.nn.utils.prune) on mnist5k, plus compaction latency.

For each model: train one dense network; from the same weights run
- peer: ``torch.nn.utils.prune.global_unstructured`` (L1), ``fraction`` of the remaining weights
  per step, ``retrain`` epochs of fine-tuning per step (``synth.train.fit``, cosine lr);
- ours: ``synth.grow_prune.grow_and_prune`` with the same number of steps, fraction and retraining
  epochs (same training budget), LAMP layer-adaptive scores instead of one global |w| threshold;
  optionally (--kd) retraining by distillation from the dense model (``synth.distill.kd_loss``).
The headline is the largest reduction in nonzero weights (Linear/Conv2d weights, dense count /
nonzero count) whose test accuracy is within 0.5 points of the dense model's.  Then the chosen
masked model is compacted (``synth.compact``): outputs compared and CPU latency measured.

    python benchmarks/grow_prune.py                     # both models as 2 processes, ~10-15 min
    python benchmarks/grow_prune.py --model lenet300_100 --threads 1
"""
from __future__ import annotations

import argparse
import copy
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.nn.utils import prune

from synth import masked
from synth.compact import compact
from synth.data import load_dataset
from synth.files import write_text_atomic
from synth.grow_prune import GrowPruneSchedule, grow_and_prune
from synth.models import build, count_parameters, prunable_layers
from synth.train import TrainConfig, evaluate, fit

RESULTS = Path(__file__).parent / "results"
MODELS = {"lenet300_100": dict(steps=20), "lenet5_bn": dict(steps=20)}
MAX_LOSS = 0.005


def connections(model) -> int:
    return masked.connections(model)


def peer_curve(dense, data, steps, fraction, train_cfg):
    """torch.nn.utils.prune global L1, iterative, fine-tuning after each step."""
    model = copy.deepcopy(dense)
    params = [(m, "weight") for _, m in prunable_layers(model)]
    total = connections(model)
    curve = []
    for step in range(1, steps + 1):
        prune.global_unstructured(params, pruning_method=prune.L1Unstructured, amount=fraction)
        fit(model, data, train_cfg.replace(seed=step), desc="peer")
        acc = evaluate(model, data.x_test, data.y_test)["accuracy"]
        curve.append({"step": step, "connections": connections(model),
                      "reduction": total / connections(model), "test_accuracy": acc})
    return curve


def ours_curve(dense, data, steps, fraction, epochs, train_cfg, kd: bool, criterion="lamp"):
    model = copy.deepcopy(dense)
    total = connections(model)
    loss_fn = None
    if kd:
        from synth.distill import kd_loss
        teacher = copy.deepcopy(dense).eval()

        def loss_fn(m, xb, yb):
            with torch.no_grad():
                t = teacher(xb)
            return kd_loss(m(xb), t, 4.0, labels=yb, alpha=0.5)
    schedule = GrowPruneSchedule(prune_steps=steps, prune_fraction=fraction, criterion=criterion,
                                 retrain_epochs=epochs, lr=train_cfg.lr,
                                 weight_decay=train_cfg.weight_decay, device="cpu")
    snaps = {}
    model, history = grow_and_prune(model, data, schedule, loss_fn=loss_fn,
                                    on_step=lambda m, row: snaps.__setitem__(
                                        row["step"], copy.deepcopy(m.state_dict())))
    curve = [{"step": r["step"], "connections": r["connections"],
              "reduction": total / r["connections"], "test_accuracy": r["test_accuracy"],
              "flops": r["flops"], "parameters": r["parameters"]}
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
    print(text)
    write_text_atomic(RESULTS / "grow_prune_latency.md", text)


def run_one(name: str, args) -> str:
    torch.set_num_threads(args.threads)
    data = load_dataset("mnist5k", seed=0)
    cfg = TrainConfig(epochs=args.dense_epochs, lr=0.05, weight_decay=1e-4, seed=0,
                      device="cpu", progress=False)
    torch.manual_seed(0)
    dense = build(name, data.input_shape, data.num_classes)
    t0 = time.perf_counter()
    fit(dense, data, cfg)
    dense_acc = evaluate(dense, data.x_test, data.y_test)["accuracy"]
    retrain = cfg.replace(epochs=args.retrain)
    steps = args.steps or MODELS[name]["steps"]
    peer = peer_curve(dense, data, steps, args.fraction, retrain)
    model, ours, snaps = ours_curve(dense, data, steps, args.fraction, args.retrain, retrain,
                                    args.kd, args.criterion)
    seconds = time.perf_counter() - t0
    pb, ob = best(peer, dense_acc), best(ours, dense_acc)
    lines = [f"## {name}  (dense test accuracy {dense_acc:.2%}, "
             f"{connections(dense):,} weights; {steps} steps x {args.retrain} epochs, "
             f"fraction {args.fraction}, ours: {args.criterion}"
             f"{' + KD from dense' if args.kd else ''}; {seconds:.0f} s)", "",
             "| step | peer reduction | peer test acc | ours reduction | ours test acc | ours MACs |",
             "|---|---|---|---|---|---|"]
    for p, o in zip(peer, ours):
        lines.append(f"| {p['step']} | {p['reduction']:.1f}x | {p['test_accuracy']:.2%} | "
                     f"{o['reduction']:.1f}x | {o['test_accuracy']:.2%} | {o['flops']:,} |")
    fmt = (lambda b: "none" if b is None else
           f"{b['reduction']:.1f}x ({b['connections']:,} weights, {b['test_accuracy']:.2%})")
    ratio = (ob["reduction"] / pb["reduction"]) if ob and pb else float("nan")
    lines += ["", f"Largest reduction within {MAX_LOSS:.1%} of dense: peer {fmt(pb)}; "
              f"ours {fmt(ob)}; ours/peer = {ratio:.2f}x", ""]
    if ob is not None:   # compaction of the chosen masked model
        model.load_state_dict(snaps[ob["step"]])
        lines += compaction_lines(model, data)
    return "\n".join(lines) + "\n"


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
    ap.add_argument("--out", default=None)
    ap.add_argument("--latency", action="store_true", help="only the compaction latency table")
    args = ap.parse_args()
    if args.latency:
        latency_only(args)
        return
    if args.model:
        text = run_one(args.model, args)
        print(text)
        if args.out:
            Path(args.out).write_text(text)
        return
    # both models in parallel, one process (one thread) each
    RESULTS.mkdir(exist_ok=True)
    parts = {m: RESULTS / f".grow_prune_{m}.md" for m in MODELS}
    extra = (["--kd"] if args.kd else []) + (["--steps", str(args.steps)] if args.steps else [])
    procs = [subprocess.Popen([sys.executable, __file__, "--model", m, "--out", str(p),
                               "--dense-epochs", str(args.dense_epochs), "--retrain",
                               str(args.retrain), "--fraction", str(args.fraction)] + extra)
             for m, p in parts.items()]
    if any(p.wait() for p in procs):
        sys.exit("a model run failed")
    cmd = "python benchmarks/grow_prune.py" + " ".join([""] + extra)
    text = (f"# Grow-and-prune vs torch.nn.utils.prune (mnist5k, seed 0)\n\nCommand: `{cmd}` "
            f"(one process per model, 1 torch thread each, CPU)\n\n"
            + "\n".join(p.read_text() for p in parts.values()))
    write_text_atomic(RESULTS / "grow_prune.md", text)
    for p in parts.values():
        p.unlink()
    print(text)


if __name__ == "__main__":
    main()
