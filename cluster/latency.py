"""Latency tables where the model will be served, cached on disk; candidate trainings as Ray tasks.

``host_table`` measures ``hwsim.latency.host_rows`` in a Ray task on the serving node (the
local node unless ``node_id`` names another), after asking that node for its
``host_identity`` (host name, CPU, cores, torch version, threads).  The rows are cached as
JSON (atomic write, ``synth.files``) under a key hashed from that identity and the table's
parameters, so a table measured on one machine or torch build is never reused on another,
and a fingerprint of what the rows time (``probe_fingerprint``), so a table measured with
another probe (the 'decoder' row before it priced the embedding lookup) is measured again.
"""
from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
from pathlib import Path
from typing import Any, Callable, Sequence

from synth.config import short_repr
from synth.errors import ConfigError, UserError
from synth.files import check_writable, read_json, write_json_atomic
from hwsim.latency import (host_identity, host_rows, probe, probe_input, spread,
                           time_interleaved, torch_threads)
from synth.lm import recurrent_layer
from synth.sparse_exec import sparse_copy

log = logging.getLogger(__name__)
CACHE_VERSION = 3     # 2: rows carry lo_ms/hi_ms; 3: host rows carry their conditions


def cache_key(identity: dict, params: dict) -> str:
    """16 hex digits of SHA-256 over the host identity and the table parameters."""
    blob = json.dumps({"v": CACHE_VERSION, "identity": identity, "params": params},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _source(obj) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):   # no source shipped: the name at least
        return f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', obj)}"


def probe_fingerprint(keys: Sequence[dict]) -> str:
    """16 hex digits of SHA-256 over what ``host_rows`` times for the kinds of row in ``keys``:
    the source of the timing path (``host_rows``, ``probe``, ``probe_input``,
    ``time_interleaved``, ``spread``, ``recurrent_layer``, ``sparse_copy``), and per (cell,
    exec) a small probe built as a row's is: its layers (repr), the source of its classes
    that are not torch's (torch's own follow its version, in the host identity) and the
    input it is fed (dtype, rank).  A change to how a row is built or timed changes it (the
    'decoder' row gaining the embedding lookup did), so a table cached before is not reused."""
    import torch
    parts = [_source(f) for f in (host_rows, probe, probe_input, time_interleaved, spread,
                                  recurrent_layer, sparse_copy)]
    for cell, execution in sorted({(k["cell"], k["exec"]) for k in keys}):
        module = probe(cell, 2, 0.5 if execution == "sparse" else 0.0, vocab=3)
        if execution == "sparse":
            module = sparse_copy(module)
        x = probe_input({"cell": cell, "batch": 1, "width": 2}, 2, 3, torch.Generator())
        own = sorted({_source(type(m)) for m in module.modules()
                      if not type(m).__module__.startswith("torch")})
        parts += [cell, execution, repr(module), *own, f"{x.dtype} rank {x.dim()}"]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def read_table(path: Path) -> tuple[dict | None, str | None]:
    """``(table, None)`` for a cached table at ``path``; ``(None, None)`` when nothing is
    there; ``(None, why)`` for something there that is no table: unreadable, not UTF-8, not
    JSON (corrupt, truncated), nested too deeply, or not an object with a ``rows`` list of
    objects and an ``identity`` object (what ``cached_table`` writes)."""
    path = Path(path)
    if not os.path.lexists(path):   # a dangling link is something there, not nothing
        return None, None
    try:
        obj = read_json(path, named=False)
    except ConfigError as e:   # 'gives the key 'rows' twice; keep one' (json kept the
        return None, str(e)    # last), 'is nested too deep: ...'
    except OSError as e:
        return None, f"cannot be read ({e.strerror or e})"
    except UnicodeDecodeError:
        return None, "is not UTF-8 text"
    except ValueError as e:
        return None, f"is not JSON ({short_repr(str(e))})"
    if not (isinstance(obj, dict) and isinstance(obj.get("rows"), list)
            and all(isinstance(r, dict) for r in obj["rows"])
            and isinstance(obj.get("identity"), dict)):
        return None, "is not a latency table (an object with a 'rows' list and an 'identity')"
    return obj, None


def _check_cache_folder(folder: Path) -> None:
    """``folder`` can hold the cache files: a folder (or none yet) under a folder this process
    may write; else a one-line error, before anything is measured (the write failed after
    the measurement, with a FileExistsError, NotADirectoryError or FileNotFoundError
    traceback)."""
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        where = "a file" if existing == folder else f"under the file {existing}"
        raise UserError(f"latency cache folder {folder} is {where}; give a folder")
    if existing is not None:
        check_writable(existing, "latency cache folder", folder)


def cached_table(cache_dir: str | Path | None, identity: dict, params: dict,
                 measure: Callable[[], list[dict]], *, refresh: bool = False) -> dict:
    """``{"rows", "identity", "params", "key", "cached"}``: read from ``cache_dir`` when a table
    with the same key is there (and not ``refresh``), else ``measure()`` and write it.  The
    key holds the measuring host's identity (threads, torch, CPU): a table is reused only
    under the conditions it was measured at.

    nnsynth overwrites only a table it can tell it wrote: ``latency-KEY.json`` as
    ``read_table`` reads it, recording this ``identity``.  A file of that name that is
    unreadable (corrupt, truncated, of another schema) or records other conditions (a copy
    from another machine) is left as it is, with a warning naming it and why, and the
    table is read from or written to ``latency-KEY.remeasured.json`` beside it (measured
    once, not on every run), under the same rule; when that one is not nnsynth's either,
    the table is measured and not cached."""
    key = cache_key(identity, params)
    target = None
    if cache_dir:
        folder = Path(cache_dir)
        names = [folder / f"latency-{key}.json", folder / f"latency-{key}.remeasured.json"]
        for i, path in enumerate(names):
            hit, why = read_table(path)
            if hit is not None and hit.get("identity") != identity:
                why = f"was measured under other conditions ({short_repr(hit['identity'])})"
            if why is None:   # nothing there, or this host's table
                if hit is not None and not refresh:
                    log.info("latency table from cache %s", path)
                    return {**hit, "cached": True}
                target = path
                break
            log.warning("latency cache file %s %s; it is left as it is (nnsynth cannot tell "
                        "it wrote it), %s", path, why,
                        f"the table is read from or written to {names[i + 1].name} beside it"
                        if i + 1 < len(names) else "and the table is measured but not cached")
        if target is not None:
            _check_cache_folder(folder)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    rows = measure()
    table = {"rows": rows, "identity": identity, "params": params, "key": key,
             "load_average": load}
    if target is not None:
        write_json_atomic(target, table)
    return {**table, "cached": False}


def _node_strategy(node_id: str):
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
    return NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)


def host_table(keys: Sequence[dict], *, cache_dir: str | Path | None = None, steps: int = 35,
               vocab: int = 0, rounds: int = 20, threads: int = 1, seed: int = 0,
               node_id: str | None = None, refresh: bool = False, use_ray: bool = True) -> dict:
    """The host-CPU table of ``keys`` measured on the serving node (a Ray task there; in this
    process without ``use_ray``), cached under the key of that node's identity, the table's
    parameters and the fingerprint of its probes (``probe_fingerprint``)."""
    params = {"keys": list(keys), "steps": steps, "vocab": vocab, "rounds": rounds,
              "threads": threads, "seed": seed, "probe": probe_fingerprint(keys)}
    kwargs = dict(steps=steps, vocab=vocab, rounds=rounds, threads=threads, seed=seed)
    if not use_ray:
        return cached_table(cache_dir, host_identity(threads), params,
                            lambda: host_rows(list(keys), **kwargs), refresh=refresh)
    import ray

    from cluster.connect import check_node_cpus, connect
    connect()
    if node_id is None:
        node_id = ray.get_runtime_context().get_node_id()
    check_node_cpus(threads, node_id)
    strategy = _node_strategy(node_id)
    ident = ray.get(ray.remote(num_cpus=threads, scheduling_strategy=strategy)(
        host_identity).remote(threads))

    def measure():
        task = ray.remote(num_cpus=threads, scheduling_strategy=strategy)(host_rows)
        return ray.get(task.remote(list(keys), **kwargs))
    return cached_table(cache_dir, ident, params, measure, refresh=refresh)


def _call(fn, threads, *args):
    """``fn(*args)`` at ``threads`` torch threads; the worker's count is given back after (a
    Ray worker runs later tasks too)."""
    with torch_threads(threads):
        return fn(*args)


def ray_starmap(fn: Callable, jobs: Sequence[tuple], *, num_cpus: int = 1) -> list[Any]:
    """``[fn(*job) for job in jobs]`` as Ray tasks of ``num_cpus`` CPUs each, results in order;
    an argument shared by several jobs (the data set) goes to the object store once."""
    import ray

    from cluster.connect import connect
    if not jobs:
        return []
    connect()
    refs: dict[int, Any] = {}
    for job in jobs:
        for a in job:
            if id(a) not in refs:
                refs[id(a)] = ray.put(a)
    remote = ray.remote(num_cpus=num_cpus, max_retries=0)(_call)
    futures = [remote.remote(fn, num_cpus, *[refs[id(a)] for a in job]) for job in jobs]
    try:
        return ray.get(futures)
    except ray.exceptions.RayTaskError as e:
        cause = getattr(e, "cause", None)
        if isinstance(cause, UserError):   # the worker's own error: its class and fields (a
            raise cause from None          # range error's, which the CLI names by its option)
        raise
