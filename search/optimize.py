"""``optimize``: run a searcher's ask/tell loop on a plain objective function.

    from search.optimize import optimize
    space = {"lr": {"float": [1e-4, 0.1], "log": True}, "layers": {"int": [1, 4]},
             "act": {"choice": ["relu", "gelu"]}}
    result = optimize(lambda cfg: train_and_score(**cfg), space, trials=40)
    result.best_config, result.best_value

The objective takes a configuration (a dict, see ``search.space``) and returns a number,
or None / NaN for a failed evaluation; it can be a table lookup or a training run.  No Ray
is needed; the same searchers drive Ray Tune through their ``Searcher`` interface.
"""
from __future__ import annotations

import copy
import dataclasses
import logging
from typing import Any, Callable, Sequence

from search.searchers import SEARCHERS, objective_value, searcher_options
from synth.config import check_choice, check_range, short_repr
from synth.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class OptimizeResult:
    best_config: dict | None
    best_value: float | None
    history: list[tuple[dict, float | None]]   # (config, value) in evaluation order


def optimize(objective: Callable[[dict], Any], space, *, trials: int, searcher: str = "localbo",
             mode: str = "max", seed: int = 0, candidates: Sequence[dict] | None = None,
             progress: bool = False, catch: tuple = (), **options) -> OptimizeResult:
    """Evaluate up to ``trials`` configurations proposed by ``searcher`` (one of
    ``search.searchers.SEARCHERS``) and return the best; ``options`` go to the searcher.
    An objective that raises one of the exception types in ``catch`` is a failed evaluation
    (as in Optuna's ``study.optimize(catch=...)``); any other exception ends the search, with
    a note of the evaluations done and the best so far (they were lost without a word: a
    training run failing at trial 39 of 40 discarded the 38 before it)."""
    if not isinstance(catch, tuple) or not all(isinstance(t, type) and issubclass(
            t, Exception) for t in catch):
        raise ConfigError(f"catch must be a tuple of exception types (e.g. (RuntimeError,)), "
                          f"got {short_repr(repr(catch), 80)}")
    check_choice("searcher", searcher, tuple(SEARCHERS))
    check_choice("mode", mode, ("max", "min"))
    check_range("trials", trials, 1, None, integer=True)
    if not callable(objective):   # it failed at the first evaluation, as "the objective raised"
        raise ConfigError(f"objective must be a function of a configuration returning a "
                          f"number, got {short_repr(repr(objective), 80)}")
    if "max_trials" in options:   # a TypeError ("got multiple values for max_trials")
        raise ConfigError("optimize takes trials=N, not max_trials")
    known = searcher_options(searcher) - {"mode", "seed", "candidates", "max_trials"}
    unknown = sorted(set(options) - known)
    if unknown:   # a TypeError from the searcher's constructor, naming no searcher
        raise ConfigError(f"{unknown[0]!r} is not an option of the {searcher} searcher; its "
                          f"options: {', '.join(sorted(known))}")
    options = {"batch_size": 1, **options}
    s = SEARCHERS[searcher](space, mode=mode, seed=seed, candidates=candidates,
                            max_trials=trials, **options)
    if s.constraints and s.cost_model is None:
        # a searcher prices proposals with its cost model and learns the figures tell() is
        # given; optimize tells none, so without a cost model the constraints held nothing
        raise ConfigError(f"the constraints {', '.join(map(str, s.constraints))} need "
                          f"cost_model=search.costs.CostModel(input_shape, num_classes) to "
                          f"price each configuration (or the searcher's ask/tell with "
                          f"tell(config, value, figures={{...}}))")
    history: list[tuple[dict, float | None]] = []
    best: tuple[dict | None, float | None] = (None, None)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=trials, desc=f"optimize ({searcher})")
    while len(history) < trials:
        config = s.ask()
        if config is None:
            break
        # the objective gets its own copy: one that popped a key (train(cfg.pop("lr"), **cfg))
        # changed the configuration told and recorded as the best
        try:
            raw = objective(copy.deepcopy(config))
        except catch as e:
            logger.warning("optimize: the objective raised %s for %s: a failed evaluation",
                           type(e).__name__, config)
            raw = None
        except Exception as e:
            e.add_note(f"optimize: the objective raised for {short_repr(repr(config), 200)}, "
                       f"after {len(history)} evaluations (best {best[1]!r} at "
                       f"{short_repr(repr(best[0]), 200)}); pass catch=(...) to count such "
                       f"errors as failed evaluations")
            raise
        value = objective_value(raw, config)
        s.tell(config, value)
        history.append((config, value))
        if value is not None and (best[1] is None or (value > best[1] if mode == "max"
                                                        else value < best[1])):
            best = (config, value)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(best=best[1])
    if bar is not None:
        bar.close()
    return OptimizeResult(best[0], best[1], history)
