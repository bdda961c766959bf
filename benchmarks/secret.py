"""SECRET vs its base classifier and vs the ensembles a practitioner would try, with 5x2cv.

For each data set with meaningful class names and each base classifier, Dietterich's 5x2
cross-validation (5 replications of a stratified 2-fold split of the pooled data): on every
fold the base, bagging of the base (10 bootstrap members), a soft-voting ensemble of all
bases, stacking of all bases (logistic regression on 3-fold out-of-fold probabilities) and
SECRET (``synth.secret.SecretClassifier``, GloVe label vectors) are fitted on one half and
scored on the other: accuracy and macro-F1, and the 5x2cv paired t-test of SECRET against
its base and against the best ensemble of the pair (the ensemble with the highest mean
accuracy, chosen after the fact: a conservative comparison for SECRET).

Controls on the same folds and the same fitted base (``SecretClassifier.refit_semantic``):
random Gaussian label vectors and the GloVe vectors shuffled among the classes; if the gain
is the meaning of the labels, it must vanish there.  Alternatives for what the paper's
abstract leaves open, also on the same folds: fusion by product instead of sum, euclidean
instead of cosine similarity, no centring of the label vectors, a k-NN regressor instead of
ridge.

Cost control (2 shared cores): n_jobs=1 everywhere; the base column is SECRET's own refit
base (``base_estimator_``, the same fit as a plain ``base.fit`` on the encoded labels); soft
voting averages the four bases' probabilities and stacking reuses SECRET's out-of-fold
probabilities (identical folds: StratifiedKFold(3, shuffle, seed)), which equals
scikit-learn's VotingClassifier / StackingClassifier on the same members (checked in
tests/synth/test_secret.py); mnist5k and digits are subsampled to 400 and 900 stratified
images, and mnist5k's images are 2x2 average-pooled to 14x14.  Every fold
is cached in /tmp/secret_bench_cache, so an interrupted run resumes.

    python benchmarks/secret.py [--datasets digits,...] [--bases lr,rf,svm,xgboost]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import run_main  # noqa: E402
from synth.data import load_dataset  # noqa: E402
from synth.files import write_json_atomic, write_text_atomic  # noqa: E402
from synth.labels import name_words  # noqa: E402
from synth.secret import SELECT, SecretClassifier  # noqa: E402
from synth.secret_eval import (five_by_two_splits, flat, make_base, paired_ttest_5x2cv,  # noqa: E402
                               scores, soft_vote, stack_from_oof)

DATASETS = ("digits", "mnist5k", "breast_cancer", "basicmotions", "gunpoint")
BASES = ("lr", "rf", "svm", "xgboost")
SUBSAMPLE = {"mnist5k": 400, "digits": 900}
POOL = {"mnist5k": 2}   # k x k average pooling of the images (28x28 -> 14x14: 196 features)
CACHE = Path("/tmp/secret_bench_cache")
BAGGING = 5             # bootstrap members (scikit-learn's default is 10; halved for cost)
CACHE_REVISION = 2      # 2: bagging of 5, digits 900 / mnist5k 400 samples
RESULTS = Path(__file__).resolve().parent / "results" / "secret.md"
CONTROLS = {"random": {"label_vectors": "random"}, "shuffled": {"label_vectors": "shuffled"}}
VARIANTS = {"product": {"fusion": "product"}, "euclidean": {"similarity": "euclidean"},
            "uncentred": {"center": False}, "knn": {"regressor": "knn"}}


def pooled(name: str, seed: int = 0):
    """All samples of a registered set (train+val+test), flattened; stratified subsample."""
    d = load_dataset(name, seed=seed)
    x = np.concatenate([d.x_train.numpy(), d.x_val.numpy(), d.x_test.numpy()])
    if name in POOL:
        k = POOL[name]
        n, c, h, w = x.shape
        x = x.reshape(n, c, h // k, k, w // k, k).mean(axis=(3, 5))
    x = flat(x)
    y = np.concatenate([d.y_train.numpy(), d.y_val.numpy(), d.y_test.numpy()])
    if name in SUBSAMPLE:
        from sklearn.model_selection import train_test_split
        keep, _ = train_test_split(np.arange(len(y)), train_size=SUBSAMPLE[name], stratify=y,
                                   random_state=seed)
        x, y = x[np.sort(keep)], y[np.sort(keep)]
    return x, y, list(d.class_names)


def _knn():
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=10))


def run_fold(x, y, names, tr, te, bases, seed) -> dict:
    """Every method's test scores on one fold (and SECRET's chosen weights)."""
    from sklearn.ensemble import BaggingClassifier
    out, oof, probas = {}, [], []
    yt = y[te]
    for b in bases:
        secret = SecretClassifier(make_base(b, seed), class_names=names,
                                  random_state=seed).fit(x[tr], y[tr])
        p = secret.base_estimator_.predict_proba(x[te])
        oof.append(secret.oof_proba_)
        probas.append(p)
        bag = BaggingClassifier(make_base(b, seed), n_estimators=BAGGING, random_state=seed,
                                n_jobs=1).fit(x[tr], y[tr])
        r = {"base": scores(yt, secret.classes_[p.argmax(1)]),
             "bagging": scores(yt, bag.predict(x[te])),
             "secret": scores(yt, secret.predict(x[te])), "weight": secret.weight_}
        for key, params in {**CONTROLS, **VARIANTS}.items():
            params = {k: (_knn() if v == "knn" else v) for k, v in params.items()}
            alt = secret.refit_semantic(x[tr], y[tr], **params)
            r[f"secret_{key}"] = scores(yt, alt.predict(x[te]))
            r[f"weight_{key}"] = alt.weight_
        r["semantic_only"] = scores(yt, secret.classes_[secret.semantic_proba(x[te]).argmax(1)])
        out[b] = r
    classes = np.unique(y[tr])
    out["voting"] = scores(yt, classes[soft_vote(probas).argmax(1)])
    enc = np.searchsorted(classes, y[tr])
    out["stacking"] = scores(yt, classes[stack_from_oof(oof, probas, enc, seed).argmax(1)])
    return out


def cached_fold(name, x, y, names, r, f, tr, te, bases, seed) -> dict:
    parts = [CACHE_REVISION, name, SUBSAMPLE.get(name), r, f, bases, seed, list(VARIANTS),
             list(CONTROLS)] + ([POOL[name]] if name in POOL else []) + (
                 # the fusion weight's rule (macro-F1 since h302): folds fitted by another
                 # rule are not mixed in (accuracy's keep their old key)
                 [SELECT] if SELECT != "accuracy" else [])
    key = hashlib.sha1(json.dumps(parts).encode()).hexdigest()[:16]
    path = CACHE / f"{name}_{r}{f}_{key}.json"
    if path.exists():
        res = json.loads(path.read_text())
    else:
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # convergence warnings of lr/mlp on some folds
            res = run_fold(x, y, names, tr, te, bases, seed)
        res["seconds"] = time.perf_counter() - t
    if "svm" in res and "base_predict" not in res["svm"]:
        # SVC's own predict (decision function): what a user of the plain SVC gets.  Its
        # predict_proba (Platt scaling fitted by an internal 5-fold CV) can disagree with it,
        # badly on tiny training sets (basicmotions: 40 samples); SECRET fuses predict_proba.
        res["svm"]["base_predict"] = scores(y[te], make_base("svm", seed).fit(
            x[tr], y[tr]).predict(x[te]))
        write_json_atomic(path, res)
    return res


def grid(folds, *path):
    """(5, 2) array of one score over the 5x2 folds."""
    a = np.zeros((5, 2))
    for (r, f), res in folds.items():
        v = res
        for p in path:
            v = v[p]
        a[r, f] = v
    return a


def fmt_p(p):
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def tables(all_folds, bases):
    main = ["| data set | base | base acc / F1 | bagging | soft voting | stacking | SECRET | "
            "SECRET - base (pt) | p | SECRET - best ens. (pt) | best ens. | p |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    ctrl = ["| data set | base | SECRET GloVe - base (pt) | p | random vectors - base | p | "
            "shuffled GloVe - base | p | mean weight GloVe / random / shuffled |",
            "|---|---|---|---|---|---|---|---|---|"]
    summary = {"pairs": 0, "secret_ge_base": 0, "secret_sig_gain": [], "ctrl": {}}
    variant_means = {k: [] for k in ("secret", *[f"secret_{v}" for v in VARIANTS])}
    for name, folds in all_folds.items():
        ens = {"voting": grid(folds, "voting", "accuracy"),
               "stacking": grid(folds, "stacking", "accuracy")}
        ens_f1 = {"voting": grid(folds, "voting", "macro_f1"),
                  "stacking": grid(folds, "stacking", "macro_f1")}
        for b in bases:
            col = {"base": "base_predict" if "base_predict" in folds[(0, 0)][b] else "base",
                   "bagging": "bagging", "secret": "secret"}
            acc = {m: grid(folds, b, c, "accuracy") for m, c in col.items()}
            f1 = {m: grid(folds, b, c, "macro_f1") for m, c in col.items()}
            cand = {"bagging": acc["bagging"], **ens}
            best = max(cand, key=lambda k: cand[k].mean())
            t_b, p_b = paired_ttest_5x2cv(acc["secret"], acc["base"])
            t_e, p_e = paired_ttest_5x2cv(acc["secret"], cand[best])
            cell = lambda a, f: f"{a.mean():.2%} / {f.mean():.3f}"  # noqa: E731
            main.append(
                f"| {name} | {b} | {cell(acc['base'], f1['base'])} | "
                f"{cell(acc['bagging'], f1['bagging'])} | {cell(ens['voting'], ens_f1['voting'])} | "
                f"{cell(ens['stacking'], ens_f1['stacking'])} | {cell(acc['secret'], f1['secret'])} | "
                f"{100 * (acc['secret'] - acc['base']).mean():+.2f} | {fmt_p(p_b)} | "
                f"{100 * (acc['secret'] - cand[best]).mean():+.2f} | {best} | {fmt_p(p_e)} |")
            gain = 100 * (acc["secret"] - acc["base"]).mean()
            summary["pairs"] += 1
            summary["secret_ge_base"] += int(gain >= 0)
            if gain >= 2 and p_b < 0.05:
                summary["secret_sig_gain"].append(f"{name}/{b} {gain:+.2f} pt, p={fmt_p(p_b)}")
            row = [f"| {name} | {b} | {gain:+.2f} | {fmt_p(p_b)}"]
            weights = [grid(folds, b, "weight").mean()]
            for c in CONTROLS:
                a = grid(folds, b, f"secret_{c}", "accuracy")
                row.append(f"{100 * (a - acc['base']).mean():+.2f} | "
                           f"{fmt_p(paired_ttest_5x2cv(a, acc['base'])[1])}")
                weights.append(grid(folds, b, f"weight_{c}").mean())
                summary["ctrl"].setdefault(c, []).append(100 * (a - acc["base"]).mean())
            summary["ctrl"].setdefault("glove", []).append(gain)
            ctrl.append(" | ".join(row) + " | " + " / ".join(f"{w:.2f}" for w in weights) + " |")
            for k in variant_means:
                variant_means[k].append(100 * (grid(folds, b, k, "accuracy")
                                               - acc["base"]).mean())
    var = ["| variant | mean SECRET - base over pairs (pt) | pairs better than the default |",
           "|---|---|---|"]
    ref = np.array(variant_means["secret"])
    for k, v in variant_means.items():
        v = np.array(v)
        label = "default (sum, cosine, centred, ridge)" if k == "secret" else k[7:]
        var.append(f"| {label} | {v.mean():+.2f} | "
                   f"{'-' if k == 'secret' else f'{int((v > ref + 1e-9).sum())} / {len(v)}'} |")
    return main, ctrl, var, summary


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--bases", default=",".join(BASES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--replications", default=None,
                    help="Only fill the cache for these replications (e.g. 4,3: a second "
                         "process working from the other end); no table.")
    ap.add_argument("--reverse", action="store_true", help="Second fold first (with "
                    "--replications).")
    ap.add_argument("--out", default=str(RESULTS), help="results file")
    args = ap.parse_args(argv)
    only = None if args.replications is None else [int(r) for r in args.replications.split(",")]
    torch.set_num_threads(1)
    datasets, bases = args.datasets.split(","), args.bases.split(",")
    all_folds, seconds, info = {}, 0.0, []
    for name in datasets:
        x, y, names = pooled(name, args.seed)
        info.append(f"{name} ({len(y)} samples x {x.shape[1]} features; "
                    f"{', '.join(' '.join(name_words(n)) for n in names)})")
        folds = {}
        splits = {(r, f): (tr, te) for r, f, tr, te in five_by_two_splits(y, args.seed)}
        todo = [k for k in splits if only is None or k[0] in only]
        for r, f in sorted(todo, key=lambda k: (only.index(k[0]) if only else k[0],
                                                (-1 if args.reverse else 1) * k[1])):
            tr, te = splits[(r, f)]
            folds[(r, f)] = cached_fold(name, x, y, names, r, f, tr, te, bases, args.seed)
            seconds += folds[(r, f)]["seconds"]
            print(f"{name} replication {r} fold {f}: {folds[(r, f)]['seconds']:.0f} s",
                  file=sys.stderr, flush=True)
        all_folds[name] = folds
    if only is not None:
        return
    main_t, ctrl_t, var_t, s = tables(all_folds, bases)
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    ctrl_mean = {k: float(np.mean(v)) for k, v in s["ctrl"].items()}
    lines = [
        "# SECRET: semantic fusion vs base classifiers and ensembles (5x2cv)", "",
        f"Command: `python benchmarks/secret.py --datasets {','.join(datasets)} --bases "
        f"{','.join(bases)}` (seed {args.seed}; fitting time {seconds / 60:.0f} min summed "
        f"over folds; load: {load})", "",
        "Data sets (the GloVe words of the class names): " + "; ".join(info)
        + "; stratified subsamples: " + ", ".join(f"{k} {v}" for k, v in SUBSAMPLE.items())
        + "; average-pooled: " + ", ".join(f"{k} {v}x{v}" for k, v in POOL.items()),
        "",
        "Mean over the 10 folds of 5x2cv; p: Dietterich's 5x2cv paired t-test on accuracy "
        f"(5 d.o.f.). Bagging: {BAGGING} bootstrap copies of the base; soft voting and stacking "
        f"combine all {len(bases)} bases. The base column is the base's own predict (for SVC "
        "its decision function, not the argmax of its Platt-scaled predict_proba, which "
        "SECRET fuses and which can disagree with it on small training sets). Best ens.: the ensemble with the highest mean accuracy "
        "for that pair.", "", *main_t, "",
        f"SECRET >= base on {s['secret_ge_base']} of {s['pairs']} pairs; >= 2 pt better with "
        f"p < 0.05 on: {', '.join(s['secret_sig_gain']) or 'none'}.", "",
        "## Control: label vectors without meaning", "",
        "Same folds and same fitted bases; only the label vectors change. Mean gain over all "
        "pairs: " + ", ".join(f"{k} {v:+.2f} pt" for k, v in ctrl_mean.items()) + ".", "",
        *ctrl_t, "",
        "## Alternatives for what the abstract leaves open", "",
        "Same folds and bases, GloVe vectors; one change at a time from the default.", "",
        *var_t, ""]
    text = "\n".join(lines)
    print(text)
    write_text_atomic(Path(args.out), text)


if __name__ == "__main__":
    run_main(main)
