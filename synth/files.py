"""Atomic file writes: a temp file beside the target, then ``os.replace``.

A reader never sees a half-written file, and an interrupted job leaves the previous
version intact.  Every artifact goes through ``atomic_path``: checkpoints, Parquet shards
and tables, PNGs, ONNX files, searcher state, ledgers, reports and benchmark results
(``write_text_atomic``, ``write_json_atomic`` and ``copy_atomic`` are its common uses).

    with atomic_path(out) as tmp:
        torch.save(payload, tmp)          # any writer that takes a path
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (a dot file, so directory readers skip it);
    it replaces ``path`` when the block ends without an error and is removed otherwise.
    Writers that infer the format from the name need it given (``format="png"``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def copy_atomic(source: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Copy ``source`` to ``path`` through a temp file beside the target."""
    with atomic_path(path) as tmp:
        shutil.copyfile(source, tmp)
    return Path(path)
