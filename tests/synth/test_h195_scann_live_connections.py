"""SCANN reports live connections, as grow-prune does (the compacted model's nonzero weights):
the masked model's count included the weights into a hidden unit nothing reads."""
import copy

import pytest
import torch

from synth import scann
from synth.compact import compact
from synth.masked import connections, masked_layers


@pytest.fixture(scope="module")
def iris():
    from synth.data import load_dataset
    return load_dataset("iris")


def test_reported_connections_leave_out_dead_weights(iris, monkeypatch):
    real = scann.synthesize

    def synthesize_then_cut(model, data, config, floor=0.0, **_):
        # the synthesized MLP with its first hidden unit read by nothing: its incoming
        # weights stay nonzero under a mask of 1, but cannot change the output
        model, history = real(model, data, config, floor)
        (_, first, m1), (_, second, m2) = masked_layers(model)[:2]
        with torch.no_grad():
            m1.mask[0] = True
            first.parametrizations.weight.original[0] = 1.0
            m2.mask[:, 0] = False
        history[-1]["connections"] = connections(model)   # as grow_prune.measure counts
        return model, history

    monkeypatch.setattr(scann, "synthesize", synthesize_then_cut)
    config = scann.ScannConfig(scheme="C", hidden=(16, 8), epochs=2, prune_steps=1,
                               retrain_epochs=1, device="cpu", max_accuracy_drop=1.0)
    r = scann.run_scann(iris, config)
    live = connections(compact(copy.deepcopy(r["model"])))
    assert connections(r["model"]) >= live + 2     # the dead row: one weight per input
    assert r["connections"] == live
    assert r["reduction"] == pytest.approx(r["baseline_connections"] / max(1, live))
