"""Predictor contract: fit returns self, predict shapes, std for the GP only; acquisitions."""
import numpy as np
import pytest

from search.predictors import (BoostedTreesConfig, BoostedTreesPredictor, GPConfig, GPPredictor,
                               accuracy_logit, expected_improvement, kendall_tau,
                               upper_confidence_bound)
from synth.errors import ConfigError, UserError


def _data(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 4))
    return x, 2 * x[:, 0] + np.sin(3 * x[:, 1]) + 0.01 * rng.standard_normal(n)


@pytest.mark.parametrize("make", [lambda: BoostedTreesPredictor(BoostedTreesConfig(n_estimators=100)),
                                  lambda: GPPredictor(GPConfig(iterations=60))])
def test_contract_and_ranking(make):
    x, y = _data(40, 0)
    xt, yt = _data(60, 1)
    p = make()
    with pytest.raises(UserError, match="not fitted"):
        p.predict(xt)
    assert p.fit(x, y) is p
    pred = p.predict(xt)
    assert pred.shape == (60,)
    assert kendall_tau(pred, yt) > 0.5
    with pytest.raises(UserError, match="2-D"):
        p.fit(x[:, 0], y)


def test_gp_std_and_warm_start():
    x, y = _data(30, 0)
    gp = GPPredictor(GPConfig(iterations=60, warm_iterations=5)).fit(x, y)
    mean, std = gp.predict(np.vstack([x[:3], x[:3] + 5.0]), return_std=True)
    assert mean.shape == std.shape == (6,)
    assert (std > 0).all() and std[3:].min() > std[:3].max()  # far from data: less certain
    x2, y2 = _data(35, 2)
    assert gp.fit(x2, y2) is gp  # refit starts from the previous hyperparameters
    assert np.isfinite(gp.predict(x2)).all()


def test_trees_have_no_std_and_configs_validate():
    x, y = _data(20, 0)
    with pytest.raises(UserError, match="standard deviation"):
        BoostedTreesPredictor().fit(x, y).predict(x, return_std=True)
    with pytest.raises(ConfigError, match="max_depth"):
        BoostedTreesConfig(max_depth=0)
    with pytest.raises(ConfigError, match="iterations"):
        GPConfig(iterations=0)


def test_acquisitions():
    mean, std = np.array([0.5, 0.9, 0.9]), np.array([0.1, 0.1, 0.0])
    ei = expected_improvement(mean, std, best=0.8)
    assert (ei >= 0).all() and ei[1] > ei[0] and ei[1] > ei[2]
    assert np.isclose(ei[2], 0.1)  # no uncertainty: EI = improvement
    assert np.allclose(upper_confidence_bound(mean, std, beta=4.0), mean + 2 * std)


def test_accuracy_logit_is_monotone_finite_and_centred():
    y = np.array([0.0, 0.1, 0.5, 0.9, 0.99, 1.0])
    z = accuracy_logit(y)
    assert np.isfinite(z).all() and np.all(np.diff(z) > 0)
    assert z[2] == pytest.approx(0.0)
    assert z[3] == pytest.approx(np.log(9.0))
    assert z[0] == pytest.approx(-z[-1])  # clipped symmetrically
