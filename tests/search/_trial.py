"""Run ``search.trial.train_candidate`` in this process, outside Tune: the trial's Tune
context (its ID) and its reports are stood in for; the reports are returned in order.
``begun_search``: a search's folder as ``nnsynth search`` leaves it before Ray starts."""


def run_trial_here(monkeypatch, trial_id: str, config: dict, settings: dict) -> list[dict]:
    import importlib
    import ray.tune
    import search.trial
    reports = []
    monkeypatch.setattr(search.trial, "_report", lambda m, checkpoint_file=None:
                        reports.append(m))
    monkeypatch.setattr(importlib.import_module("cluster.connect"), "match_torch_threads",
                        lambda: 1)

    class Context:
        def get_trial_id(self):
            return trial_id
    monkeypatch.setattr(ray.tune, "get_context", Context)
    search.trial.train_candidate(config, settings)
    return reports


def begun_search(folder):
    """``folder`` claimed and begun as a 3-trial mlp search of iris (its settings, space and
    inputs written, no trial run); returns its path."""
    from search.run import SearchConfig, begin_search, searchable_space
    from synth.files import claim_dir
    config = SearchConfig(space="mlp", dataset="iris", trials=3, epochs=1)
    out = claim_dir(folder, "--out")
    begin_search(out, config, searchable_space(config.space))
    return out
