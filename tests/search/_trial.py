"""Run ``search.trial.train_candidate`` in this process, outside Tune: the trial's Tune
context (its ID) and its reports are stood in for; the reports are returned in order."""


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
