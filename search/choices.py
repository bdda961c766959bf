"""The searchers' names: constants with no imports, so the CLI shows and checks
``--searcher`` before Ray and torch are imported (cf. ``synth.choices``), and a
``SearchConfig`` is validated without them (``nnsynth search --resume`` of a finished search
needs neither).  ``search.searchers.SEARCHERS`` maps each name to its class, in this order."""
SEARCHER_NAMES = ("steerage", "chameleon", "localbo", "random")
# The searchers that fit no predictor (their class's ``uses_predictor`` is False, which
# search.searchers asserts): any ``n_initial`` does for them
PREDICTOR_FREE = ("random",)
MIN_ROWS = 2   # a predictor needs two (architecture, accuracy) results to fit
# The searcher of ``SearchConfig`` and ``nnsynth search`` when none is named: the fewest trials
# to within 1 and 0.5 pt of the best on every tabular benchmark of
# benchmarks/results/search_efficiency.md, at ~20-30 ms a suggestion
DEFAULT_SEARCHER = "localbo"
# The key of a trial's last report (its final result; the reports before are per epoch, for
# ASHA): here, not beside the searchers that read it, so the trial (search.trial) and what
# imports it (a new search's checks of its space and data) do not import the searchers,
# Ray Tune's Searcher with them (~2.5 s), for a constant
DONE_KEY = "trial_final"


def check_n_initial(n_initial: int, uses_predictor: bool = True) -> None:
    """A predictor is first fitted after ``n_initial`` random results; it needs ``MIN_ROWS``
    (fewer would fail every run after its first trial, and again on resume)."""
    if uses_predictor and n_initial < MIN_ROWS:   # with fields: the CLI names --n-initial
        from synth.config import value_error
        raise value_error("n_initial", n_initial,
                          f"must be >= {MIN_ROWS} for a predictor-guided searcher (the "
                          f"predictor needs {MIN_ROWS} results to fit)")
