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
# A search's trials make at least this many optimizer steps (SearchConfig.min_steps, nnsynth
# search --min-steps): their epochs are raised on a small training split.  3 epochs of iris'
# 108 training inputs in batches of 64 were 6 steps: over 10 random mlp-space members the
# trials scored 0.797 mean test (0.533 the worst), wine 0.875 (0.444), an 11-class x 20-row
# CSV 0.614 (0.250), so the search ranked undertrained models.  At 60 steps: 0.957, 1.000,
# 0.900; 120: 0.970, 1.000, 0.957.  60 is what a digits trial makes at the default 3 epochs
# (1,293 inputs: 63 steps), so digits and mnist5k (171) train as many epochs as asked.
SEARCH_MIN_STEPS = 60

# How a search decides between trials of the same selection accuracy (SearchConfig.tiebreak,
# search.results.rank_trials): "val_loss", the lowest validation loss, then the fewest
# parameters; "one_se", the fewest parameters among those whose validation loss is within one
# standard error of the lowest (ESL 7.10); "parameters", the fewest parameters at once, the
# rule of every search begun before the setting (LEGACY_TIEBREAK).  (The data-free mode's KD
# loss decides before parameters in each.)  On a tiny validation split most grown-and-pruned
# trials tie at 1.0 and "parameters" took the one pruned furthest: wine seed 1, a [16] mlp
# pruned to 2 hidden units, 0.861 test where the others scored 0.944-0.972.  Over 6 seeds of
# 6-trial searches (benchmarks/results/search_tiebreak.md) val_loss's picks scored wine
# 0.981 test against 0.949, iris 0.967 against 0.956, breast_cancer 0.975 both, digits 0.973
# against 0.972; one_se's the same in 23 of the 24 searches (one breast_cancer search one test
# row lower, 0.974 against 0.982) at a fraction of the nonzero weights (median wine 160
# against 232, iris 549 against 1,712, breast_cancer 228 against 852), so it is the default:
# a compression search takes the smallest model its validation split cannot tell apart
TIEBREAKS = ("one_se", "val_loss", "parameters")
LEGACY_TIEBREAK = "parameters"
DEFAULT_TIEBREAK = "one_se"

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
