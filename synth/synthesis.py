"""Synthesized inputs of a teacher by the method its inversion settings name.

``synth.inversion.settings_for`` picks the method with the rest of the settings: per-pixel
DeepInversion (``synth.inversion.synthesize``) or a generator trained with the same objective
(``method="amortized"``, ``synth.amortized.synthesize_amortized``, its settings from
``AmortizedConfig.from_inversion(config)``: the objective's weights and the stopping
thresholds, plus the config's ``amortized`` mapping).  ``synthesize_inputs`` runs the one named,
so a caller that takes ``settings_for``'s choice needs no branch of its own.

Set-level selection (``config.candidates`` > 1): ``ceil(candidates * n)`` inputs are
synthesized (the requested labels repeated), and per class the inputs kept are chosen by
greedy k-center (farthest-point) selection on the teacher's centred logits among those it
assigns to the class (``cover_select``): a set of inputs that all sit deep inside their
class teaches a student little about the boundaries between classes.  Misses fill a class
only where too few candidates hit it.
"""
from __future__ import annotations

import inspect
import math

import torch
from torch import nn

from synth.amortized import AmortizedConfig, synthesize_amortized
from synth.inversion import (InversionConfig, InversionResult, _Frozen, hit_fraction,
                             inversion_sources, synthesize)


def _synthesize(teacher, labels, config, **kw) -> InversionResult:
    if config.method == "amortized":
        return synthesize_amortized(teacher, labels, AmortizedConfig.from_inversion(config), **kw)
    return synthesize(teacher, labels, config, **kw)


def cover_select(points: torch.Tensor, hits: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of ``k`` rows of ``points`` (N, D): greedy k-center over the rows where ``hits``,
    starting from the one nearest their mean, each next pick the row farthest (Euclidean) from
    those picked; rows that miss are added last, in order, if fewer than ``k`` hit."""
    order = torch.arange(len(points))
    good, bad = order[hits], order[~hits]
    if len(good) <= k:
        return torch.cat([good, bad[:k - len(good)]])
    p = points[good].double()
    first = int(torch.cdist(p.mean(0, keepdim=True), p)[0].argmin())
    picked = [first]
    dist = torch.cdist(p[first:first + 1], p)[0]
    for _ in range(k - 1):
        nxt = int(dist.argmax())
        picked.append(nxt)
        dist = torch.minimum(dist, torch.cdist(p[nxt:nxt + 1], p)[0])
    return good[torch.tensor(picked)]


def synthesize_inputs(teacher: nn.Module, labels: torch.Tensor, config: InversionConfig, *,
                      pixel_range: tuple[torch.Tensor, torch.Tensor],
                      student: nn.Module | None = None, seed: int = 0,
                      progress: bool = False) -> InversionResult:
    """One input per entry of ``labels`` by ``config.method`` (arguments as
    ``synth.inversion.synthesize``; with a generator ``iterations`` and ``batch_size`` do not
    apply and ``stats["method"]`` is ``"amortized"``), selected from ``config.candidates``
    times as many (module docstring)."""
    kw = dict(pixel_range=pixel_range, student=student, seed=seed, progress=progress)
    labels = torch.as_tensor(labels, dtype=torch.long).flatten()
    m = math.ceil(config.candidates * len(labels) - 1e-9)
    if m <= len(labels):
        return _synthesize(teacher, labels, config, **kw)
    cand = _synthesize(teacher, labels[torch.arange(m) % len(labels)], config, **kw)
    with torch.no_grad(), _Frozen(teacher):
        device = next(teacher.parameters()).device
        logits = torch.cat([teacher(cand.images[i:i + 1024].to(device)).cpu()
                            for i in range(0, m, 1024)])
    hits = logits.argmax(1) == cand.labels
    centred = logits - logits.mean(1, keepdim=True)   # softmax does not see a shift
    keep = torch.empty(len(labels), dtype=torch.long)
    for c in labels.unique():
        where = torch.nonzero(labels == c).flatten()
        pool = torch.nonzero(cand.labels == c).flatten()
        keep[where] = pool[cover_select(centred[pool], hits[pool], len(where))]
    stats = dict(cand.stats, candidates=m, fidelity=hit_fraction(hits[keep]),
                 missed=int((~hits[keep]).sum()),
                 images_per_second=len(labels) / max(cand.stats["seconds"], 1e-9))
    return InversionResult(cand.images[keep], labels.clone(), cand.teacher_confidence[keep],
                           cand.losses[keep], stats)


def synthesis_sources() -> list[str]:
    """The source of the code that turns settings into inputs by either method: the key of a
    stored synthesized set (benchmarks/inversion_any.py)."""
    from synth import amortized
    return inversion_sources() + [inspect.getsource(synthesize_inputs),
                                  inspect.getsource(cover_select),
                                  inspect.getsource(amortized)]
