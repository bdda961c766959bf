"""The searchers' names: a constant with no imports, so the CLI shows and checks
``--searcher`` before Ray and torch are imported (cf. ``synth.choices``).
``search.searchers.SEARCHERS`` maps each name to its class, in this order."""
SEARCHER_NAMES = ("steerage", "chameleon", "localbo", "random")
# The searcher of ``SearchConfig`` and ``nnsynth search`` when none is named: the fewest trials
# to within 1 and 0.5 pt of the best on every tabular benchmark of
# benchmarks/results/search_efficiency.md, at ~20-30 ms a suggestion
DEFAULT_SEARCHER = "localbo"
