"""Where tensors go: CUDA when present, else CPU; never assume CUDA."""
from __future__ import annotations

import torch


def pick_device(requested: str | None = None) -> torch.device:
    """``requested`` in {None, "auto", "cpu", "cuda", "cuda:N"}; auto prefers CUDA."""
    if requested in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(requested)
    if dev.type == "cuda" and not torch.cuda.is_available():
        from synth.errors import UserError
        raise UserError(f"device {requested!r} requested but CUDA is not available")
    return dev
