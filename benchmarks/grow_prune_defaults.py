"""`nnsynth grow-prune` as a user types it, over seeds; and what growth adds at equal budget.

Every run is the command line itself (a subprocess, 1 torch thread), so seed 0 of the
"prune" arm is exactly ``nnsynth grow-prune --dataset mnist5k --model M --out m.pt``:

- prune (the default): the dense model (15 epochs), then the default schedule
  (``synth.grow_prune.RECIPE``: 17 LAMP steps of 20% with dead-weight removal, 3 epochs of KD
  retraining from the dense start after each);
- grow+prune (NeST: a sparse seed, gradient-based growth, then pruning): the same dense model
  and teacher, a random seed of ``--seed-density`` of its connections (keeping their trained
  weights), ``--growth-rounds`` rounds of growth (+50% connections by |dL/dW|, 3 epochs each),
  then ``steps - growth rounds`` pruning steps: the same number of retraining epochs.

The headline per run is the CLI's own result: compression of nonzero weights against the
dense model and the test-accuracy loss of the saved (compacted) model.  Target (issue 17):
>= 40x on LeNet-300-100 and >= 20x on LeNet-5 at <= 0.5 pt loss.  Each run caches its JSON
in results/grow_prune_defaults/, so the script resumes and ``--report`` regenerates the table.

    nice -n 15 python benchmarks/grow_prune_defaults.py --seeds 0 1 2     # ~40 min on 1 core
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from common import RESULTS, command_line, machine_note, mean_sd, table, write_result, run_main
from synth.files import write_text_atomic
from synth.grow_prune import RECIPE

CACHE = RESULTS / "grow_prune_defaults"
TARGETS = {"lenet300_100": 40.0, "lenet5": 20.0}
MAX_LOSS = 0.005
GROWTH = dict(rounds=2, density=0.3)    # 0.3 -> 0.45 -> 0.675 of the connections


def arm_args(arm: str) -> list[str]:
    if arm == "prune":
        return []
    steps = RECIPE["prune_steps"] - GROWTH["rounds"]
    return ["--growth-rounds", str(GROWTH["rounds"]), "--seed-density", str(GROWTH["density"]),
            "--prune-steps", str(steps)]


def user_command(model: str, seed: int, arm: str) -> list[str]:
    seed_args = ["--seed", str(seed)] if seed else []
    return (["nnsynth", "grow-prune", "--dataset", "mnist5k", "--model", model]
            + arm_args(arm) + seed_args)


def run_one(model: str, seed: int, arm: str) -> dict:
    path = CACHE / f"{model}_{arm}_seed{seed}.json"
    if path.is_file():
        return json.loads(path.read_text())
    out = CACHE / f"{model}_{arm}_seed{seed}.pt"
    cmd = user_command(model, seed, arm) + ["--out", str(out), "--json"]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    history = result.pop("history")
    trained = [r for r in history if r["phase"] in ("grow", "prune", "reverted")]
    record = {"model": model, "seed": seed, "arm": arm,
              "command": " ".join(user_command(model, seed, arm) + ["--out", "m.pt"]),
              "seconds": time.perf_counter() - start, "result": result,
              "retrain_epochs": RECIPE["retrain_epochs"] * len(trained),
              "stopped_by_floor": any(r["phase"] == "reverted" for r in history),
              "history": [{k: r.get(k) for k in ("step", "phase", "connections",
                                                  "val_accuracy", "test_accuracy")}
                          for r in history]}
    out.unlink(missing_ok=True)
    write_text_atomic(path, json.dumps(record, indent=1))
    print(f"{model} {arm} seed {seed}: {result['reduction']:.1f}x, test "
          f"{result['test_accuracy']:.2%} (dense {result['dense_test_accuracy']:.2%}), "
          f"{record['seconds']:.0f} s", file=sys.stderr, flush=True)
    return record


def row(r: dict) -> list:
    res = r["result"]
    loss = res["dense_test_accuracy"] - res["test_accuracy"]
    ok = res["reduction"] >= TARGETS[r["model"]] and loss <= MAX_LOSS + 1e-9
    return [r["model"], r["arm"], r["seed"], f"{res['dense_test_accuracy']:.2%}",
            f"{res['test_accuracy']:.2%}", f"{100 * loss:+.1f}".replace("+-", "-"),
            f"{res['reduction']:.1f}x", f"{res['connections']:,}",
            15 + r["retrain_epochs"], "yes" if r["stopped_by_floor"] else "no",
            "yes" if ok else "**no**", f"{r['seconds']:.0f}"]


def summary(records: list[dict]) -> list[list]:
    rows = []
    for model in TARGETS:
        for arm in ("prune", "grow+prune"):
            rs = [r for r in records if r["model"] == model and r["arm"] == arm]
            if not rs:
                continue
            red = [r["result"]["reduction"] for r in rs]
            loss = [100 * (r["result"]["dense_test_accuracy"] - r["result"]["test_accuracy"])
                    for r in rs]
            geo = statistics.geometric_mean(red)
            rows.append([model, arm, len(rs), f"{geo:.1f}x ({min(red):.1f}-{max(red):.1f})",
                         mean_sd(loss, "{:.2f}") + " pt", f"{max(loss):.2f} pt",
                         f"{sum(row(r)[-2] == 'yes' for r in rs)}/{len(rs)}"])
    return rows


def growth_lines(records: list[dict]) -> list[str]:
    """Paired over seeds: grow+prune minus prune (final test accuracy, compression ratio)."""
    lines = []
    for model in TARGETS:
        arms = {(r["arm"], r["seed"]): r["result"] for r in records if r["model"] == model}
        seeds = sorted(s for a, s in arms if a == "grow+prune" and ("prune", s) in arms)
        if not seeds:
            continue
        acc = [100 * (arms["grow+prune", s]["test_accuracy"] - arms["prune", s]["test_accuracy"])
               for s in seeds]
        red = [arms["grow+prune", s]["reduction"] / arms["prune", s]["reduction"] for s in seeds]
        lines += ["", f"Growth at equal budget on {model} ({len(seeds)} seeds, paired): final "
                  f"test accuracy {statistics.mean(acc):+.2f} ± "
                  f"{statistics.stdev(acc) if len(acc) > 1 else 0.0:.2f} pt, "
                  f"compression "
                  f"{statistics.geometric_mean(red):.3f}x of the prune-only default (per seed "
                  f"{', '.join(f'{v:+.1f} pt / {x:.2f}x' for v, x in zip(acc, red))}).  Both "
                  f"arms train {RECIPE['prune_steps'] * RECIPE['retrain_epochs']} retraining "
                  f"epochs after the same dense model and KD teacher; the grown network ends "
                  f"at {0.3 * 1.5 ** 2 / 0.8 ** 2:.2f}x the prune-only density before its "
                  f"last {RECIPE['prune_steps'] - GROWTH['rounds']} steps, by construction."]
    return lines


def report(records: list[dict], note: str) -> list[str]:
    lines = ["Per run (the CLI's own result; epochs = dense 15 + retraining epochs; "
             "loss = dense - final test accuracy, pt (negative: above the dense model); target: >= 40x on LeNet-300-100, >= 20x "
             "on LeNet-5, loss <= 0.5 pt):", ""]
    lines += table(["model", "arm", "seed", "dense", "final", "loss (pt)", "compression",
                    "weights", "epochs", "floor stop", "meets target", "s"],
                   [row(r) for r in records])
    lines += ["", "Over seeds (compression: geometric mean (min-max); loss: mean ± sd):", ""]
    lines += table(["model", "arm", "seeds", "compression", "loss", "worst loss",
                    "meet target"], summary(records))
    lines += growth_lines(records)
    lines += ["", "Commands (exactly as run, `--json` added to capture the result; per-step "
              "histories in grow_prune_defaults/*.json):", ""]
    lines += [f"- `{r['command']}`" for r in records]
    lines += ["", note, command_line()]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--models", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    ap.add_argument("--growth-models", nargs="*", default=["lenet300_100"],
                    choices=list(TARGETS),
                    help="models on which the grow+prune arm runs too")
    ap.add_argument("--report", action="store_true", help="only the table from the cache")
    ap.add_argument("--out", default="grow_prune_defaults.md")
    args = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    plan = [(m, s, a) for m in args.models for s in args.seeds
            for a in ("prune", "grow+prune") if a == "prune" or m in args.growth_models]
    records = []
    for model, seed, arm in plan:
        path = CACHE / f"{model}_{arm}_seed{seed}.json"
        if args.report:
            if path.is_file():
                records.append(json.loads(path.read_text()))
            continue
        records.append(run_one(model, seed, arm))
    write_result(args.out, report(records, machine_note("Each run: one process, 1 torch "
                                                        "thread, nice 15.")),
                 "# nnsynth grow-prune defaults, over seeds (mnist5k)")


if __name__ == "__main__":
    run_main(main)
