"""CUDA path check: training, inversion and the ADI protocol on the GPU, plus a bf16 /
channels_last speed probe.  Prints one markdown report (and writes it with --md).

    python benchmarks/gpu_check.py --teacher runs/teacher.pt [--md gpu.md]

1. ``synth.train.fit`` of lenet5_bn on mnist5k (5 epochs) on CUDA and on the CPU: accuracy and
   seconds (the same code path, ``device="auto"`` / ``"cpu"``);
2. ``synth.inversion.synthesize`` (mnist28 preset, batch 256, early stop) on CUDA: images/s,
   fidelity, BatchNorm loss;
3. ``synth.distill.adi_distill`` (4 rounds x 64 images, competition weight 1 and 0) on CUDA:
   real-test accuracy of the student;
4. one training step of resnet18 on a batch of 256 3x32x32 inputs: fp32, bf16 autocast and
   bf16 + channels_last, ms/step (median of 20 after 5 warm-ups) -- whether a mixed-precision
   option would pay for the 32x32 preset's teachers;
5. amortized synthesis (``synth.amortized.synthesize_amortized``, 512 images) on CUDA and on
   the CPU: images/s with and without the generator's training, fidelity;
6. a search trial's work in-process on CUDA and on the CPU (``search.trial.train_candidate``'s
   stages without Ray: build convnet_small, 3 epochs at the search defaults, a 2-step
   grow-and-prune refinement, compaction, hwsim pricing), seconds per stage.  Ray's own
   per-trial overhead is not in it: Ray cannot be installed on a machine without network
   access whose carried files are limited to 64 MiB (the ray 2.60 wheel is 79 MB).
Each check runs on its own: one that fails prints its error as its row and the rest go on.
Exits with a one-line message when CUDA is not available.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import traceback
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import write_result, run_main  # noqa: E402
from synth.checkpoint import load_model  # noqa: E402
from synth.data import load_dataset  # noqa: E402
from synth.distill import DistillConfig, adi_distill  # noqa: E402
from synth.inversion import InversionConfig, balanced_labels, synthesize  # noqa: E402
from synth.models import build  # noqa: E402
from synth.train import TrainConfig, fit  # noqa: E402


DEVICE = "cuda"  # --device cpu: a dry run of checks 1-3 on a machine without CUDA


def train_check(data) -> list[str]:
    rows = []
    for device in dict.fromkeys((DEVICE, "cpu")):   # once on a CPU dry run
        torch.manual_seed(0)
        model = build("lenet5_bn", data.input_shape, 10)
        m = fit(model, data, TrainConfig(epochs=5, device=device, progress=False, seed=0))
        rows.append(f"| fit lenet5_bn, 5 epochs | {device} | test {m['test_accuracy']:.4f} | "
                    f"{m['train_seconds']:.1f} s |")
    return rows


def inversion_check(teacher, data) -> list[str]:
    rows = []
    for device in dict.fromkeys((DEVICE, "cpu")):
        cfg = InversionConfig.preset("mnist28", batch_size=256, device=device)
        synthesize(teacher, balanced_labels(64, 10), cfg.replace(iterations=20, early_stop=False),
                   pixel_range=data.pixel_range(), seed=99)  # warm-up (CUDA context, kernels)
        r = synthesize(teacher, balanced_labels(512, 10), cfg, pixel_range=data.pixel_range(),
                       seed=0)
        s = r.stats
        ms = 1000 * s["seconds"] / sum(s["iterations"])
        rows.append(f"| synthesize mnist28, 512 images, batch 256 | {device} | fidelity "
                    f"{s['fidelity']:.4f}, BN {s['bn_loss_initial']:.1f} -> {s['bn_loss_final']:.2f}, "
                    f"{s['mean_iterations']:.0f} it/batch, {ms:.2f} ms/it | "
                    f"{s['images_per_second']:.1f} images/s |")
    return rows


def amortized_check(teacher, data) -> list[str]:
    from synth.amortized import AmortizedConfig, synthesize_amortized
    rows = []
    for device in dict.fromkeys((DEVICE, "cpu")):
        cfg = AmortizedConfig.from_inversion(InversionConfig.preset("mnist28", device=device))
        r = synthesize_amortized(teacher, balanced_labels(512, 10), cfg,
                                 pixel_range=data.pixel_range(), seed=0)
        s = r.stats
        rows.append(f"| amortized synthesis mnist28, 512 images ({s['train_seconds']:.1f} s "
                    f"generator training) | {device} | fidelity {s['fidelity']:.4f} | "
                    f"{s['images_per_second']:.1f} images/s, "
                    f"{s['marginal_images_per_second']:.0f} images/s sampling alone |")
    return rows


def trial_check(data) -> list[str]:
    """search.trial.train_candidate's stages, in-process (module docstring, check 6)."""
    import hwsim
    from synth.compact import compact_if_supported
    from synth.grow_prune import GrowPruneSchedule, grow_and_prune
    rows = []
    for device in dict.fromkeys((DEVICE, "cpu")):
        torch.manual_seed(0)
        times = {}
        t = time.perf_counter()
        model = build("convnet_small", data.input_shape, data.num_classes)
        m = fit(model, data, TrainConfig(epochs=3, batch_size=64, lr=0.05, seed=0, device=device,
                                         keep_best=False, validate_each_epoch=False,
                                         progress=False))
        times["train"] = time.perf_counter() - t
        t = time.perf_counter()
        schedule = GrowPruneSchedule.from_dict({"prune_steps": 2, "retrain_epochs": 1,
                                                "seed": 0, "device": device})
        model, _ = grow_and_prune(model, data, schedule)
        model = compact_if_supported(model.cpu().eval())
        times["grow-prune"] = time.perf_counter() - t
        t = time.perf_counter()
        price = hwsim.price(model, data.input_shape)
        times["hwsim"] = time.perf_counter() - t
        total = sum(times.values())
        rows.append(f"| trial work: convnet_small 3 epochs + 2-step grow-prune + price | {device} "
                    f"| test {m['test_accuracy']:.4f}, {price['latency_ms']:.3f} ms on the "
                    f"accelerator | {total:.1f} s ("
                    + ", ".join(f"{k} {v:.1f} s" for k, v in times.items()) + ") |")
    return rows


def adi_check(teacher, data) -> list[str]:
    rows = []
    for weight in (1.0, 0.0):
        torch.manual_seed(0)
        student = build("lenet5_bn_half", data.input_shape, 10)
        cfg = DistillConfig(rounds=4, images_per_round=64, adi_weight=weight, final_kd_steps=400,
                            min_steps=0, cutmix=0.0,   # the protocol gpu_check.md reports
                            seed=0, jitter=2, progress=False, device=DEVICE)
        m = adi_distill(student, teacher, data.pixel_range(), cfg,
                        InversionConfig.preset("mnist28", batch_size=64, device=DEVICE), data=data)
        rows.append(f"| adi_distill 4 x 64, weight {weight:g}, seed 0 | {DEVICE} | test "
                    f"{m['test_accuracy']:.4f}, fidelity {m['fidelity']:.3f} | {m['seconds']:.1f} s |")
    return rows


def step_time(model, x, y, autocast: bool, steps: int = 20) -> float:
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    times = []
    for i in range(steps + 5):
        torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=autocast):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        torch.cuda.synchronize()
        if i >= 5:
            times.append(1000 * (time.perf_counter() - t))
    return statistics.median(times)


def precision_check() -> list[str]:
    rows = []
    x = torch.randn(256, 3, 32, 32, device=DEVICE)
    y = torch.randint(0, 10, (256,), device=DEVICE)
    base = None
    for label, autocast, cl in (("fp32", False, False), ("bf16 autocast", True, False),
                                ("bf16 autocast + channels_last", True, True)):
        torch.manual_seed(0)
        model = build("resnet18", (3, 32, 32), 10).cuda()
        xi = x
        if cl:
            model = model.to(memory_format=torch.channels_last)
            xi = x.contiguous(memory_format=torch.channels_last)
        ms = step_time(model, xi, y, autocast)
        base = base or ms
        rows.append(f"| resnet18 train step, batch 256, 3x32x32, {label} | cuda | "
                    f"{base / ms:.2f}x vs fp32 | {ms:.2f} ms/step |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--md", default=None)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--only", default="", help="comma-separated checks to run (default: all)")
    a = ap.parse_args()
    global DEVICE
    DEVICE = a.device
    known = ["train", "inversion", "adi", "amortized", "trial"] + (
        ["precision"] if DEVICE == "cuda" else [])
    unknown = [c for c in filter(None, a.only.split(",")) if c not in known]
    if unknown:
        ap.error(f"--only: unknown check(s) {','.join(unknown)}; known on {DEVICE}: "
                 f"{', '.join(known)}")
    if DEVICE == "cuda" and not torch.cuda.is_available():
        sys.exit("gpu_check: CUDA is not available on this machine (nothing to check; "
                 "--device cpu runs the checks on the CPU as a dry run)")
    if not Path(a.teacher).is_file():
        ap.error(f"--teacher: no file {a.teacher}")
    data = load_dataset("mnist5k")
    try:
        teacher = load_model(a.teacher)
    except ValueError as e:   # synth's UserError: one line
        ap.error(f"--teacher {a.teacher}: {e}")
    name = torch.cuda.get_device_name(0) if DEVICE == "cuda" else "CPU (dry run)"
    lines = [f"# CUDA path check on {name} (torch {torch.__version__}, "
             f"{torch.get_num_threads()} CPU threads for the cpu rows)",
             "", "| check | device | result | time |", "|---|---|---|---|"]
    checks = {"train": lambda: train_check(data), "inversion": lambda: inversion_check(teacher, data),
              "adi": lambda: adi_check(teacher, data),
              "amortized": lambda: amortized_check(teacher, data),
              "trial": lambda: trial_check(data)}
    if DEVICE == "cuda":
        checks["precision"] = precision_check
    for label, check in checks.items():
        if a.only and label not in a.only.split(","):
            continue
        try:
            rows = check()
        except Exception as e:   # one broken path must not hide the others' figures
            traceback.print_exc()
            rows = [f"| {label} | {DEVICE} | FAILED: {type(e).__name__}: "
                    f"{str(e).splitlines()[0] if str(e) else ''} | |"]
        lines += rows
        print("\n".join(rows), flush=True)
    if a.md:
        write_result(a.md, lines)
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    run_main(main)
