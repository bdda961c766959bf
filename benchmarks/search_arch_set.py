"""Build the cached architecture set: N distinct convnets from the built-in ``convnet``
space, each trained briefly on ``digits`` and measured, saved as Parquet.

The set is the lookup table for benchmarks/search_predictors.py (Kendall tau of the
predictors) and benchmarks/search_efficiency.py (trials to the best, no retraining).
It resumes: rows already in the file are kept and their architectures are skipped.

Only members a search may propose are drawn (``search.costs.CostModel.sees``: they build for
digits' 8x8 input and read it; since 5c9b2fe a strided convnet that skips rows or columns
of its input, ``blind_spot``, is never proposed).  The committed set predates that rule:
39 of its 200 members are blind ones, which nnsynth's searchers skip (regenerate it into a
new --out to drop them; resuming into it keeps its rows, and the draw now differs).

    python benchmarks/search_arch_set.py --n 200 --out benchmarks/data/convnet_archs.parquet
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from tqdm.auto import tqdm

from common import run_main
from search.costs import CostModel
from search.space import load_space, spec_key
from synth.data import load_dataset
from synth.data_parquet import write_parquet_table
from synth.models import build, count_flops, count_parameters
from synth.train import TrainConfig, evaluate, fit

# Brief training: 10 epochs of SGD on 1,293 digits images (about 1-5 s per net on 1 core).
TRAIN = TrainConfig(epochs=10, batch_size=64, lr=0.05, keep_best=False, progress=False, seed=0)


def write_table(rows: list[dict], path: Path) -> None:
    write_parquet_table(pa.Table.from_pylist(rows), path)   # atomic, with page checksums


def measure(spec: dict, data) -> dict:
    torch.manual_seed(0)
    model = build(spec, data.input_shape, data.num_classes)
    start = time.perf_counter()
    metrics = fit(model, data, TRAIN)
    # "accuracy": on validation + test together (504 images) so that 0.5 points is
    # resolvable (2.5 images); val alone (144 images) moves in 0.7-point steps.
    x = torch.cat([data.x_val, data.x_test])
    y = torch.cat([data.y_val, data.y_test])
    return {"spec": spec_key(spec), "accuracy": evaluate(model, x, y)["accuracy"],
            "val_accuracy": metrics["val_accuracy"], "test_accuracy": metrics["test_accuracy"],
            "parameters": count_parameters(model), "flops": count_flops(model, data.input_shape),
            "train_seconds": round(time.perf_counter() - start, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=str(Path(__file__).parent / "data" / "convnet_archs.parquet"),
                    help="the set (default: the committed one, which search_predictors.py and "
                         "search_efficiency.py read; new rows are added to it)")
    args = ap.parse_args()
    if args.n < 1 or args.threads < 1:
        ap.error(f"--n and --threads must be >= 1, got {args.n} and {args.threads}")
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = pq.read_table(out, page_checksum_verification=True).to_pylist() if out.exists() else []
    done = {r["spec"] for r in rows}
    space = load_space("convnet")
    rng = np.random.default_rng(args.seed)
    data = load_dataset("digits", seed=0)
    costs = CostModel(data.input_shape, data.num_classes)
    specs, seen = [], set()
    while len(specs) < args.n:  # the same N distinct specs a search may propose, every run
        spec = space.sample(rng)
        if spec_key(spec) not in seen and costs.sees(spec):
            seen.add(spec_key(spec))
            specs.append(spec)
    todo = [s for s in specs if spec_key(s) not in done]
    for i, spec in enumerate(tqdm(todo, desc="arch set")):
        rows.append(measure(spec, data))
        if (i + 1) % 10 == 0 or i + 1 == len(todo):
            write_table(rows, out)
    acc = np.array([r["accuracy"] for r in rows])
    print(json.dumps({"archs": len(rows), "accuracy_min": acc.min(), "accuracy_median":
                      float(np.median(acc)), "accuracy_max": acc.max(),
                      "seconds_total": round(sum(r["train_seconds"] for r in rows), 1)}))


if __name__ == "__main__":
    run_main(main)
