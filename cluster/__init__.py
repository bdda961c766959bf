"""nnsynth.cluster: how work runs. ``connect()`` (local or cluster), actor pools, the CLI."""
from cluster.connect import connect, match_torch_threads

__all__ = ["connect", "match_torch_threads"]
