"""Latency tables of recurrent layers for sizing them by latency (symbiotic training,
arXiv 1901.10997): one row per (platform, cell, width, batch, sparsity, execution).

- ``host``: measured on this machine's CPU.  Every row's callable runs once per *round*, the
  rows in a fresh random order each round (interleaved passes), so a burst of load from other
  processes hits all rows alike instead of one; a row reports the best (minimum) of its
  ``rounds`` passes, the median, the interquartile range (q1, q3) and the spread of the best
  over four blocks of rounds (lo, hi; ``spread``), ms, and the ``conditions`` it was
  measured at (``host_identity``: threads, torch, CPU).  Timing touches no files: the
  on-disk cache keyed by ``host_identity()`` lives in ``cluster.latency``.
- ``accel``: the analytical systolic accelerator (``hwsim.accel``, dense: zeros are multiplied
  like any weight), and ``spring``: the SPRING model (``hwsim.spring``), which skips zero
  weights.  Both are deterministic, so lo = hi = q1 = q3 = best.

A row prices one recurrent layer with ``input = hidden = width`` over ``steps`` steps (the
layers of a tied language model), or the model's two ends at the vocabulary (cell
``decoder``): the embedding lookup ``Embedding(vocab, width)`` of the tokens and the decoder
``Linear(width, vocab)`` over the same tokens, its weight the embedding's (tied, as
``synth.symbiotic`` builds its models).  The decoder row was the Linear alone: a model's
latency left out its embedding lookup.  ``sparsity`` is the fraction of zero weights in the layer's
Linear gates (random, seeded); ``exec`` is ``dense`` (zeros multiplied) or ``sparse`` (the
gates as CSR products, ``synth.sparse_exec``).  A model's latency is the sum of its rows
(Chameleon-style, Dai et al. 2019); ``synth.symbiotic`` reads the tables.
"""
from __future__ import annotations

import contextlib
import functools
import os
import platform
import random
import statistics
import time
from typing import Callable, Hashable, Iterable, Mapping, Sequence

import torch
from torch import nn

from synth.config import check_range, short_repr
from synth.errors import UserError
from synth.lm import CELLS, recurrent_layer
from synth.sparse_exec import sparse_copy
from hwsim import accel as accel_mod
from hwsim import spring as spring_mod
from hwsim.workload import extract

PLATFORMS = ("host", "accel", "spring")
KINDS = CELLS + ("decoder",)
MAX_THREADS = 1024         # torch threads a host timing may use
# what a host timing depends on and a table's use is checked against; the host name and the
# core count are recorded too, not compared (a table holds on an identical machine)
CONDITIONS = ("threads", "torch", "machine", "cpu")


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU's model name ("AMD EPYC 7763 64-Core Processor"): /proc/cpuinfo's first
    ``model name`` on Linux, where ``platform.processor()`` is '' or only the architecture;
    else ``platform.processor()``; '' when neither says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name.strip() in ("model name", "Model", "cpu model") and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or ""


def host_identity(threads: int | None = None) -> dict:
    """What a host timing depends on: machine, CPU (architecture and model), cores, torch
    version and build, threads (given, else torch's current setting)."""
    return {"host": platform.node(), "machine": platform.machine(),
            "processor": platform.processor() or "", "cpu": cpu_model(),
            "cpus": os.cpu_count(), "torch": torch.__version__,
            "threads": int(threads or torch.get_num_threads())}


@contextlib.contextmanager
def torch_threads(threads: int | None):
    """torch's intra-op thread count set to ``threads`` (None: left as it is) inside, the
    caller's given back after; yields the count in effect."""
    before = torch.get_num_threads()
    if threads is not None:   # a range error with its fields: the CLI names --threads
        check_range("threads", threads, 1, MAX_THREADS, integer=True)
        torch.set_num_threads(threads)
    try:
        yield torch.get_num_threads()
    finally:
        torch.set_num_threads(before)


def condition_mismatch(conditions: dict | None, threads: int | None = None) -> str | None:
    """One line saying that a host table measured under ``conditions`` is used under other
    ones (this machine and torch, ``threads``: the thread count the prediction is for,
    default torch's current one), or None when they match.  Missing conditions are unknown,
    and unknown never matches."""
    now = host_identity(threads)
    recorded = conditions or {}
    differ = [k for k in CONDITIONS if recorded.get(k) != now[k]]
    if not differ:
        return None
    # a table file's own words (``hwsim.tables.load_table``): escaped and cut short, so the
    # warning is one line (a newline in them forged a second line on stderr, an escape
    # sequence cleared the terminal, a 100,000-character CPU name was a warning as long)
    was = ", ".join(f"{k} {_shown(recorded.get(k, 'unknown'))}" for k in differ)
    if not conditions:
        was = f"records no measurement conditions ({was}: saved before they were recorded)"
    else:
        was = f"was measured at {was}"
    return (f"host CPU latency table {was}; used at "
            f"{', '.join(f'{k} {now[k]}' for k in differ)}: its latencies may not hold here")


SHOWN_CHARS = 80   # characters of a recorded condition a warning shows


def _shown(value) -> str:
    """A recorded condition's value for a one-line message: control characters escaped
    (``synth.files.printable``), at most SHOWN_CHARS characters."""
    from synth.files import printable
    text = printable(value if isinstance(value, str) else short_repr(value))
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 3] + "..."


def spread(times_ms: Sequence[float], blocks: int = 4) -> dict:
    """Summary of timings taken in round order, ms: best (minimum), median, quartiles, and the
    spread of the best-of-N estimate itself: the passes cut into ``blocks`` consecutive blocks,
    ``lo_ms``/``hi_ms`` = the smallest/largest block minimum.  On a loaded machine the
    quartiles of single passes measure the other processes; the block minima measure the code
    (a layer is faster than another beyond the spread when its ``hi`` < the other's ``lo``)."""
    if not times_ms:
        raise UserError("no timings to summarize")
    # 'inclusive' (numpy's linear percentiles): quartiles within the timings; the default
    # 'exclusive' extrapolates past them for two (--rounds 2: q1 0.49 ms below the best 1.80)
    q = (statistics.quantiles(times_ms, n=4, method="inclusive") if len(times_ms) >= 2
         else [times_ms[0]] * 3)
    size = max(1, -(-len(times_ms) // blocks))
    minima = [min(times_ms[i:i + size]) for i in range(0, len(times_ms), size)]
    return {"best_ms": min(times_ms), "median_ms": statistics.median(times_ms), "q1_ms": q[0],
            "q3_ms": q[2], "lo_ms": min(minima), "hi_ms": max(minima), "n": len(times_ms)}


def time_interleaved(fns: Mapping[Hashable, Callable[[], object]], *, rounds: int = 20,
                     warmup: int = 2, seed: int = 0, progress: bool = False) -> dict:
    """``{key: spread}``: every callable once per round, in a new random order each round."""
    if rounds < 1:
        check_range("rounds", rounds, 1, None, integer=True)
    keys = list(fns)
    rng = random.Random(seed)
    times = {k: [] for k in keys}
    from tqdm.auto import tqdm
    with torch.no_grad():
        for _ in range(warmup):
            for k in keys:
                fns[k]()
        for _ in tqdm(range(rounds), desc="latency", disable=not progress, leave=False):
            order = keys[:]
            rng.shuffle(order)
            for k in order:
                t0 = time.perf_counter()
                fns[k]()
                times[k].append((time.perf_counter() - t0) * 1e3)
    return {k: spread(v) for k, v in times.items()}


def _prune_random(module: nn.Module, sparsity: float, gen: torch.Generator) -> None:
    """Zero a random ``sparsity`` fraction of every Linear weight (in place)."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.Linear) and sparsity > 0:
                m.weight.mul_((torch.rand(m.weight.shape, generator=gen) >= sparsity).float())


class _Probe(nn.Module):
    """Batch-first (N, T, W) -> the layer's output only (what extract and timing call)."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        out = self.layer(x)
        return out[0] if isinstance(out, tuple) else out


class _VocabEnds(nn.Module):
    """Tokens (N, T) -> logits (N, T, vocab): a language model's embedding lookup and its
    decoder, weights tied (``synth.lm.LanguageModel`` with ``tied``), without the layers
    between them (rows of their own)."""

    def __init__(self, width: int, vocab: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.decoder = nn.Linear(width, vocab)
        self.decoder.weight = self.embed.weight

    def forward(self, tokens):
        return self.decoder(self.embed(tokens))


def probe(kind: str, width: int, sparsity: float = 0.0, *, vocab: int = 0,
          seed: int = 0) -> nn.Module:
    """The module one row prices: a ``kind`` layer of ``width`` (input = width), or for
    ``decoder`` the embedding lookup and the decoder (``_VocabEnds``: it takes tokens)."""
    if kind not in KINDS:
        raise UserError(f"cell must be one of {', '.join(KINDS)}, got {kind!r}")
    if not 0 <= sparsity < 1:
        raise UserError(f"sparsity must be in [0, 1), got {sparsity}")
    torch.manual_seed(seed)
    if kind == "decoder":
        if vocab < 2:
            raise UserError(f"the decoder row needs vocab >= 2, got {vocab}")
        module = _VocabEnds(width, vocab)
    else:
        module = _Probe(recurrent_layer(kind, width, width))
    _prune_random(module, sparsity, torch.Generator().manual_seed(seed))
    return module.eval()


def probe_input(key: dict, steps: int, vocab: int, gen: torch.Generator) -> torch.Tensor:
    """One row's input, batch first: ``batch x steps`` token ids for the ``decoder`` row
    (its embedding looks them up), else ``batch x steps x width`` values."""
    if key["cell"] == "decoder":
        return torch.randint(0, vocab, (key["batch"], steps), generator=gen)
    return torch.randn(key["batch"], steps, key["width"], generator=gen)


def grid(cells: Iterable[str], widths: Iterable[int], batches: Iterable[int],
         sparsities: Iterable[float]) -> list[dict]:
    """Row keys: dense rows at sparsity 0, sparse rows at every sparsity > 0."""
    keys = []
    for cell in cells:
        for w in widths:
            for b in batches:
                keys.append({"cell": cell, "width": int(w), "batch": int(b), "sparsity": 0.0,
                             "exec": "dense"})
                if cell != "decoder":
                    keys += [{"cell": cell, "width": int(w), "batch": int(b), "sparsity": float(s),
                              "exec": "sparse"} for s in sparsities if s > 0]
    return keys


def host_rows(keys: Sequence[dict], *, steps: int = 35, vocab: int = 0, rounds: int = 20,
              warmup: int = 2, threads: int | None = None, seed: int = 0,
              progress: bool = False) -> list[dict]:
    """Measure every row key on this CPU, interleaved (module docstring), at ``threads``
    torch threads (None or 0: the current setting; the caller's count is given back after:
    it was left at ``threads`` for the rest of the process).  Every row records the
    ``conditions`` it was measured at (``host_identity``)."""
    fns = {}
    for i, key in enumerate(keys):
        module = probe(key["cell"], key["width"], key["sparsity"], vocab=vocab, seed=seed)
        if key["exec"] == "sparse":
            module = sparse_copy(module)
        x = probe_input(key, steps, vocab, torch.Generator().manual_seed(seed + i))
        fns[i] = (lambda m=module, x=x: m(x))
    with torch_threads(int(threads) if threads else None) as used:
        stats = time_interleaved(fns, rounds=rounds, warmup=warmup, seed=seed,
                                 progress=progress)
        conditions = host_identity(used)
    return [{"platform": "host", **key, "steps": steps, **stats[i], "conditions": conditions}
            for i, key in enumerate(keys)]


def model_rows(keys: Sequence[dict], platform_name: str = "accel", *, steps: int = 35,
               vocab: int = 0, seed: int = 0, accel_config=None, spring_config=None) -> list[dict]:
    """Price every row key on the accelerator model (``accel``) or SPRING (``spring``)."""
    if platform_name not in ("accel", "spring"):
        raise UserError(f"model platform must be accel or spring, got {platform_name!r}")
    rows = []
    for key in keys:
        module = probe(key["cell"], key["width"], key["sparsity"], vocab=vocab, seed=seed)
        x = probe_input(key, steps, vocab, torch.Generator().manual_seed(seed))
        ops = extract(module, tuple(x.shape[1:]), inputs=x)
        if platform_name == "accel":
            ms = float(accel_mod.evaluate_many(
                ops, [accel_config or accel_mod.AcceleratorConfig()])["latency_ms"][0])
        else:
            cfg = (spring_config or spring_mod.SpringConfig()).replace(
                sparsity=key["exec"] == "sparse")
            ms = spring_mod.evaluate(ops, cfg, "inference", chunks=True)["latency_ms"]
        rows.append({"platform": platform_name, **key, "steps": steps, "best_ms": ms,
                     "median_ms": ms, "q1_ms": ms, "q3_ms": ms, "lo_ms": ms, "hi_ms": ms,
                     "n": 1})
    return rows
