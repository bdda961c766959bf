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

import torch
from torch import nn

from synth import inversion
from synth.amortized import AmortizedConfig, synthesize_amortized
from synth.inversion import InversionConfig, InversionResult, check_teacher, inversion_sources


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
        return synthesize_amortized(teacher, labels, AmortizedConfig.from_inversion(config),
                                    pixel_range=pixel_range, student=student, seed=seed,
                                    progress=progress)
    # looked up when called: the per-pixel path is synth.inversion.synthesize as it is then
    # (prune and continual synthesize through here; their tests count its calls)
    return inversion.synthesize(teacher, labels, config, pixel_range=pixel_range,
                                student=student, seed=seed, progress=progress, name=name)


def synthesis_sources() -> list[str]:
    """The source of the code that turns settings into inputs by either method: the key of a
    stored synthesized set (benchmarks/inversion_any.py)."""
    from synth import amortized
    return inversion_sources() + [inspect.getsource(synthesize_inputs),
                                  inspect.getsource(amortized)]
