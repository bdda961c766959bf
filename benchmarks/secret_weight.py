"""SECRET's fusion weight chosen by accuracy, balanced accuracy or macro-F1, on even and
uneven class sizes.

SecretClassifier chooses its fusion weight and temperature on out-of-fold predictions of the
training set (``synth.secret.choose_fusion``).  By accuracy (the default before h302) a weight that
predicts the majority class more often can win on an uneven set while the minority classes'
F1 falls (h291: hard.ts, lr: macro-F1 0.480 by F1 against 0.422 by accuracy).  This study
fits SECRET once per set, base (``lr``, the CLI's default; ``rf``) and seed, and refits only its
semantic part with each rule (``refit_semantic(select=...)``: the same base, the same folds,
the same regressor), then scores the test split: accuracy and macro-F1 (over the test
split's classes, ``synth.secret_eval.scores``), mean +- sd over the seeds.

Sets (all bundled; pooled train+val+test, then split 60/40 stratified per seed):
- even: digits (10 classes), basicmotions (4), japanesevowels (9; nearly even), gunpoint (2);
- uneven, made reproducibly from bundled sets (``uneven``: class k keeps at most
  round(n_max * RATIO ** k) samples, at least MIN_PER_CLASS, drawn with the seed):
  digits_uneven (ratio 0.7: 183 down to 7), japanesevowels_uneven (0.7: 118 down to 7),
  blink_uneven (long blink 20 against short blink 500), scp1_uneven (EEG: negativity 20
  against positivity 279; the hardest set here).

    python benchmarks/secret_weight.py [--sets digits,...] [--seeds 0,1,2] [--bases lr,rf]
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import run_main  # noqa: E402
from synth.files import write_text_atomic  # noqa: E402
from synth.secret import SELECT, SELECTIONS, SecretClassifier, selection_rule  # noqa: E402
from synth.secret_eval import flat, make_base, scores  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "secret_weight.md"
EVEN = ("digits", "basicmotions", "japanesevowels", "gunpoint")
UNEVEN = {"digits_uneven": ("digits", 0.7), "japanesevowels_uneven": ("japanesevowels", 0.7),
          "blink_uneven": ("blink", 20), "scp1_uneven": ("scp1", 20)}
MIN_PER_CLASS = 6       # every class keeps enough for a stratified 60/40 split and 3 folds
TEST_FRACTION = 0.4


def pooled(name: str):
    from synth.data import load_dataset
    d = load_dataset(name, seed=0)
    x = flat(np.concatenate([d.x_train.numpy(), d.x_val.numpy(), d.x_test.numpy()]))
    y = np.concatenate([d.y_train.numpy(), d.y_val.numpy(), d.y_test.numpy()])
    return x, y, list(d.class_names)


def uneven(y, ratio, seed: int) -> np.ndarray:
    """Indices of an uneven subset: the largest class kept whole, class k (in order of
    size, ties by index) at most round(n_max * ratio**k), at least MIN_PER_CLASS; with an
    integer ratio (two classes), the first class cut to that many.  Drawn with ``seed``."""
    rng = np.random.default_rng(1000 + seed)
    counts = np.bincount(y)
    keep = []
    order = np.argsort(-counts, kind="stable")
    for rank, c in enumerate(order):
        idx = np.flatnonzero(y == c)
        if isinstance(ratio, int):
            n = ratio if c == 0 else len(idx)
        else:
            n = max(MIN_PER_CLASS, int(round(counts[order[0]] * ratio ** rank)))
        keep.append(rng.choice(idx, size=min(n, len(idx)), replace=False))
    return np.sort(np.concatenate(keep))


def load_set(name: str, seed: int):
    base, ratio = UNEVEN.get(name, (name, 1.0))
    x, y, names = pooled(base)
    if name in UNEVEN:
        keep = uneven(y, ratio, seed)
        x, y = x[keep], y[keep]
    return x, y, names


def run_one(name: str, seed: int, base: str) -> dict:
    from sklearn.model_selection import train_test_split
    x, y, names = load_set(name, seed)
    tr, te = train_test_split(np.arange(len(y)), test_size=TEST_FRACTION, stratify=y,
                              random_state=seed)
    t0 = time.time()
    fitted = {}
    first = SecretClassifier(make_base(base, seed), class_names=names, random_state=seed)
    fitted[SELECT] = first.fit(x[tr], y[tr])
    for select in SELECTIONS:
        if select not in fitted:
            fitted[select] = first.refit_semantic(x[tr], y[tr], select=select)
    out = {"set": name, "seed": seed, "base": base, "samples": len(y),
           "class_counts": np.bincount(y).tolist(), "seconds": time.time() - t0,
           "base_scores": scores(y[te], first.classes_[
               first.base_estimator_.predict_proba(x[te]).argmax(1)])}
    for select, model in fitted.items():
        out[select] = {**scores(y[te], model.predict(x[te])), "weight": model.weight_,
                       "temperature": model.temperature_}
    return out


def mean_sd(values) -> str:
    v = np.asarray(values, dtype=np.float64)
    return f"{v.mean():.4f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.4f}"


def table(rows: list[dict], sets, bases) -> list[str]:
    lines = ["| set | base | class sizes (seed 0) | rule | test accuracy | test macro-F1 | "
             "weight (mean) |", "|---|---|---|---|---|---|---|"]
    for name in sets:
        for base in bases:
            got = [r for r in rows if r["set"] == name and r["base"] == base]
            if not got:
                continue
            sizes = "/".join(map(str, got[0]["class_counts"]))
            lines.append(f"| {name} | {base} | {sizes} | (base alone) | "
                         f"{mean_sd([r['base_scores']['accuracy'] for r in got])} | "
                         f"{mean_sd([r['base_scores']['macro_f1'] for r in got])} | - |")
            for select in SELECTIONS:
                lines.append(f"| {name} | {base} | | {select} | "
                             f"{mean_sd([r[select]['accuracy'] for r in got])} | "
                             f"{mean_sd([r[select]['macro_f1'] for r in got])} | "
                             f"{np.mean([r[select]['weight'] for r in got]):.2f} |")
    return lines


def differences(rows: list[dict], group, base: str) -> list[str]:
    """Per rule, the mean over the group's sets and seeds of (rule - accuracy rule), in
    points, and how many (set, seed) pairs it wins/loses on macro-F1."""
    got = [r for r in rows if r["set"] in group and r["base"] == base]
    lines = []
    if not got:
        return lines
    for select in SELECTIONS[1:]:
        da = [100 * (r[select]["accuracy"] - r["accuracy"]["accuracy"]) for r in got]
        df = [100 * (r[select]["macro_f1"] - r["accuracy"]["macro_f1"]) for r in got]
        lines.append(f"- {select} - accuracy rule ({len(got)} set x seed runs, {base}): "
                     f"accuracy {np.mean(da):+.2f} pt (min {min(da):+.2f}), macro-F1 "
                     f"{np.mean(df):+.2f} pt (min {min(df):+.2f}); macro-F1 higher on "
                     f"{sum(d > 1e-9 for d in df)}, lower on {sum(d < -1e-9 for d in df)}")
    return lines


def decision(rows: list[dict], even, skew, bases) -> list[str]:
    """The rule for the default, applied: a score replaces accuracy only where, with every
    base, its mean test macro-F1 over the uneven sets' runs is above the accuracy rule's and
    its mean test accuracy and macro-F1 over the even sets' runs are not below (mean of
    per-run differences, in points, rounded to 0.01)."""
    def mean_diff(select, group, base, key):
        got = [r for r in rows if r["set"] in group and r["base"] == base]
        return round(float(np.mean([100 * (r[select][key] - r["accuracy"][key])
                                    for r in got])), 2) if got else 0.0
    met = {}
    for select in SELECTIONS[1:]:
        if all(mean_diff(select, skew, b, "macro_f1") > 0
               and mean_diff(select, even, b, "macro_f1") >= 0
               and mean_diff(select, even, b, "accuracy") >= 0 for b in bases):
            met[select] = float(np.mean([mean_diff(select, skew, b, "macro_f1")
                                         for b in bases]))
    chosen = max(met, key=met.get) if met else "accuracy"
    lines = ["Rule for the default: a score replaces accuracy (the default before h302) only "
             "where, with every base, its mean test macro-F1 over the uneven sets' runs is "
             "above the accuracy rule's and its mean test accuracy and macro-F1 over the even "
             "sets' runs are not below.",
             f"Met by: {', '.join(met) if met else 'none'}; chosen: {chosen} (the largest "
             f"mean macro-F1 gain on the uneven sets where several meet it).",
             f"synth.secret.SELECT is {SELECT!r}" + (
                 "." if SELECT == chosen else f": it disagrees with this run's rule ({chosen!r}).")]
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sets", default=",".join([*EVEN, *UNEVEN]))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--bases", default="lr,rf")
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args(argv)
    sets = [s for s in args.sets.split(",") if s]
    bad = [s for s in sets if s not in EVEN and s not in UNEVEN]
    if bad:
        raise SystemExit(f"--sets: unknown {', '.join(bad)}; known: "
                         f"{', '.join([*EVEN, *UNEVEN])}")
    seeds = [int(s) for s in args.seeds.split(",")]
    bases = [b for b in args.bases.split(",") if b]
    logging.getLogger("synth").setLevel(logging.ERROR)   # the names' warnings, per fit
    warnings.filterwarnings("ignore")                    # solvers' convergence notes
    rows, t0 = [], time.time()
    for name in sets:
        for base in bases:
            for seed in seeds:
                r = run_one(name, seed, base)
                rows.append(r)
                print(f"{name} {base} seed {seed}: base {r['base_scores']['accuracy']:.4f}/"
                      f"{r['base_scores']['macro_f1']:.4f}; " + "; ".join(
                          f"{s} w={r[s]['weight']:.1f} {r[s]['accuracy']:.4f}/"
                          f"{r[s]['macro_f1']:.4f}" for s in SELECTIONS)
                      + f" ({r['seconds']:.1f} s)", flush=True)
    lines = table(rows, sets, bases)
    print("\n".join(lines))
    even = [s for s in sets if s in EVEN]
    skew = [s for s in sets if s in UNEVEN]
    summary = []
    for base in bases:
        summary += [f"Uneven sets ({', '.join(skew)}):", *differences(rows, skew, base),
                    f"Even sets ({', '.join(even)}):", *differences(rows, even, base)]
    decided = decision(rows, even, skew, bases)
    print("\n".join(summary + decided))
    command = "python benchmarks/secret_weight.py " + " ".join(argv or sys.argv[1:])
    text = ["# SECRET: which score chooses the fusion weight (even vs uneven classes)", "",
            f"Command: `{command.strip()}` ({time.time() - t0:.0f} s on 2 shared cores).", "",
            f"Default rule (synth.secret.SELECT = {SELECT!r}): the fusion weight and "
            f"temperature are {selection_rule(SELECT)}, on out-of-fold predictions of the "
            f"training split (3 internal folds); nnsynth secret records it in its result "
            f"(weight_chosen_by).", "",
            __doc__.split("\n\n", 1)[1].split("    python")[0].strip(), "",
            "Test scores, mean ± sd over seeds " + ", ".join(map(str, seeds)) + ":", "",
            *lines, "", "Differences against the accuracy rule (same fits; points):", "",
            *summary, "", "## Decision", "", *decided, ""]
    write_text_atomic(args.out, "\n".join(text))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    run_main(main)
