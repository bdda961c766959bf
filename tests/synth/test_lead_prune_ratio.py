"""The removed fraction ``nnsynth prune`` reports is the ratio of its channel counts, not
``1 - kept / total``: 7 of 10 channels kept printed 'ratio: 0.30000000000000004'."""
from synth.dfprune import PruneConfig, prune
from synth.models import build


def test_the_removed_fraction_is_the_ratio_of_the_counts():
    model = build({"family": "mlp", "hidden": [10]}, (4,), 3).eval()
    res = prune(model, None, None, PruneConfig(ratio=0.3, importance="magnitude",
                                               progress=False))
    assert res.spec_after["hidden"] == [7]
    assert res.ratio == 0.3 and res.summary()["ratio"] == 0.3
