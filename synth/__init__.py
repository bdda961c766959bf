"""nnsynth.synth: the algorithms, in plain PyTorch (no Ray here).

Data sets, model families, training, checkpoints, inversion, distillation,
grow-and-prune, SCANN, incremental and continual learning.

Importing ``synth`` imports no torch (``nnsynth --help`` and every bad argument stay quick):
the modules that register data sets are imported when the registry is first read.
"""
from synth.data_registry import register_later


def _register_builtin_sets() -> None:
    from synth import data, sequences, text  # noqa: F401  (each registers its sets)


register_later(_register_builtin_sets)
