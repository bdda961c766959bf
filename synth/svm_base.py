"""SECRET's svm base (``synth.secret_eval.make_base("svm")``): an RBF SVC with Platt-scaled
probabilities, without ``SVC(probability=True)``.

scikit-learn deprecated that parameter in 1.9 and removes it in 1.11, while the project allows
any scikit-learn from 1.3: the same recipe is built here from parts every supported version
has, ``CalibratedClassifierCV(SVC(), method="sigmoid", ensemble=False)``.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from synth.errors import UserError


class CalibratedSVC(ClassifierMixin, BaseEstimator):
    """An RBF SVC (scikit-learn's defaults, penalty ``C``) whose class probabilities are
    Platt-scaled: a sigmoid (Platt, 1999) per class is fitted to the SVC's out-of-fold
    decision values and one SVC to all rows (``CalibratedClassifierCV(..., ensemble=False)``),
    as libsvm did with its internal 5-fold CV for ``probability=True``; libsvm coupled
    pairwise (one-vs-one) sigmoids, this normalizes one-vs-rest ones.  The folds are
    stratified and unshuffled (deterministic: no seed), ``cv`` of them, or as many as the
    smallest class has rows.

    A class of one row leaves no fold to calibrate on: the probabilities are then the softmax
    of the SVC's one-vs-rest decision values (two classes: the sigmoid of its one value),
    not calibrated, and ``calibrated_`` is False.  ``predict`` and ``decision_function`` are
    the SVC's own, as ``SVC(probability=True)``'s were (the most probable class may differ
    where Platt scaling moves a close call); ``svc_`` is that SVC, fitted on all rows."""

    def __init__(self, C: float = 1.0, cv: int = 5):
        self.C = C
        self.cv = cv

    def fit(self, x, y):
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.svm import SVC
        if isinstance(self.cv, bool) or not isinstance(self.cv, (int, np.integer)) or self.cv < 2:
            raise UserError(f"CalibratedSVC cv must be an integer >= 2, got {self.cv!r}")
        self.classes_, counts = np.unique(np.asarray(y), return_counts=True)
        folds = min(int(self.cv), int(counts.min()))
        self.calibrated_ = folds >= 2
        svc = SVC(C=self.C)
        self.model_ = (CalibratedClassifierCV(svc, method="sigmoid", cv=folds, ensemble=False)
                       if self.calibrated_ else svc).fit(x, y)
        # ensemble=False: one (SVC on all rows, sigmoids) pair
        self.svc_ = (self.model_.calibrated_classifiers_[0].estimator if self.calibrated_
                     else self.model_)
        return self

    def predict_proba(self, x) -> np.ndarray:
        if self.calibrated_:
            return self.model_.predict_proba(x)
        d = np.asarray(self.decision_function(x), dtype=np.float64)
        if d.ndim == 1:   # two classes: one decision value, positive for the second class
            d = np.stack([np.zeros_like(d), d], axis=1)
        e = np.exp(d - d.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def decision_function(self, x) -> np.ndarray:
        return self.svc_.decision_function(x)

    def predict(self, x) -> np.ndarray:
        return self.svc_.predict(x)
