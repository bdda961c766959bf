"""Accuracy predictors with one scikit-learn-like contract, and acquisition functions.

``fit(X, y) -> self``; ``predict(X)`` -> mean; ``predict(X, return_std=True)`` -> (mean,
std) where the model has a standard deviation (the GP); fitted state ends in ``_``.

- ``BoostedTreesPredictor``: gradient-boosted regression trees (xgboost), STEERAGE's
  accuracy predictor (arXiv 1912.05831, Sec. 3.2: boosted decision trees).
- ``GPPredictor``: an exact Gaussian process (gpytorch) with an ARD Matern-5/2 kernel whose
  hyperparameters maximize the marginal likelihood, Chameleon's accuracy predictor
  (arXiv 1812.08934, Sec. 3.2: GP + Bayesian optimization).
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import sys

import numpy as np
import torch

from search.choices import MIN_ROWS   # a predictor needs two results to fit
from synth.config import Config, check_batch_size, check_choice, check_range
from synth.errors import UserError


_CONTROLLER = None
_CONTROLLER_SAW_XGBOOST = False   # whether xgboost's OpenMP was loaded when it was made
_SINGLE_DEPTH = 0   # nesting depth of single_thread (an inner one changes nothing)


@contextlib.contextmanager
def single_thread():
    """Run torch on one thread: for tiny models and GPs, more threads only contend
    (measured on this 2-core machine under load: a 12-point GP fit 93 s on 2 threads,
    4.7 s on 1).  Reentrant: inside another one it costs nothing (setting the BLAS limits
    costs ~0.2 ms, and a suggestion predicts a dozen times)."""
    global _CONTROLLER, _CONTROLLER_SAW_XGBOOST, _SINGLE_DEPTH
    if _SINGLE_DEPTH:
        _SINGLE_DEPTH += 1
        try:
            yield
        finally:
            _SINGLE_DEPTH -= 1
        return
    # The controller limits only the libraries loaded when it is made.  scipy ships its own
    # OpenBLAS, loaded by the first scipy.linalg import (the predictors make it inside their
    # fits): a controller made before it left scipy's Cholesky inverses and triangular
    # solves on all cores (with other jobs on them, 4-8 ms for a 128 x 128 inverse instead
    # of 0.2-0.5, most of a GP hyperparameter re-optimization), so it is imported first.
    # xgboost brings an OpenMP runtime (loaded with it): with it unlimited, a 150-tree fit
    # with n_jobs=1 took 55-63 ms here instead of 25-27; the controller is made again
    # (~10 ms, once) when xgboost was imported after it.
    late = "xgboost" in sys.modules
    if _CONTROLLER is None or (late and not _CONTROLLER_SAW_XGBOOST):
        import scipy.linalg  # noqa: F401
        from threadpoolctl import ThreadpoolController
        _CONTROLLER, _CONTROLLER_SAW_XGBOOST = ThreadpoolController(), late
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    _SINGLE_DEPTH = 1
    try:
        # numpy/scipy BLAS too (a 300x300 Cholesky: 12 ms vs 390)
        with _CONTROLLER.limit(limits=1):
            yield
    finally:
        _SINGLE_DEPTH = 0
        torch.set_num_threads(threads)


def _check_xy(X, y=None):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise UserError(f"X must be 2-D (samples, features), got shape {X.shape}")
    if y is None:
        return X
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if len(y) != len(X) or len(y) < MIN_ROWS:
        raise UserError(f"y must have one value per row of X (>= {MIN_ROWS} rows), got {len(y)} "
                        f"for {len(X)}")
    return X, y


@dataclasses.dataclass(frozen=True)
class BoostedTreesConfig(Config):
    # 150 trees at step 0.1 (300 at 0.05 before): the same held-out Kendall tau on
    # NAS-Bench-201 and NAS-Bench-Graph at 300 points, half the refit time (15-18 ms)
    n_estimators: int = 150
    max_depth: int = 4
    learning_rate: float = 0.1
    subsample: float = 0.8
    min_child_weight: float = 1.0
    seed: int = 0
    # "exact" puts a split halfway between two neighbouring values (xgboost's exact
    # updater); "hist" put it at the larger one (``x < b`` between a and b), so the best
    # result's leaf ran from it up to its right-hand neighbour and nothing of the gap to its
    # left: STEERAGE's evolution then proposed only points just right of the incumbent.
    # On an integer range 1..10**12 with its peak left of the first incumbent, steerage's
    # median best was -2.07 against random's -0.99 (5 seeds, 30 trials; exact: -0.002).  At
    # 300 rows exact is no slower (hist's 256 bins also merged close values).
    tree_method: str = "exact"

    def validate(self) -> None:
        check_choice("tree_method", self.tree_method, ("exact", "hist"))
        check_range("n_estimators", self.n_estimators, 1, 100000, integer=True)
        check_range("max_depth", self.max_depth, 1, 32, integer=True)
        check_range("learning_rate", self.learning_rate, 0, 1, low_open=True)
        check_range("subsample", self.subsample, 0, 1, low_open=True)
        check_range("min_child_weight", self.min_child_weight, 0, None)
        check_range("seed", self.seed, 0, None, integer=True)


class BoostedTreesPredictor:
    """xgboost regression trees; no predictive standard deviation."""

    has_std = False

    def __init__(self, config: BoostedTreesConfig | None = None):
        self.config = config or BoostedTreesConfig()

    def fit(self, X, y) -> "BoostedTreesPredictor":
        import xgboost as xgb
        X, y = _check_xy(X, y)
        c = self.config
        # xgboost keeps features as float32 (24 bits): 1e9 and 1e9 + 1 were one value to the
        # trees (its step there is 64), so a range far from zero ([1e9, 1e9 + 1], or integers
        # from 10**12 in a span of 10**5) got a constant prediction.  Shifted to the fit
        # data's minimum and divided by its span (in float64), the values it saw are apart.
        self.x_low_ = X.min(axis=0)
        span = X.max(axis=0) - self.x_low_
        self.x_span_ = np.where(span > 0, span, 1.0)
        X = (X - self.x_low_) / self.x_span_
        self.model_ = xgb.XGBRegressor(n_estimators=c.n_estimators, max_depth=c.max_depth,
                                       learning_rate=c.learning_rate, subsample=c.subsample,
                                       min_child_weight=c.min_child_weight, random_state=c.seed,
                                       n_jobs=1, tree_method=c.tree_method)
        with single_thread():   # n_jobs=1 alone left its OpenMP runtime on all cores
            self.model_.fit(X, y)
        return self

    def predict(self, X, return_std: bool = False):
        if return_std:
            raise UserError("BoostedTreesPredictor has no predictive standard deviation; "
                            "use GPPredictor for return_std=True")
        if not hasattr(self, "model_"):
            raise UserError("predictor is not fitted: call fit(X, y) first")
        with single_thread():
            X = (_check_xy(X) - self.x_low_) / self.x_span_
            return self.model_.predict(X).astype(np.float64)


@dataclasses.dataclass(frozen=True)
class GPConfig(Config):
    iterations: int = 100        # Adam steps on the negative marginal log likelihood
    warm_iterations: int = 25    # steps when warm-started from the previous fit
    lr: float = 0.1
    noise_floor: float = 1e-4    # lower bound on the (standardized) noise variance
    seed: int = 0
    predict_batch: int = 2048    # candidates per predictive block (memory: batch x n)

    def validate(self) -> None:
        check_batch_size("predict_batch", self.predict_batch)
        check_range("iterations", self.iterations, 1, 100000, integer=True)
        check_range("warm_iterations", self.warm_iterations, 1, 100000, integer=True)
        check_range("lr", self.lr, 0, 10, low_open=True)
        check_range("noise_floor", self.noise_floor, 0, 1, low_open=True)
        check_range("seed", self.seed, 0, None, integer=True)


def _target_scale(y: np.ndarray) -> tuple[float, float]:
    """(mean, std) the targets are standardized with: a std of float noise around a constant
    (seven results of 0.1 accuracy: 4e-16 on the logit, 0 for 0.7) is 1 (``synth.data.safe_std``),
    so the GP's uncertainty no longer hinges on the rounding of the mean (it was 1e-17,
    expected improvement 0 everywhere, when every first trial scored chance)."""
    from synth.data import safe_std
    mean, std = float(y.mean()), float(y.std())
    return mean, float(safe_std(np.float64(mean), np.float64(std)))


class GPPredictor:
    """Exact GP regression: constant mean, scaled ARD Matern-5/2 kernel, Gaussian noise.
    Inputs are scaled to [0, 1] per feature and targets standardized using the fit data.
    A refit on grown data starts from the previous hyperparameters (``warm_iterations``)."""

    has_std = True

    def __init__(self, config: GPConfig | None = None):
        self.config = config or GPConfig()

    def fit(self, X, y) -> "GPPredictor":
        import gpytorch
        X, y = _check_xy(X, y)
        self.x_low_ = X.min(axis=0)
        self.x_span_ = np.where(X.max(axis=0) > self.x_low_, X.max(axis=0) - self.x_low_, 1.0)
        self.y_mean_, self.y_std_ = _target_scale(y)
        tx = torch.as_tensor((X - self.x_low_) / self.x_span_, dtype=torch.float64)
        ty = torch.as_tensor((y - self.y_mean_) / self.y_std_, dtype=torch.float64)
        with torch.random.fork_rng(), single_thread():
            torch.manual_seed(self.config.seed)
            lik = gpytorch.likelihoods.GaussianLikelihood(
                noise_constraint=gpytorch.constraints.GreaterThan(self.config.noise_floor))
            model = _ExactGP(tx, ty, lik, X.shape[1]).double()
            steps = self.config.iterations
            previous = getattr(self, "model_", None)
            if previous is not None and previous.train_inputs[0].shape[1] == X.shape[1]:
                model.load_state_dict(previous.state_dict(), strict=False)
                steps = self.config.warm_iterations
            model.train()
            lik.train()
            opt = torch.optim.Adam(model.parameters(), lr=self.config.lr)
            mll = gpytorch.mlls.ExactMarginalLogLikelihood(lik, model)
            for _ in range(steps):  # type-II maximum likelihood
                opt.zero_grad()
                loss = -mll(model(tx), ty)
                loss.backward()
                opt.step()
        model.eval()
        lik.eval()
        self.model_, self.likelihood_ = model, lik
        self.neg_mll_ = float(loss.detach())
        return self

    def predict(self, X, return_std: bool = False):
        import gpytorch
        if not hasattr(self, "model_"):
            raise UserError("predictor is not fitted: call fit(X, y) first")
        tx = torch.as_tensor((_check_xy(X) - self.x_low_) / self.x_span_, dtype=torch.float64)
        means, stds = [], []
        with torch.no_grad(), gpytorch.settings.fast_pred_var(), single_thread():
            for block in torch.split(tx, self.config.predict_batch):
                mean, var = self._predict_block(block)
                means.append(mean * self.y_std_ + self.y_mean_)
                stds.append(np.sqrt(np.maximum(var, 0.0)) * self.y_std_)
        mean, std = np.concatenate(means), np.concatenate(stds)
        return (mean, std) if return_std else mean

    def _predict_block(self, tx) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and marginal variance of one block of candidates: the model sees
        (block + training) points, never all candidates at once (59,040 candidates in one
        call asked gpytorch for a 27.9 GB kernel product)."""
        pred = self.likelihood_(self.model_(tx))
        return pred.mean.numpy(), pred.variance.numpy()


def _exact_gp_class():
    import gpytorch

    class ExactGP(gpytorch.models.ExactGP):
        def __init__(self, x, y, likelihood, dims):
            super().__init__(x, y, likelihood)
            self.mean_module = gpytorch.means.ConstantMean()
            self.covar_module = gpytorch.kernels.ScaleKernel(
                gpytorch.kernels.MaternKernel(nu=2.5, ard_num_dims=dims))

        def forward(self, x):
            return gpytorch.distributions.MultivariateNormal(self.mean_module(x),
                                                             self.covar_module(x))
    return ExactGP


def _ExactGP(x, y, likelihood, dims):  # noqa: N802  (gpytorch imported lazily)
    return _exact_gp_class()(x, y, likelihood, dims)


@dataclasses.dataclass(frozen=True)
class FastGPConfig(Config):
    refit_growth: float = 0.1    # re-optimize hyperparameters when the data grew by 10%
    max_iterations: int = 60     # L-BFGS steps on the negative log marginal likelihood
    warm_iterations: int = 15    # L-BFGS steps when re-optimized from the previous optimum
    noise_floor: float = 1e-4    # lower bound on the (standardized) noise variance
    predict_batch: int = 4096    # candidates per kernel block (memory: batch x n floats)
    hyper_points: int = 128      # hyperparameters fit the likelihood of at most this many
    # likelihood evaluations one fit spends on a warm re-optimization (on hyper_points
    # points; (hyper_points / m)^2 times as many on m < hyper_points); the rest of its
    # iterations continue at the next fits (see FastGPPredictor)
    fit_evaluations: int = 8
    # a weighted linear kernel per feature group beside the Matern (one-hot groups: an
    # overlap kernel, a main effect per value of each parameter); see FastGPPredictor
    additive: bool = False

    def validate(self) -> None:
        check_range("refit_growth", self.refit_growth, 0, 100)
        check_range("hyper_points", self.hyper_points, 2, None, integer=True)
        check_range("fit_evaluations", self.fit_evaluations, 1, 10000, integer=True)
        check_range("max_iterations", self.max_iterations, 1, 10000, integer=True)
        check_range("warm_iterations", self.warm_iterations, 1, 10000, integer=True)
        check_range("noise_floor", self.noise_floor, 0, 1, low_open=True)
        check_batch_size("predict_batch", self.predict_batch)


def _matern52(a, b, inv_ls):
    """Matern-5/2 correlation of inputs scaled by 1/lengthscale (Rasmussen & Williams,
    Eq. 4.17); squared distances by one matrix product, so (n x m) memory, not (n x m x d)."""
    a, b = a * inv_ls, b * inv_ls
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    s5r = math.sqrt(5.0) * np.sqrt(np.maximum(sq, 0.0))
    return (1.0 + s5r + s5r * s5r / 3.0) * np.exp(-s5r), s5r


def linear_grams(x: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(d, n, n): ``<x_g, x'_g>`` over the columns of each feature group ``g``, stacked as one
    array so the additive kernel is one tensordot (a Python loop over the groups cost ~0.25 ms
    a likelihood evaluation at 128 points; the tensordot 0.06)."""
    return np.stack([x[:, groups == g] @ x[:, groups == g].T
                     for g in range(int(groups.max()) + 1)])


class FastGPPredictor:
    """Exact GP in numpy: zero mean on standardized targets, scaled ARD Matern-5/2 kernel,
    Gaussian noise; hyperparameters by L-BFGS on the log marginal likelihood (analytic
    gradients, Rasmussen & Williams Eq. 5.9), re-optimized only when the data grew by
    ``refit_growth``; in between a refit is one Cholesky with the hyperparameters kept
    (about 2 ms at 300 points).  The likelihood the hyperparameters maximize is that of at
    most ``hyper_points`` of the points (a random subset: each evaluation factorizes its
    matrix, 25-33 ms at 300 points here, 2-3 ms at 128): one suggestion in 30 cost 220-340
    ms at 300 points when it used all of them.  A warm re-optimization (``warm_iterations``
    L-BFGS-B steps from the last optimum, 17-19 likelihood evaluations, 20-30 ms at 128
    points here: the largest of 30 suggestions at 300 observations, 36-63 ms against a mean
    of 17-29; 25-42 ms with the bound, load 5) spends at most ``fit_evaluations`` of them per
    fit; its remaining iterations continue at the next fits, on the same subset of points,
    from the best point found.
    (An L-BFGS-B restarted at each fit has no curvature and its first step is the whole
    negative gradient, all variables being bounded: that first trial point is wasted, and
    once jumped the lengthscales to their lower bound on NAS-Bench-201 when a re-optimization
    was spread over fits of a few steps each.  In chunks of 8 evaluations, on 78 warm
    re-optimizations recorded from the benchmark's searches at 10-350 points, the gap to the
    optimum of the likelihood after 1 / 2 / 3 fits averaged 0.19-1.73 / 0.00-1.20 /
    0.00-0.76 nats per problem against 0.00-0.63 for the 15 steps in one fit.)  Predictions
    and marginal variances are computed in blocks of ``predict_batch`` candidates: never an
    N x N matrix over the candidates.

    With ``additive``, the kernel is ``sig2 Matern(x, x') + sum_g a_g <x_g, x'_g>`` over the
    feature groups ``g`` (inputs on [0, 1]; each ``a_g`` a hyperparameter): on a one-hot group
    the linear kernel is the overlap kernel (1 when the parameter takes the same value), so
    the GP gets a first-order additive part (Duvenaud et al., NeurIPS 2011, additive GPs;
    CoCaBO, arXiv 1906.08878, a sum beside the product kernel over categorical inputs): a
    main effect of each value of each parameter, learned from a few points, which a Matern
    whose per-parameter lengthscales are long (the counts of ``choice_counts`` explaining
    most) does not resolve."""

    has_std = True

    def __init__(self, config: FastGPConfig | None = None):
        self.config = config or FastGPConfig()

    def _nll(self, theta, x, y, groups, with_grad=True, linear=None):
        """Negative log marginal likelihood (+ the log prior) and its gradient.  ``linear``:
        ``linear_grams(x, groups)`` when the kernel is additive (computed here if not given;
        a re-optimization passes it once for all its evaluations)."""
        d = int(groups.max()) + 1
        inv_ls, sig2, noise = np.exp(-theta[:d])[groups], math.exp(theta[d]), math.exp(theta[d + 1])
        corr, s5r = _matern52(x, x, inv_ls)
        k = sig2 * corr + (noise + self.config.noise_floor) * np.eye(len(x))
        if self.config.additive:   # + sum_g a_g <x_g, x'_g>
            weights = np.exp(theta[d + 2:])
            if linear is None:
                linear = linear_grams(x, groups)             # (d, n, n)
            k = k + np.tensordot(weights, linear, 1)
        try:
            chol = np.linalg.cholesky(k)
        except np.linalg.LinAlgError:
            return (1e10, np.zeros_like(theta)) if with_grad else 1e10
        alpha = _cho_solve(chol, y)
        mu, sd = self._prior(d)
        nll = 0.5 * y @ alpha + np.log(np.diag(chol)).sum() + 0.5 * np.sum(((theta - mu) / sd) ** 2)
        if not with_grad:
            return nll
        w = np.outer(alpha, alpha) - _cho_inverse(chol)  # alpha alpha^T - K^-1
        grad = np.empty_like(theta)
        # dK_ab/dlog(l_k) = sig2 (5/3)(1 + sqrt5 r) exp(-sqrt5 r) (a_k - b_k)^2 / l_k^2, and
        # sum_ab M_ab (a_k - b_k)^2 = 2 (rowsum(M) . a_k^2 - a_k^T M a_k) for symmetric M
        m = w * (sig2 * (5.0 / 3.0) * (1.0 + s5r) * np.exp(-s5r))
        xs = x * inv_ls
        per_column = -(m.sum(1) @ (xs * xs) - (xs * (m @ xs)).sum(0))
        grad[:d] = np.bincount(groups, weights=per_column, minlength=d)  # tied lengthscales
        grad[d] = -0.5 * np.sum(w * sig2 * corr)
        grad[d + 1] = -0.5 * np.trace(w) * noise
        if self.config.additive:   # dK/dlog(a_g) = a_g <x_g, x'_g>
            grad[d + 2:] = -0.5 * weights * (linear.reshape(d, -1) @ w.reshape(-1))
        return nll, grad + (theta - mu) / sd ** 2

    def _prior(self, d: int) -> tuple[np.ndarray, np.ndarray]:
        """Log-normal priors (means, std devs of the log parameters): lengthscales
        LogNormal(sqrt 2 + log(d)/2, sqrt 3), the dimension-scaled prior of Hvarfner et al.
        (arXiv 2402.02229, Sec. 4), which keeps a GP on few points from interpolating in
        many dimensions; signal variance LogNormal(0, 1) and noise variance LogNormal(-4, 1)
        on standardized targets; with ``additive``, each group's linear weight
        LogNormal(-2, 1.5) (a main effect well below the Matern's variance unless the data
        say otherwise)."""
        mu = np.r_[np.full(d, math.sqrt(2.0) + 0.5 * math.log(d)), 0.0, -4.0]
        sd = np.r_[np.full(d, math.sqrt(3.0)), 1.0, 1.0]
        if self.config.additive:
            mu, sd = np.r_[mu, np.full(d, -2.0)], np.r_[sd, np.full(d, 1.5)]
        return mu, sd

    def _width(self, d: int) -> int:
        """Hyperparameters for ``d`` groups: lengthscales, signal, noise (, linear weights)."""
        return 2 * d + 2 if self.config.additive else d + 2

    def fit(self, X, y, groups=None) -> "FastGPPredictor":
        """``groups[j]``: the lengthscale feature ``j`` shares (e.g. the one-hot columns of
        one categorical parameter: a Hamming-distance kernel on it); default one each."""
        X, y = _check_xy(X, y)
        groups = np.arange(X.shape[1]) if groups is None else np.asarray(groups, dtype=int)
        if groups.shape != (X.shape[1],) or groups.min() < 0:
            raise UserError(f"groups must give one group index >= 0 per feature "
                            f"({X.shape[1]}), got shape {groups.shape}")
        groups = np.unique(groups, return_inverse=True)[1]
        with single_thread():
            return self._fit(X, y, groups)

    def _fit(self, X, y, groups) -> "FastGPPredictor":
        n = len(X)
        d = int(groups.max()) + 1
        grown = n >= (1.0 + self.config.refit_growth) * getattr(self, "fit_size_", 0)
        fresh = not hasattr(self, "theta_") or self.theta_.shape[0] != self._width(d)
        if fresh or grown:  # a re-optimization starts (from the prior, or the last optimum)
            self.x_low_ = X.min(axis=0)
            self.x_span_ = np.where(X.max(axis=0) > self.x_low_, X.max(axis=0) - self.x_low_, 1.0)
            if fresh:
                self.theta_ = self._prior(d)[0]
            self.pending_ = self.config.max_iterations if fresh else self.config.warm_iterations
            self.fit_size_ = n
        self.y_mean_, self.y_std_ = _target_scale(y)
        x = (X - self.x_low_) / self.x_span_
        ys = (y - self.y_mean_) / self.y_std_
        if getattr(self, "pending_", 0) > 0:
            # the re-optimization's likelihood: at most hyper_points of the fit_size_ points it
            # started on (the same subset when it continues at a later fit)
            size = min(self.fit_size_, n)
            m = min(size, self.config.hyper_points)
            sub = np.sort(np.random.default_rng(size).choice(size, m, replace=False)) \
                if m < size else slice(None)
            steps = self.config.max_iterations if fresh else self.pending_
            evaluations = 2 * steps + 1   # line searches evaluate more than once per step
            if not fresh:   # an evaluation costs ~m^2 (0.4 ms at 64 points, 1.3 at 128 here)
                evaluations = min(evaluations, max(1, int(
                    self.config.fit_evaluations * (self.config.hyper_points / m) ** 2)))
            bounds = [(math.log(0.01), math.log(100.0 * math.sqrt(d)))] * d + [
                (math.log(0.05), math.log(20.0)), (math.log(1e-6), math.log(1.0))] + [
                (math.log(1e-5), math.log(10.0))] * (self._width(d) - d - 2)
            # the additive part's Gram matrices do not depend on the hyperparameters: once
            # per re-optimization, not at each of its likelihood evaluations
            linear = linear_grams(x[sub], groups) if self.config.additive else None
            self.theta_, done, finished = minimize_within(
                self._nll, self.theta_, (x[sub], ys[sub], groups, True, linear), bounds,
                steps, evaluations)
            self.pending_ = 0 if finished else max(0, self.pending_ - max(done, 1))
            if self.pending_ == 0:
                self.hyper_fits_ = getattr(self, "hyper_fits_", 0) + 1
        theta = self.theta_
        self.inv_ls_ = np.exp(-theta[:d])[groups]
        self.sig2_, noise = math.exp(theta[d]), math.exp(theta[d + 1]) + self.config.noise_floor
        # the linear part as a product of inputs scaled by sqrt(a_g): <x w, x' w>
        self.lin_w_ = np.sqrt(np.exp(theta[d + 2:])[groups]) if self.config.additive else None
        k = self.sig2_ * _matern52(x, x, self.inv_ls_)[0] + noise * np.eye(n)
        if self.lin_w_ is not None:
            k += (x * self.lin_w_) @ (x * self.lin_w_).T
        self.chol_ = np.linalg.cholesky(k + 1e-9 * np.eye(n))
        self.alpha_ = _cho_solve(self.chol_, ys)
        self.x_, self.noise_ = x, noise
        return self

    _HYPER = ("theta_", "fit_size_", "x_low_", "x_span_", "hyper_fits_", "pending_")

    def hyper_state(self) -> dict:
        """What a refit between re-optimizations keeps (JSON-safe), for save/restore."""
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v)
                for k in self._HYPER if (v := getattr(self, k, None)) is not None}

    def load_hyper_state(self, state: dict) -> None:
        for k in self._HYPER:
            if k in state:
                v = state[k]
                setattr(self, k, np.asarray(v, dtype=np.float64) if isinstance(v, list) else v)

    def predict(self, X, return_std: bool = False):
        if not hasattr(self, "alpha_"):
            raise UserError("predictor is not fitted: call fit(X, y) first")
        with single_thread():
            return self._predict(_check_xy(X), return_std)

    def _predict(self, X, return_std: bool):
        from scipy.linalg import solve_triangular
        x = (X - self.x_low_) / self.x_span_
        mean, var = np.empty(len(x)), np.empty(len(x))
        step = self.config.predict_batch
        for i in range(0, len(x), step):  # one (batch x n) cross-covariance block at a time
            ks = self.sig2_ * _matern52(x[i:i + step], self.x_, self.inv_ls_)[0]
            prior = self.sig2_
            if self.lin_w_ is not None:
                xl = x[i:i + step] * self.lin_w_
                ks += xl @ (self.x_ * self.lin_w_).T
                prior = self.sig2_ + (xl * xl).sum(axis=1)
            mean[i:i + step] = ks @ self.alpha_
            if return_std:
                v = solve_triangular(self.chol_, ks.T, lower=True, check_finite=False)
                var[i:i + step] = prior - (v * v).sum(axis=0)   # diagonal only
        mean = mean * self.y_std_ + self.y_mean_
        if not return_std:
            return mean
        return mean, np.sqrt(np.maximum(var, 1e-12)) * self.y_std_


class _Spent(Exception):
    """The evaluations a ``minimize_within`` call may make are spent."""


def minimize_within(fun, theta, args, bounds, steps: int, evaluations: int):
    """L-BFGS-B on ``fun(theta, *args) -> (value, gradient)`` from ``theta``, at most ``steps``
    iterations and ``evaluations`` calls of ``fun`` (scipy's ``maxfun`` is checked only between
    iterations: a line search could overrun it).  Returns (theta, iterations done, finished):
    scipy's result when it stopped by itself (finished unless at ``steps`` or ``maxfun``), else
    the lowest point evaluated."""
    from scipy.optimize import minimize
    best, calls, done = [math.inf, theta], [0], [0]

    def counted(th, *a):
        if calls[0] >= evaluations:
            raise _Spent
        calls[0] += 1
        value, grad = fun(th, *a)
        if value < best[0]:
            best[:] = [value, th.copy()]
        return value, grad

    def iteration(_):
        done[0] += 1

    try:
        res = minimize(counted, theta, args=args, jac=True, method="L-BFGS-B", bounds=bounds,
                       callback=iteration, options={"maxiter": steps, "maxfun": 2 * steps + 1})
    except _Spent:
        return best[1], done[0], False
    return res.x, res.nit, res.status != 1    # 1: maxiter or maxfun reached


def _cho_inverse(chol) -> np.ndarray:
    """K^-1 = L^-T L^-1 from K's lower Cholesky factor L: one triangular solve against the
    identity (LAPACK trsm) and one product; 0.2 ms at 128 x 128 and 1.8 ms at 300 x 300 on
    one thread here, against 0.5 and 3.0 ms for LAPACK potri."""
    from scipy.linalg import solve_triangular
    inv_l = solve_triangular(chol, np.eye(len(chol)), lower=True, check_finite=False)
    return inv_l.T @ inv_l


def _cho_solve(chol, b):
    from scipy.linalg import cho_solve
    return cho_solve((chol, True), b)


PREDICTORS = {"xgboost": BoostedTreesPredictor, "gp": GPPredictor, "fastgp": FastGPPredictor}


# --------------------------------------------------------------------------- acquisition
def expected_improvement(mean, std, best: float, xi: float = 0.0) -> np.ndarray:
    """EI for maximization: E[max(f - best - xi, 0)] under N(mean, std^2) (Jones et al. 1998)."""
    from scipy.special import ndtr
    mean, std = np.asarray(mean, float), np.maximum(np.asarray(std, float), 1e-12)
    z = (mean - best - xi) / std
    cdf = ndtr(z)
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return (mean - best - xi) * cdf + std * pdf


def upper_confidence_bound(mean, std, beta: float = 2.0) -> np.ndarray:
    """UCB = mean + sqrt(beta) * std (GP-UCB, Srinivas et al. 2010)."""
    return np.asarray(mean, float) + math.sqrt(beta) * np.asarray(std, float)


def accuracy_logit(y, eps: float = 1e-3) -> np.ndarray:
    """log(a / (1 - a)) of accuracies clipped to [eps, 1 - eps]: the scale predictors fit.
    Accuracy is bounded and crowds near 1 with a long tail of failed networks; on the logit
    scale the top differences are stretched and the tail compressed (on the cached digits
    set, 10 splits: Kendall tau at 100 points 0.614 vs 0.596 for xgboost, see
    benchmarks/results/search_predictors.md)."""
    a = np.clip(np.asarray(y, dtype=np.float64), eps, 1.0 - eps)
    return np.log(a / (1.0 - a))


def kendall_tau(a, b) -> float:
    from scipy.stats import kendalltau
    return float(kendalltau(a, b).statistic)
