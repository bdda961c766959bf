"""SECRET (Akmandor, Ortiz, Manotas, Ko & Jha, arXiv 1905.12356): classification in the joint
space of the features and the meaning of the labels.

Two models look at every sample:

1. the *feature-space* classifier, any scikit-learn classifier with ``predict_proba`` (or an
   nnsynth network, ``fuse_network``): class probabilities p(x);
2. the *semantic-space* model: a regressor from the features to the label-embedding space,
   trained on the true labels' GloVe vectors (``synth.labels``); its prediction v(x) is scored
   against every label vector e_k by similarity, s_k(x), and turned into probabilities
   q(x) = softmax(s(x) / T).

The decision is taken in the joint space: the fused probabilities
p'(x) = (1 - w) p(x) + w q(x), with the weight w (and the temperature T) chosen on validation
data: out-of-fold predictions of an internal stratified k-fold on the training set.

Choices the abstract leaves open (each a parameter; ``benchmarks/secret.py`` measures the
alternatives on the same folds):
- fusion: weighted sum of probabilities (default) or weighted product (sum of log-probabilities);
- similarity: cosine (default) or negative euclidean distance;
- label vectors centred on their class mean before unit normalization (default): in GloVe the
  number words are nearly collinear (cosine 0.94-0.99 between "two".."nine"), so without
  centring the cosine scores hardly tell them apart;
- regressor: standardized features -> RidgeCV (default); any scikit-learn regressor can be given.
- the weight is selected by a score of the out-of-fold predictions (``select``: macro-F1,
  the default since h302; accuracy, the default before; balanced accuracy), ties broken by
  lower log-loss, then by the smaller weight (the plain classifier wins a tie).
  ``benchmarks/secret_weight.py`` compares the three on even and uneven sets
  (benchmarks/results/secret_weight.md).

Worth knowing when reading results: a regressor whose prediction is linear in its training
targets (ridge, k-NN, trees) predicts v(x) = E^T c(x) for some class-score vector c(x), so
the semantic scores are the Gram matrix E E^T applied to c(x): the label meanings enter only
through how similar the label vectors are to each other.  The control ``label_vectors=
"random"`` (or ``"shuffled"``) keeps the extra model and removes that meaning.
"""
from __future__ import annotations

import logging
import numbers
import re
import unicodedata

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

try:
    from sklearn.utils.validation import validate_data   # scikit-learn >= 1.6
except ImportError:  # older: the estimator's own method
    def validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)

from synth.config import check_range
from synth.errors import UserError
from synth.choices import LABEL_VECTORS
from synth.labels import (LABEL_VECTOR_SOURCES, label_embeddings, name_words,
                           placeholder_names, random_embeddings)

log = logging.getLogger(__name__)

FUSIONS = ("sum", "product")
SIMILARITIES = ("cosine", "euclidean")
WEIGHTS = tuple(round(0.1 * i, 1) for i in range(11))
TEMPERATURES = (0.05, 0.1, 0.2, 0.5, 1.0)
# what the fusion weight and temperature maximize on the validation predictions
SELECTIONS = ("accuracy", "balanced_accuracy", "macro_f1")
# macro-F1 since h302 (accuracy before): on uneven sets accuracy chose weights that predict
# the majority class throughout (scp1 20/279, lr: test macro-F1 0.48 against 0.80 by
# macro-F1), with no loss on even sets (benchmarks/results/secret_weight.md, its Decision)
SELECT = "macro_f1"
EPS = 1e-12


# --------------------------------------------------------------------------- the joint space
def prepare_targets(vectors: np.ndarray, center: bool = True) -> np.ndarray:
    """Label vectors as regression targets: centred on their mean (optional), unit length."""
    e = np.asarray(vectors, dtype=np.float64)
    if center and len(e) > 1:
        e = e - e.mean(axis=0)
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), EPS)


CENTRED_ZERO = 1e-6   # a centred label vector this small against the largest is none


def check_centred(vectors, classes, class_names=None) -> None:
    """Refuse label vectors of which one is the mean of the others ("rain", "snow" and
    "rain/snow", whose vector is the mean of its words'): centred on the classes' mean
    (``prepare_targets``) it is zero, so its cosine to every prediction is 0 and the semantic
    space never chose that class (its F1 0.0000), without a word.  One line naming the class
    and the classes whose mean it is."""
    e = np.asarray(vectors, dtype=np.float64)
    if len(e) < 3:   # two classes become +u and -u (the same vector is refused before)
        return
    norms = np.linalg.norm(e - e.mean(axis=0), axis=1)
    flat = np.flatnonzero(norms <= CENTRED_ZERO * norms.max())
    if not flat.size:
        return
    i = int(flat[0])
    others = [_class_shown(classes, class_names, j) for j in range(len(e)) if j != i]
    listed = ", ".join(others[:4]) + (", ..." if len(others) > 4 else "")
    raise UserError(f"the label vector of class {_class_shown(classes, class_names, i)} is the "
                    f"mean of the other classes' ({listed}): centred on the classes' mean, as "
                    f"SECRET's targets are, it is zero and the semantic space can never choose "
                    f"that class; give the class words of its own (--class-names, "
                    f"class_names=) or a vector (or center=False)")


def _class_shown(classes, class_names, i: int) -> str:
    """Class ``i`` for a message: its name where names are given in class order, else the
    class with the words given for it."""
    c = list(classes)[i]
    if isinstance(class_names, (list, tuple)) and all(isinstance(n, str) for n in class_names):
        return repr(class_names[i])
    words = class_names.get(c, class_names.get(str(c))) if isinstance(class_names, dict) else None
    return repr(str(c)) + (f" (words {words!r})" if words is not None else "")


def semantic_scores(predicted: np.ndarray, targets: np.ndarray, similarity: str = "cosine"):
    """(n, K) similarity of each predicted vector to each label vector: cosine, or the
    negative euclidean distance."""
    v = np.asarray(predicted, dtype=np.float64)
    if similarity == "cosine":
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), EPS)
        return v @ targets.T
    if similarity == "euclidean":
        return -np.linalg.norm(v[:, None, :] - targets[None, :, :], axis=2)
    raise UserError(f"similarity must be one of {', '.join(SIMILARITIES)}, got {similarity!r}")


def softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def fuse(p_feature: np.ndarray, q_semantic: np.ndarray, weight: float, fusion: str = "sum"):
    """Joint-space probabilities: (1-w) p + w q (sum), or p^(1-w) q^w renormalized (product)."""
    if fusion == "sum":
        return (1.0 - weight) * p_feature + weight * q_semantic
    if fusion == "product":
        logp = (1.0 - weight) * np.log(p_feature + EPS) + weight * np.log(q_semantic + EPS)
        return softmax(logp, 1.0)
    raise UserError(f"fusion must be one of {', '.join(FUSIONS)}, got {fusion!r}")


def check_grid(weights, temperatures) -> None:
    """The searched grids: fusion weights in [0, 1] and temperatures > 0, finite, at least one
    of each.  Unchecked, a temperature of 0 made every probability NaN (the estimator then
    predicted its first class), a negative one reversed the similarities, a weight of 1.5 or
    NaN fused into negative or NaN "probabilities", and an empty grid kept weight 0, which it
    did not hold, all without a word."""
    for name, values, high, low_open in (("weights", weights, 1, False),
                                         ("temperatures", temperatures, None, True)):
        try:
            listed = None if isinstance(values, (str, bytes)) else list(values)
        except TypeError:   # a number, None
            listed = None
        if not listed:
            raise UserError(f"{name} must be a non-empty list of numbers, got {values!r}")
        for v in listed:
            if isinstance(v, numbers.Real) and not isinstance(v, bool):
                v = float(v)   # numpy's numbers too (np.linspace(0, 1, 11))
            check_range(f"{name}[]", v, 0, high, low_open=low_open)


def selection_scores(y, predicted, n_classes: int) -> dict:
    """Accuracy, balanced accuracy (the mean of the classes' recalls) and macro-F1 of
    ``predicted`` against ``y`` (class indices), the two class means over the classes of
    ``y`` (as ``synth.secret_eval.scores`` averages the test F1)."""
    y, predicted = np.asarray(y), np.asarray(predicted)
    hit = predicted == y
    support = np.bincount(y, minlength=n_classes).astype(np.float64)
    right = np.bincount(y[hit], minlength=n_classes).astype(np.float64)
    said = np.bincount(predicted, minlength=n_classes).astype(np.float64)
    present = support > 0
    recall = right[present] / support[present]
    f1 = 2 * right[present] / (support[present] + said[present])   # 2TP / (2TP + FP + FN)
    return {"accuracy": float(np.mean(hit)), "balanced_accuracy": float(recall.mean()),
            "macro_f1": float(f1.mean())}


def check_select(select) -> None:
    if not isinstance(select, str) or select not in SELECTIONS:
        raise UserError(f"select must be one of {', '.join(SELECTIONS)}, got {select!r}")


def choose_fusion(p_feature, scores, y, weights=WEIGHTS, temperatures=TEMPERATURES,
                  fusion: str = "sum", select: str = SELECT) -> tuple[float, float, list[dict]]:
    """(weight, temperature, grid) maximizing ``select`` (accuracy, balanced accuracy or
    macro-F1: ``selection_scores``) of the fused prediction of ``y`` (class indices) on
    validation predictions; ties: lower log-loss, then smaller weight.  Each grid entry holds
    all three scores and the log-loss."""
    check_select(select)
    y = np.asarray(y)
    k = np.shape(p_feature)[1]
    grid, best, best_key = [], (0.0, float(temperatures[0])), None
    for t in temperatures:
        q = softmax(scores, t)
        for w in weights:
            p = fuse(p_feature, q, w, fusion)
            nll = float(-np.mean(np.log(p[np.arange(len(y)), y] + EPS)))
            entry = {"weight": float(w), "temperature": float(t),
                     **selection_scores(y, p.argmax(axis=1), k), "log_loss": nll}
            grid.append(entry)
            key = (entry[select], -nll, -w)
            if best_key is None or key > best_key:
                best_key, best = key, (float(w), float(t))
    return best[0], best[1], grid


SELECTION_WORDS = {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy",
                   "macro_f1": "macro-F1"}


def selection_rule(select: str = SELECT) -> str:
    """The rule that chose the fusion weight, in words (what a run writes beside it)."""
    check_select(select)
    return (f"the highest {SELECTION_WORDS[select]} of the fused prediction (ties: lower "
            f"log-loss, then the smaller weight)")


def class_proba(estimator, x, n_classes: int) -> np.ndarray:
    """predict_proba of a classifier fitted on class indices, as (n, n_classes) columns even
    when a fold lacked some class."""
    if not hasattr(estimator, "predict_proba"):
        raise UserError(f"base_estimator {type(estimator).__name__} has no predict_proba; SECRET "
                        f"fuses probabilities (an SVC: CalibratedClassifierCV(SVC()))")
    p = estimator.predict_proba(x)
    out = np.zeros((len(x), n_classes))
    out[:, np.asarray(estimator.classes_, dtype=int)] = p
    return out


def default_regressor():
    """Standardized features -> ridge with its penalty chosen by efficient leave-one-out."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return make_pipeline(StandardScaler(), RidgeCV(alphas=(0.1, 1.0, 10.0, 100.0, 1000.0)))


def label_vectors_for(classes, class_names=None, label_vectors=LABEL_VECTORS, seed: int = 0):
    """(K, d) raw label vectors for ``classes`` (in order).

    class_names: None (each class's own str), a list in class order, or {class: words}.
    label_vectors: "glove"; the controls "random" (Gaussian) and "shuffled" (the GloVe
    vectors permuted so that no class keeps its own); an array (K, d); or {class: vector},
    GloVe for the classes not in it.  Two classes with the same vector are an error: the
    semantic space could not tell them apart (``--class-names small,small,large`` scored
    the semantic space on classes it merged, without a word)."""
    try:
        e = _label_vectors(classes, class_names, label_vectors, seed)
    except UserError:   # a ValueError too: its own words
        raise
    except (TypeError, ValueError) as err:   # strings, ragged rows: numpy's ValueError
        raise UserError(f"label_vectors must be numbers (an array with one row per class, or "
                        f"{{class: vector}}): {err}") from None
    if not np.all(np.isfinite(e)):   # NaN or inf: scikit-learn's "Input y contains NaN"
        bad = list(classes)[int(np.argwhere(~np.isfinite(e))[0][0])]
        raise UserError(f"label_vectors: the vector of class {str(bad)!r} holds NaN or "
                        f"infinity; every entry must be a finite number")
    zero = np.flatnonzero(~np.any(e != 0, axis=1))
    if len(zero):   # centring made its target minus the others' mean: a meaning nobody gave
        bad = list(classes)[int(zero[0])]
        words = _words_of(class_names, (int(zero[0]),) * 2, (bad, bad))   # (words 'x' and 'x')
        words = words.split(" and ")[0] + ")" if words else ""
        raise UserError(f"the label vector of class {str(bad)!r}{words} is all zeros: it "
                        f"carries no meaning for SECRET to fuse; give the class words "
                        f"(class_names, --class-names) or a vector of its own")
    _, first, inverse = np.unique(np.round(e, 9), axis=0, return_index=True,
                                  return_inverse=True)
    inverse = np.asarray(inverse).reshape(-1)
    for j, i in enumerate(inverse):
        if first[i] != j:
            a, b = list(classes)[first[i]], list(classes)[j]
            words = _words_of(class_names, (first[i], j), (a, b))
            raise UserError(f"classes {str(a)!r} and {str(b)!r} have the same label vector{words}: "
                            f"SECRET tells classes apart by them; give each class its own "
                            f"words (--class-names) or vector")
    return e


def placeholder_warning(names, label_vectors=LABEL_VECTORS) -> str | None:
    """The warning for GloVe vectors of placeholder class names ("class_0", "class_1", ...:
    ``synth.labels.placeholder_names``), or None; ``names``: the words used per class."""
    names = [str(n) for n in names]
    if not (isinstance(label_vectors, str) and label_vectors == "glove"
            and placeholder_names(names, glove=True)):
        return None
    shown = ", ".join(repr(n) for n in names[:4]) + (", ..." if len(names) > 4 else "")
    return (f"class names {shown} are placeholders: their GloVe vectors say nothing about the "
            f"classes, so SECRET's semantic space is a label code without meaning; give words "
            f"for each class (--class-names, class_names=)")


_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?")


def number_warning(names, label_vectors=LABEL_VECTORS) -> str | None:
    """The warning for GloVe vectors of class names that are all numbers ("0", "1", "2": a
    table's label column coding the classes), or None.  A name "7" is GloVe's "seven"
    (``synth.labels.name_words``), whose meaning is the number: the semantic space means
    something only where the classes are those numbers (handwritten digits), and is a label
    code otherwise.  A CSV of iris labelled 0/1/2 was fused as meaning without a word."""
    names = [str(n) for n in names]
    if not (isinstance(label_vectors, str) and label_vectors == "glove" and len(names) >= 2
            and all(_NUMBER.fullmatch(unicodedata.normalize("NFKC", n).strip())
                    for n in names)):
        return None
    shown = ", ".join(repr(n) for n in names[:4]) + (", ..." if len(names) > 4 else "")
    words = ", ".join(repr(" ".join(name_words(n))) for n in names[:3]) + (
        ", ..." if len(names) > 3 else "")
    return (f"class names {shown} are numbers: their GloVe vectors are those of {words}, "
            f"which mean the numbers, so SECRET's semantic space has meaning only where the "
            f"classes are those numbers (e.g. handwritten digits), and is a label code "
            f"otherwise; give words for each class (--class-names, class_names=)")


def two_class_warning(n_classes: int, label_vectors=LABEL_VECTORS, center: bool = True
                      ) -> str | None:
    """The warning that two classes' names cannot mean anything here, or None: centred on
    their mean (``prepare_targets``), any two label vectors become opposite unit vectors
    (+u, -u), so the regressor's targets, the cosine (or euclidean) scores and the fusion are
    the same whatever the names are; the semantic space is a second classifier of the
    features.  Not said of the ``random`` control, which means nothing by design."""
    if n_classes != 2 or not center or (isinstance(label_vectors, str)
                                        and label_vectors == "random"):
        return None
    return ("with two classes the label names' meaning cannot enter SECRET: centred on their "
            "mean, any two label vectors become opposite points (+u, -u), so the semantic "
            "space is a second classifier of the features, the same with --label-vectors "
            "random (label_vectors='random'); a gain over the base is an ensemble's, not the "
            "names'")


def _words_of(class_names, positions, classes) -> str:
    """`` (words 'x' and 'y')`` for an error message, from the class names given."""
    if class_names is None:
        return ""
    if isinstance(class_names, dict):
        got = [class_names.get(c, class_names.get(str(c))) for c in classes]
    else:
        got = [class_names[p] for p in positions]
    return f" (words {got[0]!r} and {got[1]!r})" if None not in got else ""


def _label_vectors(classes, class_names, label_vectors, seed: int):
    classes = list(classes)
    keys = [str(c) for c in classes]
    if class_names is None:
        words = {}
    elif isinstance(class_names, dict):
        words = {str(c): v for c, v in class_names.items()}
    else:
        if len(class_names) != len(classes):
            raise UserError(f"class_names has {len(class_names)} names for {len(classes)} classes")
        words = dict(zip(keys, class_names))
    if isinstance(label_vectors, str):
        if label_vectors not in LABEL_VECTOR_SOURCES:
            raise UserError(f"label_vectors must be one of {', '.join(LABEL_VECTOR_SOURCES)}, "
                            f"an array or a {{class: vector}} mapping, got {label_vectors!r}")
        if label_vectors == "random":
            return random_embeddings(len(classes), seed=seed)
        # names given in class order are the classes' own names: an unknown word names the
        # class by it ("class 'c23'"), not by the number it is fitted as ("class '16'
        # (name 'c23')": a table of labels c0..c34 has no class 16)
        named = (isinstance(class_names, (list, tuple))
                 and all(isinstance(n, str) for n in class_names))
        e = label_embeddings(list(class_names)) if named else label_embeddings(keys, words)
        warning = placeholder_warning([words.get(k, k) for k in keys], label_vectors)
        if warning:
            log.warning("%s", warning)
        elif class_names is None:   # the classes' own values (y of 0, 1, 2): no words given
            warning = number_warning(keys, label_vectors)
            if warning:
                log.warning("%s", warning)
        if label_vectors == "shuffled" and len(e) > 1:
            rng = np.random.default_rng(seed)
            perm = rng.permutation(len(e))
            while np.any(perm == np.arange(len(e))):   # a derangement: nobody keeps its own
                perm = rng.permutation(len(e))
            e = e[perm]
        return e
    if isinstance(label_vectors, dict):
        given = {str(c): np.asarray(v, dtype=np.float64) for c, v in label_vectors.items()}
        rest = [k for k in keys if k not in given]
        glove = dict(zip(rest, label_embeddings(rest, words))) if rest else {}
        vecs = [given.get(k, glove.get(k)) for k in keys]
        dims = {v.shape for v in vecs}
        if len(dims) != 1 or len(next(iter(dims))) != 1:
            raise UserError(f"label_vectors: every class needs a vector of the same length, got "
                            f"shapes {sorted(map(str, dims))}")
        return np.stack(vecs)
    e = np.asarray(label_vectors, dtype=np.float64)
    if e.ndim != 2 or len(e) != len(classes):
        raise UserError(f"label_vectors must have one row per class ({len(classes)}), "
                        f"got shape {e.shape}")
    return e


# --------------------------------------------------------------------------- the estimator
class SecretClassifier(ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier that fuses ``base_estimator`` with a regressor into the label
    embedding space (see the module docstring).

    Parameters: base_estimator (default LogisticRegression), class_names and label_vectors
    (``label_vectors_for``), regressor (default ``default_regressor()``), similarity, fusion,
    center, weights and temperatures (the grids searched), select (what the grid point
    maximizes: ``SELECTIONS``), cv (internal folds), random_state.
    Fitted: classes_, base_estimator_, regressor_, label_vectors_, targets_, weight_,
    temperature_, validation_ (the grid with its out-of-fold accuracy), oof_proba_, n_folds_
    (the internal folds: min(cv, the rarest class's samples); 0 when a class has fewer than 2,
    and then nothing validates the fusion: weight_ is 0, the plain classifier).
    """

    def __init__(self, base_estimator=None, *, class_names=None, label_vectors=LABEL_VECTORS,
                 regressor=None, similarity="cosine", fusion="sum", center=True,
                 weights=WEIGHTS, temperatures=TEMPERATURES, select=SELECT, cv=3,
                 random_state=0):
        self.base_estimator = base_estimator
        self.class_names = class_names
        self.label_vectors = label_vectors
        self.regressor = regressor
        self.similarity = similarity
        self.fusion = fusion
        self.center = center
        self.weights = weights
        self.temperatures = temperatures
        self.select = select
        self.cv = cv
        self.random_state = random_state

    def _base(self):
        if self.base_estimator is None:
            from sklearn.linear_model import LogisticRegression
            return LogisticRegression(max_iter=1000)
        return clone(self.base_estimator)

    def _folds(self, y_enc):
        counts = np.bincount(y_enc)
        k = min(int(self.cv), int(counts.min()))
        self.n_folds_ = k if k >= 2 else 0   # 0: nothing validates the fusion weight
        if k < 2:
            return None
        from sklearn.model_selection import StratifiedKFold
        return StratifiedKFold(k, shuffle=True, random_state=self.random_state).split(
            np.zeros(len(y_enc)), y_enc)

    def fit(self, X, y):
        if self.similarity not in SIMILARITIES:
            raise UserError(f"similarity must be one of {', '.join(SIMILARITIES)}, "
                            f"got {self.similarity!r}")
        if self.fusion not in FUSIONS:
            raise UserError(f"fusion must be one of {', '.join(FUSIONS)}, got {self.fusion!r}")
        if (isinstance(self.cv, bool) or not isinstance(self.cv, numbers.Integral)
                or self.cv < 2):   # 2.5 was taken as 2 folds without a word
            raise UserError(f"cv must be an integer >= 2, got {self.cv!r}")
        check_grid(self.weights, self.temperatures)
        check_select(self.select)
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        self.oof_proba_ = None
        folds = self._folds(y_enc)
        if folds is not None:   # out-of-fold base probabilities: the validation data
            self.oof_proba_ = np.zeros((len(y_enc), len(self.classes_)))
            self._oof_index = []
            for tr, te in folds:
                b = self._base().fit(X[tr], y_enc[tr])
                self.oof_proba_[te] = class_proba(b, X[te], len(self.classes_))
                self._oof_index.append((tr, te))
        self.base_estimator_ = self._base().fit(X, y_enc)
        return self._fit_semantic(X, y_enc)

    def _fit_semantic(self, X, y_enc):
        """Label vectors, the regressor (out of fold and on all of X) and the fusion weight."""
        check_grid(self.weights, self.temperatures)   # refit_semantic may change them
        check_select(self.select)
        self.label_vectors_ = label_vectors_for(self.classes_, self.class_names,
                                                self.label_vectors, seed=self.random_state)
        if self.center:
            check_centred(self.label_vectors_, self.classes_, self.class_names)
        self.targets_ = prepare_targets(self.label_vectors_, self.center)
        said = two_class_warning(len(self.classes_), self.label_vectors, self.center)
        if said:
            log.warning("%s", said)
        reg = self.regressor if self.regressor is not None else default_regressor()
        if self.oof_proba_ is not None:
            scores = np.zeros_like(self.oof_proba_)
            for tr, te in self._oof_index:
                r = clone(reg).fit(X[tr], self.targets_[y_enc[tr]])
                scores[te] = semantic_scores(r.predict(X[te]), self.targets_, self.similarity)
            self.weight_, self.temperature_, self.validation_ = choose_fusion(
                self.oof_proba_, scores, y_enc, self.weights, self.temperatures, self.fusion,
                self.select)
        else:   # too few samples per class to validate: keep the plain classifier
            self.weight_, self.temperature_, self.validation_ = 0.0, float(
                self.temperatures[0]), []
        self.regressor_ = clone(reg).fit(X, self.targets_[y_enc])
        log.debug("SECRET weight %.2f temperature %.2f", self.weight_, self.temperature_)
        return self

    def refit_semantic(self, X, y, **params):
        """A copy with ``params`` changed (label_vectors, class_names, similarity, fusion,
        center, regressor, weights, temperatures, select) that reuses this fit's base
        classifier and its out-of-fold probabilities: only the semantic part is refitted on
        the same X, y."""
        check_is_fitted(self)
        bad = sorted(set(params) - {"label_vectors", "class_names", "similarity", "fusion",
                                    "center", "regressor", "weights", "temperatures",
                                    "select"})
        if bad:
            raise UserError(f"refit_semantic cannot change {', '.join(bad)} (the base is reused)")
        X, y = validate_data(self, X, y, reset=False)
        classes, y_enc = np.unique(y, return_inverse=True)
        if not np.array_equal(classes, self.classes_) or (
                self.oof_proba_ is not None and len(y_enc) != len(self.oof_proba_)):
            raise UserError("refit_semantic needs the X, y the estimator was fitted on")
        other = clone(self).set_params(**params)
        for k in ("classes_", "n_features_in_", "oof_proba_", "_oof_index", "base_estimator_",
                  "n_folds_"):
            if hasattr(self, k):
                setattr(other, k, getattr(self, k))
        return other._fit_semantic(X, y_enc)

    def _parts(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        p = class_proba(self.base_estimator_, X, len(self.classes_))
        s = semantic_scores(self.regressor_.predict(X), self.targets_, self.similarity)
        return p, softmax(s, self.temperature_)

    def predict_proba(self, X):
        p, q = self._parts(X)
        return fuse(p, q, self.weight_, self.fusion)

    def semantic_proba(self, X):
        """The semantic space alone: softmax of the similarities to the label vectors."""
        return self._parts(X)[1]

    def predict(self, X):
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]


# --------------------------------------------------------------------------- nnsynth networks
def network_outputs(model, x, batch_size: int = 512):
    """(softmax probabilities, penultimate features: the input of the last Linear) of a
    network on ``x``, in batches on the model's device."""
    import torch
    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    if not last:
        raise UserError(f"{type(model).__name__} has no Linear output layer to take features from")
    feats = []
    hook = last[-1].register_forward_pre_hook(lambda m, a: feats.append(a[0].detach().cpu()))
    device = next(model.parameters()).device
    probs = []
    try:
        with torch.no_grad():
            model.eval()
            for i in range(0, len(x), batch_size):
                probs.append(torch.softmax(model(x[i:i + batch_size].to(device)), 1).cpu())
    finally:
        hook.remove()
    probs, feats = (torch.cat(probs).double().numpy(),
                    torch.cat(feats).reshape(len(x), -1).double().numpy())
    # finite weights of 3e38 overflow in the forward pass: scikit-learn's regressor raised
    # "Input X contains infinity" as a traceback
    bad = ~(np.isfinite(probs).all(1) & np.isfinite(feats).all(1))
    if bad.any():
        raise UserError(f"the network's outputs are NaN or infinite on {int(bad.sum()):,} of "
                        f"{len(x):,} samples (a weight or an activation beyond float32's "
                        f"range); SECRET needs finite features and probabilities")
    return probs, feats
