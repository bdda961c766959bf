"""Failed trials are counted and named: a search of 4 trials where 2 failed (Tune's ERROR
state) said "2 trials" and nothing more; they now go to trial_errors.json (ResultsCallback's
on_trial_error) and the summary says how many failed and where their errors are."""
from types import SimpleNamespace

from tests.search.test_asha_stopped import _row, _search_dir


def _trial(trial_id, hidden):
    return SimpleNamespace(trial_id=trial_id, config={"spec": f'{{"hidden": [{hidden}]}}'},
                           error_file=f"/tune/{trial_id}/error.txt")


def test_failed_trials_are_recorded_and_counted_in_the_summary(tmp_path):
    from search.results import append_result
    from search.run import ERRORS_FILE, ResultsCallback, SearchConfig, summarize, trials_text
    table = _search_dir(tmp_path)                       # a finished, b and c stopped early
    callback = ResultsCallback(str(table))
    callback.on_trial_error(0, [], _trial("d", 4))
    callback.on_trial_error(0, [], _trial("e", 8))
    callback.on_trial_error(0, [], _trial("f", 2))
    append_result(table, _row("f", 0.4, str(tmp_path / "models" / "a.pt")))  # retried, done
    summary = summarize(tmp_path, SearchConfig(dataset="digits", asha=True, hardware=False,
                                               trials=6))
    assert summary["trials_errored"] == 2
    assert trials_text(summary) == (
        f"4 trials (2 trained to the end, 2 stopped early by ASHA), 2 more failed (their "
        f"errors: {tmp_path / ERRORS_FILE})")
    import json
    errors = json.loads((tmp_path / ERRORS_FILE).read_text())
    assert errors["d"] == {"spec": '{"hidden": [4]}', "error_file": "/tune/d/error.txt"}


def test_a_search_without_failures_says_nothing_of_them(tmp_path):
    from search.run import SearchConfig, summarize, trials_text
    _search_dir(tmp_path)
    summary = summarize(tmp_path, SearchConfig(dataset="digits", hardware=False, trials=3))
    assert summary["trials_errored"] == 0 and "failed" not in trials_text(summary)


def test_trials_that_never_ran_are_named_in_the_summary(tmp_path):
    """A resumed search restores Tune's last snapshot; after a kill during that snapshot one
    ended "done" with 2 of its 5 trials, and the summary said "2 trials" and nothing more."""
    from search.run import SearchConfig, summarize, trials_text
    _search_dir(tmp_path)                               # 3 rows
    summary = summarize(tmp_path, SearchConfig(dataset="digits", asha=True, hardware=False,
                                               trials=5))
    assert summary["trials_missing"] == 2
    assert trials_text(summary).endswith("; 2 of the 5 requested never ran (an interruption "
                                         "lost them from Tune's saved state; a --resume "
                                         "cannot bring them back)")
    full = summarize(tmp_path, SearchConfig(dataset="digits", asha=True, hardware=False,
                                            trials=3))
    assert full["trials_missing"] == 0 and "never ran" not in trials_text(full)


def test_a_space_smaller_than_the_trials_is_not_an_interruption(tmp_path):
    """A space of 2 networks with --trials 5: the searcher ran out after 2, and the summary
    said "3 of the 5 requested never ran (an interruption lost them ...)"."""
    from search.run import SearchConfig, save_space, summarize, trials_text
    from search.space import load_space
    _search_dir(tmp_path)                               # 3 rows
    save_space(tmp_path, load_space({"family": "mlp", "params": {
        "hidden": {"choice": [[4], [8], [16]]}}}))
    summary = summarize(tmp_path, SearchConfig(dataset="digits", asha=True, hardware=False,
                                               trials=5))
    assert summary["space_members"] == 3 and summary["trials_missing"] == 0
    assert "never ran" not in trials_text(summary)
    assert trials_text(summary).endswith("(the space holds 3 configurations, 5 were requested)")
