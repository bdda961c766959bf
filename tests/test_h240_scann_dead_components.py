"""SCANN keeps only the reduced features that hold variance of the training split.

``nnsynth scann --dataset basicmotions --json`` said ``reduced_features: 57``,
``reduced_features_live: 56``: PCA of 600 features capped at the 57 training samples, whose
centered data span 56 directions.  The 57th component was zeroed for every input, yet the MLP
was built with an input for it and its connections were counted (SCANN's connections and
reduction).  Now the component is dropped, with a warning: the MLP reads the 56 live ones."""
import functools

import numpy as np

import synth.scann
from synth.data import load_dataset
from synth.scann import ScannConfig, fit_reduction, run_scann
from tests._cli import json_result, run

_FAST = dict(epochs=1, prune_steps=1, retrain_epochs=0)


def test_the_mlp_reads_only_the_live_components():
    data = load_dataset("digits", seed=0)   # 64 pixels, 4 of them constant on its training split: PCA spans 60
    result = run_scann(data, ScannConfig(components=64, hidden=(8,), device="cpu", **_FAST))
    assert result["reduced_features"] == result["reduced_features_live"] == 60, result
    assert result["model"].net[1].in_features == 60
    assert "4 of the 64 components hold no variance" in result["warning"]
    assert "SCANN keeps the 60 that do" in result["warning"]


def test_the_dropped_component_folds_exactly(tmp_path):
    """The folded model of the data set's own inputs is the MLP on the kept components."""
    import torch
    from synth.models import build
    from synth.scann import model_on_inputs
    data = load_dataset("digits", seed=0)
    reduced, feature_map = fit_reduction(data, "pca", 64, seed=0)
    assert reduced.input_shape == (60,) and len(feature_map.keep) == 60
    assert reduced.x_train.shape[1] == reduced.x_test.shape[1] == 60
    assert np.isfinite(feature_map.std).all()
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8]}, reduced.input_shape, 10).eval()
    folded = model_on_inputs(model, feature_map, data.input_shape)
    assert torch.allclose(folded(data.x_test), model(reduced.x_test), atol=1e-4)


def test_the_cli_reports_the_kept_features(tmp_path, monkeypatch):
    """As a user runs it: a table of 14 training rows, PCA asked for half of its 30 features,
    capped at 14, of which 13 hold variance (14 centered rows span 13 directions)."""
    monkeypatch.setattr(synth.scann, "ScannConfig", functools.partial(ScannConfig, **_FAST))
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{j}" for j in range(30)) + ",label\n" + "".join(
        ",".join(str((i * 7 + j * 3) % 11 + (j == 0) * (i % 2) * 5) for j in range(30))
        + f",{i % 2}\n" for i in range(20)))
    result = json_result(run(["-q", "scann", "--dataset", f"csv:{path}", "--json"]))
    kept = result["reduced_features"]
    assert kept == result["reduced_features_live"], result
    assert f"SCANN keeps the {kept} that do" in result["warning"], result


def test_no_component_dead_is_unchanged():
    data = load_dataset("iris", seed=0)
    reduced, feature_map = fit_reduction(data, "pca", 2, seed=0)
    assert reduced.input_shape == (2,) and feature_map.keep is None


def test_factor_analysis_drops_factors_of_zero_loadings():
    """``nnsynth scann --dataset digits --reduce factor_analysis --components 64`` said
    reduced_features 64 and reduced_features_live 64, where 33 of the 64 factors had all-zero
    loadings (scikit-learn's FactorAnalysis): 0 for every input, yet MLP inputs."""
    data = load_dataset("digits", seed=0)
    reduced, feature_map = fit_reduction(data, "factor_analysis", 64, seed=0)
    assert reduced.input_shape == (31,), reduced.input_shape
    # the factors at one common scale (``synth.scann.reduced_scale``): the smallest kept
    # one's std is 0.10 of their mean, a dropped one's was 0 for every input
    assert (reduced.x_train.std(0) > 0.05).all()
    loadings = feature_map.reducer.components_[feature_map.keep]
    assert (abs(loadings).max(1) > 0).all()


def test_a_sparse_projection_row_of_zeros_is_dropped():
    """``nnsynth scann --dataset wine --reduce sparse_rp --seed 9`` said reduced_features 7 and
    reduced_features_live 7, where one row of the sparse projection was all zeros: a feature 0
    for every input, yet an MLP input."""
    data = load_dataset("wine", seed=0)
    reduced, feature_map = fit_reduction(data, "sparse_rp", 0.5, seed=9)
    assert reduced.input_shape == (6,), reduced.input_shape
    assert (reduced.x_train.std(0) > 0.5).all()
    reduced, feature_map = fit_reduction(data, "sparse_rp", 0.5, seed=0)   # no such row
    assert reduced.input_shape == (7,) and feature_map.keep is None
