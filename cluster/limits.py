"""Bounds of one synthesis job (no heavy imports: the CLI reads them when it starts).

One source of truth for ``nnsynth invert``'s options, the run config's ``synthesis``
section and ``cluster.pairs.run_synthesis``: 10 M images, 1,024 pair actors, shards of at
most 1 M images (so a job plans at most 10 M shards only at shard size 1).
"""
MAX_IMAGES = 10_000_000
MAX_PAIRS = 1024
MAX_SHARD_SIZE = 1_000_000
