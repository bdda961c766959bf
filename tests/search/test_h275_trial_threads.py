"""A search trial's torch threads do not hang on what was free as the search began (h275).

``run_search`` asks Tune for no more CPUs a trial than are free at that moment (a pool of
an earlier search, actors of a pipeline stage before that Ray has not released yet), and
each trial set its torch threads to the CPUs it was granted: the same search trained with 1
or 2 threads as those actors were or were not gone yet, and float sums split over threads
differ in their last bits (the same pattern gave a sweep's refined weights 3e-8 apart;
cluster.train.Scaling.threads).  The threads are planned on the cluster's total now."""
from search.run import SearchConfig, trial_cpus


def test_a_trials_threads_follow_the_cluster_not_what_is_free():
    config = SearchConfig(trials=1, concurrency=1, hardware=False)
    assert trial_cpus(config, total=2, free=2) == (2.0, 2)
    assert trial_cpus(config, total=2, free=1) == (1.0, 2)     # asks for 1, trains with 2
    two = SearchConfig(trials=4, concurrency=2, hardware=False)
    assert trial_cpus(two, total=2, free=0.5) == (0.25, 1)
    pooled = SearchConfig(trials=4, concurrency=2, hardware=True, pool_shards=1, pool_cpus=1)
    assert trial_cpus(pooled, total=5, free=4) == (2.0, 2)
    assert trial_cpus(pooled, total=5, free=1) == (0.5, 2)
    # a trial runs on one node: two nodes of 4, one trial at a time, 4 threads
    assert trial_cpus(config, total=8, free=8, node=4) == (8.0, 4)
