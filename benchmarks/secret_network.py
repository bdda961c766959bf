"""SECRET with an nnsynth network as the feature-space model (``synth.secret_eval``).

For each seed: train a network on the data set's train split (best validation epoch kept),
then fuse it with a ridge regressor from its penultimate features to the label vectors; the
fusion weight is chosen on the validation split, the test split reports the network, the
semantic space alone and SECRET, with GloVe label vectors and the two controls (random,
shuffled), all on the same trained network.

    python benchmarks/secret_network.py [--dataset digits] [--model mlp_small] [--seeds 5]
        [--epochs 5]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import run_main  # noqa: E402
from synth.data import load_dataset  # noqa: E402
from synth.files import write_text_atomic  # noqa: E402
from synth.models import build, resolve_spec  # noqa: E402
from synth.secret import network_outputs  # noqa: E402
from synth.secret_eval import network_fusion  # noqa: E402
from synth.train import TrainConfig, fit  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "secret_network.md"
SOURCES = ("glove", "random", "shuffled")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--model", default="mlp_small")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--out", default=str(RESULTS), help="results file")
    args = ap.parse_args(argv)
    if args.seeds < 1 or args.epochs < 1:
        ap.error(f"--seeds and --epochs must be >= 1, got {args.seeds} and {args.epochs}")
    torch.set_num_threads(1)
    rows, gains = [], {s: [] for s in SOURCES}
    for seed in range(args.seeds):
        data = load_dataset(args.dataset, seed=seed)
        torch.manual_seed(seed)
        model = build(resolve_spec(args.model), data.input_shape, data.num_classes)
        fit(model, data, TrainConfig(epochs=args.epochs, seed=seed, device="cpu",
                                     progress=False))
        out = {s: network_outputs(model, getattr(data, f"x_{s}")) for s in ("train", "val", "test")}
        ys = {s: getattr(data, f"y_{s}").numpy() for s in ("train", "val", "test")}
        for source in SOURCES:
            r = network_fusion(out, ys, data, label_vectors=source, seed=seed)
            gain = 100 * (r["secret_scores"]["accuracy"] - r["base_scores"]["accuracy"])
            gains[source].append(gain)
            rows.append(f"| {seed} | {source} | {r['base_scores']['accuracy']:.2%} | "
                        f"{r['semantic_scores']['accuracy']:.2%} | "
                        f"{r['secret_scores']['accuracy']:.2%} | {gain:+.2f} | "
                        f"{r['secret_scores']['macro_f1'] - r['base_scores']['macro_f1']:+.4f} | "
                        f"{r['weight']:.1f} |")
            print(rows[-1], file=sys.stderr, flush=True)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    summary = ", ".join(f"{s} {np.mean(v):+.2f} ± "
                        + (f"{np.std(v, ddof=1) / np.sqrt(len(v)):.2f}" if len(v) > 1 else "-")
                        + " pt" for s, v in gains.items())
    text = "\n".join([
        f"# SECRET on an nnsynth network ({args.model} on {args.dataset})", "",
        f"Command: `python benchmarks/secret_network.py --dataset {args.dataset} --model "
        f"{args.model} --seeds {args.seeds} --epochs {args.epochs}` (CPU; load: {load})", "",
        "Network trained on the train split; ridge from its penultimate features to the label "
        "vectors on the train split; fusion weight on the validation split; test split below.",
        "", "| seed | label vectors | network acc | semantic alone | SECRET | SECRET - network "
        "(pt) | macro-F1 change | weight |", "|---|---|---|---|---|---|---|---|", *rows, "",
        f"Mean SECRET - network over seeds (± s.e.): {summary}.", ""])
    print(text)
    write_text_atomic(Path(args.out), text)


if __name__ == "__main__":
    run_main(main)
