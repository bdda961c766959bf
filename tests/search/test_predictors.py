"""Predictor contract: fit returns self, predict shapes, std for the GP only; acquisitions."""
import os
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


def test_fast_gp_contract_refits_and_std():
    from search.predictors import FastGPConfig, FastGPPredictor
    x, y = _data(40, 0)
    xt, yt = _data(60, 1)
    gp = FastGPPredictor(FastGPConfig(refit_growth=0.5))
    with pytest.raises(UserError, match="not fitted"):
        gp.predict(xt)
    assert gp.fit(x, y) is gp and gp.hyper_fits_ == 1
    mean, std = gp.predict(xt, return_std=True)
    assert kendall_tau(mean, yt) > 0.5 and (std > 0).all()
    far = gp.predict(np.vstack([x[:3], x[:3] + 5.0]), return_std=True)[1]
    assert far[3:].min() > far[:3].max()
    x2, y2 = np.vstack([x, xt[:5]]), np.r_[y, yt[:5]]
    gp.fit(x2, y2)                   # grew by 12% < 50%: hyperparameters kept
    assert gp.hyper_fits_ == 1 and np.allclose(gp.predict(x2[-5:]), y2[-5:], atol=0.2)
    gp.fit(np.vstack([x2, xt[5:30]]), np.r_[y2, yt[5:30]])
    assert gp.hyper_fits_ == 2


@pytest.mark.parametrize("kind", ["fastgp", "gp"])
def test_gp_scores_large_candidate_sets_in_blocks(kind, monkeypatch):
    """Marginal variances block by block: the largest kernel block is (batch x n_train),
    never (N x N) over the candidates, and the blocks agree with one small call."""
    import search.predictors as P
    x, y = _data(30, 0)
    big = np.random.default_rng(5).random((20000, 4))
    if kind == "fastgp":
        gp = P.FastGPPredictor(P.FastGPConfig(predict_batch=1000)).fit(x, y)
        shapes = []
        real = P._matern52
        monkeypatch.setattr(P, "_matern52", lambda a, b, s: shapes.append((len(a), len(b)))
                            or real(a, b, s))
    else:
        gp = GPPredictor(GPConfig(iterations=10, predict_batch=1000)).fit(x, y)
        shapes = []
        real = gp._predict_block
        gp._predict_block = lambda t: shapes.append((len(t), 30)) or real(t)
    mean, std = gp.predict(big, return_std=True)
    assert mean.shape == std.shape == (20000,) and np.isfinite(std).all()
    assert len(shapes) == 20 and max(a for a, _ in shapes) == 1000
    m2, s2 = gp.predict(big[:7], return_std=True)
    np.testing.assert_allclose(m2, mean[:7], rtol=1e-6)
    np.testing.assert_allclose(s2, std[:7], rtol=1e-4)


@pytest.mark.parametrize("additive", [False, True])
def test_fast_gp_likelihood_gradient_matches_finite_differences(additive):
    """The analytic gradient (with K^-1 from the Cholesky factor by potri) against central
    differences of the negative log marginal likelihood, tied lengthscales included (and,
    with ``additive``, the per-group linear weights)."""
    from search.predictors import FastGPConfig, FastGPPredictor, _cho_inverse
    x, y = _data(25, 3)
    x = (x - x.min(0)) / np.ptp(x, axis=0)
    y = (y - y.mean()) / y.std()
    groups = np.array([0, 0, 1, 2])[:x.shape[1]]
    gp = FastGPPredictor(FastGPConfig(additive=additive))
    theta = np.r_[np.log([0.7, 1.3, 0.9][:groups.max() + 1]), 0.2, np.log(0.05)]
    if additive:
        theta = np.r_[theta, np.log([0.3, 0.05, 0.8])]
    _, grad = gp._nll(theta, x, y, groups)
    for i in range(len(theta)):
        step = np.zeros_like(theta)
        step[i] = 1e-5
        numeric = (gp._nll(theta + step, x, y, groups, False)
                   - gp._nll(theta - step, x, y, groups, False)) / 2e-5
        assert grad[i] == pytest.approx(numeric, rel=1e-4, abs=1e-6)
    k = np.cov(np.random.default_rng(0).random((30, 8)), rowvar=False) + np.eye(8)
    np.testing.assert_allclose(_cho_inverse(np.linalg.cholesky(k)), np.linalg.inv(k), rtol=1e-10)


def test_fast_gp_fits_hyperparameters_on_a_bounded_subset(monkeypatch):
    """The likelihood the hyperparameters maximize is that of at most ``hyper_points``
    points (each evaluation factorizes an n x n matrix: 25-33 ms at 300 points here), while
    the posterior uses them all."""
    from search.predictors import FastGPConfig, FastGPPredictor
    x, y = _data(90, 5)
    gp = FastGPPredictor(FastGPConfig(hyper_points=30))
    sizes = []
    nll = gp._nll
    monkeypatch.setattr(gp, "_nll", lambda th, xs, *a, **k: sizes.append(len(xs)) or nll(th, xs, *a, **k))
    gp.fit(x, y)
    assert sizes and set(sizes) == {30} and gp.alpha_.shape == (90,)
    assert kendall_tau(gp.predict(x), y) > 0.8


def test_single_thread_limits_scipy_blas_loaded_later():
    """The thread limit covers scipy's own OpenBLAS and xgboost's OpenMP even when the first
    ``single_thread`` ran before scipy.linalg or xgboost was imported (the predictors import
    them inside their fits); they used to stay on all cores.  A fresh interpreter: the
    module state is per process."""
    import subprocess
    import sys
    code = ("import sys\n"
            "from search.predictors import single_thread\n"
            "assert 'scipy.linalg' not in sys.modules\n"
            "with single_thread():\n    pass\n"
            "import scipy.linalg\n"
            "import xgboost\n"
            "from threadpoolctl import threadpool_info\n"
            "with single_thread():\n"
            "    blas = [(i['filepath'], i['num_threads']) for i in threadpool_info()]\n"
            "assert any('scipy' in p for p, _ in blas), blas\n"
            "assert all(n == 1 for _, n in blas), blas\n")
    env = dict(os.environ, OMP_NUM_THREADS="", OPENBLAS_NUM_THREADS="")
    env.pop("OMP_NUM_THREADS"), env.pop("OPENBLAS_NUM_THREADS")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]


def test_additive_fast_gp_learns_a_main_effect_of_one_position():
    """Six categorical parameters (one-hot, one group each) plus the counts of their shared
    values (one group): the value depends on the counts and, besides, on one parameter
    taking one value (a skip connection on the one edge where it helps).  At 15 points the
    additive GP (a linear kernel per group beside the Matern) ranks held-out points better
    than the Matern alone (Kendall tau 0.45 -> 0.65, 0.36 -> 0.92, 0.17 -> 0.30 on these
    three draws); its marginal variances are the same in blocks as in one call, and its
    hyperparameters are the Matern's plus one weight per group."""
    from search.predictors import FastGPConfig, FastGPPredictor
    groups = np.r_[np.repeat(np.arange(6), 5), np.full(5, 6)]
    for seed in range(3):
        rng = np.random.default_rng(seed)

        def data(n):
            v = rng.integers(5, size=(n, 6))
            counts = np.stack([(v == i).sum(1) for i in range(5)], 1)
            y = 0.3 * (counts[:, 3] - counts[:, 1]) + 1.0 * (v[:, 3] == 1)
            return np.hstack([np.eye(5)[v].reshape(n, 30), counts]), y
        x, y = data(15)
        xt, yt = data(400)
        taus = []
        for additive in (False, True):
            gp = FastGPPredictor(FastGPConfig(additive=additive, predict_batch=64))
            gp.fit(x, y, groups=groups)
            mean, std = gp.predict(xt, return_std=True)
            taus.append(kendall_tau(mean, yt))
            m7, s7 = gp.predict(xt[:7], return_std=True)
            np.testing.assert_allclose(m7, mean[:7], rtol=1e-6)
            np.testing.assert_allclose(s7, std[:7], rtol=1e-4)
            assert gp.theta_.shape == (2 * 7 + 2 if additive else 7 + 2,)
        assert taus[1] > taus[0] + 0.1, (seed, taus)


def test_minimize_within_stops_at_its_evaluations():
    """At most ``evaluations`` calls even inside a line search (scipy's ``maxfun`` is checked
    only between iterations), returning the lowest point evaluated; with enough of them it
    is scipy's L-BFGS-B result."""
    from scipy.optimize import rosen, rosen_der
    from search.predictors import minimize_within
    calls = []

    def fun(th):
        calls.append(th.copy())
        return rosen(th), rosen_der(th)
    start, bounds = np.array([-1.2, 1.0, -1.2, 1.0]), [(-2.0, 2.0)] * 4
    theta, done, finished = minimize_within(fun, start, (), bounds, 15, 4)
    assert len(calls) == 4 and not finished and done < 4
    assert rosen(theta) == min(rosen(c) for c in calls) < rosen(start)
    calls.clear()
    theta, done, finished = minimize_within(fun, start, (), bounds, 200, 1000)
    assert finished and np.allclose(theta, 1.0, atol=1e-3) and len(calls) <= 2 * 200 + 1


def test_fast_gp_spreads_a_warm_reoptimization_over_fits(monkeypatch):
    """A warm re-optimization on ``hyper_points`` points spends at most ``fit_evaluations``
    likelihood evaluations per fit (one suggestion each in a search: the largest suggestion
    at 300 observations was the whole re-optimization) and continues at the next fits on the
    same subset of points until its ``warm_iterations`` are done."""
    import dataclasses
    from search.predictors import FastGPConfig, FastGPPredictor
    x, y = _data(100, 7)
    xt, yt = _data(60, 8)
    gp = FastGPPredictor(FastGPConfig(hyper_points=30, fit_evaluations=3, warm_iterations=6,
                                      refit_growth=0.5, additive=True))
    gp.fit(x[:60], y[:60])                  # from the prior: not bounded
    assert gp.hyper_fits_ == 1 and gp.pending_ == 0
    seen = []
    nll = gp._nll
    monkeypatch.setattr(gp, "_nll", lambda th, xs, *a, **k: seen[-1].append(xs.copy())
                        or nll(th, xs, *a, **k))
    for n in range(90, 100):                # grew by 50%: a warm re-optimization starts at 90
        seen.append([])
        gp.fit(x[:n], y[:n])
        if gp.pending_ == 0:
            break
    assert gp.hyper_fits_ == 2 and len(seen) >= 3, [len(s) for s in seen]
    assert all(0 < len(s) <= 3 for s in seen)
    assert all(np.array_equal(xs, seen[0][0]) for s in seen for xs in s)   # one subset
    whole = FastGPPredictor(dataclasses.replace(gp.config, fit_evaluations=10000))
    whole.fit(x[:60], y[:60]).fit(x[:90], y[:90])     # the same re-optimization in one fit
    assert whole.hyper_fits_ == 2 and whole.pending_ == 0
    assert kendall_tau(gp.predict(xt), yt) > kendall_tau(whole.predict(xt), yt) - 0.03
