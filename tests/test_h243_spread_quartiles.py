"""The quartiles of a latency spread lie within the timings.

``nnsynth symbiotic --rounds 2`` reported a host table row of best 1.80 ms with q1-q3
0.49-8.36 ms: ``statistics.quantiles``' default 'exclusive' method extrapolates past the
data for two values, so q1 fell below the minimum and q3 above the maximum.  ``spread``
uses the 'inclusive' method (numpy's linear percentiles)."""
from hwsim.latency import spread


def test_two_timings_have_quartiles_between_them():
    s = spread([1.8, 7.0])
    assert 1.8 <= s["q1_ms"] <= s["median_ms"] <= s["q3_ms"] <= 7.0
    assert s["best_ms"] == 1.8


def test_quartiles_of_more_timings_stay_within_them():
    for times in ([3.0, 1.0, 2.0], [5.0, 1.0, 9.0, 2.0, 8.0, 3.0, 7.0, 4.0]):
        s = spread(times)
        assert min(times) <= s["q1_ms"] <= s["q3_ms"] <= max(times)
