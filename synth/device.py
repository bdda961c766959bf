"""Where tensors go: CUDA when present, else CPU; never assume CUDA.

``check_device`` is the one check of a device name (CLI ``--device``, run and search
configs, ``pick_device``): ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``.
"""
from __future__ import annotations

import contextlib
import itertools
import re
from typing import TYPE_CHECKING

from synth.config import short_repr
from synth.errors import ConfigError, UserError

if TYPE_CHECKING:   # annotations only: torch is imported where it is used
    import torch

DEVICES = ("auto", "cpu", "cuda", "cuda:N", "mps")
_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d{1,4})?")


def check_device(value, name: str = "device", available: bool = True) -> str:
    """``value`` if it names a device (and, with ``available``, one this machine has);
    otherwise a one-line ConfigError/UserError naming ``name``.  A config that runs on a
    cluster is checked with ``available=False`` (its workers may have the GPU)."""
    if not isinstance(value, str) or not _PATTERN.fullmatch(value):
        raise ConfigError(f"{name} must be one of {', '.join(DEVICES)}, got {short_repr(value)}")
    if available and value not in ("auto", "cpu"):
        import torch   # here, not at the top: the CLI checks --device while it parses
        if value.startswith("cuda"):
            count = torch.cuda.device_count() if torch.cuda.is_available() else 0
            index = int(value.split(":")[1]) if ":" in value else 0
            if index >= count:
                raise UserError(f"{name} {value}: this machine has "
                                f"{count or 'no'} CUDA device{'s' if count != 1 else ''}")
        elif value == "mps" and not (getattr(torch.backends, "mps", None)
                                     and torch.backends.mps.is_available()):
            raise UserError(f"{name} mps: MPS is not available on this machine")
    return value


def pick_device(requested: str | None = None) -> torch.device:
    """``requested`` in {None, "auto", "cpu", "cuda", "cuda:N", "mps"}; auto prefers CUDA."""
    import torch
    if requested in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(requested, torch.device):
        requested = str(requested)
    return torch.device(check_device(requested))


def module_device(module) -> torch.device:
    """The device a module's first parameter (or buffer) is on; the CPU for one that holds
    neither.  Inputs a function makes for a model it was handed (a probe for counting FLOPs,
    noise to invert) go there."""
    import torch
    for t in itertools.chain(module.parameters(), module.buffers()):
        return t.device
    return torch.device("cpu")


@contextlib.contextmanager
def borrowed(*modules, device):
    """Move ``modules`` (None entries are skipped) to ``device`` for the block, then each back
    to the device it was on.  For the models a function only reads -- a teacher, the network
    it inverts, the old model of continual learning, the one it prunes into a smaller copy:
    run on a GPU machine, ``distill(..., device="cpu")`` left the caller's CUDA teacher on
    the CPU, and an inversion on CUDA left a CPU student on CUDA for the KD steps that
    followed on the CPU."""
    modules = [m for m in modules if m is not None]
    homes = [module_device(m) for m in modules]
    for m in modules:
        m.to(device)
    try:
        yield modules[0] if len(modules) == 1 else modules
    finally:
        for m, home in zip(modules, homes):
            m.to(home)
