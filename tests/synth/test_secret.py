"""SECRET: label embeddings, the joint-space fusion, the scikit-learn contract, the ensembles
the benchmark computes from shared fits, and the 5x2cv t-test."""
import math

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from synth.errors import UserError
from synth.labels import glove_vectors, label_embeddings, name_words
from synth.secret import (SecretClassifier, choose_fusion, class_proba, fuse, semantic_scores,
                          softmax)
from synth.secret_eval import paired_ttest_5x2cv, soft_vote, stack_from_oof


# --------------------------------------------------------------------------- label vectors
def test_multi_word_name_is_the_mean_of_its_word_vectors():
    words, missing = glove_vectors(["standing", "up", "seven"])
    assert not missing and words.shape == (3, 50)
    got = label_embeddings(["standing up", "standing_up", "7"])
    np.testing.assert_allclose(got[0], words[:2].mean(axis=0))
    np.testing.assert_allclose(got[1], got[0])               # "_" splits words too
    np.testing.assert_allclose(got[2], words[2])             # a digit name is its number word
    assert name_words("Gun-Draw") == ["gun", "draw"]


def test_given_words_replace_a_name():
    got = label_embeddings(["setosa", "b"], {"setosa": "small iris", "b": ["blue"]})
    vec, _ = glove_vectors(["small", "iris", "blue"])
    np.testing.assert_allclose(got[0], vec[:2].mean(axis=0))
    np.testing.assert_allclose(got[1], vec[2])


def test_two_classes_with_one_label_vector_are_refused():
    """The semantic space cannot tell apart classes with the same vector: an array, a
    mapping, or GloVe words are checked alike, and the fitted estimator too."""
    from synth.secret import SecretClassifier, label_vectors_for
    with pytest.raises(UserError, match=r"classes '1' and '2' have the same label vector"):
        label_vectors_for([0, 1, 2], label_vectors=np.array([[1.0, 0], [0, 1], [0, 1]]))
    with pytest.raises(UserError, match=r"classes 'a' and 'c' .* \(words 'x y' and 'y x'\)"):
        label_vectors_for(["a", "b", "c"], {"a": "x y", "b": "z", "c": "y x"},
                          label_vectors={"a": [1.0, 0], "b": [0.0, 1], "c": [1.0, 0]})
    assert label_vectors_for([0, 1], label_vectors="random").shape == (2, 50)
    x = np.random.default_rng(0).standard_normal((30, 2))
    with pytest.raises(UserError, match="same label vector"):
        SecretClassifier(class_names=["small", "small", "large"]).fit(x, np.arange(30) % 3)


def test_a_word_without_vector_is_a_one_line_error_naming_it_and_the_remedy():
    with pytest.raises(UserError) as e:
        label_embeddings(["walking", "setosa"])
    msg = str(e.value)
    assert "\n" not in msg and "'setosa'" in msg and "class_names" in msg \
        and "label_vectors" in msg
    x = np.random.default_rng(0).normal(size=(12, 3))
    y = np.array(["setosa", "virginica"] * 6)
    with pytest.raises(UserError, match="setosa"):
        SecretClassifier(LogisticRegression()).fit(x, y)
    # either remedy fits: other words, or a vector of its own (GloVe for the other class)
    SecretClassifier(LogisticRegression(), class_names={"setosa": "small iris"}).fit(x, y)
    fitted = SecretClassifier(LogisticRegression(),
                              label_vectors={"setosa": np.ones(50)}).fit(x, y)
    np.testing.assert_allclose(fitted.label_vectors_[0], np.ones(50))
    np.testing.assert_allclose(fitted.label_vectors_[1], label_embeddings(["virginica"])[0])


# --------------------------------------------------------------------------- the fusion
def test_fusion_matches_a_hand_computation():
    p = np.array([[0.6, 0.4]])
    targets = np.array([[1.0, 0.0], [0.0, 1.0]])
    s = semantic_scores(np.array([[3.0, 4.0]]), targets, "cosine")
    np.testing.assert_allclose(s, [[0.6, 0.8]])
    q = softmax(s, 0.1)                                    # softmax([6, 8])
    q1 = 1 / (1 + math.e ** 2)
    np.testing.assert_allclose(q, [[q1, 1 - q1]])
    np.testing.assert_allclose(fuse(p, q, 0.5, "sum"), [[0.3 + q1 / 2, 0.2 + (1 - q1) / 2]])
    a, b = math.sqrt(0.6 * q1), math.sqrt(0.4 * (1 - q1))
    np.testing.assert_allclose(fuse(p, q, 0.5, "product"), [[a / (a + b), b / (a + b)]],
                               rtol=1e-9)
    e = semantic_scores(np.array([[3.0, 4.0]]), targets, "euclidean")
    np.testing.assert_allclose(e, [[-math.sqrt(4 + 16), -math.sqrt(9 + 9)]])


def test_weight_chosen_on_validation_predictions():
    y = np.array([0, 1, 1, 0])
    p = np.array([[0.9, 0.1], [0.55, 0.45], [0.2, 0.8], [0.7, 0.3]])   # sample 1 wrong
    s = np.array([[1.0, -1.0], [-1.0, 1.0], [-1.0, 1.0], [1.0, -1.0]])  # all right
    w, t, grid = choose_fusion(p, s, y, weights=(0.0, 0.5, 1.0), temperatures=(1.0,))
    # 0.5 and 1.0 are both right on all four; 1.0 has the lower log-loss (0.127 vs 0.24)
    assert w == 1.0 and t == 1.0 and len(grid) == 3
    w, _, _ = choose_fusion(p, -s, y, weights=(0.0, 0.5, 1.0), temperatures=(1.0,))
    assert w == 0.0                                          # a useless semantic side gets 0


def test_predict_proba_is_the_fusion_of_the_fitted_parts():
    from sklearn.datasets import load_digits
    x, y = load_digits(return_X_y=True)
    x, y = x[:300], y[:300]
    est = SecretClassifier(LogisticRegression(max_iter=300), weights=(0.3,),
                           temperatures=(0.2,)).fit(x, y)
    p = class_proba(est.base_estimator_, x[:20], 10)
    q = softmax(semantic_scores(est.regressor_.predict(x[:20]), est.targets_), 0.2)
    np.testing.assert_allclose(est.predict_proba(x[:20]), 0.7 * p + 0.3 * q)
    np.testing.assert_allclose(est.semantic_proba(x[:20]), q)
    # the digits' names are their number words ("0" -> "zero"), centred and unit length
    np.testing.assert_allclose(est.label_vectors_[3], label_embeddings(["three"])[0])
    centred = est.label_vectors_ - est.label_vectors_.mean(axis=0)
    np.testing.assert_allclose(est.targets_,
                               centred / np.linalg.norm(centred, axis=1, keepdims=True))


def test_refit_semantic_reuses_the_base_and_the_controls_change_the_vectors():
    from sklearn.datasets import load_digits
    x, y = load_digits(return_X_y=True)
    x, y = x[:200], y[:200]
    est = SecretClassifier(LogisticRegression(max_iter=300), cv=2).fit(x, y)
    rnd = est.refit_semantic(x, y, label_vectors="random")
    shuf = est.refit_semantic(x, y, label_vectors="shuffled")
    assert rnd.base_estimator_ is est.base_estimator_ and rnd.label_vectors == "random"
    assert not np.allclose(rnd.label_vectors_, est.label_vectors_)
    # shuffled: the same GloVe vectors, none left with its own class
    order = [int(np.argmin(np.abs(est.label_vectors_ - v).sum(1))) for v in shuf.label_vectors_]
    assert sorted(order) == list(range(10)) and all(i != j for i, j in enumerate(order))
    with pytest.raises(UserError, match="cv"):
        est.refit_semantic(x, y, cv=5)


# --------------------------------------------------------------------------- sklearn contract
@parametrize_with_checks([SecretClassifier(LogisticRegression(max_iter=200), cv=2,
                                           weights=(0.0, 0.5, 1.0), temperatures=(0.1,))])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)   # none excluded: integer and string labels of the checks all have vectors


# --------------------------------------------------------------------------- ensembles, test
def test_soft_vote_and_stacking_equal_sklearn_on_the_same_members():
    from sklearn.datasets import make_classification
    from sklearn.ensemble import StackingClassifier, VotingClassifier
    from sklearn.model_selection import StratifiedKFold
    from sklearn.naive_bayes import GaussianNB
    x, y = make_classification(240, 8, n_informative=5, n_classes=3, random_state=0)
    xt, yt, x, y = x[:60], y[:60], x[60:], y[60:]
    members = [("lr", LogisticRegression(max_iter=500)), ("nb", GaussianNB())]
    fits = [SecretClassifier(m, cv=3, random_state=0).fit(x, y) for _, m in members]
    probas = [f.base_estimator_.predict_proba(xt) for f in fits]
    vote = VotingClassifier(members, voting="soft").fit(x, y)
    np.testing.assert_allclose(soft_vote(probas), vote.predict_proba(xt))
    stack = StackingClassifier(members, final_estimator=LogisticRegression(),
                               cv=StratifiedKFold(3, shuffle=True, random_state=0),
                               stack_method="predict_proba").fit(x, y)
    ours = stack_from_oof([f.oof_proba_ for f in fits], probas, y)
    np.testing.assert_allclose(ours, stack.predict_proba(xt), atol=1e-6)


def test_paired_ttest_5x2cv_by_hand():
    a = np.full((5, 2), 0.9)
    b = a - np.array([[0.04, 0.02]] + [[0.01, 0.03]] * 4)
    d = a - b
    s2 = ((d - d.mean(1, keepdims=True)) ** 2).sum(1)       # 0.0002 each
    t, p = paired_ttest_5x2cv(a, b)
    assert t == pytest.approx(0.04 / math.sqrt(s2.mean()))
    from scipy import stats
    assert p == pytest.approx(2 * stats.t.sf(t, 5))
    assert paired_ttest_5x2cv(a, a) == (0.0, 1.0)
    with pytest.raises(UserError, match="5, 2"):
        paired_ttest_5x2cv(np.zeros((4, 2)), np.zeros((4, 2)))
