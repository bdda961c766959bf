"""Synthesized inputs of a teacher by the method its inversion settings name.

``synth.inversion.settings_for`` picks the method with the rest of the settings: per-pixel
DeepInversion (``synth.inversion.synthesize``) or a generator trained with the same objective
(``method="amortized"``, ``synth.amortized.synthesize_amortized``, its settings from
``AmortizedConfig.from_inversion(config)``: the objective's weights and the stopping
thresholds, plus the config's ``amortized`` mapping).  ``synthesize_inputs`` runs the one named,
so a caller that takes ``settings_for``'s choice needs no branch of its own; where the settings
turn ``fallback`` on, a set the method leaves below ``min_fidelity`` is made again by the other
(``method_fallback``).
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

# result counts named for images that count inputs of any kind (a CSV's rows, a set's series:
# prune and continual said synthesized_images 64 of breast_cancer's rows): each old name is
# kept beside the new one in the results and checkpoint metrics, for readers of the JSON
INPUT_KEYS = {"synthesized_images": "synthesized_inputs", "new_images": "new_inputs"}


def input_counts(metrics: dict, **counts: int) -> None:
    """Add each count under its ``INPUT_KEYS`` name and its old one (``new_images=14``:
    ``new_inputs`` and ``new_images`` 14)."""
    for old, count in counts.items():
        metrics[INPUT_KEYS[old]] = metrics[old] = count


def inputs_named(result: dict, keep_old: bool) -> dict:
    """``result`` with each ``INPUT_KEYS`` count under its new name, in the old one's place,
    and the old name too where ``keep_old`` (--json; text shows the new name alone).  A result
    kept from before the new names (a rerun reports its checkpoint's) gets them here."""
    out = {}
    for key, value in result.items():
        if key in INPUT_KEYS:
            out.setdefault(INPUT_KEYS[key], result.get(INPUT_KEYS[key], value))
            if not keep_old:
                continue
        out[key] = value
    return out


def synthesize_inputs(teacher: nn.Module, labels: torch.Tensor, config: InversionConfig, *,
                      pixel_range: tuple[torch.Tensor, torch.Tensor],
                      student: nn.Module | None = None, seed: int = 0,
                      progress: bool = False, name: str = "") -> InversionResult:
    """One input per entry of ``labels`` by ``config.method`` (arguments as
    ``synth.inversion.synthesize``, ``name`` too; with a generator ``iterations`` and
    ``batch_size`` do not apply and ``stats["method"]`` is ``"amortized"``), made again by the
    other method where ``config`` asks for it (``method_fallback``)."""
    if config.method == "amortized":
        if name:   # synthesize_amortized checks the teacher too, but names no file
            check_teacher(teacher, name)
        result = synthesize_amortized(teacher, labels, AmortizedConfig.from_inversion(config),
                                      pixel_range=pixel_range, student=student, seed=seed,
                                      progress=progress, warn=not falls_back(config))
    else:
        # looked up when called: the per-pixel path is synth.inversion.synthesize as it is
        # then (prune and continual synthesize through here; their tests count its calls)
        result = inversion.synthesize(teacher, labels, config, pixel_range=pixel_range,
                                      student=student, seed=seed, progress=progress, name=name,
                                      warn=not falls_back(config))
    return method_fallback(teacher, labels, config, result, pixel_range=pixel_range,
                           student=student, seed=seed, progress=progress)


def falls_back(config: InversionConfig) -> bool:
    """Whether a set made by ``config.method`` below ``min_fidelity`` is made again by the
    other method: ``fallback`` on, and for per-pixel inversion a generator named in
    ``amortized`` (``settings_for`` names one only where a generator suits the teacher and
    its inputs have a finite range to squash into) and one-hot targets (the only ones a
    generator fits: ``InversionConfig.targets``)."""
    if not config.fallback:
        return False
    return config.method == "amortized" or (config.amortized is not None
                                            and config.targets == "onehot")


def method_fallback(teacher: nn.Module, labels: torch.Tensor, config: InversionConfig,
                    result: InversionResult, *, pixel_range: tuple[torch.Tensor, torch.Tensor],
                    student: nn.Module | None = None, seed: int = 0,
                    progress: bool = False, warn: bool = True) -> InversionResult:
    """``result`` (the inputs ``config.method`` made for ``labels``) as it is, or -- where
    ``falls_back(config)`` and its fidelity is below ``config.min_fidelity`` -- the same labels
    made again by the other method, the better of the two by fidelity kept.  After a generator:
    per pixel (``synth.inversion.synthesize``, each input from its own noise: a generator
    that cannot reach a class, a weak teacher's narrow region say, leaves it out of the set).
    After per-pixel inversion: a generator (``AmortizedConfig.from_inversion(config)``), which
    reached a class per-pixel inversion got stuck short of on a Conv1d teacher (pickupgesture:
    95.4% against 92.0%; benchmarks/results/inversion_any.md).  ``stats["fallback"]`` says what
    happened: ``first`` (the method that ran first: "generator" or "per_pixel"), each
    method's fidelity and seconds, the generator's ``iteration_cap`` report, and which set
    was ``kept``.  ``warn=False``: the kept set's
    low-fidelity warning is left in its stats, not logged (its caller says it)."""
    fidelity = float(result.stats["fidelity"])
    if not falls_back(config) or fidelity >= config.min_fidelity:
        return result
    first = "generator" if config.method == "amortized" else "per_pixel"
    start = time.perf_counter()
    if first == "generator":
        log.info("the generator's inputs reached fidelity %.3f (below %g): making them per "
                 "pixel", fidelity, config.min_fidelity)
        redo = inversion.synthesize(teacher, labels, config.replace(method="deepinversion"),
                                    pixel_range=pixel_range, student=student, seed=seed,
                                    progress=progress, warn=False)
    else:
        log.info("per-pixel inversion reached fidelity %.3f (below %g): making the inputs by a "
                 "generator", fidelity, config.min_fidelity)
        redo = synthesize_amortized(teacher, labels, AmortizedConfig.from_inversion(config),
                                    pixel_range=pixel_range, student=student, seed=seed,
                                    progress=progress, warn=False)
    keep = redo if redo.fidelity > fidelity else result
    second = "per_pixel" if first == "generator" else "generator"
    seconds = {first: result.stats.get("seconds"),
               second: round(time.perf_counter() - start, 4)}
    fidelities = {first: fidelity, second: redo.fidelity}
    generated = result if first == "generator" else redo
    keep.stats["fallback"] = {
        "first": first,
        "generator_fidelity": fidelities["generator"],
        "generator_seconds": seconds["generator"],
        # the bounds its phases ran under (``AmortizedConfig.iteration_report``), said where
        # its set was not kept too: the summary's own ``iteration_cap`` is the kept set's
        "generator_iteration_cap": generated.stats.get("iteration_cap"),
        "per_pixel_fidelity": fidelities["per_pixel"],
        "per_pixel_seconds": seconds["per_pixel"],
        "kept": first if keep is result else second}
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
