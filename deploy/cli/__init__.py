"""The ``nnsynth`` command line: a tiny group, one file per command in ``commands/``."""
