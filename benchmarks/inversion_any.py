"""DeepInversion on any BatchNorm teacher: every registered family with BatchNorm on every
bundled set it fits, with the settings ``synth.inversion.settings_for`` derives from the teacher.
Images (C, H, W), feature vectors and sequences (C, L: a Conv1d-BN ``convnet1d`` teacher, and a
BN MLP inverted as C*L features); "images" below means the synthesized inputs of any kind.

Per row: the teacher's real test accuracy; 500 inputs synthesized from it (fidelity = the
teacher's agreement with their target class, images/s on one thread, iterations per batch);
and the real test accuracy of a student distilled only on those 500 inputs next to the same
student distilled on the same number of *real* training inputs (the peer a user would pick
if they had the data; all of them where the set has fewer than 500), over seeds.  Students
use ``DistillConfig``'s defaults (CutMix 0.5, at least 1,920 steps) in batches of 64.  Where
``settings_for`` picks another method than per-pixel DeepInversion (a generator,
``method="amortized"``), an ablation also synthesizes the 500 inputs per pixel
(``method="deepinversion"``, the rest of the settings unchanged) and distils the same student
on them, so the method's effect is measured in the same run.

    python benchmarks/inversion_any.py [--rows NAME,...] [--procs 2] [--seeds 3] [--adi]
           [--work runs/inversion_any] [--md benchmarks/results/inversion_any.md]
    python benchmarks/inversion_any.py --list-rows [--rows NAME,...]   # the rows, no work

``--adi`` also distils each row's student by the data-free ADI protocol (``ADI``: rounds of
inputs synthesized against the student being distilled, Eq. 8's competition term), with the
same number of inputs and KD steps, in a table of its own.

Teachers, synthesized sets and per-row results are cached in ``--work`` (gitignored), so a
rerun only does what is missing; ``--report-only`` rewrites the table from the cache.  A cached
set or row is used only while its key still matches: the settings ``settings_for`` gives now,
the source of the inversion code that makes the inputs, and (rows) the student protocol --
change the rule and the affected rows are recomputed.  Every
row runs in its own single-thread process (``torch.set_num_threads(1)``), ``--procs`` at once.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics as st
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import run_main  # noqa: E402
from synth.files import write_json_atomic, write_text_atomic  # noqa: E402

IMAGES = 500
# convnet_small on 28x28 (two 3x3 convolutions, global average pooling): 10 epochs at the train
# defaults (lr 0.02) left it at 54.2% test; 30 epochs at lr 0.05 reach 88.8%
TEACHER_EPOCHS_SMALL = 30
TEACHER_LR = {"convnet_small/mnist5k": 0.05}   # rows not named: the train default
MLP_BN = {"family": "mlp", "hidden": [64, 32], "bn": True}
# name, data set, teacher spec, teacher epochs, student spec.  Students: one per data set, the
# same for the synthesized and the real inputs.
STUDENTS = {"mnist5k": "lenet5_bn_half",
            "digits": {"family": "convnet", "widths": [8, 16], "kernels": [3, 3],
                       "strides": [1, 2], "bn": True, "pool": "avg", "hidden": []},
            "wine": {"family": "mlp", "hidden": [16], "bn": True},
            "breast_cancer": {"family": "mlp", "hidden": [16], "bn": True},
            # sequences (C, L): a narrower convnet1d (8/16 wide, the teachers' kernels and
            # strides), the same on the convnet1d and the BN MLP teacher of japanesevowels
            **{s: {"family": "convnet1d", "widths": [8, 16], "kernels": [5, 5],
                   "strides": [1, 2], "bn": True, "pool": "avg", "hidden": []}
               for s in ("japanesevowels", "basicmotions", "scp1", "gunpoint", "pickupgesture")}}
# Sequence teachers, all at the train defaults (10 epochs, lr 0.02) except the BN MLP, which
# gets the tabular BN MLPs' 30 epochs: convnet1d_small reaches 98.4% test on japanesevowels and
# 100% on basicmotions (16 test windows) there; on scp1 74.3%, and neither 20 or 30 epochs
# (74.3%, 73.5%) nor lr 0.05 (64.6% at 30) does better (keep_best on 45 validation windows), so
# the defaults stay.  mlp_bn on japanesevowels (12 x 29 = 348 features): 98.4% at 10 and at 30.
# Chosen on the teachers' test accuracy alone (one seed), before any student ran.
ROWS = [
    ("lenet5_bn/mnist5k", "mnist5k", "lenet5_bn", 15),
    ("convnet_small/mnist5k", "mnist5k", "convnet_small", TEACHER_EPOCHS_SMALL),
    ("resnet8_w8/mnist5k", "mnist5k", {"family": "resnet", "depths": [1, 1, 1], "width": 8}, 8),
    ("lenet300_100_bn/mnist5k", "mnist5k", "lenet300_100_bn", 15),
    ("convnet_small/digits", "digits", "convnet_small", 20),
    ("convnet_digits/digits", "digits", "convnet_digits", 20),
    ("resnet8_w16/digits", "digits", "resnet8_w16", 15),
    ("resnet18_w16/digits", "digits", "resnet18_w16", 8),
    ("lenet300_100_bn/digits", "digits", "lenet300_100_bn", 20),
    ("mlp_bn/wine", "wine", MLP_BN, 30),
    ("mlp_bn/breast_cancer", "breast_cancer", MLP_BN, 30),
    ("convnet1d_small/japanesevowels", "japanesevowels", "convnet1d_small", 10),
    ("convnet1d_small/basicmotions", "basicmotions", "convnet1d_small", 10),
    ("convnet1d_small/scp1", "scp1", "convnet1d_small", 10),
    ("mlp_bn/japanesevowels", "japanesevowels", MLP_BN, 30),
    # added 2026-12-05 (lead): an equal-length one-channel set, and a left-padded one of
    # 29-361 steps (10 gestures, 72 training series); 40 epochs, set before any student ran
    ("convnet1d_small/gunpoint", "gunpoint", "convnet1d_small", 40),
    ("convnet1d_small/pickupgesture", "pickupgesture", "convnet1d_small", 40),
]
# Rows measured with fewer student seeds than --seeds where time on the shared 2-core machine
# runs out (stated under the table); none in the current table.
FEWER_SEEDS: dict[str, int] = {}
# The per-pixel method the ablation compares a generator-based row with
PER_PIXEL = "deepinversion"
METHOD_NAMES = {"deepinversion": "per-pixel", "amortized": "generator"}
SLOW_FIRST = ("resnet18_w16/digits", "resnet8_w8/mnist5k", "lenet5_bn/mnist5k")
# What does not run here, and why (printed under the table).
LEFT_OUT = ["lenet5_bn on digits: two 5x5 convolutions do not fit an 8x8 input",
            "convnet_digits on mnist5k: its flatten head is 50,176 x 64 at 28x28 (14 M MACs "
            "per image, too slow for this shared 2-core machine)",
            "resnet18/resnet34 at width 64, and any ResNet-18 at 28x28: too slow to train and "
            "invert on this machine; the ResNet rows use width 8 (mnist5k) and 16 (digits)",
            "convnet1d on blink (4 x 510 EEG), for time: japanesevowels (12 x 29), "
            "basicmotions (6 x 100), gunpoint (1 x 150), pickupgesture (1 x 361) and scp1 "
            "(6 x 896 EEG) span the lengths; lstm and hlstm have no BatchNorm: nothing to "
            "invert",
            "the image families (lenet5, convnet, resnet) on sequences and convnet1d on "
            "images or feature vectors: they need a (C, H, W) or a (C, L) input; one BN MLP "
            "on a sequence set (mlp_bn/japanesevowels) stands for the MLPs there"]


def _row(name: str) -> tuple:
    for row in ROWS:
        if row[0] == name:
            return row
    from synth.errors import UserError
    raise UserError(f"unknown row {name!r}; rows: {', '.join(r[0] for r in ROWS)}")


def _slug(name: str) -> str:
    return name.replace("/", "__")


# --------------------------------------------------------------------------- cache keys
def inversion_key(config) -> str:
    """What the synthesized inputs depend on besides the teacher and the seed: the settings
    and the source of the code that turns them into inputs (objective, stopping rule)."""
    import hashlib

    from synth.synthesis import synthesis_sources
    parts = [json.dumps(config.to_dict(), sort_keys=True, default=str)] + synthesis_sources()
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def seeds_for(name: str, seeds: int) -> int:
    return min(seeds, FEWER_SEEDS.get(name, seeds))


# ADI (``synth.distill.adi_distill``, what ``nnsynth distill --data-free`` runs), measured with
# ``--adi``: the same 500 inputs as a row's students, synthesized in 5 rounds of 100 against
# the student being distilled, and the same KD steps in batches of 64 (``min_steps`` in all:
# ``adi_distill`` extends the final steps to it)
ADI = dict(rounds=5, images_per_round=100, kd_steps_per_round=50, final_kd_steps=230,
           batch_size=64)
KD_BATCH = 64   # the students' batch size (500 inputs: 8 steps per epoch)


def parse_kd(text: str) -> dict:
    """``--kd`` "name=value,...": DistillConfig fields (KD augmentation, temperature, ...)
    applied to every student of a row alike (synthesized, real and ADI)."""
    from synth.distill import DistillConfig
    fields = {f.name: f.type for f in dataclasses.fields(DistillConfig)}
    out = {}
    for item in filter(None, text.split(",")):
        k, _, v = item.partition("=")
        if k not in fields:
            raise ValueError(f"--kd: {k!r} is not a DistillConfig field")
        try:
            out[k] = int(v) if fields[k] in ("int", int) else float(v)
        except ValueError:
            raise ValueError(f"--kd: {k}={v!r} is not a number") from None
    DistillConfig(**out)   # validate (a UserError, a ValueError, names the field)
    return out


def kd_config(seed: int = 0, jitter: int = 0, kd: dict | None = None):
    """The students' ``DistillConfig``: its defaults in batches of ``KD_BATCH``, the row's
    jitter, then the ``--kd`` recipe's fields."""
    from synth.distill import DistillConfig
    return DistillConfig(**{"batch_size": KD_BATCH, "seed": seed, "jitter": jitter,
                            "progress": False, **(kd or {})})


def kd_protocol(kd: dict | None = None) -> dict:
    """What a row's students depend on besides seed and jitter: ``kd_config``'s fields (so a
    changed ``DistillConfig`` default recomputes the rows)."""
    out = kd_config(kd=kd).to_dict()
    for k in ("seed", "jitter", "progress", "device"):
        out.pop(k)
    return out


def row_key(image_keys: list, dataset: str, seeds: int, adi: bool = False,
            kd: dict | None = None) -> str:
    return json.dumps([image_keys, IMAGES, STUDENTS[dataset], seeds, kd_protocol(kd)]
                      + ([ADI] if adi else []), sort_keys=True)


def configs_for(teacher) -> list:
    """The row's inversion settings (``settings_for``), then the per-pixel ablation's when
    they pick another method."""
    from synth.data import input_range
    from synth.inversion import settings_for
    config = settings_for(teacher, value_range=input_range(teacher.checkpoint_info["dataset"]))
    return [config] + ([config.replace(method=PER_PIXEL)] if config.method != PER_PIXEL else [])


def kd_tag(kd: dict | None) -> str:
    """File-name suffix of a row's result under a ``--kd`` recipe ("" without one)."""
    return "".join(f"__{k}{v:g}" for k, v in sorted((kd or {}).items()))


def current_row(work: Path, name: str, seeds: int, adi: bool = False,
                kd: dict | None = None):
    """The cached result of row ``name`` if it is still valid for the current code, else None."""
    path = work / f"{_slug(name)}{kd_tag(kd)}.json"
    if not path.is_file() or not (work / "teachers" / f"{_slug(name)}.pt").is_file():
        return None
    from synth.checkpoint import load_model
    result = json.loads(path.read_text())
    teacher = load_model(work / "teachers" / f"{_slug(name)}.pt")
    key = row_key([inversion_key(c) for c in configs_for(teacher)] + [teacher_digest(teacher)],
                  _row(name)[1], seeds_for(name, seeds), adi, kd)
    return result if result.get("key") == key else None


# --------------------------------------------------------------------------- one row
def teacher_for(work: Path, name: str, dataset: str, spec, epochs: int):
    """The cached teacher checkpoint, trained first as `nnsynth train --epochs EPOCHS` trains
    it when missing: with the command's step floor (``synth.choices.MIN_STEPS``), which raises
    the epochs of a small training split.  A cached teacher trained without the floor, where
    the floor raises its epochs, is trained again (the basicmotions teacher had taken 20 SGD
    steps: 10 epochs of 57 series in batches of 32); one the floor leaves as it was is kept."""
    from synth.checkpoint import load_model, save_checkpoint
    from synth.choices import MIN_STEPS
    from synth.data import load_dataset
    from synth.models import build
    from synth.train import TrainConfig, epochs_for_steps, fit
    path = work / "teachers" / f"{_slug(name)}.pt"
    config = TrainConfig(epochs=epochs, min_steps=MIN_STEPS, seed=0, progress=False,
                         **({"lr": TEACHER_LR[name]} if name in TEACHER_LR else {}))
    data = load_dataset(dataset)
    if path.is_file():
        teacher = load_model(path)
        floored = (teacher.checkpoint_info.get("metrics") or {}).get("min_steps") == MIN_STEPS
        if floored or epochs_for_steps(epochs, MIN_STEPS, len(data.y_train),
                                       config.batch_size) == epochs:
            return teacher
    torch.manual_seed(0)
    model = build(spec, data.input_shape, data.num_classes)
    m = fit(model, data, config)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, model.eval(), dataset=data.metadata(),   # (written atomically)
                    metrics={"test_accuracy": m["test_accuracy"], "min_steps": MIN_STEPS,
                             "epochs": m.get("epochs", epochs)})
    return load_model(path)


def teacher_digest(teacher) -> str:
    """A digest of the teacher's weights and buffers: the synthesized-set and row caches are
    keyed by it, so a teacher trained again is never paired with another teacher's inputs."""
    import hashlib
    h = hashlib.sha256()
    for k, v in teacher.state_dict().items():
        t = v.detach().cpu().contiguous()
        h.update(f"{k}:{tuple(t.shape)}:{t.dtype};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:12]


def real_subset(labels: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` training indices, classes as balanced as the synthesized labels (a random pick
    per class).  The first ``n`` rows will not do: mnist5k is stored sorted by class."""
    gen = torch.Generator().manual_seed(seed)
    per_class = [c_idx[torch.randperm(len(c_idx), generator=gen)]
                 for c in range(int(labels.max()) + 1)
                 if len(c_idx := torch.nonzero(labels == c).flatten())]
    order = [idx[i] for i in range(max(map(len, per_class))) for idx in per_class if i < len(idx)]
    return torch.stack(order[:n])


def synthesized_set(work: Path, name: str, teacher, config, num_classes: int, value_range,
                    tag: str = "") -> tuple:
    """(inputs, stats) of the row's 500 synthesized inputs with ``config``, cached under ``tag``
    while the key (settings and inversion code) matches."""
    from synth.inversion import balanced_labels
    from synth.synthesis import synthesize_inputs
    key = f"{inversion_key(config)}_{teacher_digest(teacher)}"
    cache = work / "images" / f"{_slug(name)}{tag}.pt"
    saved = torch.load(cache, weights_only=True) if cache.is_file() else {}
    if saved.get("key") == key:
        return saved["images"], json.loads(saved["stats"])
    # missing, or made by other settings or code: recompute (CPU seconds beside the wall ones)
    cpu = time.process_time()
    r = synthesize_inputs(teacher, balanced_labels(IMAGES, num_classes), config,
                          pixel_range=value_range, seed=0)
    stats = {k: v for k, v in r.stats.items() if k != "generator"}
    stats["cpu_seconds"] = time.process_time() - cpu
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"images": r.images, "labels": r.labels, "stats": json.dumps(stats), "key": key},
               cache)
    return r.images, stats


def generator_settings(config) -> dict | None:
    """The generator's settings of an ``amortized`` row (None for per-pixel rows)."""
    if config.method != "amortized":
        return None
    from synth.amortized import AmortizedConfig
    g = AmortizedConfig.from_inversion(config)
    return {k: getattr(g, k) for k in ("steps", "batch_size", "width", "depth", "adapt_steps",
                                       "adapt_batch", "refine_iterations")}


def kd_student(teacher, inputs, data, dataset: str, seed: int, jitter: int,
               kd: dict | None = None):
    """(real-test accuracy, student) of the row's student distilled on ``inputs`` by KD only,
    ``kd_config`` (``DistillConfig``'s defaults in batches of 64: 1,920 steps of 500 inputs,
    240 epochs; ``--kd epochs=60,min_steps=0,cutmix=0`` is the protocol before issue 18's
    recipe became the default)."""
    from synth.distill import distill
    from synth.models import build
    torch.manual_seed(seed)
    student = build(STUDENTS[dataset], data.input_shape, data.num_classes)
    m = distill(student, teacher, inputs, data, kd_config(seed, jitter, kd))
    return m["test_accuracy"], student


def run_row(a) -> dict:
    from synth.data import input_range, load_dataset
    from synth.distill import adi_distill, distill_train_config
    from synth.models import batchnorm_layers, build, count_flops
    from synth.train import evaluate
    name, dataset, spec, epochs = _row(a.row)
    work = Path(a.work)
    kd = a.kd_fields
    data = load_dataset(dataset)
    teacher = teacher_for(work, name, dataset, spec, epochs)
    value_range = input_range(teacher.checkpoint_info["dataset"])
    configs = configs_for(teacher)
    config = configs[0]
    x, stats = synthesized_set(work, name, teacher, config, data.num_classes, value_range)
    sources = [("synthesized", x)]
    alt_stats = None
    if len(configs) > 1:   # the per-pixel ablation
        alt_x, alt_stats = synthesized_set(work, name, teacher, configs[1], data.num_classes,
                                           value_range, tag=f"__{PER_PIXEL}")
        sources.append(("synthesized_" + PER_PIXEL, alt_x))
    n_real = min(IMAGES, len(data.y_train))
    real_x = data.x_train[real_subset(data.y_train, n_real)]
    sources.append(("real", real_x))
    # the students' roll: the row's jitter (pixels; steps along time for a sequence row);
    # none for feature vectors
    jitter = config.jitter if data.is_image or data.is_sequence else 0
    students = {source: [] for source, _ in sources}
    seeds = seeds_for(name, a.seeds)
    for seed in range(seeds):
        for source, inputs in sources:
            students[source].append(kd_student(teacher, inputs, data, dataset, seed,
                                               jitter, kd)[0])
    adi = {"student": [], "fidelity": [], "cpu_seconds": []}
    for seed in range(seeds if a.adi else 0):   # the data-free ADI protocol, same budget
        torch.manual_seed(seed)
        student = build(STUDENTS[dataset], data.input_shape, data.num_classes)
        cpu = time.process_time()
        m = adi_distill(student, teacher, value_range,
                        kd_config(seed, jitter, {**ADI, **kd}),
                        config.replace(method=PER_PIXEL), data=data)
        adi["cpu_seconds"].append(time.process_time() - cpu)
        adi["student"].append(m["test_accuracy"]), adi["fidelity"].append(m["fidelity"])
    return {"row": name, "key": row_key([inversion_key(c) for c in configs]
                                        + [teacher_digest(teacher)], dataset, seeds, a.adi, kd),
            "kd": kd,
            "adi": adi if a.adi else None,
            # the method whose inputs were kept: a method settings_for picked falls back to
            # the other below min_fidelity (synth.synthesis.method_fallback)
            "method": {"per_pixel": PER_PIXEL, "generator": "amortized"}.get(
                (stats.get("fallback") or {}).get("kept"), config.method),
            "fallback": stats.get("fallback"), "cpu_seconds": stats.get("cpu_seconds"),
            "per_pixel": None if alt_stats is None else {
                "fidelity": alt_stats["fidelity"], "missed": alt_stats.get("missed"),
                "images_per_second": alt_stats["images_per_second"],
                "cpu_seconds": alt_stats.get("cpu_seconds"),
                "student_synthesized": students["synthesized_" + PER_PIXEL]},
            "dataset": dataset, "spec": teacher.spec,
            "bn_layers": len(batchnorm_layers(teacher)),
            "macs": count_flops(teacher, teacher.input_shape),
            "teacher_test_accuracy": evaluate(teacher, data.x_test, data.y_test)["accuracy"],
            "fidelity": stats["fidelity"], "images": len(x),
            "images_per_second": stats["images_per_second"], "seconds": stats["seconds"],
            "iterations": stats["iterations"], "bn_loss_initial": stats["bn_loss_initial"],
            "bn_loss_final": stats["bn_loss_final"], "real_images": n_real,
            "student": STUDENTS[dataset], "kd_protocol": kd_protocol(kd),
            "kd_epochs": {source: distill_train_config(kd_config(kd=kd), len(inputs)).epochs
                          for source, inputs in sources},
            "student_synthesized": students["synthesized"], "student_real": students["real"],
            "missed": stats.get("missed"),
            "settings": {k: getattr(config, k) for k in ("jitter", "flip", "lr", "bn_weight",
                                                         "first_bn_multiplier", "tv_l2_weight",
                                                         "l2_weight", "iterations", "batch_size",
                                                         "stop_fidelity", "method")},
            "generator": generator_settings(config),
            "load_average": os.getloadavg()[0]}


# --------------------------------------------------------------------------- driver
def launch(a) -> None:
    """Each missing row in its own single-thread process, ``a.procs`` at once."""
    work = Path(a.work)
    (work / "logs").mkdir(parents=True, exist_ok=True)
    names = a.rows.split(",") if a.rows else [r[0] for r in ROWS]  # in the order given
    pending = [_row(n)[0] for n in names
            if current_row(work, n, a.seeds, a.adi, a.kd_fields) is None]
    if not a.rows:
        pending.sort(key=lambda n: n not in SLOW_FIRST)  # the long rows start first
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    running: list = []
    for name in pending:
        while sum(p.poll() is None for _, p in running) >= a.procs:
            time.sleep(2)
        log = open(work / "logs" / f"{_slug(name)}.log", "w")
        cmd = [sys.executable, __file__, "--job", "--row", name, "--work", a.work,
               "--seeds", str(a.seeds)]
        cmd += ["--adi"] if a.adi else []
        cmd += ["--kd", a.kd] if a.kd else []
        running.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)))
        print(f"started {name}", file=sys.stderr, flush=True)
    for name, p in running:
        if p.wait() != 0:
            print(f"row {name} failed; see {work}/logs/{_slug(name)}.log", file=sys.stderr)


def _pct(values) -> str:
    if not values:
        return ""
    sd = st.stdev(values) if len(values) > 1 else 0.0
    return f"{100 * st.mean(values):.1f} ± {100 * sd:.1f}"


def report(a) -> str:
    from synth.distill import adi_final_steps, distill_train_config
    from synth.models import list_families
    cfg = kd_config(kd=a.kd_fields)
    work = Path(a.work)
    res = [r for row in ROWS
           if (r := current_row(work, row[0], a.seeds, a.adi, a.kd_fields))]
    loads = ", ".join(f"{r['load_average']:.0f}" for r in res)
    lines = ["# DeepInversion on any BatchNorm teacher", "",
             f"Command: `python benchmarks/inversion_any.py --procs {a.procs} --seeds {a.seeds}"
             + (f" --rows {a.rows}" if a.rows else "")
             + (f" --work {a.work}" if a.work != WORK else "")
             + (f" --md {a.md}" if a.md != MD else "")
             + (" --adi" if a.adi else "") + (f" --kd {a.kd}" if a.kd else "")
             + f"`.  {IMAGES} inputs per teacher, settings from "
             "`synth.inversion.settings_for(teacher)` (no per-row tuning).  Students: "
             "KD only (no labels), the same student and steps for the synthesized and the real "
             f"inputs: `DistillConfig`'s defaults in batches of {KD_BATCH} (CutMix "
             f"{cfg.cutmix:g} relabelled by the teacher on the fly -- a box of an image, a segment of time of a "
             f"sequence; feature vectors get none --, at least {cfg.min_steps} "
             f"SGD steps: {distill_train_config(cfg, IMAGES).epochs} epochs of {IMAGES})"
             + (f" with the KD recipe `{a.kd}` over them" if a.kd else "")
             + f", mean ± std over {a.seeds} seeds; real test split of each set.  "
             "Images/s (inputs/s for feature vectors and sequences): one thread on this "
             "shared 2-core machine (load average "
             f"{loads} at the end of each row; "
             f"{', '.join(f'{v:.1f}' for v in os.getloadavg())} (1, 5, 15 min) when the table "
             "was written), "
             "so compare them within a row's family, not as absolute speeds.", "",
             "| teacher / data set | BN layers | MACs | teacher test | method | fidelity | "
             "images/s | iterations/batch | BN loss start -> end | student, synthesized | "
             "student, real (n) | gap (pt) | meets target |",
             "|---|---:|---:|---:|---|---:|---:|---|---|---:|---:|---:|---|"]
    misses = []
    for r in res:
        syn, real = st.mean(r["student_synthesized"]), st.mean(r["student_real"])
        gap = 100 * (real - syn)
        ok = r["fidelity"] >= 0.95 and gap <= 5
        if not ok:
            misses.append(r["row"])
        lines.append(
            f"| {r['row']} | {r['bn_layers']} | {r['macs']:,} | {100 * r['teacher_test_accuracy']:.1f} | "
            f"{METHOD_NAMES.get(r['method'], r['method'])} | {100 * r['fidelity']:.1f} | {r['images_per_second']:.2f} | "
            f"{', '.join(map(str, r['iterations']))} | {r['bn_loss_initial']:.1f} -> "
            f"{r['bn_loss_final']:.2f} | {_pct(r['student_synthesized'])} | "
            f"{_pct(r['student_real'])} ({r['real_images']}) | {gap:+.1f} | "
            f"{'yes' if ok else '**no**'} |")
    families = sorted({(r["spec"]["family"]) for r in res})
    lines += ["", f"Target: fidelity >= 95% and the synthesized-input student within 5 points "
              f"of the real-input one.  Rows meeting it: {len(res) - len(misses)}/{len(res)}"
              + (f"; missed: {', '.join(misses)}." if misses else "."), "",
              "Method: `per-pixel` = DeepInversion's Adam on the inputs from noise; `generator` "
              "= Fast DFKD's meta-learned generator trained with the same objective "
              "(`synth.amortized`), which `settings_for` picks on images of 16 px and more for an "
              "MLP teacher, and, with its samples refined per pixel, for a teacher whose "
              "BatchNorm layers all normalize convolution channels.  Ablation, those rows: the "
              "same 500 inputs synthesized per pixel with the rest of the settings unchanged "
              "(the per-pixel settings listed below; the generator rows' refinement uses them "
              "too), and the same students on them (CPU seconds of the synthesis, one "
              "thread)." + ("" if any(r.get("per_pixel") for r in res) else
                            "  (No generator row in this table.)")]
    if any(r.get("per_pixel") for r in res):
        lines += ["", "| teacher / data set | generator: fidelity, CPU s, student | per-pixel: "
                  "fidelity, CPU s, student | generator - per-pixel (pt) |", "|---|---|---|---:|"]
    for r in res:
        alt = r.get("per_pixel")
        if not alt:
            continue
        delta = 100 * (st.mean(r["student_synthesized"]) - st.mean(alt["student_synthesized"]))
        lines.append(f"| {r['row']} | {100 * r['fidelity']:.1f}, {r['cpu_seconds']:.0f}, "
                     f"{_pct(r['student_synthesized'])} | {100 * alt['fidelity']:.1f}, "
                     f"{alt['cpu_seconds']:.0f}, {_pct(alt['student_synthesized'])} | "
                     f"{delta:+.1f} |")
    adi_rows = [r for r in res if r.get("adi")]
    adi = {**ADI, **a.kd_fields}   # the schedule the ADI students ran
    adi["final_kd_steps"] = adi_final_steps(kd_config(kd=adi))
    if adi_rows:
        lines += ["", f"ADI (`--adi`; `synth.distill.adi_distill`, as `nnsynth distill "
                  f"--data-free`): {ADI['rounds']} rounds of {ADI['images_per_round']} inputs "
                  f"synthesized with the competition term (weight 1, Eq. 8) against the student "
                  f"being distilled, {adi['kd_steps_per_round']} KD steps after each and "
                  f"{adi['final_kd_steps']} at the end: the same 500 inputs and "
                  f"{adi['rounds'] * adi['kd_steps_per_round'] + adi['final_kd_steps']} steps "
                  f"of {adi['batch_size']}, as the students above.", "",
                  "| teacher / data set | fidelity | CPU s per student | student, ADI | "
                  "student, real | gap (pt) | meets target |", "|---|---:|---:|---:|---:|---:|---|"]
        for r in adi_rows:
            d = r["adi"]
            gap = 100 * (st.mean(r["student_real"]) - st.mean(d["student"]))
            lines.append(f"| {r['row']} | {100 * min(d['fidelity']):.1f} | "
                         f"{st.mean(d['cpu_seconds']):.0f} | {_pct(d['student'])} | "
                         f"{_pct(r['student_real'])} | {gap:+.1f} | "
                         f"{'yes' if gap <= 5 and min(d['fidelity']) >= 0.95 else '**no**'} |")
    lines += ["", "Inputs missed (synthesized inputs the teacher assigns to another class; the "
              "stopping rule tolerates a few per batch): "
              + ", ".join(f"{r['row']} {r['missed']}" for r in res) + ".", "",
              f"Families covered: {', '.join(families)} (registered: "
              f"{', '.join(sorted(list_families()))}).", "",
              "Settings used per row (from `settings_for`):", ""]
    for r in res:
        s, g = r["settings"], r.get("generator")
        how = (f"generator (warm-up <= {g['steps']} steps of {g['batch_size']}, width "
               f"{g['width']}, depth {g['depth']}; batches of {g['adapt_batch']} adapted "
               f"{g['adapt_steps']} steps; refinement {g['refine_iterations']} iterations), "
               if g else "per-pixel, ")
        lines.append(f"- {r['row']}: {how}jitter {s['jitter']}, flip {s['flip']}, lr {s['lr']:.3f}, "
                     f"BN weight {s['bn_weight']:.2f}"
                     + (f" (first layer x{s['first_bn_multiplier']:g})"
                        if "first_bn_multiplier" in s else "") + f", TV-L2 {s['tv_l2_weight']:.2g}, "
                     f"L2 {s['l2_weight']:.2g}, cap {s['iterations']} iterations, batch "
                     f"{s['batch_size']}, stop fidelity {s['stop_fidelity']:g}")
    done = {r["row"] for r in res}
    wanted = a.rows.split(",") if a.rows else [r[0] for r in ROWS]
    pending = [r[0] for r in ROWS if r[0] in wanted and r[0] not in done]
    fewer = [f"{r['row']} ({len(r['student_synthesized'])})" for r in res
             if len(r["student_synthesized"]) < a.seeds]
    if fewer:
        lines += ["", f"Rows with fewer student seeds than {a.seeds} (time on the shared machine): "
                  f"{', '.join(fewer)}; their ± is 0 by construction, not a measured spread."]
    if pending:
        lines += ["", f"Rows without a result in this run (not finished when the table was "
                  f"written; rerun the command, finished parts are cached): {', '.join(pending)}."]
    lines += ["", "Not run here:", ""] + [f"- {x}" for x in LEFT_OUT]
    return "\n".join(lines) + "\n"


def list_rows(names: list[str]) -> str:
    """One tab-separated line per row (no work): name, data set, teacher spec (a variant name
    or JSON), its training ("N epochs[ at lr X]"), the student's spec."""
    def spec(s) -> str:
        return s if isinstance(s, str) else json.dumps(s, sort_keys=True)
    return "\n".join(f"{name}\t{dataset}\t{spec(teacher)}\t{epochs} epochs"
                     f"{' at lr %g' % TEACHER_LR[name] if name in TEACHER_LR else ''}"
                     f"\t{spec(STUDENTS[dataset])}"
                     for name, dataset, teacher, epochs in map(_row, names))


WORK, MD = "runs/inversion_any", "benchmarks/results/inversion_any.md"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="", help="comma-separated row names (default: all)")
    ap.add_argument("--list-rows", action="store_true",
                    help="print the rows (name, data set, teacher, student) and exit")
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--work", default=WORK)
    ap.add_argument("--md", default=MD)
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--adi", action="store_true",
                    help="also distil each row's student by the data-free ADI protocol")
    ap.add_argument("--kd", default="",
                    help="KD recipe for every student alike, DistillConfig fields over its "
                         "defaults as name=value,... (e.g. noise=0.3,cutmix=0; "
                         "epochs=60,min_steps=0,cutmix=0: the protocol before issue 18)")
    ap.add_argument("--job", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--row", help=argparse.SUPPRESS)
    a = ap.parse_args()
    unknown = [n for n in filter(None, a.rows.split(",")) if n not in [r[0] for r in ROWS]]
    if unknown:
        ap.error(f"unknown --rows {','.join(unknown)}; rows: {', '.join(r[0] for r in ROWS)}")
    try:
        a.kd_fields = parse_kd(a.kd)
    except ValueError as e:
        ap.error(str(e))
    if a.list_rows:
        print(list_rows(a.rows.split(",") if a.rows else [r[0] for r in ROWS]))
        return
    if a.job:
        torch.set_num_threads(1)
        result = run_row(a)
        write_json_atomic(Path(a.work) / f"{_slug(a.row)}{kd_tag(a.kd_fields)}.json", result)
        return
    if not a.report_only:
        launch(a)
    text = report(a)
    print(text)
    if a.md:
        write_text_atomic(a.md, text)


if __name__ == "__main__":
    run_main(main)
