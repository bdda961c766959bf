"""Teacher/student pair actors and the sharded, resumable synthesis job.

A ``PairActor`` holds one teacher and (optionally) one student; it is a thin wrapper around
``synth.inversion.synthesize`` and ``synth.distill.distill``.  ``run_synthesis`` splits a job of
N images into shards (disjoint seeds, classes balanced within every shard), runs them on K
pairs through ``ResilientActorPool`` (a dead pair is restarted and its shard redone) and writes
each finished shard atomically as ``shard-XXXXX.parquet`` in ``out_dir``, with columns
``x, label, teacher_confidence, loss, seed, teacher_checksum`` and the teacher's data-set
metadata, so ``load_dataset(f"parquet:{out_dir}")`` reads the set.  Shards are written by the
driver only, once each; rerunning the same job into the same directory skips complete shards.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from synth.data import pixel_range
from synth.errors import UserError
from synth.files import write_json_atomic

MANIFEST = "job.json"


def teacher_checksum(path: str | os.PathLike) -> str:
    """SHA-256 (first 16 hex digits) of the teacher checkpoint file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def model_from_payload(payload: dict) -> torch.nn.Module:
    """A model from a ``read_checkpoint`` payload (shipped once through the object store)."""
    from synth.models import build
    model = build(payload["spec"], payload["input_shape"], payload["num_classes"])
    if payload.get("masks"):
        from synth.masked import attach_masks
        attach_masks(model, payload["masks"])
    model.load_state_dict(payload["state_dict"])
    return model.eval()


def resolve_student(student: Any, input_shape, num_classes) -> torch.nn.Module:
    """A student from a checkpoint path (``*.pt`` file) or a model spec/variant name."""
    from synth.checkpoint import load_model
    from synth.models import build
    if isinstance(student, (str, os.PathLike)) and str(student).endswith(".pt"):
        model = load_model(student)
        if tuple(model.input_shape) != tuple(input_shape) or model.num_classes != num_classes:
            raise UserError(f"student {student} expects input {tuple(model.input_shape)} with "
                            f"{model.num_classes} classes; the teacher has {tuple(input_shape)}, "
                            f"{num_classes}")
        return model
    return build(student, input_shape, num_classes)


class PairActor:
    """One teacher and one student on ``num_cpus`` CPUs (torch threads matched to them)."""

    def __init__(self, teacher_payload: dict, student_spec: Any = None,
                 student_state: dict | None = None):
        from cluster.connect import match_torch_threads
        self.threads = match_torch_threads()
        self.teacher = model_from_payload(teacher_payload)
        self.meta = teacher_payload.get("dataset") or {}
        self.pixel_range = pixel_range(self.meta)
        self.student = None
        if student_spec is not None:
            self.student = resolve_student(student_spec, self.teacher.input_shape,
                                           self.teacher.num_classes)
            if student_state is not None:
                self.student.load_state_dict(student_state)

    def synthesize_shard(self, shard: dict) -> dict:
        """``shard`` = {index, seed, labels, config}; returns images and per-image columns."""
        from synth.inversion import InversionConfig, synthesize
        config = InversionConfig.from_dict(shard["config"])
        result = synthesize(self.teacher, torch.tensor(shard["labels"]), config,
                            pixel_range=self.pixel_range, student=self.student,
                            seed=shard["seed"])
        return {"images": result.images, "labels": result.labels,
                "teacher_confidence": result.teacher_confidence, "loss": result.losses,
                "stats": result.stats, "threads": self.threads, "pid": os.getpid()}

    def distill(self, images: torch.Tensor, dataset: str, config: dict) -> tuple[dict, dict]:
        """KD of this pair's student on ``images``; accuracy reported on ``dataset``."""
        from synth.data import load_dataset
        from synth.distill import DistillConfig, distill
        metrics = distill(self.student, self.teacher, images, load_dataset(dataset),
                          DistillConfig.from_dict({**config, "progress": False}))
        return metrics, {k: v.cpu() for k, v in self.student.state_dict().items()}

    def ping(self) -> int:
        return os.getpid()


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


def _check_manifest(out_dir: Path, manifest: dict) -> None:
    """Create ``job.json`` or check that an existing one describes the same job."""
    path = out_dir / MANIFEST
    if path.is_file():
        old = json.loads(path.read_text())
        if old != manifest:
            diff = sorted(k for k in manifest if old.get(k) != manifest[k])
            raise UserError(f"{out_dir} holds shards of a different synthesis job (differs in "
                            f"{', '.join(diff)}); use a new --out directory")
        return
    write_json_atomic(path, manifest)


def prepare_out_dir(out_dir: str | os.PathLike) -> Path:
    """Create ``out_dir`` and prove it is writable (one-line error otherwise)."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise UserError(f"output directory {out} is not writable: {e.strerror}") from None
    return out


def run_synthesis(teacher_path: str | os.PathLike, out_dir: str | os.PathLike, num_images: int,
                  pairs: int, config, *, student_spec: Any = None, seed: int = 0,
                  shard_size: int = 256, progress: bool = False,
                  on_shard: Callable[[dict, Any], None] | None = None) -> dict:
    """Synthesize ``num_images`` images from the teacher checkpoint on ``pairs`` pair actors
    (1 CPU each) into ``out_dir``; Ray must be connected (``cluster.connect.connect``).

    ``config`` is a ``synth.inversion.InversionConfig``; ``student_spec`` (spec, variant or
    ``*.pt`` path) turns on the ADI term.  ``on_shard(info, pool)`` runs in the driver after each
    shard is written.  Returns a summary (shards written/skipped, images/s, restarts...)."""
    import ray
    from cluster.pool import ResilientActorPool
    from synth.checkpoint import read_checkpoint
    from synth.data import write_parquet
    from synth.inversion import fidelity_warning
    from synth.models import batchnorm_layers

    payload = read_checkpoint(teacher_path)
    teacher = model_from_payload(payload)
    if not batchnorm_layers(teacher):
        raise UserError(f"teacher {teacher_path} has no BatchNorm layers: DeepInversion needs "
                        f"their running statistics")
    meta = dict(payload.get("dataset") or {})
    pixel_range(meta)
    if student_spec is not None:
        resolve_student(student_spec, teacher.input_shape, teacher.num_classes)
    if num_images < teacher.num_classes:
        raise UserError(f"num_images must be >= the number of classes ({teacher.num_classes}), "
                        f"got {num_images}")
    if pairs < 1 or shard_size < 1:
        raise UserError(f"pairs and shard_size must be >= 1, got {pairs} and {shard_size}")
    out = prepare_out_dir(out_dir)
    checksum = teacher_checksum(teacher_path)
    _check_manifest(out, {"teacher_checksum": checksum, "num_images": num_images,
                          "shard_size": shard_size, "seed": seed, "config": config.to_dict(),
                          "student": json.dumps(student_spec, sort_keys=True, default=str)})
    shards = plan_shards(num_images, teacher.num_classes, shard_size, seed)
    todo = [s for s in shards if not _complete(shard_path(out, s["index"]), len(s["labels"]))]
    for s in todo:
        s["config"] = config.to_dict()
    summary = {"out_dir": str(out), "shards": len(shards), "skipped": len(shards) - len(todo),
               "written": 0, "images": num_images, "images_written": 0, "pairs": pairs,
               "teacher_checksum": checksum, "restarts": 0, "fidelity": None}
    if not todo:
        return summary
    meta["name"] = f"inverted:{meta.get('name', 'unknown')}"
    meta["synthesis"] = {"teacher_checksum": checksum, "config": config.to_dict(),
                         "student": student_spec if student_spec is None or isinstance(
                             student_spec, (str, dict)) else str(student_spec)}
    teacher_ref = ray.put(payload)
    actor_cls = ray.remote(num_cpus=1, max_restarts=0)(PairActor)
    pool = ResilientActorPool(lambda i: actor_cls.remote(teacher_ref, student_spec),
                              size=min(pairs, len(todo)))
    t0 = time.perf_counter()
    pool.call_all("ping")  # actors up (torch imported, teacher built) before the clock starts
    start = time.perf_counter()
    correct = 0.0
    bar = tqdm(total=len(todo), desc="shards", disable=not progress)
    try:
        for shard, res in pool.map_unordered("synthesize_shard", todo):
            n = len(res["labels"])
            path = shard_path(out, shard["index"])
            write_parquet(path, res["images"], res["labels"], meta, extra_columns={
                "teacher_confidence": res["teacher_confidence"].float(), "loss": res["loss"].float(),
                "seed": [shard["seed"]] * n, "teacher_checksum": [checksum] * n})
            correct += res["stats"]["fidelity"] * n
            summary["written"] += 1
            summary["images_written"] += n
            bar.update(1)
            bar.set_postfix(shard=shard["index"], fidelity=f"{res['stats']['fidelity']:.3f}",
                            iters=f"{res['stats']['mean_iterations']:.0f}")
            if on_shard is not None:
                on_shard({"index": shard["index"], "path": str(path), "rows": n,
                          "stats": res["stats"], "pid": res["pid"]}, pool)
    finally:
        bar.close()
        summary["restarts"] = pool.restarts
        pool.shutdown()
    seconds = time.perf_counter() - start
    summary.update(seconds=round(seconds, 3), startup_seconds=round(start - t0, 3),
                   images_per_second=summary["images_written"] / max(seconds, 1e-9),
                   fidelity=correct / max(1, summary["images_written"]))
    warning = fidelity_warning(summary["fidelity"], config.min_fidelity, config.iterations)
    if warning:
        summary["warning"] = warning
    return summary
