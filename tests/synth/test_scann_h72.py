"""SCANN's standardization of the reduced features on a feature constant on the training split."""
import dataclasses

import pytest
import torch

from synth.scann import fit_reduction


@pytest.fixture(scope="module")
def pinned():
    """iris with its first feature 0.5 in every training sample and 1.5 in every test one."""
    from synth.data import load_dataset
    iris = load_dataset("iris")
    xt, xs = iris.x_train.clone(), iris.x_test.clone()
    xt[:, 0], xs[:, 0] = 0.5, 1.5
    return dataclasses.replace(iris, x_train=xt, x_test=xs)


@pytest.mark.parametrize("method", ["none", "pca"])
def test_a_feature_constant_on_train_is_divided_by_one(pinned, method):
    """std + 1e-8 divided the constant feature (or PCA's zero-variance component) by 1e-8:
    the test split's 1.5 became 1e8.  Now it is divided by 1 as StandardScaler does."""
    reduced, fmap = fit_reduction(pinned, method, 4, seed=0)
    assert reduced.x_test.abs().max().item() < 10, reduced.x_test.abs().max()
    if method == "none":
        assert fmap.std[0] == 1.0
        assert torch.allclose(reduced.x_test[:, 0], torch.ones(len(reduced.x_test)))
    # the other features are still standardized on the training split (PCA's at one common
    # scale, ``synth.scann.reduced_scale``: its third component's std is 0.18)
    varying = reduced.x_train.std(0) > 0.1
    assert int(varying.sum()) == 3
    assert torch.allclose(reduced.x_train[:, varying].mean(0), torch.zeros(3), atol=1e-5)
