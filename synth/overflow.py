"""Outputs beyond float32's range: finite weights of 3e38 overflow in the forward pass.  One
check serves a loaded student (random inputs), a checkpoint met by real data (its first
samples) and the one-class warning's cause."""
from __future__ import annotations

import torch


def nonfinite_outputs(model: torch.nn.Module, x: torch.Tensor, limit: int = 1024,
                      batch: int = 64) -> int:
    """How many of the first ``limit`` rows of ``x`` ``model`` (in eval mode) gives a NaN or
    infinite output for: finite weights of 3e38 overflow in the forward pass.  In batches of
    ``batch`` rows: a check beside the real work must not take more memory than it (192
    inputs of 224 x 224 through a ResNet in one pass hold gigabytes of activations)."""
    from synth.modes import in_mode
    broken = 0
    with torch.no_grad(), in_mode(model, training=False):
        device = next(model.parameters()).device
        for part in x[:limit].split(batch):
            out = model(part.to(device))
            broken += int((~torch.isfinite(out)).flatten(1).any(1).sum())
    return broken


def refuse_overflow(model: torch.nn.Module, x: torch.Tensor, who: str, inputs: str,
                    remedy: str) -> None:
    """Refuse (``OutputsOverflow``, one line) ``model`` where its outputs are NaN or infinite
    on any row of ``x`` (``nonfinite_outputs``): ``who`` names it, ``inputs`` says what ``x``
    is ('16 random inputs', 'the first 192 samples of data set digits'), ``remedy`` what to
    do.  The one check of a loaded student (random inputs) and of a checkpoint met by real
    data (its first samples): a model finite on random inputs overflowed on real ones and
    its figures were NaN, or a one-class accuracy, without a word of the cause."""
    from synth.errors import OutputsOverflow
    broken = nonfinite_outputs(model, x)
    if broken:
        raise OutputsOverflow(f"{who}: its outputs are NaN or infinite on {broken:,} of "
                              f"{inputs} (a weight or an activation beyond float32's range); "
                              f"{remedy}")
