"""Teacher/student pair actors and the sharded, resumable synthesis job.

A ``PairActor`` holds one teacher and (optionally) one student.  Without a student (or with
``adi_weight`` 0) it runs plain DeepInversion (``synth.inversion.synthesize``).  With one it
runs the Adaptive DeepInversion protocol measured in benchmarks/results/inversion_adi.md
(``synth.distill.adi_distill``): every batch of a shard is one round -- synthesize it with the
*current* student in the competition term (Eq. 8), then ``kd_steps_per_round`` KD steps of
the student on the pair's pool of images (``synth.distill.PoolKD``) -- so the competition
runs against a student that learns (per pixel also where the inversion settings name a
generator: ``adi_settings``).  The student's weights come back with every shard; the
driver saves them as ``students/pair-<i>.pt``, with the rest of the pair's KD state
(optimizer, random draws, the shards in its pool) as ``students/pair-<i>.kd.pt``, and a
restarted pair (a killed actor, or a rerun after the driver died) starts from them, its
pool read back from those shards: a resumed job writes the set an uninterrupted one does.
``run_synthesis`` splits a job of
N images into shards (disjoint seeds, classes balanced within every shard), runs them on K
pairs through ``ResilientActorPool`` (a dead pair is restarted and its shard redone; in the ADI
protocol shard i is pair (i mod K)'s, run in order, so that two runs write one set) and writes
each finished shard atomically as ``shard-XXXXX.parquet`` in ``out_dir``, with columns
``x, label, teacher_confidence, loss, seed, teacher_checksum`` and the teacher's data-set
metadata, so ``load_dataset(f"parquet:{out_dir}")`` reads the set.  Shards are written by the
driver only, once each; rerunning the same job into the same directory skips complete shards.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from cluster.limits import MAX_IMAGES, MAX_PAIRS, MAX_SHARD_SIZE
from synth.checkpoint import model_from_payload  # built checked: meta device first
from synth.data import pixel_range
from synth.errors import ConfigError, UserError
from synth.files import printable, read_json, write_json_atomic

MANIFEST = "job.json"
GENERATOR = "generator.pt"  # amortized synthesis: the job's trained generator (weights only)
STUDENTS = "students"      # students/pair-<i>.pt: each pair's ADI student, after its last shard
log = logging.getLogger(__name__)


def teacher_checksum(path: str | os.PathLike) -> str:
    """SHA-256 (first 16 hex digits) of the teacher checkpoint file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def resolve_student(student: Any, input_shape, num_classes, *,
                    teacher_meta: dict | None = None) -> torch.nn.Module:
    """A student from a checkpoint path (``*.pt`` file) or a model spec/variant name.  A
    checkpoint's feature columns (a user's table's, recorded with it) must be the teacher's
    (``teacher_meta``: its data-set record) in the teacher's order (``check_student_columns``)."""
    from synth.checkpoint import load_model, names_checkpoint
    from synth.models import build
    # a FIFO, a device or a folder at a path is a checkpoint load_model names as what it is
    if isinstance(student, (str, os.PathLike)) and (str(student).endswith(".pt")
                                                   or names_checkpoint(student)):
        model = load_model(student)
        if tuple(model.input_shape) != tuple(input_shape) or model.num_classes != num_classes:
            raise UserError(f"student {student} expects input {tuple(model.input_shape)} with "
                            f"{model.num_classes} classes; the teacher has {tuple(input_shape)}, "
                            f"{num_classes}")
        check_student_columns(student, (model.checkpoint_info.get("dataset") or {}),
                              teacher_meta or {})
        check_student_outputs(student, model)
        return model
    return build(student, input_shape, num_classes)


def check_student_outputs(student: Any, model: torch.nn.Module, probes: int = 16) -> None:
    """Refuse a student checkpoint whose outputs overflow (finite weights of 3e38: NaN or
    infinite logits, ``synth.overflow.nonfinite_outputs``) on ``probes`` seeded random
    inputs, the start of every inversion: ADI's competition term (Eq. 8) then made every
    image NaN, and the job failed at the end naming its own output folder ('Parquet data set
    DIR: column x holds NaN or infinite values')."""
    from synth.overflow import refuse_overflow
    x = torch.randn(probes, *model.input_shape, generator=torch.Generator().manual_seed(0))
    refuse_overflow(model, x, f"student {student}", f"{probes} random inputs",
                    "retrain it or choose another --student")


def check_student_columns(student: Any, meta: dict, teacher_meta: dict) -> None:
    """Refuse a student checkpoint trained on a table whose feature columns are not the
    teacher's in the teacher's order (both recorded as ``feature_names``): the pairs feed
    both the same synthesized inputs, so a student of columns b,a for a teacher of a,b
    learnt (and competed on) every input with its features swapped, and was saved as
    students/pair-<i>.pt under the teacher's column names, silently.  Refused rather than
    reordered: its first layer's inputs, its normalization and its file would all have to
    be rewritten, and a student of the teacher's own table is one ``nnsynth train`` away.
    Names are matched as eval matches a table's (``synth.data.spelled_as``); a checkpoint
    without names (written before they were recorded), or of other names where one is of a
    bundled set (``synth.checkpoint.names_by_position``), is taken by position."""
    from synth.checkpoint import columns_differ_detail, columns_relation, names_by_position
    from synth.config import short_repr
    from synth.files import printable
    names, own = teacher_meta.get("feature_names"), meta.get("feature_names")
    if names is None or own is None:
        return
    own = [str(n) for n in own]
    names, relation = columns_relation(names, own)
    if relation == "same" or (relation == "other" and names_by_position(
            teacher_meta.get("name"), meta.get("name"))):
        return
    detail = ("in another order" if relation == "reordered"
              else columns_differ_detail(names, own))
    raise UserError(f"student {printable(str(student))} was trained on the feature columns "
                    f"{short_repr([printable(n) for n in own])}, the teacher on "
                    f"{short_repr([printable(n) for n in names])} ({detail}): give a student "
                    f"trained on a table of the teacher's columns in its order, or a spec")


class PairActor:
    """One teacher and one student on ``num_cpus`` CPUs (torch threads matched to them).

    ``kd`` (a ``DistillConfig`` dict with ``total_steps`` and ``start_step``) makes the
    student learn between rounds (the ADI protocol, see the module docstring); ``slot`` names
    the pair in what it returns.  ``seed`` (the job's) seeds the actor's torch RNG before
    the student is built (``pair_seed``): its initial weights, and the draws of its KD
    (dropout), are the same in every run of the job.  ``kd_state`` (``_kd_state``'s dict, as
    saved after the pair's last shard) and ``pool`` (the images of the shards in it, in
    rounds) resume the KD of a restarted pair where it stopped."""

    def __init__(self, teacher_payload: dict, student_spec: Any = None,
                 student_state: dict | None = None, kd: dict | None = None, slot: int = 0,
                 seed: int = 0, kd_state: dict | None = None, pool: list | None = None):
        from cluster.connect import match_torch_threads
        self.threads = match_torch_threads()
        self.slot = slot
        # validated once in the driver (run_synthesis): the actor only builds it
        self.teacher = model_from_payload(teacher_payload, where="teacher", checked=True)
        self.meta = teacher_payload.get("dataset") or {}
        self.pixel_range = pixel_range(self.meta)
        self.student, self.kd = None, None
        if student_spec is not None:
            # a spec's initial weights came from the unseeded RNG of the actor's process:
            # two runs of one ADI job competed against different students (Eq. 8) and wrote
            # different sets
            torch.manual_seed(pair_seed(seed, slot))
            self.student = resolve_student(student_spec, self.teacher.input_shape,
                                           self.teacher.num_classes)
            if student_state is not None:
                self.student.load_state_dict(student_state)
            self.student.eval()
        if self.student is not None and kd is not None:
            from synth.distill import DistillConfig, PoolKD
            kd = dict(kd)
            total, start = kd.pop("total_steps"), kd.pop("start_step", 0)
            config = DistillConfig.from_dict({**kd, "progress": False})
            self.kd = PoolKD(self.student, self.teacher, config, total_steps=total,
                             start_step=start)
        self.pool_shards: list[int] = []   # the shards whose images are in the KD pool
        if self.kd is not None and kd_state is not None:
            # a restarted pair: the pool it had learned from, its optimizer's momentum and
            # its draws as saved (its student's KD started over on the new rounds alone)
            for images in pool or []:
                self.kd.add(images)
            self.kd.opt.load_state_dict(kd_state["optimizer"])
            self.kd.gen.set_state(kd_state["sampler"])
            augment = getattr(self.kd.loss_fn, "generator", None)
            if augment is not None and kd_state.get("augment") is not None:
                augment.set_state(kd_state["augment"])
            torch.set_rng_state(kd_state["rng"])
            self.pool_shards = [int(i) for i in kd_state["shards"]]

    def synthesize_shard(self, shard: dict) -> dict:
        """``shard`` = {index, seed, labels, config[, generator]}; returns images and per-image
        columns (and, in the ADI protocol, the student's weights after the shard's rounds),
        with ``busy``: the call's wall and process CPU seconds in this actor.
        With ``generator`` (a state dict, amortized synthesis) the shard is sampled from it."""
        wall, cpu = time.perf_counter(), time.process_time()
        out = self._shard(shard)
        out["busy"] = {"seconds": time.perf_counter() - wall,
                       "cpu_seconds": time.process_time() - cpu}
        return out

    def _shard(self, shard: dict) -> dict:
        from synth.inversion import InversionConfig, synthesize
        from synth.synthesis import method_fallback
        config = InversionConfig.from_dict(shard["config"])
        labels = torch.tensor(shard["labels"])
        if shard.get("generator") is not None:
            from synth.amortized import AmortizedConfig, build_generator, sample
            amortized = AmortizedConfig.from_inversion(config)
            generator = build_generator(self.teacher, amortized, self.pixel_range)
            generator.load_state_dict(shard["generator"])
            result = sample(generator, self.teacher, labels, amortized, student=self.student,
                            seed=shard["seed"], warn=False)
            return self._out(method_fallback(self.teacher, labels, config, result,
                                             pixel_range=self.pixel_range,
                                             student=self.student, seed=shard["seed"],
                                             warn=False))
        # A shard's low fidelity is not logged here (warn=False; its stats keep it): the
        # driver says the whole set's once (run_synthesis's summary "warning").  Each pair's
        # line reached the terminal too, through Ray's log forwarding, up to a stage later
        # ("(PairActor pid=...) inversion reached fidelity 0.812 ..." during refine).
        if self.kd is None:   # a shard below the floor made again by a generator, where
            # the settings name one (synth.synthesis.method_fallback)
            result = synthesize(self.teacher, labels, config, pixel_range=self.pixel_range,
                                student=self.student, seed=shard["seed"], warn=False)
            return self._out(method_fallback(self.teacher, labels, config, result,
                                             pixel_range=self.pixel_range,
                                             student=self.student, seed=shard["seed"],
                                             warn=False))
        rounds = []
        for j, b in enumerate(range(0, len(labels), config.batch_size)):
            # one ADI round: synthesize against the current student, then teach it
            rounds.append(synthesize(self.teacher, labels[b:b + config.batch_size], config,
                                     pixel_range=self.pixel_range, student=self.student,
                                     seed=shard["seed"] + j * 1_000_000_007, warn=False))
            self.kd.add(rounds[-1].images)
            self.kd.steps(self.kd.config.kd_steps_per_round)
        self.pool_shards.append(int(shard["index"]))
        from synth.inversion import teacher_class_names   # the warning as synthesize's
        out = self._out(merge_results(rounds, config, teacher_class_names(self.teacher)))
        out.update(student_state={k: v.detach().cpu().clone()
                                  for k, v in self.student.state_dict().items()},
                   kd_steps=self.kd.step, pool=sum(len(x) for x in self.kd.pool_x),
                   kd_state=self._kd_state())
        return out

    def _kd_state(self) -> dict:
        """What a restarted pair needs besides its student's weights to go on as this one
        would: the optimizer's state, the generators of the pool's minibatches and of the KD
        augmentations, torch's RNG, and the shards in the pool (in the order added)."""
        augment = getattr(self.kd.loss_fn, "generator", None)
        return {"optimizer": self.kd.opt.state_dict(), "sampler": self.kd.gen.get_state(),
                "augment": None if augment is None else augment.get_state(),
                "rng": torch.get_rng_state(), "shards": list(self.pool_shards)}

    def train_generator(self, job: dict) -> dict:
        """Amortized synthesis: train the job's generator (``job`` = {seed, config[, group]},
        ``config`` an ``AmortizedConfig`` dict); returns its weights (rank 0 of a group only),
        their digest and the training statistics.  With ``group`` = {dir, rank, size} the
        pairs of the group train it together (``synth.parallel``): each computes its part of
        every batch, exactly (whole-batch statistics, gradients summed every step) or by local
        SGD (``sync_every`` k: own copies averaged every k steps), and all end with the same
        weights."""
        from synth.amortized import AmortizedConfig, train_generator
        config = AmortizedConfig.from_dict(job["config"])
        group, parallel = job.get("group"), None
        cpu = time.process_time()
        if group is not None:
            from cluster.collective import open_group
            parallel = open_group(group["dir"], group["rank"], group["size"])
        try:
            generator, stats = train_generator(self.teacher, config, pixel_range=self.pixel_range,
                                               student=self.student, seed=job["seed"],
                                               parallel=parallel)
        finally:
            if parallel is not None:
                from cluster.collective import close_group
                close_group(parallel, group["dir"])
        stats["cpu_seconds"] = round(time.process_time() - cpu, 3)
        state = {k: v.detach().clone() for k, v in generator.state_dict().items()}
        return {"state": state if group is None or group["rank"] == 0 else None,
                "digest": state_digest(state), "stats": stats, "pid": os.getpid(),
                "threads": self.threads, "slot": self.slot}

    def rendezvous(self) -> str:
        """A fresh directory on this actor's machine where a group of pairs meets."""
        from cluster.collective import rendezvous_dir
        return rendezvous_dir()

    def node(self) -> str:
        """The Ray node this pair runs on (pairs of one node can form a group)."""
        import ray
        return ray.get_runtime_context().get_node_id()

    def _out(self, result) -> dict:
        return {"images": result.images, "labels": result.labels,
                "teacher_confidence": result.teacher_confidence, "loss": result.losses,
                "stats": result.stats, "threads": self.threads, "pid": os.getpid(),
                "slot": self.slot}

    def ping(self) -> int:
        return os.getpid()


def pair_seed(seed: int, slot: int) -> int:
    """The torch seed of pair ``slot`` of a job of ``seed``: each pair's student starts from
    its own weights, the same in every run (shard seeds are ``plan_shards``')."""
    return (int(seed) * 1_000_003 + 500_009 + int(slot)) % (1 << 63)


def state_digest(state: dict) -> str:
    """SHA-256 (first 16 hex digits) of a state dict's names, shapes, dtypes and bytes."""
    h = hashlib.sha256()
    for name in sorted(state):
        t = state[name].detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}:{tuple(t.shape)}:{t.dtype};".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def merge_results(results: list, config: Any = None, class_names=None) -> Any:
    """One ``InversionResult`` from the rounds of a shard (per-image columns concatenated,
    the soft ``targets`` of ``InversionConfig.targets="dirichlet"`` too, in round order;
    per-batch statistics pooled: fidelity by the summed per-class counts (weighted by
    images where a round has none), misses and restarted inputs summed, iterations listed).
    The low-fidelity ``warning`` is the merged shard's, by ``config``'s floor
    (``synth.inversion.fidelity_warning``, the classes by ``class_names``), or none without
    ``config``: the first round's was copied (0.00 of a round of one class, beside a
    merged fidelity above the floor)."""
    from synth.inversion import (InversionResult, class_fidelity, fidelity_warning,
                                 merge_class_counts)
    if len(results) == 1:
        return results[0]
    n = [len(r.labels) for r in results]
    iters = sum((list(r.stats["iterations"]) for r in results), [])
    seconds = sum(r.stats["seconds"] for r in results)
    mean = lambda k: sum(r.stats[k] * r.stats["batches"] for r in results) / len(iters)  # noqa: E731
    # every round's classes (the first round's alone covered a few of them)
    counts = merge_class_counts(r.stats.get("class_counts") for r in results)
    fidelity = counted_fidelity(counts, sum(n), sum(r.fidelity * k for r, k in zip(results, n)))
    stats = {**{k: v for k, v in results[0].stats.items() if k != "warning"},
             "batches": len(iters), "iterations": iters,
             "mean_iterations": sum(iters) / len(iters),
             "bn_loss_initial": mean("bn_loss_initial"), "bn_loss_final": mean("bn_loss_final"),
             "fidelity": fidelity, "class_counts": counts,
             # every round's misses and restarts (the first round's alone were kept)
             "missed": sum(int(r.stats.get("missed", 0)) for r in results),
             "inputs_restarted": sum(r.stats.get("inputs_restarted", 0) for r in results),
             "seconds": round(seconds, 3), "images_per_second": sum(n) / max(seconds, 1e-9)}
    warning = config is not None and fidelity_warning(
        fidelity, config.min_fidelity, config.iterations, class_fidelity(counts, class_names))
    if warning:
        stats["warning"] = warning
    cat = lambda field: torch.cat([getattr(r, field) for r in results])  # noqa: E731
    # the rounds of one shard share one config: all have soft targets, or none has
    assert len({r.targets is None for r in results}) == 1, "rounds of mixed targets"
    return InversionResult(cat("images"), cat("labels"), cat("teacher_confidence"),
                           cat("losses"), stats,
                           targets=None if results[0].targets is None else cat("targets"))


def counted_fidelity(counts: dict | None, rows: int, hits: float) -> float:
    """Hits over inputs of ``synth.inversion.class_counts`` that cover all ``rows`` inputs of
    a set (exact: the figure ``class_fidelity``'s counts add up to), else ``hits`` (summed
    fidelity x inputs of its parts) over ``rows`` (a part's counts unknown, or labels it did
    not count)."""
    if counts is None or not rows or sum(counts["synthesized"]) != rows:
        return hits / max(1, rows)
    return sum(counts["hits"]) / rows


def plan_shards(num_images: int, num_classes: int, shard_size: int, seed: int) -> list[dict]:
    """Shard i covers images [i*shard_size, ...): its own seed, labels cycling over classes."""
    from synth.inversion import balanced_labels
    shards = []
    for i, start in enumerate(range(0, num_images, shard_size)):
        size = min(shard_size, num_images - start)
        shards.append({"index": i, "seed": seed * 1_000_003 + i,
                       "labels": balanced_labels(size, num_classes, offset=start).tolist()})
    return shards


def shard_path(out_dir: Path, index: int) -> Path:
    return out_dir / f"shard-{index:05d}.parquet"


def _complete(path: Path, rows: int) -> bool:
    """A shard counts as done when it is a readable Parquet file with the planned row count."""
    if not path.is_file():
        return False
    try:
        import pyarrow.parquet as pq
        return pq.ParquetFile(path).metadata.num_rows == rows
    except Exception:
        return False


def _check_manifest(out_dir: Path, manifest: dict, replace: bool = False) -> None:
    """Create ``job.json`` or check that an existing one describes the same job; with
    ``replace``, another job's files there are deleted and this job starts afresh."""
    path = out_dir / MANIFEST
    if path.is_file():
        old = _read_manifest(path)
        if old != manifest:
            diff = sorted(k for k in manifest if old.get(k) != manifest[k])
            if replace:
                log.warning("%s holds another synthesis job (differs in %s): starting over",
                            out_dir, ", ".join(diff))
                _remove_job(out_dir)
            elif not job_started(out_dir):
                # a job killed before its first shard (or generator) was written left only
                # its job.json (and perhaps a student saved just before that shard): nothing
                # to resume, so the rerun -- with other settings, or another teacher file --
                # starts; it was refused as 'holds shards of a different synthesis job'
                log.warning("%s held a synthesis job that had written no shards yet (it "
                            "differs in %s): starting this one", out_dir, ", ".join(diff))
                _remove_students(out_dir)
            elif not any(out_dir.glob("shard-*.parquet")):
                raise UserError(f"{out_dir} holds the trained generator ({GENERATOR}) of a "
                                f"different synthesis job, no shards yet (differs in "
                                f"{', '.join(diff)}); rerun that job's command to resume it, "
                                f"or use a new --out directory")
            else:
                raise UserError(f"{out_dir} holds shards of a different synthesis job (differs "
                                f"in {', '.join(diff)}); use a new --out directory")
        else:
            return
    write_json_atomic(path, manifest)


def job_started(out_dir: str | os.PathLike) -> bool:
    """True when the synthesis job in ``out_dir`` wrote work worth resuming: a shard, or the
    trained generator of amortized synthesis."""
    out_dir = Path(out_dir)
    return (out_dir / GENERATOR).is_file() or any(out_dir.glob("shard-*.parquet"))


def _remove_students(out_dir: Path) -> None:
    """Delete the ADI students a job saved (``students/pair-<i>.pt`` and their KD states,
    nnsynth's names only, and temp files of killed writers), and the folder when that
    empties it: a new job's pairs must not start from another job's students."""
    import re
    folder = out_dir / STUDENTS
    if not folder.is_dir() or folder.is_symlink():
        return
    for f in folder.iterdir():
        if re.fullmatch(r"pair-\d+(\.kd)?\.pt", f.name) and f.is_file() and not f.is_symlink():
            f.unlink()
    from synth.files import remove_dead_temps
    remove_dead_temps(folder)   # a killed pair's half-written student (.pair-0.pt.tmpPID.hex)
    try:
        folder.rmdir()
    except OSError:   # someone else's files there: kept
        pass


MAX_MANIFEST_BYTES = 1 << 20   # a job.json is a few hundred bytes


def _read_manifest(path: Path) -> dict:
    """An existing ``job.json``: a JSON object, else a one-line error -- a file of that name
    that nnsynth did not write is neither read as a job nor replaced (it was a JSON
    traceback, and with ``replace`` the folder's shards would have been next)."""
    try:
        if path.stat().st_size <= MAX_MANIFEST_BYTES:
            old = read_json(path, named=False)
            if isinstance(old, dict):
                return old
    except ConfigError as e:   # a key given twice (json kept the last), nested too deep
        raise UserError(f"{path} is not a synthesis job's manifest ({e}); use a new --out "
                        f"directory, or move the file away") from None
    except ValueError:   # not JSON, not UTF-8
        pass
    raise UserError(f"{path} is not a synthesis job's manifest (nnsynth writes a small JSON "
                    f"object there); use a new --out directory, or move the file away")


def _remove_job(out_dir: Path) -> None:
    """Delete what a synthesis job writes in ``out_dir`` (shards, manifest, generator, ADI
    students, grid): a shard of the old plan left there would join the new set.  Of the
    students folder only nnsynth's files go (``_remove_students``): it was removed whole,
    with any file of someone else's in it."""
    for f in [*out_dir.glob("shard-*.parquet"), out_dir / GENERATOR, out_dir / "grid.png",
              out_dir / MANIFEST]:
        f.unlink(missing_ok=True)
    _remove_students(out_dir)


def prepare_out_dir(out_dir: str | os.PathLike) -> Path:
    """Create ``out_dir`` and prove it is writable (one-line error otherwise).  An existing
    directory must be empty, nnsynth's, or a synthesis job's (its ``job.json``): the shards,
    ``grid.png`` and the set read back are never mixed with anyone else's files."""
    from synth.files import check_out_dir
    out = check_out_dir(out_dir, "--out", (MANIFEST,))
    try:
        out.mkdir(parents=True, exist_ok=True)
        # named as atomic_path names its temp files: one a kill left between these lines
        # (.write-test-PID) made the folder 'hold files nnsynth did not write' to the rerun
        import secrets
        probe = out / f".write-test.tmp{os.getpid()}.{secrets.token_hex(6)}"
        with open(probe, "xb"):   # exclusive create: never truncates or deletes a user's file
            pass
        probe.unlink()
    except OSError as e:
        raise UserError(f"output directory {out} is not writable: {e.strerror}") from None
    return out


def _student_file(out: Path, slot: int) -> Path:
    return out / STUDENTS / f"pair-{slot}.pt"


def _kd_file(out: Path, slot: int) -> Path:
    return out / STUDENTS / f"pair-{slot}.kd.pt"


def _saved_student(out: Path, slot: int, expected: dict | None = None
                   ) -> tuple[dict | None, int]:
    """(state dict, KD steps taken) of pair ``slot``'s student as last saved, or (None, 0).
    ``expected``: the job's student's state dict, whose names, shapes and kinds the saved
    weights must have (``_state_problem``): a student of another architecture was loaded in
    its pair, a RayTaskError traceback, and kd_steps 'abc' a ValueError one (h278)."""
    path = _student_file(out, slot)
    if not path.is_file():
        return None, 0
    from synth.checkpoint import read_checkpoint
    payload = read_checkpoint(path)
    steps = payload.get("metrics", {}).get("kd_steps", 0)
    problem = _state_problem(payload["state_dict"], expected) if expected is not None else ""
    if not problem and not (isinstance(steps, int) and not isinstance(steps, bool)
                            and steps >= 0):
        problem = f"its metrics' kd_steps is {printable(repr(steps))[:40]}, not a count"
    if problem:
        raise UserError(f"{path} is not the ADI student this job saved ({problem}); delete "
                        f"the {STUDENTS} folder beside it to start the pairs' students over")
    return payload["state_dict"], steps


def _resumed_student(out: Path, slot: int, student: torch.nn.Module
                     ) -> tuple[dict | None, int, dict | None]:
    """(weights, KD steps, KD state) pair ``slot`` of an ADI job resumes from
    (``_saved_student``, ``_saved_kd_state``; (None, 0, None): none saved), checked against
    the job's ``student``: a file of another student is a one-line UserError."""
    state, steps = _saved_student(out, slot, student.state_dict())
    kd_state = None if state is None else _saved_kd_state(
        out, slot, steps, [p.shape for p in student.parameters() if p.requires_grad])
    return state, steps, kd_state


def _save_kd_state(out: Path, slot: int, kd_steps: int, state: dict) -> None:
    """Pair ``slot``'s KD state after ``kd_steps`` steps (``PairActor._kd_state``), written
    before its student (``_saved_kd_state`` takes it only with a student of as many steps)."""
    from synth.files import atomic_path
    with atomic_path(_kd_file(out, slot)) as tmp:
        torch.save({"kd_steps": int(kd_steps), **state}, tmp)


def _saved_kd_state(out: Path, slot: int, kd_steps: int,
                    params: list | None = None) -> dict | None:
    """Pair ``slot``'s saved KD state when it goes with its saved student (``kd_steps``),
    else None (none saved: an older version's job; or a kill between the two files): the
    pair then resumes with an empty pool and a fresh optimizer.  A file nnsynth did not
    write is a one-line error."""
    path = _kd_file(out, slot)
    if not path.is_file():
        return None
    from synth.checkpoint import load_tensor_file
    saved = load_tensor_file(path, "ADI student's KD state")
    byte_state = lambda v: isinstance(v, torch.Tensor) and v.dtype == torch.uint8  # noqa: E731
    opt = saved.get("optimizer") if isinstance(saved, dict) else None
    if not (isinstance(opt, dict) and isinstance(opt.get("state"), dict)
            and isinstance(opt.get("param_groups"), list)
            and byte_state(saved.get("sampler")) and byte_state(saved.get("rng"))
            and (saved.get("augment") is None or byte_state(saved["augment"]))
            and isinstance(saved.get("shards"), list)
            and all(isinstance(i, int) and not isinstance(i, bool) for i in saved["shards"])
            and isinstance(saved.get("kd_steps"), int)):
        raise UserError(f"{path} is not an ADI student's KD state nnsynth saved; delete it to "
                        f"resume that pair with an empty pool")
    problem = _optimizer_problem(opt, params) if params is not None else ""
    for name in ("sampler", "rng", "augment"):   # each a CPU generator's state, set in the
        try:                                      # pair: a RuntimeError traceback there
            if saved.get(name) is not None and not problem:
                torch.Generator().set_state(saved[name])
        except RuntimeError:   # 'Expected a CPUGeneratorImplState of size 5056', 'Invalid
            problem = f"its {name} is no random generator's state"   # mt19937 state'
    if problem:   # loaded in the pair: a ValueError ('a parameter group that doesn't match')
        # or RuntimeError (a momentum of another shape) traceback from Ray (h278)
        raise UserError(f"{path} is not the KD state of this job's student ({problem}); "
                        f"delete it to resume that pair with an empty pool")
    if saved["kd_steps"] != kd_steps:
        log.info("%s is of %d KD steps, the student beside it of %d: the pair resumes with "
                 "an empty pool", path, saved["kd_steps"], kd_steps)
        return None
    return saved


def _optimizer_problem(opt: dict, params: list) -> str:
    """What makes the optimizer state ``opt`` no state of an optimizer over parameters of the
    shapes ``params`` (in order: the student's trainable parameters, as ``PoolKD`` gives them),
    in words; '' when nothing."""
    given = [i for group in opt["param_groups"] if isinstance(group, dict)
             for i in (group.get("params") if isinstance(group.get("params"), list) else [None])]
    if sorted(given, key=str) != list(range(len(params))):
        return (f"its parameter groups list {len(given)} parameters, the student has "
                f"{len(params)}")
    for index, entry in opt["state"].items():
        if not (isinstance(index, int) and 0 <= index < len(params) and isinstance(entry, dict)):
            return f"its state names parameter {printable(repr(index))[:40]}"
        for key, value in entry.items():
            if not torch.is_tensor(value) or value.dim() == 0:
                continue   # Adam's step, a count
            if tuple(value.shape) != tuple(params[index]) or (
                    value.is_floating_point() and not bool(torch.isfinite(value).all())):
                return (f"its {printable(str(key))[:40]} of parameter {index} is of shape "
                        f"{tuple(value.shape)} or not finite; the parameter's shape is "
                        f"{tuple(params[index])}")
    return ""


def _pool_images(out: Path, state: dict, shards: list[dict], input_shape,
                 batch_size: int) -> list:
    """The images of the shards in a pair's saved pool (``state["shards"]``), read back from
    the shards written, in rounds of ``batch_size`` as the pair added them; a shard not on
    disk (a kill before it was written: it is made again) is left out."""
    from synth.data import parquet_arrays, read_parquet_table
    rows = {s["index"]: len(s["labels"]) for s in shards}
    pool = []
    for index in state["shards"]:
        path = shard_path(out, index)
        if index not in rows or not _complete(path, rows[index]):
            continue
        table, _ = read_parquet_table(path)
        x = torch.from_numpy(parquet_arrays(table, tuple(input_shape), f"shard {path}")[0].copy())
        pool += [x[b:b + batch_size] for b in range(0, len(x), batch_size)]
    return pool


def adi_settings(config, student) -> tuple[Any, str | None]:
    """(settings the job runs, a line saying why they differ or None): with a ``student`` and
    ``config.adi_weight`` > 0 (Adaptive DeepInversion) where ``config.method`` names a
    generator (``settings_for``'s pick for the teacher), the ADI protocol runs per pixel
    instead -- each batch optimized against the pair's student as the rounds before left it
    (Eq. 8), the student learning by KD between rounds, as ``synth.distill.adi_distill``
    does.  The generator's path has no such student: it trained and sampled against the
    student as initialized, which never learned (no KD, nothing saved), so the competition
    term pushed the inputs towards where an untrained network disagrees with the teacher."""
    if (getattr(config, "method", "deepinversion") != "amortized" or student is None
            or not config.adi_weight > 0):
        return config, None
    return config.replace(method="deepinversion"), (
        "ADI synthesizes per pixel: the inversion settings name a generator (method "
        "'amortized') for this teacher, but ADI's competition needs a student that learns "
        "between rounds, which the generator's path does not have")


def run_synthesis(teacher_path: str | os.PathLike, out_dir: str | os.PathLike, num_images: int,
                  pairs: int, config, *, student_spec: Any = None, seed: int = 0,
                  shard_size: int = 256, progress: bool = False, distill=None,
                  on_shard: Callable[[dict, Any], None] | None = None,
                  replace: bool = False, address: str | None = None,
                  num_cpus: int | None = None) -> dict:
    """Synthesize ``num_images`` images from the teacher checkpoint on ``pairs`` pair actors
    (1 CPU each) into ``out_dir``; Ray must be connected (``cluster.connect.connect``).

    ``config`` is a ``synth.inversion.InversionConfig``; ``student_spec`` (spec, variant or
    ``*.pt`` path) with ``config.adi_weight > 0`` runs the ADI protocol: each pair's student
    learns by KD between rounds (``distill``, a ``synth.distill.DistillConfig``; default
    ``DistillConfig(seed=seed)``), per pixel even where ``config.method`` names a generator
    (``adi_settings``: the summary's ``adi_note`` says so).  ``on_shard(info, pool)`` runs in
    the driver after each
    shard is written.  ``out_dir`` holding another job's shards (other teacher, settings,
    count or seed) is an error, or with ``replace`` (a directory the caller owns, such as
    ``nnsynth run``'s ``synthetic/``) their files are deleted first.  Ray is connected
    (``cluster.connect.connect(address, num_cpus)``; idempotent) only once there are shards
    to make, after what a resumed job takes from its earlier run (generator.pt, the ADI
    students and their KD state) is checked.  Returns a summary
    (shards written/skipped, pairs used, images/s, ``restarts`` of pair actors,
    ``inputs_restarted``: stuck inputs drawn again in every shard of the set, those a
    resumed job kept included, as each shard's metadata records its count...)."""
    import ray
    from cluster.pool import ResilientActorPool
    from synth.checkpoint import read_checkpoint_and_checksum
    from synth.data import write_parquet
    from synth.inversion import (check_teacher, class_fidelity, fidelity_warning,
                                 merge_class_counts)

    # the teacher file is read and checked once here; actors get the payload through the
    # object store (one ray.put) and build their own copy from it
    payload, checksum = read_checkpoint_and_checksum(teacher_path)
    teacher = model_from_payload(payload, where=str(teacher_path))
    check_teacher(teacher, str(teacher_path))   # BatchNorm with running statistics
    meta = dict(payload.get("dataset") or {})
    pixel_range(meta)
    student = None
    if student_spec is not None:
        student = resolve_student(student_spec, teacher.input_shape, teacher.num_classes,
                                  teacher_meta=meta)
    config, adi_note = adi_settings(config, student)
    if adi_note:
        log.info("%s", adi_note)
    kd, amortized = None, None
    if getattr(config, "method", "deepinversion") == "amortized":
        from synth.amortized import AmortizedConfig, check_bounded
        amortized = AmortizedConfig.from_inversion(config)   # checked here, before any actor
        check_bounded(*pixel_range(meta))   # a range to squash into (none in old checkpoints)
    elif student is not None and config.adi_weight > 0:   # the ADI protocol: students learn
        from synth.distill import DistillConfig
        kd = distill or DistillConfig(seed=seed, device=config.device)
    if num_images < teacher.num_classes:
        from synth.config import value_error
        raise value_error("num_images", num_images,
                          f"must be >= the number of classes ({teacher.num_classes})")
    from synth.config import check_range
    check_range("num_images", num_images, 1, MAX_IMAGES, integer=True)
    check_range("pairs", pairs, 1, MAX_PAIRS, integer=True)
    check_range("shard_size", shard_size, 1, MAX_SHARD_SIZE, integer=True)
    out = prepare_out_dir(out_dir)
    _check_manifest(out, {"teacher_checksum": checksum, "num_images": num_images,
                          "shard_size": shard_size, "seed": seed, "config": config.to_dict(),
                          "student": json.dumps(student_spec, sort_keys=True, default=str),
                          **({"distill": kd.to_dict()} if kd is not None else {})},
                    replace=replace)
    shards = plan_shards(num_images, teacher.num_classes, shard_size, seed)
    pending = [s for s in shards if not _complete(shard_path(out, s["index"]), len(s["labels"]))]
    for s in pending:
        s["config"] = config.to_dict()
    # what a resumed job takes from its earlier run is checked here, in the driver, before
    # Ray or any pair starts (checked as each pair started, a bad file was refused ~20 s
    # into the run under load, h278): the generator, and below each ADI pair's student
    saved_generator = (_saved_generator(out, expected_generator(teacher, amortized, meta))
                       if amortized is not None else None)
    if 0 < len(pending) < len(shards):   # a rerun of an interrupted job said nothing of it,
        # and its bar counted the shards left from 0 (0/5 of a job of 8)
        log.warning("resuming the synthesis in %s: %d of %d shards were written by an earlier "
                    "run of this job; %d left", out, len(shards) - len(pending), len(shards),
                    len(pending))
    used = min(pairs, len(pending))
    summary = {"out_dir": str(out), "shards": len(shards), "skipped": len(shards) - len(pending),
               "written": 0, "images": num_images, "images_written": 0, "pairs": used,
               "pairs_requested": pairs,
               "protocol": "adi" if kd is not None else config.method,
               "teacher_checksum": checksum, "restarts": 0, "fidelity": None,
               # inputs drawn again from noise (synth.inversion restart_missed) in every shard
               # of the set: those kept from an earlier run of the job as their metadata
               # records them (synthesis.inputs_restarted), and those written below
               "inputs_restarted": 0,
               **({"adi_note": adi_note} if adi_note else {})}
    if amortized is not None and amortized.iteration_report() is not None:
        # what the iteration cap bounds on the generator's path (and what it cannot)
        from synth.amortized import iteration_note
        summary["iteration_cap"] = amortized.iteration_report()
        if iteration_note(summary["iteration_cap"]):
            log.info("%s", iteration_note(summary["iteration_cap"]))
    if 0 < used < pairs:  # one pair per shard at most: more would sit idle (a finished
        # job uses none, and its rerun said '0 of 1 pairs used: only 0 shards left')
        summary["pairs_note"] = (f"{used} of {pairs} pairs used: only {len(pending)} shard"
                                 f"{'s' if len(pending) != 1 else ''} left to synthesize "
                                 f"(a pair works on one shard at a time; shard_size "
                                 f"{shard_size})")
        log.warning("%s", summary["pairs_note"])
    # a resumed job's fidelity and restarted inputs cover the whole set: the shards kept
    # from the earlier run too (a rerun counted only the shards it wrote, so the figure
    # hung on whether the job had been interrupted)
    kept_hits, kept_rows, kept_restarted, kept_fallbacks, kept_classes = _kept_on_disk(
        teacher, [(s["index"], shard_path(out, s["index"])) for s in shards if s not in pending])
    # per target class (synth.inversion.class_counts), the kept shards' and each written one's
    # counts summed: a figure per class of the whole set, as the fidelity is
    classes = [kept_classes]
    class_names = meta.get("class_names")
    summary["inputs_restarted"] = kept_restarted
    # the shards made again per pixel, kept ones as their metadata records it (a rerun listed
    # only those it wrote); checked: the shards the list covers (fallback_checked)
    checked = 0 if kept_fallbacks is None else len(shards) - len(pending)
    if kept_fallbacks:
        summary.update(fallback_shards=kept_fallbacks, fallback_checked=checked)
    if kept_restarted is None:
        summary["inputs_restarted_note"] = (
            "shards kept from an earlier run record no count of restarted inputs (written "
            "by an nnsynth before the count was recorded): the set's total is unknown")
    if not pending:
        # the generator the set was made with, as a resumed job reports it (a rerun of a
        # job whose shards were all written, interrupted before it ended, said nothing of it)
        if saved_generator is not None:
            summary["generator"] = saved_generator[1]
            summary["generator_pairs"] = saved_generator[1].get("pairs", 0)
        summary["fidelity"] = kept_hits / kept_rows if kept_rows else None
        summary["class_fidelity"] = class_fidelity(kept_classes, class_names)
        warning = summary["fidelity"] is not None and fidelity_warning(
            summary["fidelity"], config.min_fidelity, config.iterations,
            summary["class_fidelity"])
        if warning:
            summary["warning"] = warning
        return summary
    meta["name"] = f"inverted:{meta.get('name', 'unknown')}"
    meta["synthesis"] = {"teacher_checksum": checksum, "config": config.to_dict(),
                         "student": student_spec if student_spec is None or isinstance(
                             student_spec, (str, dict)) else str(student_spec)}
    # each ADI pair's saved student and KD state, for its first start (a restarted pair
    # reads its latest from disk): every slot a pair may take (ADI gives shard i to pair
    # i mod lanes, lanes at most this many)
    first_start = ({slot: _resumed_student(out, slot, student)
                    for slot in range(min(pairs, len(shards)))} if kd is not None else {})
    from cluster.connect import connect
    connect(address=address, num_cpus=num_cpus)   # idempotent: a caller that did not
    # connect gets the loopback-bound local Ray
    cpus = int(ray.cluster_resources().get("CPU", 0))
    if used > max(cpus, 1):  # a pair needs a CPU: an unplaceable one would be waited on forever
        summary["pairs_note"] = (f"{cpus} of {pairs} pairs used: the cluster has {cpus} "
                                 f"CPU{'s' if cpus != 1 else ''} and a pair takes one")
        log.warning("%s", summary["pairs_note"])
        used = summary["pairs"] = max(cpus, 1)
    # the pairs' slots: in the ADI protocol shard i is pair (i mod lanes)'s, which runs its
    # shards in order, so that a pair's student has learned from the same shards before each
    # of its own in every run and on a resume.  Handed to whichever pair was free first,
    # two runs of one job with --pairs 2 wrote different sets and students (the shards a
    # pair's student had seen hung on which pair finished first)
    lanes = min(pairs, len(shards), max(cpus, 1)) if kd is not None else used
    slots = sorted({s["index"] % lanes for s in pending}) if kd is not None else list(range(used))
    if len(slots) < used:
        summary["pairs_note"] = (f"{len(slots)} of {pairs} pairs used: the shards left are "
                                 f"those of {len(slots)} pair{'s' if len(slots) != 1 else ''} "
                                 f"(ADI gives shard i to pair i mod {lanes})")
        log.warning("%s", summary["pairs_note"])
        used = summary["pairs"] = len(slots)
    teacher_ref = ray.put(payload)
    actor_cls = ray.remote(num_cpus=1, max_restarts=0)(PairActor)
    kd_dict = None
    if kd is not None:  # the cosine horizon: a pair's share of the job's rounds
        rounds = math.ceil(len(shards) / lanes) * math.ceil(shard_size / config.batch_size)
        kd_dict = {**kd.to_dict(), "total_steps": rounds * kd.kd_steps_per_round
                   + kd.final_kd_steps}

    def make_pair(slot: int):
        """A pair actor; in the ADI protocol its student resumes from its saved weights."""
        state, steps, kd_state = (first_start.pop(slot, None) or _resumed_student(
            out, slot, student)) if kd is not None else (None, 0, None)
        pool = None if kd_state is None else _pool_images(
            out, kd_state, shards, teacher.input_shape, config.batch_size)
        return actor_cls.remote(teacher_ref, student_spec, state,
                                None if kd_dict is None else {**kd_dict, "start_step": steps},
                                slot=slot, seed=seed, kd_state=kd_state, pool=pool)

    pool = ResilientActorPool(lambda i: make_pair(slots[i]), size=used)
    first_start.clear()   # the slots no pair took
    t0 = time.perf_counter()
    pool.call_all("ping")  # actors up (torch imported, teacher built) before the clock starts
    start = time.perf_counter()
    if amortized is not None:   # one generator per job, trained by the pairs, sampled by all
        generator, summary["generator"] = _job_generator(pool, out, amortized, seed,
                                                         saved_generator)
        summary["generator_seconds"] = round(time.perf_counter() - start, 3)
        summary["generator_pairs"] = summary["generator"].get("pairs", 0)
        for s in pending:
            s["generator"] = generator
    sampling = time.perf_counter()
    correct = 0.0
    kd_steps: dict[int, int] = {}   # pair -> its student's KD steps so far
    bar = tqdm(total=len(shards), initial=len(shards) - len(pending), desc="shards",
               disable=not progress)
    try:
        for shard, res in pool.map_unordered(
                "synthesize_shard", pending, slot_of=None if kd is None else (
                    lambda s: slots.index(s["index"] % lanes))):
            n = len(res["labels"])
            path = shard_path(out, shard["index"])
            if "student_state" in res:  # saved before the shard (the commit point), so a
                # rerun's pair starts from a student that has seen every written shard
                from synth.checkpoint import save_checkpoint
                _save_kd_state(out, res["slot"], res["kd_steps"], res["kd_state"])
                student.load_state_dict(res["student_state"])
                save_checkpoint(_student_file(out, res["slot"]), student,
                                dataset=payload.get("dataset") or {},
                                metrics={"kd_steps": res["kd_steps"], "pool": res["pool"]},
                                extra={"role": "ADI student", "last_shard": shard["index"]})
                kd_steps[res["slot"]] = res["kd_steps"]
            restarted = int(res["stats"].get("inputs_restarted", 0))
            # the shard's own count in its metadata, written with it: a rerun reads it back
            # and whether it was made again per pixel (its fidelities, not its seconds: two
            # runs of one job write the same shards)
            fallback = res["stats"].get("fallback")
            shard_meta = {**meta, "synthesis": {
                **meta["synthesis"], "inputs_restarted": restarted,
                "fallback": None if fallback is None else {
                    k: v for k, v in fallback.items() if not k.endswith("_seconds")}}}
            write_parquet(path, res["images"], res["labels"], shard_meta, extra_columns={
                "teacher_confidence": res["teacher_confidence"].float(), "loss": res["loss"].float(),
                "seed": [shard["seed"]] * n, "teacher_checksum": [checksum] * n})
            correct += res["stats"]["fidelity"] * n
            classes.append(res["stats"].get("class_counts"))
            if summary["inputs_restarted"] is not None:
                summary["inputs_restarted"] += restarted
            if "fallback" in res["stats"]:   # made again by the other method
                summary.setdefault("fallback_shards", []).append(
                    {"index": shard["index"], **res["stats"]["fallback"]})
            checked += 1
            busy = summary.setdefault("pair_busy", {}).setdefault(
                res["slot"], {"shards": 0, "seconds": 0.0, "cpu_seconds": 0.0})
            busy["shards"] += 1
            for key in ("seconds", "cpu_seconds"):
                busy[key] = round(busy[key] + res["busy"][key], 3)
            summary["written"] += 1
            summary["images_written"] += n
            bar.update(1)
            bar.set_postfix(shard=shard["index"], fidelity=f"{res['stats']['fidelity']:.3f}",
                            iters=f"{res['stats'].get('mean_iterations', 0):.0f}")
            if on_shard is not None:
                on_shard({"index": shard["index"], "path": str(path), "rows": n,
                          "stats": res["stats"], "pid": res["pid"]}, pool)
    finally:
        bar.close()
        summary["restarts"] = pool.restarts
        pool.shutdown()
    seconds = time.perf_counter() - start
    if "fallback_shards" in summary:   # in shard order: as the pairs finished them, two runs
        # of one job with --pairs 2 listed them in different orders
        summary["fallback_shards"].sort(key=lambda r: r["index"])
        summary["fallback_checked"] = checked
    # the set's fidelity from the per-class counts where every shard has them (exact, so
    # that it and class_fidelity agree; a sum of fidelity x inputs per shard put 15 hits of
    # 22 at 14.999999999999998), else weighted by inputs
    counts, rows = merge_class_counts(classes), summary["images_written"] + kept_rows
    summary.update(seconds=round(seconds, 3), startup_seconds=round(start - t0, 3),
                   images_per_second=summary["images_written"] / max(seconds, 1e-9),
                   marginal_images_per_second=summary["images_written"] / max(
                       time.perf_counter() - sampling, 1e-9),
                   fidelity=counted_fidelity(counts, rows, correct + kept_hits))
    if kd is not None:
        summary["student_kd_steps"] = kd_steps
    summary["class_fidelity"] = class_fidelity(counts, class_names)
    warning = fidelity_warning(summary["fidelity"], config.min_fidelity, config.iterations,
                               summary["class_fidelity"])
    if warning:
        summary["warning"] = warning
    return summary


def shard_restarts(meta: dict) -> int | None:
    """The inputs drawn again from noise in one shard, as its metadata records them
    (``synthesis.inputs_restarted``, written with the shard), or None where it records none
    (a shard written before the count was recorded)."""
    synthesis = meta.get("synthesis")
    value = synthesis.get("inputs_restarted") if isinstance(synthesis, dict) else None
    return value if type(value) is int and value >= 0 else None


# a shard's ``synthesis.fallback`` record (``synth.synthesis.method_fallback``'s less its
# seconds): each key and what its value must be; the first three in every record (first and
# the iteration cap are absent from shards written before they were recorded; seconds, from
# those written since they were left out)
FALLBACK_METHODS = ("generator", "per_pixel")
FALLBACK_FIELDS = {"kept": FALLBACK_METHODS, "generator_fidelity": "fraction",
                   "per_pixel_fidelity": "fraction", "first": FALLBACK_METHODS,
                   "generator_iteration_cap": "report", "generator_seconds": "seconds",
                   "per_pixel_seconds": "seconds"}


def shard_fallback(meta: dict, where: str = "shard") -> tuple[bool, dict | None]:
    """(recorded, record): what one shard's metadata says of the fallback to the other method
    (``synthesis.fallback``, written with the shard: ``synth.synthesis.method_fallback``'s
    ``stats["fallback"]`` less its seconds, or None where the shard was not made again);
    ``recorded`` is False for a shard written before it was recorded.  A record that is not
    one nnsynth writes (``FALLBACK_FIELDS``) is a one-line UserError naming ``where`` (the
    shard): a resumed job put it in its summary as it was, and ``cluster.invert.
    fallback_note`` read it -- {"first": "x"}, or one without "kept", was a KeyError
    traceback, a 10^30 fidelity went to the JSON."""
    synthesis = meta.get("synthesis")
    if not isinstance(synthesis, dict) or "fallback" not in synthesis:
        return False, None
    record = synthesis["fallback"]
    if record is None:
        return True, None
    problem = _fallback_problem(record)
    if problem:
        raise UserError(f"{where}'s metadata synthesis.fallback is not one nnsynth writes "
                        f"({problem}); delete the shard to make it again")
    return True, record


def _fallback_problem(record) -> str:
    """What makes ``record`` other than a ``synthesis.fallback`` nnsynth writes, in words;
    '' when nothing."""
    from synth.config import range_message, short_repr
    from synth.files import plain_problem
    if not isinstance(record, dict):
        return f"a {type(record).__name__}, not a mapping"
    for key, value in record.items():
        rule = FALLBACK_FIELDS.get(key)
        if rule is None:
            return f"an unknown key {short_repr(key, 40)}"
        if isinstance(rule, tuple):
            ok = isinstance(value, str) and value in rule
        elif rule in ("fraction", "seconds"):   # a finite number in [0, 1] or >= 0
            ok = (value is None and rule == "seconds") or range_message(
                key, value, 0, 1 if rule == "fraction" else None) is None
        else:   # AmortizedConfig.iteration_report: None or a small mapping of plain values
            ok = value is None or (isinstance(value, dict) and not plain_problem(value))
        if not ok:
            return f"{key} is {short_repr(value, 40)}"
    missing = [k for k in list(FALLBACK_FIELDS)[:3] if k not in record]
    return f"no {missing[0]}" if missing else ""


def _kept_on_disk(teacher, shards: list[tuple[int, Path]]
                  ) -> tuple[int, int, int | None, list[dict] | None, dict]:
    """(inputs the teacher assigns to their label, inputs, inputs restarted, fallback records,
    per-class counts) over the shards ``(index, path)``; the third is None where a shard
    records no count (``shard_restarts``), the fourth (``{"index": i, **record}`` of each
    shard made again per pixel) None where a shard records nothing of it
    (``shard_fallback``), the last ``synth.inversion.class_counts`` of them all."""
    from synth.inversion import class_counts, merge_class_counts
    if not shards:
        return 0, 0, 0, [], class_counts([], [], teacher.num_classes)
    import torch
    from synth.data import parquet_arrays, read_parquet_table
    from synth.distill import teacher_logits
    hits = rows = 0
    counts = []
    restarted: int | None = 0
    fallbacks: list[dict] | None = []
    for index, path in shards:   # the rows as written, whatever split a data set makes of them
        table, meta = read_parquet_table(path)
        count = shard_restarts(meta)
        restarted = None if restarted is None or count is None else restarted + count
        recorded, record = shard_fallback(meta, f"shard {printable(str(path))}")
        if not recorded:
            fallbacks = None
        elif record is not None and fallbacks is not None:
            fallbacks.append({"index": index, **record})
        x, y = parquet_arrays(table, tuple(teacher.input_shape), f"shard {path}")
        # a copy: Parquet's arrays are read-only, and torch warned of it on every rerun
        predicted = teacher_logits(teacher, torch.from_numpy(x.copy())).argmax(1)
        hits += int((predicted == torch.from_numpy(y)).sum())
        rows += len(y)
        counts.append(class_counts(predicted, torch.from_numpy(y), teacher.num_classes))
    return hits, rows, restarted, fallbacks, merge_class_counts(counts)


def _saved_generator(out: Path, expected: dict | None = None) -> tuple[dict, dict] | None:
    """(state dict, training stats marked ``resumed``) of the generator a run of this job
    saved in ``out`` (``_job_generator``), or None where there is none.  ``expected``: the
    state dict of this job's generator (``expected_generator``), whose names, shapes and
    kinds the saved one must have, its values finite: one of other shapes was sampled in
    the pairs, a RayTaskError traceback (size mismatch) once the run had started."""
    path = out / GENERATOR
    if not path.is_file():
        return None
    from synth.checkpoint import load_tensor_file   # read like a checkpoint: a damaged or
    saved = load_tensor_file(path, "generator")     # crafted file is one line
    if (not isinstance(saved, dict) or not isinstance(saved.get("state_dict"), dict)
            or not isinstance(saved.get("stats"), dict)):
        raise UserError(f"generator {path} is not one nnsynth saved (state_dict and stats); "
                        f"delete it to train the generator again")
    problem = _stats_problem(saved["stats"])
    if problem:   # its stats are the summary's "generator" as they are: pairs -5, a
        # fidelity of 7, a 700 kB device name went to the JSON (h278)
        raise UserError(f"generator {path} is not one nnsynth saved ({problem}); delete it "
                        f"to train the generator again")
    problem = _state_problem(saved["state_dict"], expected) if expected is not None else ""
    if problem:
        raise UserError(f"generator {path} is not this job's generator ({problem}); delete it "
                        f"to train the generator again")
    return saved["state_dict"], {**saved["stats"], "resumed": True}


# What a saved generator's stats may hold (``_job_generator`` saves them): those of
# synth.amortized.train_generator less its history, the pair's cpu_seconds and
# ``_group_generator``'s; each name -> its kind (``_value_problem``).  Every one may be
# missing (an older nnsynth's file had fewer); a name not listed is refused.
PARALLEL_STATS = {"mode": ("local", "exact"), "ranks": "count", "sync_every": "count",
                  "collectives": "count", "collective_seconds": "seconds"}
GENERATOR_STATS = {"steps": "count", "kept_step": "count", "pairs": "count",
                   "seconds": "seconds", "cpu_seconds": "seconds", "loss_first": "real",
                   "loss_kept": "real", "bn_loss_first": "real", "bn_loss_kept": "real",
                   "fidelity_first": "fraction", "fidelity_kept": "fraction",
                   "device": "device", "same_weights": "bool", "parallel": PARALLEL_STATS,
                   "rank_cpu_seconds": ["seconds"], "rank_seconds": ["seconds"],
                   "rank_collective_seconds": ["seconds"]}


def _value_problem(value: Any, kind: Any) -> str:
    """'' when ``value`` is of ``kind`` ('count': an integer >= 0; 'seconds': a finite number
    >= 0; 'real': a finite number; 'fraction': one in [0, 1]; 'bool'; 'device': a torch device
    name; a tuple: one of its strings; [kind]: a list of at most MAX_PAIRS of them, one a
    pair; a dict: a mapping of those names, ``_stats_problem``), else what was expected."""
    import re
    if isinstance(kind, dict):   # its own names: _stats_problem
        return "" if isinstance(value, dict) else "expected a mapping"
    if isinstance(kind, list):
        if not isinstance(value, list) or len(value) > MAX_PAIRS:
            return f"expected a list of at most {MAX_PAIRS} values"
        return next((p for p in (_value_problem(v, kind[0]) for v in value) if p), "")
    if isinstance(kind, tuple):
        return "" if value in kind and isinstance(value, str) else f"expected one of {kind}"
    if kind == "bool":
        return "" if isinstance(value, bool) else "expected true or false"
    if kind == "device":
        return ("" if isinstance(value, str) and re.fullmatch(r"[a-z]{1,16}(:[0-9]{1,4})?", value)
                else "expected a device name such as cpu or cuda:0")
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "count":
        return "" if number and isinstance(value, int) and value >= 0 else "expected a count"
    low, high = {"seconds": (0.0, math.inf), "fraction": (0.0, 1.0)}.get(
        kind, (-math.inf, math.inf))
    if number and math.isfinite(value) and low <= value <= high:
        return ""
    return {"seconds": "expected finite seconds >= 0",
            "fraction": "expected a fraction in [0, 1]"}.get(kind, "expected a finite number")


def _stats_problem(stats: dict, schema: dict = GENERATOR_STATS, where: str = "") -> str:
    """What in ``stats`` (a saved generator's; ``where``: the names above a nested mapping's,
    'parallel.') is not what ``schema`` says nnsynth writes there, in words; '' when
    nothing."""
    from synth.config import short_repr
    for key, value in stats.items():
        if key not in schema:
            return (f"its stats hold {printable(short_repr(where + str(key), 60))}, which "
                    f"nnsynth does not write")
        problem = _value_problem(value, schema[key])
        if not problem and isinstance(schema[key], dict):
            problem = _stats_problem(value, schema[key], f"{where}{key}.")
            if problem:
                return problem
        if problem:
            return f"its stats' {where}{key} is {printable(short_repr(value, 40))}, {problem}"
    return ""


def expected_generator(teacher: torch.nn.Module, amortized, meta: dict) -> dict:
    """The state dict (freshly initialized) of the generator ``amortized`` builds for
    ``teacher`` and its data set's record ``meta``: what a saved one is checked against."""
    from synth.amortized import build_generator
    return build_generator(teacher, amortized, pixel_range(meta)).state_dict()


def _state_problem(state: dict, expected: dict) -> str:
    """What makes ``state`` no state dict of a module whose own is ``expected``, in words
    ('' when nothing; ``synth.checkpoint.state_mismatch``): other names, a value that is no
    dense tensor of the expected shape and dtype, or a NaN or infinite value."""
    from synth.checkpoint import state_mismatch
    mismatch = state_mismatch(state, expected)
    if mismatch is None:
        return ""
    kind, name = mismatch
    if kind == "missing":
        return f"it lacks the weight {printable(name)[:80]}"
    if kind == "unexpected":
        return f"it holds the weight {printable(name)[:80]}, which this one has not"
    if kind == "nonfinite":
        return f"its {printable(name)[:80]} holds NaN or infinite values"
    got, want = state[name], expected[name]
    shown = (f"a {str(got.dtype).replace('torch.', '')} tensor of shape {tuple(got.shape)}"
             if torch.is_tensor(got) else type(got).__name__)
    return (f"its {printable(name)[:80]} is {shown}, where a "
            f"{str(want.dtype).replace('torch.', '')} tensor of shape {tuple(want.shape)} is "
            f"due")


def _job_generator(pool, out: Path, config, seed: int,
                   saved: tuple[dict, dict] | None = None) -> tuple[dict, dict]:
    """(state dict, training stats) of the job's generator: ``saved`` (``_saved_generator``:
    the ``out/generator.pt`` a run of this job saved) when there is one, else trained and
    saved there first.  The pairs on the
    node with the most of them train it together (data-parallel warm-up, ``_group_generator``);
    a single pair, or a group that fails (a pair dies), trains it on one pair."""
    from synth.files import atomic_path
    path = out / GENERATOR
    if saved is not None:
        return saved
    job = {"seed": seed, "config": config.to_dict()}
    res = _group_generator(pool, job, config.max_ranks()) if len(pool) > 1 else None
    if res is None:
        (_, res), = pool.map_unordered("train_generator", [job])
        res["stats"]["pairs"] = 1
    stats = {k: v for k, v in res["stats"].items() if k != "history"}
    with atomic_path(path) as tmp:
        torch.save({"state_dict": res["state"], "stats": stats}, tmp)
    return res["state"], stats


def _group_generator(pool, job: dict, max_ranks: int) -> dict | None:
    """Train the generator data-parallel on the pairs of one node (the node with the most
    pairs; at most ``max_ranks`` of them, ``AmortizedConfig.max_ranks``); the result of rank 0
    with ``stats["pairs"]``, ``stats["same_weights"]`` (every rank's weights have the same
    digest) and per rank its CPU seconds, wall seconds and wall seconds in collectives
    (waits), or None when fewer than two pairs can form a group or the group failed (its
    pairs are then restarted)."""
    import ray
    from collections import Counter
    nodes = ray.get([a.node.remote() for a in pool.actors])
    node, _ = Counter(nodes).most_common(1)[0]
    slots = [i for i, n in enumerate(nodes) if n == node][:max_ranks]
    if len(slots) < 2:
        return None
    directory = None
    try:
        directory = ray.get(pool.actors[slots[0]].rendezvous.remote())
        refs = [pool.actors[slot].train_generator.remote(
            {**job, "group": {"dir": directory, "rank": rank, "size": len(slots)}})
            for rank, slot in enumerate(slots)]
        pending = list(refs)
        while pending:   # the first failure ends the wait (its peers may be blocked on it)
            done, pending = ray.wait(pending, num_returns=1)
            ray.get(done[0])
        results = ray.get(refs)
    except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError) as e:
        # a rank that lost its peer may wait in a collective: restart every pair of the group
        log.warning("data-parallel generator warm-up on %d pairs failed (%s); training it on "
                    "one pair", len(slots), str(e).splitlines()[0])
        for slot in slots:
            pool.restart(slot)
        if directory is not None:
            _remove_rendezvous_on(node, directory)
        return None
    res = results[0]
    digests = {r["digest"] for r in results}
    res["stats"].update(pairs=len(slots), same_weights=len(digests) == 1,
                        rank_cpu_seconds=[r["stats"]["cpu_seconds"] for r in results],
                        rank_seconds=[r["stats"]["seconds"] for r in results],
                        rank_collective_seconds=[r["stats"]["parallel"]["collective_seconds"]
                                                 for r in results])
    if len(digests) != 1:
        log.warning("the %d pairs of the data-parallel warm-up ended with different generator "
                    "weights; the job uses rank 0's", len(slots))
    return res


def _remove_rendezvous_on(node: str, directory: str) -> None:
    """Remove a failed group's rendezvous directory on its node: its rank 0, which made it,
    was restarted before it could (a zero-CPU task pinned to the node; best effort)."""
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    from cluster.collective import remove_rendezvous
    task = ray.remote(num_cpus=0, max_retries=0)(remove_rendezvous).options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False))
    try:
        if not ray.get(task.remote(directory), timeout=60):
            log.warning("the rendezvous directory %s was not removed", directory)
    except Exception as e:   # the node may be gone with its directory
        log.warning("could not remove the rendezvous directory %s (%s)", directory,
                    str(e).splitlines()[0])
