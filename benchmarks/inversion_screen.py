"""Screen one inversion setting on one row of benchmarks/inversion_any.py (or a teacher of
SCREEN_ROWS, screened only), cheaply.

    python benchmarks/inversion_screen.py ROW TAG ['{"field": value, ...}'] [--seeds 2]
           [--synth-seed 0 [1 ...]] [--kd name=value,...] [--coadi]
           [--candidates N --select RULE ...] [--diagnose] [--work runs/inversion_any]

The row's cached teacher (trained as inversion_any.py trains it when missing), 500 inputs
synthesized with ``settings_for(teacher)`` plus the JSON overrides (any ``InversionConfig``
field; an ``amortized`` mapping is merged into the one ``settings_for`` gives), then the row's
student distilled on them exactly as inversion_any.py does (``kd_config``: DistillConfig's
defaults in batches of 64, the settings' jitter, then the ``--kd`` recipe), ``--seeds`` seeds;
the real-input students (500 real training inputs, the same seeds) are cached per row and KD
protocol.  One JSON line per set: fidelity, CPU seconds of the synthesis, students, gap to the
real-input students over the same seeds, and the last student's agreement with the teacher on
the real test split, and the teacher's mean top softmax probability on the set.

``--synth-seed``: one set per seed (cached in ``--out`` under the settings' key and the
seed), the students distilled on each; a last line averages over all sets and student seeds.
``--kd``: the KD recipe of every student (``DistillConfig`` fields, as ``inversion_any.py
--kd``), the real-input ones included.

``--coadi``: the row's student is passed to the synthesis (for a generator: trained alongside
by KD on the memory bank, ``amortized.kd_steps``, and the competition term against it,
``adi_weight``); its own test accuracy is reported as ``co_student``.
``--candidates N --select RULE...``: N inputs are synthesized once (cached) and 500 are picked
by each RULE (random, lowconf, highconf, kcenter_logits, kcenter_pixels; per class, 50 each).
``--student SPEC``: every student (synthesized- and real-input) is SPEC (a JSON spec or a
variant) instead of the row's (``inversion_any.STUDENTS``); real-input students are cached per
student.
``--real confident``: the real-input students get the 500 real training inputs the teacher is
most confident about (50 per predicted class) instead of a random 500 (a probe: do real inputs
from the region inversion fills teach the student as much as random ones?); ``--real-only``
distils only those.
``--diagnose``: the teacher's test accuracy on transformed test digits (halves swapped, rolled,
pixels permuted, transposed, mirrored), to see how much of the layout it uses; and where it is
confident: its median confidence on the real training inputs, how many of them it assigns to
each class with confidence > 0.95, and its mean confidence on the row's cached synthesized sets;
and the cached sets' pixel values against the real inputs' (``pixel_diagnosis``).
``--recalibrate``: each synthesized-input student is also tested with its BatchNorm running
statistics re-estimated (cumulative average, train-mode passes, batches of 64) on the set
itself without the KD augmentation, and on the 500 real training inputs of the real-input
students (an oracle, not data-free): whether the statistics the student's BN layers gathered
on augmented synthesized batches are part of the gap.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics as st
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import inversion_any as B  # noqa: E402
from common import run_main  # noqa: E402


def recalibrated_bn(model: torch.nn.Module, x: torch.Tensor, batch: int = 64) -> torch.nn.Module:
    """``model`` with every BatchNorm layer's running statistics replaced by their cumulative
    average over ``x`` (train-mode forward passes, no gradient), then in eval mode."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None   # cumulative average over the passes
    model.train()
    with torch.no_grad():
        for i in range(0, len(x), batch):
            model(x[i:i + batch])
    return model.eval()


def pixel_diagnosis(real: torch.Tensor, sets: dict) -> dict:
    """How the pixel values of each synthesized set compare with the real training inputs':
    the 1-Wasserstein distance between their marginal distributions (normalized units; the mean
    absolute difference of 1,000 quantiles), that of the Beta distribution with the data's
    recorded mean and variance on its valid range (what a prior on the marginal alone could ask
    for), and the mean value of the one-pixel border ring against the centre's (where strokes
    are)."""
    from scipy.special import betaincinv
    qs = (torch.arange(1000, dtype=torch.float64) + 0.5) / 1000
    quantiles = lambda x: torch.quantile(x.flatten().double()[:1 << 24], qs)   # noqa: E731
    lo, hi = float(real.min()), float(real.max())
    m, v = -lo / (hi - lo), 1 / (hi - lo) ** 2          # the raw [0, 1] mean and variance
    k = m * (1 - m) / v - 1                               # Beta's alpha + beta (method of moments)
    real_q = quantiles(real)
    beta_q = lo + (hi - lo) * torch.as_tensor(betaincinv(m * k, (1 - m) * k, qs.numpy()))
    ring = torch.ones(real.shape[-2:], dtype=torch.bool)
    ring[1:-1, 1:-1] = False

    def where(x):
        return {"border_mean": round(float(x[..., ring].mean()), 3),
                "centre_mean": round(float(x[..., ~ring].mean()), 3)}
    out = {"real": where(real), "beta_fit_w1": round(float((beta_q - real_q).abs().mean()), 4)}
    for key, x in sets.items():
        out[key] = {"w1": round(float((quantiles(x) - real_q).abs().mean()), 4), **where(x)}
    return out


def confident_subset(teacher, x: torch.Tensor, n: int) -> torch.Tensor:
    """Indices of ``n`` inputs of ``x`` the teacher is most confident about, an equal share
    per predicted class (topped up by the most confident of the rest where a class has too
    few): real inputs from where inversion puts its synthesized ones."""
    with torch.no_grad():
        p = torch.softmax(teacher(x), 1)
    conf, pred = p.amax(1), p.argmax(1)
    k = n // p.shape[1]
    picked = torch.cat([c_idx[torch.argsort(conf[c_idx], descending=True)[:k]]
                        for c in range(p.shape[1]) if len(c_idx := torch.nonzero(pred == c)[:, 0])])
    rest = torch.ones(len(x), dtype=torch.bool)
    rest[picked] = False
    more = torch.nonzero(rest)[:, 0]
    return torch.cat([picked, more[torch.argsort(conf[more], descending=True)][:n - len(picked)]])


# Teachers screened beside inversion_any.py's rows (not in its table): name -> (data set,
# model spec, teacher epochs), trained and cached the same way.
SCREEN_ROWS = {
    "resnet8_w16/mnist5k": ("mnist5k", {"family": "resnet", "depths": [1, 1, 1], "width": 16}, 8),
    # four convolution-BN layers and global pooling: as deep in BN as a ResNet-8 is not, no
    # skip connections
    "convnet4/mnist5k": ("mnist5k", {"family": "convnet", "widths": [16, 32, 32, 32],
                                     "kernels": [3, 3, 3, 3], "strides": [1, 2, 1, 2],
                                     "bn": True, "pool": "avg", "hidden": []}, 8),
    # three convolution-BN layers and global pooling: between convnet_small's 2 (per-batch BN
    # matching lost) and convnet4's 4 (it gained), PER_BATCH_BN_MIN_LAYERS's untested case
    "convnet3/mnist5k": ("mnist5k", {"family": "convnet", "widths": [16, 32, 32],
                                     "kernels": [3, 3, 3], "strides": [1, 2, 2],
                                     "bn": True, "pool": "avg", "hidden": []}, 8),
    # BN MLPs on two more sequence sets (inversion_any's mlp_bn/japanesevowels is the
    # table's): is the generator's gain there a property of MLP teachers on sequences?
    "mlp_bn/scp1": ("scp1", {"family": "mlp", "hidden": [64, 32], "bn": True}, 30),
    "mlp_bn/basicmotions": ("basicmotions", {"family": "mlp", "hidden": [64, 32], "bn": True},
                            30),
}


def main() -> None:
    from synth.data import input_range, load_dataset
    from synth.files import atomic_path, write_json_atomic
    from synth.inversion import balanced_labels, settings_for, swap_halves
    from synth.models import build
    from synth.synthesis import synthesize_inputs
    from synth.train import evaluate
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("row")
    ap.add_argument("tag")
    ap.add_argument("overrides", nargs="?", default="{}")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--synth-seed", type=int, nargs="+", default=[0],
                    help="seeds of the synthesis (one set each)")
    ap.add_argument("--kd", default="", help="KD recipe, DistillConfig fields name=value,...")
    ap.add_argument("--coadi", action="store_true")
    ap.add_argument("--candidates", type=int, default=0)
    ap.add_argument("--select", nargs="*", default=[])
    ap.add_argument("--diagnose", action="store_true")
    ap.add_argument("--student", default="",
                    help="a model spec (JSON) or variant for every student of the screen, "
                         "synthesized- and real-input alike, instead of the row's")
    ap.add_argument("--work", default="runs/inversion_any")
    ap.add_argument("--out", default="runs/inversion_screen")
    ap.add_argument("--real", choices=("random", "confident"), default="random",
                    help="which 500 real training inputs the real-input students get")
    ap.add_argument("--real-only", action="store_true",
                    help="only the real-input students (no synthesis)")
    ap.add_argument("--recalibrate", action="store_true",
                    help="also test each student with its BN statistics re-estimated on the "
                         "unaugmented set and on the 500 real inputs (oracle)")
    a = ap.parse_args()
    kd = B.parse_kd(a.kd)
    torch.set_num_threads(1)
    work, out = Path(a.work), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    name, dataset, spec, epochs = ((a.row, *SCREEN_ROWS[a.row]) if a.row in SCREEN_ROWS
                                   else B._row(a.row))
    data = load_dataset(dataset)
    teacher = B.teacher_for(work, name, dataset, spec, epochs).eval()
    if a.student:   # every student of this screen (kd_student builds STUDENTS[dataset])
        B.STUDENTS[dataset] = (json.loads(a.student) if a.student.lstrip().startswith("{")
                               else a.student)
    if a.diagnose:
        x, y = data.x_test, data.y_test
        h, w = x.shape[-2:]
        perm = torch.randperm(h * w, generator=torch.Generator().manual_seed(0))
        views = {"test": x, "halves swapped": swap_halves(x),
                 "rolled (h/4, w/4)": torch.roll(x, (h // 4, w // 4), (2, 3)),
                 "pixels permuted": x.flatten(2)[:, :, perm].view_as(x),
                 "transposed": x.transpose(2, 3), "mirrored": torch.flip(x, (3,))}
        with torch.no_grad():
            print(json.dumps({"row": name, "teacher_accuracy": {
                k: round(float((teacher(v).argmax(1) == y).float().mean()), 4)
                for k, v in views.items()}}))
            # where the teacher is confident: real training inputs against the cached sets
            p = torch.softmax(teacher(data.x_train), 1)
            conf, pred = p.amax(1), p.argmax(1)
            sets = {"_".join(f.stem.split("__")[-2:]): float(torch.softmax(teacher(torch.load(
                f, weights_only=True)["images"]), 1).amax(1).mean())
                for f in sorted(Path(a.out, "sets").glob(f"{B._slug(name)}__*.pt"))}
            print(json.dumps({"row": name, "real_train_confidence_median": round(float(
                conf.median()), 3), "real_train_over_0.95_per_predicted_class": [
                int(((conf > 0.95) & (pred == c)).sum()) for c in range(data.num_classes)],
                "real_train": len(conf), "synthesized_confidence_mean": {
                    k: round(v, 3) for k, v in sets.items()}}))
        print(json.dumps({"row": name, "pixels": pixel_diagnosis(
            data.x_train, {"_".join(f.stem.split("__")[-2:]): torch.load(f, weights_only=True)[
                "images"] for f in sorted(Path(a.out, "sets").glob(f"{B._slug(name)}__*.pt"))})}))
        return
    value_range = input_range(teacher.checkpoint_info["dataset"])
    base = settings_for(teacher, value_range=value_range)
    over = json.loads(a.overrides)
    if isinstance(over.get("amortized"), dict) and base.amortized:
        over["amortized"] = {**base.amortized, **over["amortized"]}
    config = base.replace(**over) if over else base

    def student_on(inputs, seed):   # the row's student as inversion_any.py distills it
        return B.kd_student(teacher, inputs, data, dataset, seed,
                            config.jitter if data.is_image or data.is_sequence else 0, kd)

    protocol = hashlib.sha256(json.dumps(B.kd_protocol(kd), sort_keys=True).encode()).hexdigest()
    student_tag = ("" if not a.student else "__student_" + hashlib.sha256(
        json.dumps(B.STUDENTS[dataset], sort_keys=True).encode()).hexdigest()[:8])
    real_file = out / (f"{B._slug(name)}__real_{protocol[:8]}_{B.teacher_digest(teacher)}"
                       # per KD protocol, teacher and student
                       + ("" if a.real == "random" else f"__{a.real}") + student_tag + ".json")
    real = json.loads(real_file.read_text()) if real_file.is_file() else []
    real_x = data.x_train[B.real_subset(data.y_train, B.IMAGES) if a.real == "random"
                          else confident_subset(teacher, data.x_train, B.IMAGES)]
    if len(real) < a.seeds:   # seeds 0, 1, ... in order; the missing ones added to the cache
        real += [student_on(real_x, s)[0] for s in range(len(real), a.seeds)]
        write_json_atomic(real_file, real)
    real = real[:a.seeds]
    if a.real_only:
        print(json.dumps({"row": name, "tag": a.tag, "kd": kd, "real": a.real, "student": real,
                          "student_mean": st.mean(real), "load": os.getloadavg()[0]}), flush=True)
        return
    labels = balanced_labels(B.IMAGES, data.num_classes)
    sets, co_acc, stats, cpu = {}, None, {}, 0.0
    if a.candidates:
        cache = out / f"{B._slug(name)}__candidates{a.candidates}.pt"
        if cache.is_file():
            saved = torch.load(cache, weights_only=True)
            x, y = saved["x"], saved["y"]
        else:
            r = synthesize_inputs(teacher, balanced_labels(a.candidates, data.num_classes),
                                  config, pixel_range=value_range, seed=0)
            x, y = r.images, r.labels
            with atomic_path(cache) as tmp:
                torch.save({"x": x, "y": y}, tmp)
        with torch.no_grad():
            logits = teacher(x)
        hit = logits.argmax(1) == y
        conf = torch.softmax(logits, 1).gather(1, y[:, None])[:, 0]
        gen = torch.Generator().manual_seed(1)
        k = B.IMAGES // data.num_classes

        def kcenter(points, ok):   # greedy farthest-point among the hits
            good = torch.nonzero(ok).flatten()
            p = points[good].double()
            picked = [int(torch.cdist(p.mean(0, keepdim=True), p)[0].argmin())]
            dist = torch.cdist(p[picked], p)[0]
            while len(picked) < min(k, len(good)):
                picked.append(int(dist.argmax()))
                dist = torch.minimum(dist, torch.cdist(p[picked[-1:]], p)[0])
            return good[torch.tensor(picked)]
        rules = {"random": lambda p: torch.randperm(len(p), generator=gen)[:k],
                 "lowconf": lambda p: torch.argsort(conf[p])[:k],
                 "highconf": lambda p: torch.argsort(conf[p], descending=True)[:k],
                 "kcenter_logits": lambda p: kcenter(logits[p] - logits[p].mean(1, keepdim=True),
                                                     hit[p]),
                 "kcenter_pixels": lambda p: kcenter(x[p].flatten(1), hit[p])}
        for rule in a.select:
            idx = torch.cat([(p := torch.nonzero(y == c).flatten())[rules[rule](p)]
                             for c in range(data.num_classes)])
            sets[f"{a.tag}:{rule}"] = (x[idx], {"fidelity": float(hit[idx].float().mean())})
    else:
        for synth_seed in a.synth_seed:
            co = None
            if a.coadi:
                torch.manual_seed(0)
                co = build(B.STUDENTS[dataset], data.input_shape, data.num_classes)
            cache = out / "sets" / (f"{B._slug(name)}__{B.inversion_key(config)}_"
                                    f"{B.teacher_digest(teacher)}__s{synth_seed}.pt")
            if co is None and cache.is_file():
                saved = torch.load(cache, weights_only=True)
                images, stats = saved["images"], json.loads(saved["stats"])
            else:
                start = time.process_time()
                r = synthesize_inputs(teacher, labels, config, pixel_range=value_range,
                                      seed=synth_seed, student=co)
                images = r.images
                stats = {k: v for k, v in r.stats.items() if k != "generator"}
                stats["cpu_seconds"] = time.process_time() - start
                if co is None:
                    cache.parent.mkdir(parents=True, exist_ok=True)
                    with atomic_path(cache) as tmp:
                        torch.save({"images": images, "stats": json.dumps(stats)}, tmp)
            if co is not None:
                co_acc = evaluate(co, data.x_test, data.y_test)["accuracy"]
            sets[(a.tag, synth_seed)] = (images, stats)
    every = []
    for key, (inputs, stats) in sets.items():
        tag, synth_seed = key if isinstance(key, tuple) else (key, 0)
        fidelity = stats.get("fidelity") if isinstance(stats, dict) else stats
        accs, s = [], None
        recal = {"synthesized": [], "real_oracle": []}
        for seed in range(a.seeds):
            acc, s = student_on(inputs, seed)
            accs.append(acc)
            if a.recalibrate:
                trained = {k: v.clone() for k, v in s.state_dict().items()}
                for name_, x in (("synthesized", inputs), ("real_oracle", real_x)):
                    s.load_state_dict(trained)
                    recal[name_].append(evaluate(recalibrated_bn(s, x), data.x_test,
                                                 data.y_test)["accuracy"])
                s.load_state_dict(trained)
        every += accs
        with torch.no_grad():
            agree = float((s.eval()(data.x_test).argmax(1) == teacher(data.x_test).argmax(1))
                          .float().mean())
            # how sure the teacher is of the set (its top softmax probability, T = 1)
            confidence = float(torch.softmax(teacher(inputs), 1).amax(1).mean())
        line = {"row": name, "tag": tag, "overrides": over, "kd": kd, "synth_seed": synth_seed,
                "student_spec": B.STUDENTS[dataset],
                "fidelity": fidelity,
                "cpu_seconds": round(stats.get("cpu_seconds", cpu), 1), "student": accs,
                "student_mean": st.mean(accs),
                "real_mean": st.mean(real), "gap": round(100 * (st.mean(real) - st.mean(accs)), 2),
                "agreement_real": round(agree, 4), "teacher_confidence": round(confidence, 4),
                "co_student": co_acc,
                "bn_loss_final": stats.get("bn_loss_final"), "load": os.getloadavg()[0]}
        if a.recalibrate:
            line["bn_recalibrated"] = recal
        print(json.dumps(line), flush=True)
        with open(out / "results.jsonl", "a") as f:
            f.write(json.dumps(line) + "\n")
    if len(sets) > 1 and not a.candidates:   # every set and student seed together
        line = {"row": name, "tag": a.tag, "overrides": over, "kd": kd,
                "synth_seed": a.synth_seed, "student_mean": st.mean(every),
                "student_sd": st.stdev(every), "real_mean": st.mean(real),
                "gap": round(100 * (st.mean(real) - st.mean(every)), 2),
                "load": os.getloadavg()[0]}
        print(json.dumps(line), flush=True)
        with open(out / "results.jsonl", "a") as f:
            f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    run_main(main)
