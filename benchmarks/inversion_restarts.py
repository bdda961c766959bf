"""Random restarts of stuck inputs in per-pixel inversion (``InversionConfig.restart_patience``):
fidelity, iterations and CPU time of 500 synthesized inputs with restarts off (0) and on (the
default), per synthesis seed, on BN MLP teachers of the bundled tabular sets and digits.

    python benchmarks/inversion_restarts.py [--seeds 5] [--work runs/inversion_any] [--out F]

Teachers are trained and cached as benchmarks/inversion_any.py trains its tabular rows
(``MLP_BN``, 30 epochs; lenet300_100_bn on digits, 20).  Writes ``--out``
(benchmarks/results/inversion_restarts.md).
"""
from __future__ import annotations

import argparse
import statistics as st
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import inversion_any as B  # noqa: E402
from common import command_line, machine_note, run_main, table, write_result  # noqa: E402

TEACHERS = [("mlp_bn/iris", "iris", B.MLP_BN, 30), ("mlp_bn/wine", "wine", B.MLP_BN, 30),
            ("mlp_bn/breast_cancer", "breast_cancer", B.MLP_BN, 30),
            ("lenet300_100_bn/digits", "digits", "lenet300_100_bn", 20)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--work", default="runs/inversion_any")
    ap.add_argument("--out", default="inversion_restarts.md",
                    help="results file (a name: under benchmarks/results/)")
    a = ap.parse_args()
    if a.seeds < 1:
        ap.error(f"--seeds must be at least 1, got {a.seeds}")
    from synth.data import input_range
    from synth.inversion import InversionConfig, balanced_labels
    from synth.synthesis import synthesize_inputs
    rows = []
    for name, dataset, spec, epochs in TEACHERS:
        teacher = B.teacher_for(Path(a.work), name, dataset, spec, epochs)
        value_range = input_range(teacher.checkpoint_info["dataset"])
        config = B.configs_for(teacher)[0]
        labels = balanced_labels(B.IMAGES, teacher.num_classes)
        for patience in (0, InversionConfig().restart_patience):
            fid, iters, restarted, cpu = [], [], [], []
            for seed in range(a.seeds):
                start = time.process_time()
                r = synthesize_inputs(teacher, labels, config.replace(restart_patience=patience),
                                      pixel_range=value_range, seed=seed)
                cpu.append(time.process_time() - start)
                fid.append(100 * r.stats["fidelity"])
                iters.append(st.mean(r.stats["iterations"]))
                restarted.append(r.stats["inputs_restarted"])
            rows.append([name, patience, ", ".join(f"{f:.1f}" for f in fid), f"{min(fid):.1f}",
                         f"{sum(f >= 95 for f in fid)}/{len(fid)}", f"{st.mean(iters):.0f}",
                         f"{st.mean(restarted):.1f}", f"{st.mean(cpu):.1f}"])
            print(" | ".join(map(str, rows[-1])), file=sys.stderr, flush=True)
    lines = table(["teacher", "restart_patience", "fidelity % per seed", "lowest",
                   "seeds >= 95%", "iterations per batch (mean)", "inputs restarted (mean)",
                   "CPU s per set"], rows)
    write_result(a.out, lines + [
        "", f"{B.IMAGES} inputs per set, settings from `settings_for(teacher)`, "
            f"seeds 0..{a.seeds - 1}.",
        machine_note(), command_line()], "# Per-pixel inversion: random restarts of stuck inputs")


if __name__ == "__main__":
    run_main(main)
