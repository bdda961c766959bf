"""nnsynth.synth: the algorithms, in plain PyTorch (no Ray here).

Data sets, model families, training, checkpoints, inversion, distillation,
grow-and-prune, SCANN, incremental and continual learning.
"""

from synth import sequences  # noqa: F401,E402  (registers the sequence data sets in synth.data)
from synth import text  # noqa: F401,E402  (registers the text sets enwiki and text:<path>)
