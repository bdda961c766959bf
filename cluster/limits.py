"""Bounds of one synthesis job (no heavy imports: the CLI reads them when it starts).

One source of truth for ``nnsynth invert``'s options, the run config's ``synthesis``
section and ``cluster.pairs.run_synthesis``: 10 M images, 1,024 pair actors, shards of at
most 1 M images (so a job plans at most 10 M shards only at shard size 1).

``MAX_BATCH_SIZE`` (``synth.config``'s, re-exported) bounds the inputs of one batch wherever
a user types one: the CLI's ``--batch-size`` options check it while the command line is
parsed, so the error names the option and comes before a checkpoint or data set is read; every
component config checks it too (``synth.config.check_batch_size``).
"""
from synth.config import MAX_BATCH_SIZE  # noqa: F401  (re-exported for the CLI options)

MAX_IMAGES = 10_000_000
MAX_PAIRS = 1024
MAX_SHARD_SIZE = 1_000_000
# The most CPUs a local Ray is started with (``--num-cpus``, a run config's ``num_cpus``):
# Ray's raylet did not come up with 10^12 (three 30 s start-up windows, then a traceback).
MAX_LOCAL_CPUS = 4096
