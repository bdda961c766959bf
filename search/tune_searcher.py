"""The Ray Tune side of the searchers: ``TuneSearcher`` hands one of ``search.searchers``'
searchers to Tune as its ``Searcher``.  Imported only where Tune runs (``search.run``), so
that the ask/tell searchers, ``import search.run`` and ``nnsynth search --resume`` of a
finished search do not import ``ray.tune`` (it was imported with ``search.searchers``, whose
searchers subclassed Tune's ``Searcher``; a finished resume took 5.1-5.8 s of CPU with it,
4.0-4.2 s without, on this shared machine).

The searcher keeps all the state; this class only forwards Tune's calls to it (``suggest``,
``on_trial_result``, ``on_trial_complete``, ``save``, ``restore``) and gives Tune the rest of
its ``Searcher`` interface (``save_to_dir``, ``restore_from_dir``, ``set_search_properties``,
``set_max_concurrency``...) from the base class.  Wrappers compose as Tune's do:
``ConcurrencyLimiter(TuneSearcher(searcher), 2, batch=True)``.
"""
from __future__ import annotations

from ray.tune.search import Searcher


class TuneSearcher(Searcher):
    """Tune's ``Searcher`` for ``searcher`` (a ``search.searchers.PredictorSearcher``, kept as
    ``ask_tell``), with its metric and mode."""

    def __init__(self, searcher):
        super().__init__(metric=searcher.metric, mode=searcher.mode)
        # (not ``self.searcher``: Tune takes an object with that attribute for a wrapper,
        # ConcurrencyLimiter's kind, and asks the wrapped one for the state)
        self.ask_tell = searcher

    def suggest(self, trial_id: str):
        out = self.ask_tell.suggest(trial_id)
        return Searcher.FINISHED if out == self.ask_tell.FINISHED else out

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        self.ask_tell.on_trial_result(trial_id, result)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        self.ask_tell.on_trial_complete(trial_id, result, error)

    def save(self, checkpoint_path: str) -> None:
        self.ask_tell.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        self.ask_tell.restore(checkpoint_path)
