"""An interrupted `run_diabdeep` (the CLI's `nnsynth diabdeep --out`) resumes after its last
finished row: the default run on blink took over 40 CPU-minutes here, and a Ctrl-C before
the last baseline lost all of it."""
import json

import pytest

import synth.diabdeep as diabdeep
from synth.data import load_dataset
from synth.diabdeep import DiabDeepConfig, run_diabdeep

TINY = {"server_hidden": [16], "edge_hidden": 6, "gate_hidden": 4, "growth_rounds": 1,
        "neuron_growth": 1, "growth_batches": 2, "prune_steps": 1, "retrain_epochs": 1,
        "latency_repeats": 2, "forest_trees": 5, "final_epochs": 1, "shift_select": False}


def _config(**extra):
    return DiabDeepConfig.from_dict({"dataset": "basicmotions", "steps": 5, "epochs": 1,
                                     "baselines": ["mlp", "forest"], "seed": 0,
                                     **TINY, **extra})


def test_an_interrupted_run_resumes_after_its_last_finished_row(tmp_path, monkeypatch):
    data = load_dataset("basicmotions", seed=0)
    report = tmp_path / "report.json"
    trained = []
    real_synthesize, real_baseline = diabdeep.synthesize, diabdeep.dense_baseline

    def synthesize(kind, *a, **k):
        trained.append(kind)
        return real_synthesize(kind, *a, **k)

    def interrupted(name, *a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(diabdeep, "synthesize", synthesize)
    monkeypatch.setattr(diabdeep, "dense_baseline", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_diabdeep(_config(), data=data, report=str(report))
    assert trained == ["server", "edge"] and not report.exists()
    state = tmp_path / "report.json.resume"
    assert state.is_file()

    monkeypatch.setattr(diabdeep, "dense_baseline", real_baseline)
    result = run_diabdeep(_config(), data=data, report=str(report))
    assert trained == ["server", "edge"]              # the DiabNNs were not trained again
    assert [r["model"] for r in result["rows"]] == ["server_diabnn", "edge_diabnn", "mlp",
                                                    "forest"]
    assert set(result["histories"]) == {"server", "edge"}
    saved = json.loads(report.read_text())
    assert saved["rows"] == result["rows"] and not state.exists()   # state gone with the report


def test_a_state_of_other_settings_is_not_continued(tmp_path, monkeypatch):
    data = load_dataset("basicmotions", seed=0)
    report = tmp_path / "report.json"

    def interrupted(name, *a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(diabdeep, "dense_baseline", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_diabdeep(_config(), data=data, report=str(report))
    monkeypatch.undo()
    trained = []
    real_synthesize = diabdeep.synthesize
    monkeypatch.setattr(diabdeep, "synthesize",
                        lambda kind, *a, **k: trained.append(kind) or real_synthesize(kind, *a, **k))
    result = run_diabdeep(_config(edge_hidden=5), data=data, report=str(report))
    assert trained == ["server", "edge"]              # other settings: started over
    assert result["rows"][1]["spec"]["hidden"] == [5]


def test_a_foreign_state_file_is_refused_and_kept(tmp_path):
    from synth.errors import UserError
    report = tmp_path / "report.json"
    state = tmp_path / "report.json.resume"
    state.write_bytes(b"my notes")
    with pytest.raises(UserError, match="DiabDeep state"):
        run_diabdeep(_config(), report=str(report))
    assert state.read_bytes() == b"my notes"


def test_the_report_records_the_split_a_given_data_set_was_made_with(tmp_path):
    """``run_diabdeep(config, data=...)`` reported config.seed as the run's seed whatever
    seed the given data was split with: the report now records that split's seed too."""
    data = load_dataset("basicmotions", seed=3)
    result = run_diabdeep(_config(baselines=["forest"]), data=data)
    assert result["seed"] == 0 and result["split_seed"] == 3
