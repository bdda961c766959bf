"""h173's probe of DiabDeep (``synth.diabdeep``): what an interrupted run keeps."""
import pytest

import synth.diabdeep as diabdeep
from synth.data import load_dataset
from synth.diabdeep import DiabDeepConfig, run_diabdeep

TINY = {"server_hidden": [8], "edge_hidden": 4, "gate_hidden": 2, "growth_rounds": 1,
        "growth_batches": 1, "prune_steps": 1, "retrain_epochs": 1, "final_epochs": 0,
        "latency_repeats": 1, "forest_trees": 2}


def _config(baselines):
    return DiabDeepConfig.from_dict({"dataset": "basicmotions", "steps": 4, "epochs": 1,
                                     "baselines": baselines, **TINY})


def test_a_rerun_with_other_baselines_keeps_the_finished_rows(tmp_path, monkeypatch, caplog):
    """Interrupted in the baselines, rerun without the slow ones (--baselines forest): the
    list of baselines was part of the state's settings, so the rerun started over and
    trained both DiabNNs again (on blink, most of 40 CPU-minutes)."""
    data = load_dataset("basicmotions", seed=0)
    report = tmp_path / "r.json"
    real = diabdeep.synthesize
    trained = []

    def synthesize(kind, *a, **k):
        trained.append(kind)
        return real(kind, *a, **k)

    def ctrl_c(name, *a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(diabdeep, "synthesize", synthesize)
    monkeypatch.setattr(diabdeep, "dense_baseline", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        run_diabdeep(_config(["forest", "lstm2"]), data=data, report=str(report))
    assert trained == ["server", "edge"]
    with caplog.at_level("WARNING"):
        result = run_diabdeep(_config(["forest"]), data=data, report=str(report))
    assert trained == ["server", "edge"]        # neither DiabNN trained again
    assert "resuming DiabDeep after 3 finished rows" in caplog.text, caplog.text
    assert [r["model"] for r in result["rows"]] == ["server_diabnn", "edge_diabnn", "forest"]
    assert not (tmp_path / "r.json.resume").exists()
