"""Searches that share one storage_path keep one Tune experiment each.  Every search put its
experiment at <storage_path>/tune: search B (--out sB) started with the storage_path of an
interrupted search A (--out sA) deleted A's experiment (remove_owned) and wrote its own there;
`run_search(None, 'sA', resume=True)` then restored B's finished experiment, ran nothing, and
A's summary said '1 trials; 2 of the 3 requested never ran (an interruption lost them ...)'
(checked with two 3- and 2-trial digits searches under storage_path /tmp/.../shared).  Without
a storage_path the experiment stays <out>/tune.  No Ray: the location is a function of the
search's directory (its id, search.trust) and config."""
from search.run import SearchConfig, tune_experiment
from search.trust import register_search


def test_searches_sharing_a_storage_path_have_their_own_experiments(tmp_path):
    config = SearchConfig(storage_path=str(tmp_path / "shared"))
    a, b = tmp_path / "sA", tmp_path / "sB"
    for out in (a, b):
        out.mkdir()
        register_search(out)
    storage_a, name_a = tune_experiment(config, a)
    storage_b, name_b = tune_experiment(config, b)
    assert storage_a == storage_b == str(tmp_path / "shared")
    assert name_a != name_b
    assert tune_experiment(config, a) == (storage_a, name_a)     # a resume finds it again
    uri = tune_experiment(config.replace(storage_path="s3://bucket/x"), a)
    assert uri[0] == "s3://bucket/x" and uri[1] == name_a


def test_without_a_storage_path_the_experiment_is_the_search_directorys_tune(tmp_path):
    out = tmp_path / "s"
    out.mkdir()
    register_search(out)
    assert tune_experiment(SearchConfig(), out) == (str(out), "tune")
