"""SCANN's reduced features keep the reducer's geometry: one common scale, not whitened.

``fit_reduction`` divided every PCA component by its own training std.  On basicmotions (57
training series of 6 x 100, PCA capped at the 56 directions they span) that whitening made
the training rows a regular simplex, every row at one distance from every other, holding
nothing of the classes: a 64-32 MLP on them reached train 1.00 and test 0.50/0.38/0.38
(seeds 0-2) against 0.75/0.69/0.69 on the same components at one scale, and
``nnsynth scann --dataset basicmotions`` (scheme B) ended at chance in 2 of seeds 0-2."""
import numpy as np
import torch

from synth.data import load_dataset
from synth.scann import fit_reduction


def _distances(x: np.ndarray) -> np.ndarray:
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    return d[np.triu_indices(len(x), 1)]


def test_pca_at_the_sample_rank_keeps_the_training_rows_distances():
    data = load_dataset("basicmotions", seed=0)
    reduced, feature_map = fit_reduction(data, "pca", 0.5, seed=0)
    assert reduced.input_shape == (56,)          # 57 rows span 56 directions
    raw = _distances(data.x_train.reshape(len(data.x_train), -1).double().numpy())
    red = _distances(reduced.x_train.double().numpy())
    # whitened, every pair was at one distance (spread 1e-7); PCA of full rank is a rotation
    assert red.std() / red.mean() > 0.1
    ratio = red / raw
    assert np.allclose(ratio, ratio.mean(), rtol=1e-3), (ratio.min(), ratio.max())
    # one scale for every component: the reducer's order of variance stays, mean variance 1
    std = reduced.x_train.double().std(0, unbiased=False)
    assert torch.all(std[:-1] >= std[1:] - 1e-6)
    assert abs(float((std ** 2).mean()) - 1.0) < 1e-4
    assert np.allclose(feature_map.std, feature_map.std[0])


def test_no_reduction_still_standardizes_each_feature():
    data = load_dataset("wine", seed=0)
    reduced, _ = fit_reduction(data, "none", 0.5, seed=0)
    assert torch.allclose(reduced.x_train.std(0, unbiased=False),
                          torch.ones(reduced.input_shape[0]), atol=1e-4)
