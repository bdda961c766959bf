"""A predictor-guided search whose every trial is random says so (h238).

Before: ``nnsynth search --dataset iris --trials 2 --searcher steerage`` (default
--n-initial 8) ran two random architectures and its summary said 'searcher steerage' with
no word that the predictor proposed none (tiny.yaml's search too: trials 2, n_initial 2).
"""
import json

from search.run import SearchConfig, random_only, summarize


def _row(trial_id, checkpoint):
    return {"trial_id": trial_id, "spec": json.dumps({"family": "mlp", "hidden": [4]}),
            "accuracy": 0.5, "test_accuracy": 0.5, "parameters": 10,
            "nonzero_parameters": 10, "flops": 100, "nonzero_flops": 100, "epochs": 1,
            "wall_seconds": 1.0, "stopped_early": False, "checkpoint": checkpoint,
            "finished_at": 1.0, "device": "cpu", "selected_on": "real_val"}


def test_random_only_names_the_two_settings():
    text = random_only(SearchConfig(dataset="iris", searcher="steerage", trials=2))
    assert text and "n_initial 8" in text and "trials 2" in text and "steerage" in text
    assert random_only(SearchConfig(dataset="iris", trials=2, n_initial=2)) is not None
    assert random_only(SearchConfig(dataset="iris", trials=3, n_initial=2)) is None
    assert random_only(SearchConfig(dataset="iris", searcher="random", trials=2)) is None


def test_the_summary_carries_the_warning(tmp_path):
    from search.results import append_result
    ckpt = tmp_path / "models" / "a.pt"
    ckpt.parent.mkdir()
    ckpt.write_bytes(b"model a")
    append_result(tmp_path / "results.parquet", _row("a", str(ckpt)))
    config = SearchConfig(dataset="iris", searcher="localbo", trials=1, n_initial=2,
                          hardware=False)
    assert "every trial is a random architecture" in summarize(tmp_path, config)["warning"]
    config = SearchConfig(dataset="iris", searcher="random", trials=1, hardware=False)
    assert "warning" not in summarize(tmp_path, config)


def test_a_search_of_fewer_trials_than_its_concurrency_says_how_many_run_at_once(tmp_path):
    # before: 'search: 1 trial, searcher localbo, 2 at a time' (and the one trial was given
    # half the free CPUs)
    from search.run import at_once, start_text
    config = SearchConfig(dataset="iris", trials=1, concurrency=2, searcher="random")
    assert at_once(config) == 1
    assert "1 at a time" in start_text(config, tmp_path, resume=False)
    assert at_once(SearchConfig(dataset="iris", trials=5, concurrency=2)) == 2
