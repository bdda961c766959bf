"""Atomic file writes: a temp file beside the target, then ``os.replace``.

A reader never sees a half-written file, and an interrupted job leaves the previous
version intact.  Every text or JSON artifact (ledgers, manifests, reports, benchmark
results) goes through these two functions.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    return write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
