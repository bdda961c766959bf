"""nnsynth.synth: the algorithms, in plain PyTorch (no Ray here).

Data sets, model families, training, checkpoints, inversion, distillation,
grow-and-prune, SCANN, incremental and continual learning.
"""
