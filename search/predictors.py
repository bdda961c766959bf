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

import numpy as np
import torch

from synth.config import Config, check_range
from synth.errors import UserError


@contextlib.contextmanager
def single_thread():
    """Run torch on one thread: for tiny models and GPs, more threads only contend
    (measured on this 2-core machine under load: a 12-point GP fit 93 s on 2 threads,
    4.7 s on 1)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


MIN_ROWS = 2   # a predictor needs two (architecture, accuracy) results to fit


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
    n_estimators: int = 300
    max_depth: int = 4
    learning_rate: float = 0.05
    subsample: float = 0.8
    min_child_weight: float = 1.0
    seed: int = 0

    def validate(self) -> None:
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
        self.model_ = xgb.XGBRegressor(n_estimators=c.n_estimators, max_depth=c.max_depth,
                                       learning_rate=c.learning_rate, subsample=c.subsample,
                                       min_child_weight=c.min_child_weight, random_state=c.seed,
                                       n_jobs=1, tree_method="hist")
        self.model_.fit(X, y)
        return self

    def predict(self, X, return_std: bool = False):
        if return_std:
            raise UserError("BoostedTreesPredictor has no predictive standard deviation; "
                            "use GPPredictor for return_std=True")
        if not hasattr(self, "model_"):
            raise UserError("predictor is not fitted: call fit(X, y) first")
        return self.model_.predict(_check_xy(X)).astype(np.float64)


@dataclasses.dataclass(frozen=True)
class GPConfig(Config):
    iterations: int = 100        # Adam steps on the negative marginal log likelihood
    warm_iterations: int = 25    # steps when warm-started from the previous fit
    lr: float = 0.1
    noise_floor: float = 1e-4    # lower bound on the (standardized) noise variance
    seed: int = 0

    def validate(self) -> None:
        check_range("iterations", self.iterations, 1, 100000, integer=True)
        check_range("warm_iterations", self.warm_iterations, 1, 100000, integer=True)
        check_range("lr", self.lr, 0, 10, low_open=True)
        check_range("noise_floor", self.noise_floor, 0, 1, low_open=True)
        check_range("seed", self.seed, 0, None, integer=True)


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
        self.y_mean_, self.y_std_ = float(y.mean()), float(y.std()) or 1.0
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
        with torch.no_grad(), gpytorch.settings.fast_pred_var(), single_thread():
            pred = self.likelihood_(self.model_(tx))
            mean = pred.mean.numpy() * self.y_std_ + self.y_mean_
            std = pred.variance.clamp_min(0).sqrt().numpy() * self.y_std_
        return (mean, std) if return_std else mean


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


PREDICTORS = {"xgboost": BoostedTreesPredictor, "gp": GPPredictor}


# --------------------------------------------------------------------------- acquisition
def expected_improvement(mean, std, best: float, xi: float = 0.0) -> np.ndarray:
    """EI for maximization: E[max(f - best - xi, 0)] under N(mean, std^2) (Jones et al. 1998)."""
    mean, std = np.asarray(mean, float), np.maximum(np.asarray(std, float), 1e-12)
    z = (mean - best - xi) / std
    cdf = 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))
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
