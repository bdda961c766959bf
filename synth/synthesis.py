"""Synthesized inputs of a teacher by the method its inversion settings name.

``synth.inversion.settings_for`` picks the method with the rest of the settings: per-pixel
DeepInversion (``synth.inversion.synthesize``) or a generator trained with the same objective
(``method="amortized"``, ``synth.amortized.synthesize_amortized``, its settings from
``AmortizedConfig.from_inversion(config)``: the objective's weights and the stopping
thresholds, plus the config's ``amortized`` mapping).  ``synthesize_inputs`` runs the one named,
so a caller that takes ``settings_for``'s choice needs no branch of its own.
"""
from __future__ import annotations

import inspect
import logging
import time

import torch
from torch import nn

from synth import inversion
from synth.amortized import AmortizedConfig, synthesize_amortized
from synth.inversion import InversionConfig, InversionResult, check_teacher, inversion_sources

log = logging.getLogger(__name__)


def synthesize_inputs(teacher: nn.Module, labels: torch.Tensor, config: InversionConfig, *,
                      pixel_range: tuple[torch.Tensor, torch.Tensor],
                      student: nn.Module | None = None, seed: int = 0,
                      progress: bool = False, name: str = "") -> InversionResult:
    """One input per entry of ``labels`` by ``config.method`` (arguments as
    ``synth.inversion.synthesize``, ``name`` too; with a generator ``iterations`` and
    ``batch_size`` do not apply and ``stats["method"]`` is ``"amortized"``)."""
    if config.method == "amortized":
        if name:   # synthesize_amortized checks the teacher too, but names no file
            check_teacher(teacher, name)
        result = synthesize_amortized(teacher, labels, AmortizedConfig.from_inversion(config),
                                      pixel_range=pixel_range, student=student, seed=seed,
                                      progress=progress, warn=not config.fallback)
        return per_pixel_fallback(teacher, labels, config, result, pixel_range=pixel_range,
                                  student=student, seed=seed, progress=progress)
    # looked up when called: the per-pixel path is synth.inversion.synthesize as it is then
    # (prune and continual synthesize through here; their tests count its calls)
    return inversion.synthesize(teacher, labels, config, pixel_range=pixel_range,
                                student=student, seed=seed, progress=progress, name=name)


def per_pixel_fallback(teacher: nn.Module, labels: torch.Tensor, config: InversionConfig,
                       result: InversionResult, *, pixel_range: tuple[torch.Tensor, torch.Tensor],
                       student: nn.Module | None = None, seed: int = 0,
                       progress: bool = False, warn: bool = True) -> InversionResult:
    """``result`` (a generator's inputs for ``labels``) as it is, or -- where ``config.fallback``
    is on and its fidelity is below ``config.min_fidelity`` -- the same labels made again per
    pixel (``synth.inversion.synthesize``, class-mixed batches as ever), the better of the two
    by fidelity kept.  A generator that cannot reach a class (a weak teacher's narrow region,
    say) leaves it out of the set; per-pixel inversion starts each input from its own noise.
    ``stats["fallback"]`` says what happened: the generator's fidelity and seconds, the
    per-pixel fidelity and seconds, and which set was kept.  ``warn=False``: the kept set's
    low-fidelity warning is left in its stats, not logged (its caller says it)."""
    fidelity = float(result.stats["fidelity"])
    if config.method != "amortized" or not config.fallback or fidelity >= config.min_fidelity:
        return result
    start = time.perf_counter()
    log.info("the generator's inputs reached fidelity %.3f (below %g): making them per pixel",
             fidelity, config.min_fidelity)
    redo = inversion.synthesize(teacher, labels, config.replace(method="deepinversion"),
                                pixel_range=pixel_range, student=student, seed=seed,
                                progress=progress, warn=False)
    keep = redo if redo.fidelity > fidelity else result
    keep.stats["fallback"] = {
        "generator_fidelity": fidelity, "generator_seconds": result.stats.get("seconds"),
        "per_pixel_fidelity": redo.fidelity,
        "per_pixel_seconds": round(time.perf_counter() - start, 4),
        "kept": "per_pixel" if keep is redo else "generator"}
    # the time of both, whichever was kept: the user waited for both
    keep.stats["seconds"] = round(float(result.stats.get("seconds", 0.0))
                                  + float(redo.stats.get("seconds", 0.0)), 4)
    keep.stats["images_per_second"] = len(labels) / max(keep.stats["seconds"], 1e-9)
    if warn and keep.stats.get("warning"):   # one line, of the set kept (neither path logged it)
        log.warning(keep.stats["warning"])
    return keep


def synthesis_sources() -> list[str]:
    """The source of the code that turns settings into inputs by either method: the key of a
    stored synthesized set (benchmarks/inversion_any.py)."""
    from synth import amortized
    return inversion_sources() + [inspect.getsource(synthesize_inputs),
                                  inspect.getsource(amortized)]
