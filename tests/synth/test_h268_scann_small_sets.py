"""SCANN on a set of few samples: basicmotions, 57 training series of 6 x 100 (4 classes).

1. Its widths shrank by the components PCA could find (one per training sample: 56 of the 600
   features where --components 0.5 asks 300), 64-32 to [6, 3], fewer units than classes; now
   by the compression asked, to [32, 16].
2. Schemes A and C set their pruning floor on a grown network trained ``retrain_epochs`` (15
   epochs: 30 SGD steps on 57 samples); scheme C's stayed at a loss of ln 4 and was pruned
   at chance (test 0.25, seeds 0-2).  Their growth now trains ``epochs``, as scheme B's start
   and the dense baseline do."""
import logging

import pytest

from synth.data import load_dataset
from synth.scann import ScannConfig, run_scann


@pytest.fixture(scope="module")
def basicmotions():
    return {seed: load_dataset("basicmotions", seed=seed) for seed in (0, 2)}


def test_the_widths_follow_the_compression_asked_not_the_sample_cap(basicmotions, caplog):
    caplog.set_level(logging.WARNING)
    result = run_scann(basicmotions[0], ScannConfig(epochs=1, retrain_epochs=0, prune_steps=1,
                                                    device="cpu"))
    assert result["reduced_features"] == 56 and "keeps at most one feature" in caplog.text
    assert result["hidden"] == [32, 16], result["hidden"]


@pytest.mark.parametrize("scheme, seed", [("C", 0), ("A", 2)])
def test_a_grown_network_learns_before_it_is_pruned(basicmotions, scheme, seed):
    # before: C 0.25 with 0 connections left, A 0.375 (chance 0.25, baseline 0.75 both)
    result = run_scann(basicmotions[seed], ScannConfig(scheme=scheme, seed=seed, device="cpu"))
    assert result["test_accuracy"] >= 0.6, result["test_accuracy"]
    assert result["connections"] > 0
    assert "at chance" not in result.get("warning", "")
