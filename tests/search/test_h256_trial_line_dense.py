"""A search's progress line of a grown-and-pruned trial says that its latency and energy are
the dense array's (helper 256), as the summary's best_accel_note does (c04f8a4): the line
said '0.000378 ms' of a model of 99 weights, 44 nonzero, without a word."""
DENSE_BRIEF = "the dense array's: zero weights multiplied"   # search.results.DENSE_BRIEF
from search.results import trial_line
from tests.search.test_h254_search_dense_note import GROW_PRUNE, _search


def test_a_grown_and_pruned_trials_line_says_its_figures_are_the_dense_arrays(tmp_path,
                                                                               monkeypatch):
    final, _ = _search(tmp_path, monkeypatch, GROW_PRUNE)
    assert final["accel_note"]
    line = trial_line(final, 1, 1, None)
    assert f" mJ ({DENSE_BRIEF})  " in line, line


def test_a_dense_or_unpriced_trials_line_says_nothing_of_it():
    row = {"spec": '{"family": "mlp", "hidden": [8]}', "accuracy": 0.9, "parameters": 99,
           "latency_ms": 0.000378, "energy_mj": 0.0012, "accel_note": None}
    assert trial_line(row, 1, 1, None) == ("trial 1/1  acc 0.900  99 params  0.000378 ms  "
                                           "0.0012 mJ  mlp hidden=[8]")
    noted = {**row, "accel_note": "the accelerator model is a dense array: ...",
             "latency_ms": None, "energy_mj": None}   # not priced: no figure to qualify
    assert DENSE_BRIEF not in trial_line(noted, 1, 1, None)
