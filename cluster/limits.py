"""Bounds of one synthesis job (no heavy imports: the CLI reads them when it starts).

One source of truth for ``nnsynth invert``'s options, the run config's ``synthesis``
section and ``cluster.pairs.run_synthesis``: 10 M images, 1,024 pair actors, shards of at
most 1 M images (so a job plans at most 10 M shards only at shard size 1).

``MAX_BATCH_SIZE`` bounds the inputs of one batch wherever a user types one: ``nnsynth
invert --batch-size`` and ``nnsynth train --batch-size`` (checked while the command line is
parsed, so the error names the option and comes before a checkpoint or data set is read) and
the run config's ``teacher.batch_size``.  It is the bound ``synth.inversion.InversionConfig``
and ``synth.amortized.AmortizedConfig`` check (tests/cluster/test_invert_reports.py holds
them together); a training batch larger than its data set is the whole set.
"""
MAX_IMAGES = 10_000_000
MAX_PAIRS = 1024
MAX_SHARD_SIZE = 1_000_000
MAX_BATCH_SIZE = 100_000
