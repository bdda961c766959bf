"""SPRING vs GTX 1080 Ti (paper: training 15.6x / 4.2x / 66.0x, inference 15.5x / 4.5x / 69.1x)
and fixed-point training at SPRING's precision with stochastic vs round-to-nearest rounding.

Part 1 prices a ResNet-like CNN (synth.models resnet18, CIFAR-style, and resnet8_w16) on
``hwsim.spring`` and on the ``hwsim.gpu`` roofline of a GTX 1080 Ti, for a batch of real
mnist5k images (activation sparsity measured on them; weights dense as initialized), with
the GPU at its roofline (efficiency 1: the GPU's best case) and at 50 % efficiency.

Part 2 trains LeNet-5 (BN) on mnist5k in fp32 and in 20-bit fixed point (synth.quant: 4
integer + 16 fraction bits, SPRING) on weights, activations, gradients and optimizer state,
with stochastic rounding (SR) and with round-to-nearest (RTN): peak learning rates
{0.05, 0.01, 0.002} x {SGD with Nesterov momentum 0.9, plain SGD} x seeds, plus the smallest
rate trained 4x longer, mean ± std over seeds.  Part 3 lowers the precision (same recipe as
the headline, SGD+Nesterov lr 0.05) to show where RTN breaks.  Each finished run is cached
in /tmp/hwsim_spring_cache under a hash of its configuration, so an interrupted benchmark
resumes.

    python benchmarks/hwsim_spring.py [--epochs 3] [--seeds 3] [--skip-training] [--skip-ablation]
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hwsim.gpu import GpuConfig  # noqa: E402
from hwsim.spring import SpringConfig, compare  # noqa: E402
from hwsim.workload import extract  # noqa: E402
from synth.data import load_dataset  # noqa: E402
from synth.files import write_json_atomic, write_text_atomic  # noqa: E402
from synth.models import build  # noqa: E402
from synth.quant import ROUNDINGS, FixedPointTraining, QuantConfig  # noqa: E402
from synth.train import TrainConfig, fit  # noqa: E402

CACHE = Path("/tmp/hwsim_spring_cache")
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
OPTIMIZERS = {"SGD+Nesterov 0.9": 0.9, "plain SGD": 0.0}   # name -> momentum
LRS = (0.05, 0.01, 0.002)
LARGE_BATCH = [("SGD+Nesterov 0.9", 0.9, 0.2, 10, 256), ("SGD+Nesterov 0.9", 0.9, 0.4, 20, 1024)]
ABLATION = {"20b (4.16) all": QuantConfig(),
            "16b (4.12) all": QuantConfig(frac_bits=12),
            "14b (4.10) all": QuantConfig(frac_bits=10),
            "13b (4.9) all": QuantConfig(frac_bits=9),
            "12b (4.8) weights+acts+opt. state": QuantConfig(frac_bits=8, gradients=False),
            "10b (4.6) weights only": QuantConfig(frac_bits=6, activations=False,
                                                  gradients=False, optimizer_state=False)}


def train_one(q: QuantConfig | None, lr: float, momentum: float, seed: int, epochs: int,
              data, batch: int = 32) -> dict:
    """One LeNet-5 (BN) training; cached by its full configuration.  Also counts, over all
    steps and parameters, the fraction of per-weight updates |w_new - w_old| (before the
    rounding back to the grid) under half a 2^-16 step: those vanish under RTN."""
    key = json.dumps({"q": q and q.to_dict(), "lr": lr, "momentum": momentum, "seed": seed,
                      "epochs": epochs, **({"batch": batch} if batch != 32 else {})},
                     sort_keys=True)
    path = CACHE / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.json"
    if path.exists():
        return json.loads(path.read_text())
    torch.manual_seed(seed)                            # same initial weights in every mode
    model = build("lenet5_bn", data.input_shape, data.num_classes)
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


def _row(label: str, runs: list[dict], base: float) -> str:
    acc = [r["test_accuracy"] for r in runs]
    return (f"| {label} | {_pct(acc)} | {', '.join(f'{100 * a:.1f}' for a in acc)} | "
            f"{100 * (statistics.mean(acc) - base):+.2f} | "
            f"{100 * statistics.mean(r['sub_half_lsb'] for r in runs):.1f} % | "
            f"{statistics.mean(r['seconds'] for r in runs):.0f} |")


def sweep_table(settings: list[tuple[str, float, float, int, int]], seeds: int,
                data) -> list[str]:
    """Every (optimizer, lr, epochs, batch) x mode row, mean ± std over seeds, difference to
    fp32."""
    lines = ["| optimizer | lr (peak, cosine) | epochs | batch | training | test acc. % "
             "(mean ± std) | per seed | vs fp32 (points) | updates < 2^-17 | s/run |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for opt_name, momentum, lr, epochs, batch in settings:
        base = None
        for mode, q in MODES.items():
            runs = [train_one(q, lr, momentum, s, epochs, data, batch) for s in range(seeds)]
            base = statistics.mean(r["test_accuracy"] for r in runs) if base is None else base
            lines.append(_row(f"{opt_name} | {lr} | {epochs} | {batch} | {mode}", runs, base))
            print(lines[-1], flush=True)
    return lines


def ablation_table(epochs: int, seeds: int, data) -> list[str]:
    """Lower precisions, the headline recipe (SGD+Nesterov 0.9, lr 0.05)."""
    lines = ["| precision, quantized | rounding | test acc. % (mean ± std) | per seed | "
             "vs fp32 (points) | updates < 2^-17 | s/run |", "|---|---|---|---|---|---|---|"]
    base = statistics.mean(train_one(None, 0.05, 0.9, s, epochs, data)["test_accuracy"]
                           for s in range(seeds))
    for name, q in ABLATION.items():
        for rounding in ROUNDINGS:
            runs = [train_one(q.replace(rounding=rounding), 0.05, 0.9, s, epochs, data)
                    for s in range(seeds)]
            lines.append(_row(f"{name} | {rounding}", runs, base))
            print(lines[-1], flush=True)
    return lines


WHY_SWEEP = [
    "", "Reading of the default run (3 epochs, 3 seeds): at SPRING's 20 bits SR stays",
    "within 0.4 points of fp32 in every row -- the first half of the criterion holds.  RTN is",
    "*not* measurably worse at 20 bits in any row: its mean is within -0.37..+0.20 points of",
    "fp32, inside one seed std of its row.  This holds although 20-62 % of all per-weight",
    "updates are under half a step and are rounded away by RTN (the mechanism is real: see",
    "tests/hwsim/test_quant.py).  Our reading, not measured per weight: the weights with",
    "sub-LSB updates are those with tiny gradients, whose updates barely move the loss, while",
    "the weights that matter get updates of many steps.  Small rates (0.002) and the cosine tail raise the sub-LSB",
    "fraction but cost RTN at most 0.4 points, and trained 4x longer at lr 0.002 (fp32",
    "97.3) RTN is within 0.03 points.  RTN is still fine at 16 bits (4.12, table below) and",
    "breaks at lower precision: with 8",
    "fraction bits on weights, activations and optimizer state it loses 1.0 point where SR",
    "loses 0.03, and with 6 fraction bits on the weights alone 3.8 points where SR loses 0.3.",
    "With gradients too at 10 or 9 fraction bits both roundings become unstable across seeds",
    "(13b: SR 95.9 / 87.0 / 11.9, RTN 10.0 / 46.8 / 80.1), RTN worse on average.  So the",
    "second half of the criterion (RTN measurably worse at SPRING's precision) is not met",
    "on mnist5k: the 20-bit grid is fine enough that RTN loses nothing here.  The headline recipe is",
    "SGD+Nesterov, lr 0.05, 3 epochs (fp32 97.30 ± 0.56, 20b SR 97.70 ± 0.75, 20b RTN",
    "97.50 ± 0.52).  ('updates < 2^-17' in the table below still counts against the 20-bit",
    "half step, not each row's own grid.)"]


WHY_LARGE_BATCH = [
    "", "Reading of the default run (3 seeds): at batch 256 both roundings sit 0.6-0.7 points",
    "under fp32 and level with each other.  At batch 1024 the 20-bit grid finally bites: RTN",
    "loses 13.6 points (83.9 / 80.0 / 86.7) -- the gradients it rounds to zero are exactly the",
    "small per-example ones -- and SR loses 4.6 on average (96.1 / 85.5 / 96.0: two seeds",
    "within 1.6 points, one collapse).  So RTN is measurably worse than SR at SPRING's",
    "precision here, but only in a regime where SR too is more than 1 point from fp32; in no",
    "setting we ran do both halves of the criterion hold at once.  A per-tensor scale (loss",
    "scaling, as mixed-precision training uses) is what such a trainer would add; not done."]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--skip-training", action="store_true", help="hardware table only")
    ap.add_argument("--skip-ablation", action="store_true", help="no lower-precision table")
    ap.add_argument("--skip-large-batch", action="store_true", help="no large-batch table")
    args = ap.parse_args()
    text = ["# SPRING vs GTX 1080 Ti, and training at SPRING's precision", "",
            "Command: `python benchmarks/hwsim_spring.py`.  Batch of 32 real mnist5k images",
            "(1x28x28); GPU = roofline of a GTX 1080 Ti (11.34 TFLOP/s, 484 GB/s, 250 W), at",
            "efficiency 1.0 (its best case) and 0.5; SPRING = hwsim.spring defaults (73,728 MACs,",
            "700 MHz, 20-bit, binary-mask sparsity).  Paper figures in parentheses.", ""]
    text += hardware_table()
    text += ["", "Why the ratios differ from the paper's: the GPU side is a roofline (efficiency 1.0 is",
             "the GPU's best case; the paper measured a real 1080 Ti, which runs below its roofline:",
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
                 f"--seeds {args.seeds}`.  synth.train.fit defaults (batch 32, cosine decay to 0,",
                 "weight decay 5e-4, best-on-validation epoch), 1 torch thread.  Fixed point =",
                 "20 bits (4 integer incl. sign, 16 fraction; SPRING) on the weights (after every",
                 "step: the update lands on the grid), the layer outputs, the gradients and the",
                 "optimizer state (momentum buffer).  SR = stochastic rounding, RTN =",
                 "round-to-nearest.  Seed s sets the initial weights, the data order and the",
                 "rounding noise; std is the sample std over seeds; 'vs fp32' compares means.",
                 "'updates < 2^-17': fraction of per-weight, per-step updates (all parameters,",
                 "before rounding) under half a grid step -- the ones RTN rounds away.  s/run is wall",
                 "time on a shared 2-core machine (indicative only).", ""]
        settings = [(name, m, lr, args.epochs, 32) for name, m in OPTIMIZERS.items() for lr in LRS]
        settings.append(("SGD+Nesterov 0.9", 0.9, min(LRS), 4 * args.epochs, 32))  # small lr
        text += sweep_table(settings, args.seeds, data)
        text += WHY_SWEEP
        if not args.skip_large_batch:
            text += ["", "### Large batches (SGD+Nesterov 0.9, lr scaled with the batch)", "",
                     "With the mean-reduced loss every per-example output gradient is divided by",
                     "the batch size, so at large batches the activation gradients of well-fitted",
                     "examples fall under the 20-bit grid step (2^-16 ~ 1.5e-5).", ""]
            text += sweep_table(LARGE_BATCH, args.seeds, data)
            text += WHY_LARGE_BATCH
        if not args.skip_ablation:
            text += ["", f"### Lower precisions (SGD+Nesterov 0.9, lr 0.05, {args.epochs} epochs, "
                     f"{args.seeds} seeds)", "",
                     "'all' = weights, activations, gradients and optimizer state in fixed point;",
                     "the 12-bit row keeps gradients fp32; the 10-bit row quantizes the stored",
                     "weights only.", ""]
            text += ablation_table(args.epochs, args.seeds, data)
    write_text_atomic(RESULTS, "\n".join(text) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
