"""The searchers' names: a constant with no imports, so the CLI shows and checks
``--searcher`` before Ray and torch are imported (cf. ``synth.choices``).
``search.searchers.SEARCHERS`` maps each name to its class, in this order."""
SEARCHER_NAMES = ("steerage", "chameleon", "localbo", "random")
