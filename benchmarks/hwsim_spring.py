"""SPRING vs GTX 1080 Ti (paper: training 15.6x / 4.2x / 66.0x, inference 15.5x / 4.5x / 69.1x)
and fixed-point training at SPRING's precision with stochastic vs round-to-nearest rounding.

Part 1 prices a ResNet-like CNN (synth.models resnet18, CIFAR-style, and resnet8_w16) on
``hwsim.spring`` and on the ``hwsim.gpu`` roofline of a GTX 1080 Ti, for a batch of real
mnist5k images (activation sparsity measured on them; weights dense as initialized), with
the GPU at its roofline (efficiency 1: compute and memory at their peaks) and at 50 %
efficiency, each kernel launch 5 us (``GpuConfig.launch_us``'s default).

Part 2 trains LeNet-5 (BN) on mnist5k in fp32 and in 20-bit fixed point (synth.quant: 4
integer + 16 fraction bits, SPRING) on weights, activations, gradients and optimizer state,
with stochastic rounding (SR) and with round-to-nearest (RTN): peak learning rates
{0.05, 0.01, 0.002} x {SGD with Nesterov momentum 0.9, plain SGD} x seeds, plus the smallest
rate trained 4x longer, mean ± std over seeds; the slow regime (lr 0.002, 3 epochs) with 10
seeds and again with 10 fresh ones; large batches (256, 1024) with and without per-tensor
gradient scaling; LeNet-300-100 without BatchNorm (Gupta et al.'s setting); a pooled paired
test of RTN against SR over every 20-bit run.  Part 3 lowers the precision (same recipe as
the headline, SGD+Nesterov lr 0.05) to show where RTN breaks.  Each finished run is cached
in /tmp/hwsim_spring_cache under a hash of its configuration, so an interrupted benchmark
resumes.

    python benchmarks/hwsim_spring.py [--epochs 3] [--seeds 3] [--slow-seeds 10]
        [--large-batch-seeds 8] [--skip-training] [--skip-ablation] [--skip-large-batch]
        [--skip-no-bn]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from scipy.stats import binomtest, ttest_1samp, wilcoxon

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hwsim.gpu import GpuConfig  # noqa: E402
from hwsim.spring import SpringConfig, compare  # noqa: E402
from hwsim.workload import extract  # noqa: E402
from synth.data import load_dataset  # noqa: E402
from common import write_result, run_main  # noqa: E402
from synth.files import write_json_atomic  # noqa: E402
from synth.models import build  # noqa: E402
from synth.quant import ROUNDINGS, FixedPointTraining, QuantConfig  # noqa: E402
from synth.train import TrainConfig, fit  # noqa: E402

CACHE = Path("/tmp/hwsim_spring_cache")
CACHE_REVISION = 2      # bump when synth.quant changes behaviour (2: clipped straight-through)
RESULTS = Path(__file__).resolve().parent / "results" / "hwsim_spring.md"
PAPER = {"training": (15.6, 4.2, 66.0), "inference": (15.5, 4.5, 69.1)}


def hardware_table(batch: int = 32) -> list[str]:
    data = load_dataset("mnist5k")
    x = data.x_val[:batch]
    lines = ["| network | mode | GPU eff. | SPRING sparsity | speedup (paper) | power red. (paper) | "
             "energy eff. (paper) | SPRING ms | GPU ms | SPRING W | skipped MACs |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for variant in ("resnet18", "resnet8_w16"):
        torch.manual_seed(0)                           # reproducible init -> sparsity
        model = build(variant, data.input_shape, data.num_classes)
        ops = extract(model, data.input_shape, inputs=x)
        for mode in ("inference", "training"):
            for eff in (1.0, 0.5):
                for sparse in (True, False):
                    gpu = GpuConfig(compute_efficiency=eff, memory_efficiency=eff)
                    r = compare(ops, SpringConfig(sparsity=sparse), gpu, mode)
                    p = PAPER[mode]
                    lines.append(
                        f"| {variant} | {mode} | {eff:.1f} | {'on' if sparse else 'off'} | "
                        f"{r['speedup']:.1f}x ({p[0]}x) | {r['power_reduction']:.1f}x ({p[1]}x) | "
                        f"{r['energy_efficiency']:.1f}x ({p[2]}x) | {r['spring']['latency_ms']:.3f} | "
                        f"{r['gpu']['latency_ms']:.3f} | {r['spring']['power_w']:.1f} | "
                        f"{r['spring']['skipped_fraction']:.2f} |")
                    print(lines[-1], flush=True)
    return lines


HALF_LSB = 2.0 ** -17                                  # half a step at 16 fraction bits
MODES = {"fp32": None, "20b SR": QuantConfig(), "20b RTN": QuantConfig(rounding="nearest")}
PER_TENSOR = QuantConfig(gradient_scaling="per_tensor")
MODES_SCALED = {**MODES, "20b SR, per-tensor grads": PER_TENSOR,
                "20b RTN, per-tensor grads": PER_TENSOR.replace(rounding="nearest")}
OPTIMIZERS = {"SGD+Nesterov 0.9": 0.9, "plain SGD": 0.0}   # name -> momentum
LRS = (0.05, 0.01, 0.002)
LARGE_BATCH = [("SGD+Nesterov 0.9", 0.9, 0.2, 10, 256), ("SGD+Nesterov 0.9", 0.9, 0.4, 20, 1024)]
# the slow regime: small lr, few epochs, half or more of all updates under half a step
SLOW = [("SGD+Nesterov 0.9", 0.9, 0.002, 3, 32), ("plain SGD", 0.0, 0.002, 3, 32)]
# Gupta et al.'s MNIST setting: a fully connected net without BatchNorm, batch 100, lr 0.01
NO_BN = [("plain SGD", 0.0, 0.01, 20, 100), ("SGD+Nesterov 0.9", 0.9, 0.01, 20, 100)]
ABLATION = {"20b (4.16) all": QuantConfig(),
            "16b (4.12) all": QuantConfig(frac_bits=12),
            "14b (4.10) all": QuantConfig(frac_bits=10),
            "13b (4.9) all": QuantConfig(frac_bits=9),
            "14b (4.10) all, per-tensor grads": QuantConfig(frac_bits=10,
                                                            gradient_scaling="per_tensor"),
            "12b (4.8) all, per-tensor grads": QuantConfig(frac_bits=8,
                                                           gradient_scaling="per_tensor"),
            "12b (4.8) weights+acts+opt. state": QuantConfig(frac_bits=8, gradients=False),
            "10b (4.6) weights only": QuantConfig(frac_bits=6, activations=False,
                                                  gradients=False, optimizer_state=False)}


# QuantConfig fields added after runs were cached: left out of the cache key at their default
ADDED_FIELDS = {"state_scaling": "fixed"}


def _key_fields(q: QuantConfig) -> dict:
    return {k: v for k, v in q.to_dict().items() if ADDED_FIELDS.get(k, object()) != v}


def train_one(q: QuantConfig | None, lr: float, momentum: float, seed: int, epochs: int,
              data, batch: int = 32, model_name: str = "lenet5_bn") -> dict:
    """One training of ``model_name`` (LeNet-5 with BN by default); cached by its full configuration.  Also counts, over all
    steps and parameters, the fraction of per-weight updates |w_new - w_old| (before the
    rounding back to the grid) under half a 2^-16 step: those vanish under RTN."""
    key = json.dumps({"rev": CACHE_REVISION, "q": q and _key_fields(q), "lr": lr, "momentum": momentum, "seed": seed,
                      "epochs": epochs, **({"batch": batch} if batch != 32 else {}),
                      **({"model": model_name} if model_name != "lenet5_bn" else {})},
                     sort_keys=True)
    path = CACHE / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.json"
    if path.exists():
        return json.loads(path.read_text())
    torch.manual_seed(seed)                            # same initial weights in every mode
    model = build(model_name, data.input_shape, data.num_classes)
    cfg = TrainConfig(epochs=epochs, lr=lr, momentum=momentum, seed=seed, batch_size=batch,
                      progress=False)
    fx = FixedPointTraining(q.replace(seed=seed)) if q is not None else None
    if fx is not None:
        fx.attach(model)
    prev = [p.detach().clone() for p in model.parameters()]
    counts = [0, 0]                                    # updates under half an LSB, all updates

    def after_step(m):
        for p, old in zip(m.parameters(), prev):
            counts[0] += int(((p - old).abs() < HALF_LSB).sum())
            counts[1] += p.numel()
        if fx is not None:
            fx.after_step(m)
        for p, old in zip(m.parameters(), prev):
            old.copy_(p.detach())

    t0 = time.time()
    r = fit(model, data, cfg, after_step=after_step)
    if fx is not None:
        fx.detach()
    out = {"test_accuracy": r["test_accuracy"], "val_accuracy": r["val_accuracy"],
           "sub_half_lsb": counts[0] / max(1, counts[1]), "seconds": time.time() - t0}
    write_json_atomic(path, out)
    return out


def _pct(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * statistics.mean(values):.2f} ± {100 * sd:.2f}"


def paired_points(runs: list[dict], sr_runs: list[dict]) -> list[float]:
    """RTN - SR test accuracy per seed, in points (the runs are in the same seed order)."""
    return [100 * (r["test_accuracy"] - p["test_accuracy"]) for r, p in zip(runs, sr_runs)]


def _mean_sem(d: list[float]) -> tuple[float, float]:
    return statistics.mean(d), (statistics.stdev(d) / len(d) ** 0.5 if len(d) > 1 else 0.0)


def _row(label: str, runs: list[dict], base: float, paired: list[float] | None = None) -> str:
    """One table row; ``paired``: RTN - SR per seed (``paired_points``), for that column."""
    acc = [r["test_accuracy"] for r in runs]
    diff = ""
    if paired is not None:
        mean, sem = _mean_sem(paired)
        # the paired t-test of RTN vs SR is the one-sample t-test of their differences
        p_value = ttest_1samp(paired, 0.0).pvalue if len(paired) > 2 else None
        p_text = ("" if p_value is None or p_value != p_value else
                  "p < 0.01, " if p_value < 0.01 else f"p = {p_value:.2f}, ")
        diff = f"{mean:+.2f} ± {sem:.2f} ({p_text}{sum(x < 0 for x in paired)}/{len(paired)} lower)"
    return (f"| {label} | {_pct(acc)} | {', '.join(f'{100 * a:.1f}' for a in acc)} | "
            f"{100 * (statistics.mean(acc) - base):+.2f} | {diff} | "
            f"{100 * statistics.mean(r['sub_half_lsb'] for r in runs):.1f} % | "
            f"{statistics.mean(r['seconds'] for r in runs):.0f} |")


PAIRED_HEADER = ("vs fp32 (points) | RTN - SR, same seeds (points, mean ± s.e., paired t-test) | "
                 "updates < 2^-17 | s/run |")


# (setting, mode, seed) -> RTN - SR test accuracy (points) at 20 bits, over every table
PAIRED_20B: dict[tuple, float] = {}


def sweep_table(settings: list[tuple[str, float, float, int, int]], seeds: int, data,
                modes: dict[str, QuantConfig | None] = MODES,
                model_name: str = "lenet5_bn", first_seed: int = 0) -> list[str]:
    """Every (optimizer, lr, epochs, batch) x mode row, mean ± std over seeds, difference to
    fp32 and, for RTN rows, the paired difference to SR with the same seeds."""
    lines = ["| optimizer | lr (peak, cosine) | epochs | batch | training | test acc. % "
             "(mean ± std) | per seed | " + PAIRED_HEADER,
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for opt_name, momentum, lr, epochs, batch in settings:
        base, done = None, {}
        for mode, q in modes.items():
            runs = [train_one(q, lr, momentum, s, epochs, data, batch, model_name)
                    for s in range(first_seed, first_seed + seeds)]
            done[mode] = runs
            paired = (paired_points(runs, done[mode.replace("RTN", "SR")]) if "RTN" in mode
                      else None)
            for seed, d in enumerate(paired or [], first_seed):
                PAIRED_20B[(opt_name, lr, epochs, batch, model_name, mode, seed)] = d
            base = statistics.mean(r["test_accuracy"] for r in runs) if base is None else base
            lines.append(_row(f"{opt_name} | {lr} | {epochs} | {batch} | {mode}", runs, base,
                              paired))
            print(lines[-1], flush=True)
    return lines


def _pooled_line(label: str, d: list[float]) -> str:
    lower, higher = sum(x < 0 for x in d), sum(x > 0 for x in d)
    mean, sem = _mean_sem(d)
    return (f"{label} {len(d)} pairs: RTN - SR = {mean:+.2f} ± {sem:.2f} points "
            f"(mean ± s.e.); RTN lower in {lower}, higher in {higher}, tied in "
            f"{len(d) - lower - higher}; Wilcoxon signed-rank {_p(wilcoxon(d).pvalue)}, "
            f"sign test {_p(binomtest(lower, lower + higher).pvalue)}.")


def _p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def pooled_20b() -> list[str]:
    """Every 20-bit RTN - SR pair of the tables above, pooled: is RTN worse at all?  Also
    without the slow regime, where RTN is expected to lose most."""
    slow = {(n, lr, e, b) for n, _, lr, e, b in SLOW}
    rest = [d for k, d in PAIRED_20B.items() if k[:4] not in slow]
    return ["", _pooled_line("Pooled over all 20-bit (setting, seed) pairs above (each run once),",
                             list(PAIRED_20B.values())),
            "", _pooled_line("Without the slow-regime settings (lr 0.002, 3 epochs),", rest)]


def ablation_table(epochs: int, seeds: int, data) -> list[str]:
    """Lower precisions, the headline recipe (SGD+Nesterov 0.9, lr 0.05)."""
    lines = ["| precision, quantized | rounding | test acc. % (mean ± std) | per seed | "
             + PAIRED_HEADER, "|---|---|---|---|---|---|---|---|"]
    base = statistics.mean(train_one(None, 0.05, 0.9, s, epochs, data)["test_accuracy"]
                           for s in range(seeds))
    for name, q in ABLATION.items():
        sr = None
        for rounding in ROUNDINGS:
            runs = [train_one(q.replace(rounding=rounding), 0.05, 0.9, s, epochs, data)
                    for s in range(seeds)]
            sr = sr or runs
            lines.append(_row(f"{name} | {rounding}", runs, base,
                              paired_points(runs, sr) if rounding == "nearest" else None))
            print(lines[-1], flush=True)
    return lines


WHY_SWEEP = [
    "", "Reading (3 seeds): at SPRING's 20 bits SR stays within 0.23 points of fp32 in every",
    "row.  RTN is level with SR at the usual rates (paired RTN - SR from -0.20 to +0.23,",
    "inside two standard errors of zero) although 20-62 % of all per-weight updates are under",
    "half a step and vanish under RTN (the mechanism is real: tests/hwsim/test_quant.py).  The",
    "two rows at lr 0.002 for 3 epochs -- the slow regime, where 47-62 % of the updates are",
    "sub-LSB and the model is still far from converged -- are lower on 3/3 seeds; the next two",
    "tables test them with 10 seeds and then with 10 fresh ones.  Trained 4x longer at lr",
    "0.002 (12 epochs, fp32 97.3) RTN is level again (-0.03)."]

WHY_SLOW = [
    "", "Reading: SR within 0.24 points of fp32 in both rows; RTN below SR by 0.20 (SGD+Nesterov,",
    "p = 0.07) and 0.34 points (plain SGD, p = 0.05)."]

WHY_CONFIRM = [
    "", "Reading: plain SGD confirms on fresh seeds -- RTN 0.54 ± 0.12 points under SR (9/10",
    "seeds lower, p < 0.01) while SR is level with fp32 (+0.03); with Nesterov momentum the",
    "gap does not confirm (-0.08 ± 0.14, p = 0.57).  Momentum sums several steps' gradients",
    "into each update, which lifts more of them over the half step; without it the",
    "sub-LSB updates are lost outright under RTN.  This regime is under-trained (fp32 72-74 %):",
    "the finding is that RTN loses learning progress where the updates are small, not that a",
    "converged LeNet-5 is worse."]

WHY_LARGE_BATCH = [
    "", "Reading: with the straight-through gradient zeroed where the forward saturated",
    "(synth.quant since this version) nothing collapses any more: an earlier run of this table",
    "without it lost 13.6 points under RTN and 4.6 under SR at batch 1024 (one seed at 85.5 %);",
    "the fix removed it, so it came from the +-8 range, not from rounding.  Now SR is",
    "within 0.32 points of fp32 at both batch sizes, per-tensor gradient scaling changes",
    "little, and RTN - SR is -0.26 ± 0.09 at batch 256 (p = 0.03) and -0.06 .. -0.13 (p > 0.5)",
    "at batch 1024."]

WHY_NO_BN = [
    "", "Reading: in the network Gupta et al. used (fully connected, no BatchNorm), 60-78 % of",
    "the updates are sub-LSB; SR is within 0.2 points of fp32 and RTN 0.07-0.20 points under SR",
    "(3 seeds, not significant).  (Before the saturation fix both roundings lost 4-5 points",
    "here with momentum; the fix removed it, so it was the +-8 range, not rounding.)"]

WHY_POOLED = [
    "", "Reading of the pooled test: RTN at SPRING's precision is measurably worse than SR --",
    "but by little (about 0.2 points), mostly in the slow regime; at the usual rates the",
    "pooled gap is 0.09 points and not significant.  This matches Gupta et al. (ICML 2015),",
    "whose round-to-nearest failures start at 14 fraction bits and below: 16 fraction bits",
    "make a step of 1.5e-5, under almost every update that matters.  The table below",
    "locates the break on this task: RTN loses 0.6-0.9 points at 14 bits (10 fraction bits,",
    "3/3 seeds lower), 0.9-1.4 at 12 bits, and 3.5 with 6 fraction bits on the weights, while",
    "SR stays within 0.33 points of fp32 down to 12 bits."]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--skip-training", action="store_true", help="hardware table only")
    ap.add_argument("--skip-ablation", action="store_true", help="no lower-precision table")
    ap.add_argument("--skip-large-batch", action="store_true", help="no large-batch table")
    ap.add_argument("--skip-no-bn", action="store_true", help="no LeNet-300-100 table")
    ap.add_argument("--slow-seeds", type=int, default=10, help="seeds of the slow-regime table")
    ap.add_argument("--large-batch-seeds", type=int, default=8)
    ap.add_argument("--out", default=str(RESULTS),
                    help="results file (a name under benchmarks/results/ or a path)")
    args = ap.parse_args()
    text = ["# SPRING vs GTX 1080 Ti, and training at SPRING's precision", "",
            "Command: `python benchmarks/hwsim_spring.py`.  Batch of 32 real mnist5k images",
            "(1x28x28); GPU = roofline of a GTX 1080 Ti (11.34 TFLOP/s, 484 GB/s, 250 W), at",
            "efficiency 1.0 (its peaks) and 0.5, 5 us a kernel launch; SPRING = hwsim.spring defaults (73,728 MACs,",
            "700 MHz, 20-bit, binary-mask sparsity).  Paper figures in parentheses.", ""]
    text += hardware_table()
    text += ["", "Why the ratios differ from the paper's: the GPU side is a roofline (efficiency 1.0 is",
             "the roofline's peaks, plus 5 us a kernel launch; the paper measured a real 1080 Ti, which runs below its roofline:",
             "see the 0.5 rows); the weights here are dense (initialized, not pruned), so only activation zeros are",
             "skipped; the M3D NVM bandwidth/energy, node and static power of SPRING are our",
             "stated assumptions (hwsim/spring.py), which set the power ratio; batch 32 of",
             "28x28 images is smaller than the paper's workloads."]
    if not args.skip_training:
        torch.set_num_threads(1)
        data = load_dataset("mnist5k")
        text += ["", f"## Training at SPRING's precision: LeNet-5 (BN) on mnist5k, {args.epochs} "
                 f"epochs, {args.seeds} seeds", "",
                 f"Command: `python benchmarks/hwsim_spring.py --epochs {args.epochs} "
                 f"--seeds {args.seeds} --slow-seeds {args.slow_seeds} --large-batch-seeds "
                 f"{args.large_batch_seeds}`.  synth.train.fit defaults (batch 32, cosine decay to 0,",
                 "weight decay 5e-4, best-on-validation epoch), 1 torch thread.  Fixed point =",
                 "20 bits (4 integer incl. sign, 16 fraction; SPRING) on the weights (after every",
                 "step: the update lands on the grid), the layer outputs, the gradients and the",
                 "optimizer state (momentum buffer); the straight-through gradient is zero where",
                 "an output saturated.  SR = stochastic rounding, RTN =",
                 "round-to-nearest.  Seed s sets the initial weights, the data order and the",
                 "rounding noise; std is the sample std over seeds; 'vs fp32' compares means;",
                 "'RTN - SR' pairs the runs of the same seed (two-sided paired t-test).",
                 "'updates < 2^-17': fraction of per-weight, per-step updates (all parameters,",
                 "before rounding) under half a grid step -- the ones RTN rounds away.  s/run is wall",
                 "time on a shared 2-core machine (indicative only).", ""]
        settings = [(name, m, lr, args.epochs, 32) for name, m in OPTIMIZERS.items() for lr in LRS]
        settings.append(("SGD+Nesterov 0.9", 0.9, min(LRS), 4 * args.epochs, 32))  # small lr
        text += sweep_table(settings, args.seeds, data)
        text += WHY_SWEEP
        text += ["", f"### The slow regime, {args.slow_seeds} seeds (lr 0.002, {args.epochs} epochs, "
                 "batch 32)", ""]
        text += sweep_table([(n, m, lr, args.epochs, b) for n, m, lr, _, b in SLOW],
                            args.slow_seeds, data)
        text += WHY_SLOW
        fresh = 1000                                   # seeds no other table uses
        text += ["", f"### Confirmation on fresh seeds {fresh}-{fresh + args.slow_seeds - 1} "
                 "(the slow regime again; the test was declared before these runs)", ""]
        text += sweep_table([(n, m, lr, args.epochs, b) for n, m, lr, _, b in SLOW],
                            args.slow_seeds, data, first_seed=fresh)
        text += WHY_CONFIRM
        if not args.skip_large_batch:
            text += ["", f"### Large batches (SGD+Nesterov 0.9, lr scaled with the batch), "
                     f"{args.large_batch_seeds} seeds", "",
                     "With the mean-reduced loss every per-example output gradient is divided by",
                     "the batch size, so at large batches the activation gradients of well-fitted",
                     "examples fall under the 20-bit grid step (2^-16 ~ 1.5e-5).", ""]
            text += sweep_table(LARGE_BATCH, args.large_batch_seeds, data, MODES_SCALED)
            text += WHY_LARGE_BATCH
        if not args.skip_no_bn:
            text += ["", "### Without BatchNorm: LeNet-300-100 (Gupta et al.'s MNIST setting: "
                     "fully connected, batch 100, lr 0.01)", ""]
            text += sweep_table(NO_BN, args.seeds, data, MODES, "lenet300_100")
            text += WHY_NO_BN
        text += pooled_20b() + WHY_POOLED
        if not args.skip_ablation:
            text += ["", f"### Lower precisions (SGD+Nesterov 0.9, lr 0.05, {args.epochs} epochs, "
                     f"{args.seeds} seeds)", "",
                     "'all' = weights, activations, gradients and optimizer state in fixed point;",
                     "the 12-bit row keeps gradients fp32; the 10-bit row quantizes the stored",
                     "weights only.", ""]
            text += ablation_table(args.epochs, args.seeds, data)
    print(f"wrote {write_result(args.out, text, echo=False)}")


if __name__ == "__main__":
    run_main(main)
