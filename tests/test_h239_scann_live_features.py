"""scann's result says how many of its reduced features are live.

``nnsynth scann --dataset basicmotions --json`` said ``reduced_features: 57`` (PCA of 600
features, capped at the 57 training samples) where one component holds no variance of the
training split and is zero for every input (``fit_reduction`` warns of it): the MLP reads 56
features that can carry anything.  ``reduced_features_live`` is that count, beside k.  Since
h240 such a component is dropped: ``reduced_features`` is the live count
(tests/test_h240_scann_dead_components.py)."""
import logging

from synth.data import load_dataset
from synth.scann import ScannConfig, run_scann


def test_the_result_counts_the_live_reduced_features(caplog):
    data = load_dataset("digits", seed=0)   # 64 pixels, 4 constant on train: PCA spans 60
    config = ScannConfig(components=64, epochs=1, prune_steps=1, retrain_epochs=0,
                         hidden=(8,), device="cpu")
    with caplog.at_level(logging.WARNING):
        result = run_scann(data, config)
    dead = 64 - result["reduced_features_live"]
    assert result["reduced_features"] == result["reduced_features_live"] and 0 < dead < 64
    assert f"{dead} of the 64 components hold no variance" in result["warning"]


def test_every_feature_is_live_where_none_is_dead():
    data = load_dataset("iris", seed=0)
    result = run_scann(data, ScannConfig(components=2, epochs=1, prune_steps=1,
                                         retrain_epochs=0, hidden=(8,), device="cpu"))
    assert result["reduced_features"] == result["reduced_features_live"] == 2
