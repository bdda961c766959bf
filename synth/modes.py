"""A model's train/eval mode, borrowed and given back per submodule.

``model.train(was_training)`` after an evaluation puts *every* submodule in the model's mode:
a BatchNorm the user froze in eval mode inside a training model (fine-tuning with frozen
statistics) comes back in train mode, and its running statistics then move on the user's next
forward.  ``in_mode`` sets the mode for the work and restores each submodule's own flag, also
when the work raises.
"""
from __future__ import annotations

import contextlib

from torch import nn


def module_modes(model: nn.Module) -> list[tuple[nn.Module, bool]]:
    """Each submodule's train/eval flag, for ``restore_modes``."""
    return [(m, m.training) for m in model.modules()]


def restore_modes(modes: list[tuple[nn.Module, bool]]) -> None:
    for m, training in modes:
        m.training = training


@contextlib.contextmanager
def in_mode(model: nn.Module, training: bool = False):
    """``model`` in train (``training``) or eval mode for the block; afterwards each of its
    submodules has the flag it had before."""
    modes = module_modes(model)
    model.train(training)
    try:
        yield model
    finally:
        restore_modes(modes)
