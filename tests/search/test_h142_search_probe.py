"""Probe of the search as a user meets it (helper 142).  No Ray runtime: a search directory
is laid out as ``run_search`` leaves it and summarized."""
import json

from tests.search.test_asha_stopped import _row


def _one_trial_search(tmp_path, spec, parameters):
    """The directory of a search that finished one trial of ``spec``."""
    from search.results import append_result
    ckpt = tmp_path / "models" / "a.pt"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"model a")
    append_result(tmp_path / "results.parquet",
                  _row("a", 0.9, str(ckpt), spec=json.dumps(spec), parameters=parameters,
                       latency_ms=0.000378))


def test_a_constraint_that_leaves_fewer_members_than_trials_is_not_an_interruption(tmp_path):
    """`nnsynth search --dataset iris --space mlp --trials 4 --constraint 'parameters<=140'`:
    one member of the 516 of the mlp space has at most 140 parameters on iris (hidden [16],
    no BatchNorm: 131), so the searcher ran it and stopped; the summary said "1 trials; 3 of
    the 4 requested never ran (an interruption lost them from Tune's saved state; a --resume
    cannot bring them back)", where nothing was interrupted and a resume has nothing to run."""
    from search.run import SearchConfig, save_space, summarize, trials_text
    from search.space import load_space
    space = load_space("mlp")
    _one_trial_search(tmp_path, {"bn": False, "dropout": 0.0, "family": "mlp",
                                 "hidden": [16]}, 131)
    save_space(tmp_path, space)
    config = SearchConfig(dataset="iris", space="mlp", trials=4,
                          constraints=("parameters<=140",))
    summary = summarize(tmp_path, config)
    assert summary["trials_missing"] == 0
    assert summary["space_members"] == 516 and summary["space_runnable"] == 1
    text = trials_text(summary)
    assert "never ran" not in text and "interruption" not in text
    assert text == ("1 trial (1 of the space's 516 configurations builds for the data and "
                    "meets the constraints, 4 were requested)")
    # with room for more, the shortfall is still one an interruption made
    wider = summarize(tmp_path, config.replace(constraints=("parameters<=2000",)))
    assert wider["trials_missing"] == 3 and wider["space_runnable"] is None
    assert "never ran" in trials_text(wider)
