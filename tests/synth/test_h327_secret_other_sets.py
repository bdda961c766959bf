"""SECRET on sets and class names it was not developed on (h327).

- A class whose name is the others' words together ("rain", "snow", "rain/snow": its vector
  is the mean of theirs) was centred to a zero target: the semantic space never chose it
  (its F1 0.0000) and nothing said why.  Now one line naming the class and the others.
- A name with a clitic or a symbol GloVe's tokenizer cuts off ("Alzheimer's disease",
  "Men's shoes", "don't know", "65+", "100%") was one unknown word ("alzheimer's", "65+"),
  an error; now GloVe's tokens.
- "Class A", "Class B" are placeholders as "class_0", "class_1" are (a label code, said).
- --class-names 'cat,,dog' said "class '' has no words", not which class; now its position.
- --base svm printed scikit-learn 1.9's FutureWarning on SVC(probability=True) raw, with its
  source line, on every set; it is about this code, not the user's data.
- The figures on a user's table of multi-word names, recomputed independently.
"""
import csv
import logging
import warnings

import numpy as np
import pytest

from synth.errors import UserError
from synth.labels import glove_vectors, label_embeddings, name_words, placeholder_names
from synth.secret import SecretClassifier, label_vectors_for
from synth.secret_eval import run_secret


def _table(path, labels, per_class=30, features=4, seed=0, spread=0.8):
    """A CSV of ``per_class`` rows per label (Gaussian blobs), rows shuffled."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, spread, (len(labels), features))
    rows = [[*(centres[k] + rng.normal(0, 1, features)), lab]
            for k, lab in enumerate(labels) for _ in range(per_class)]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*(f"f{i}" for i in range(features)), "label"])
        w.writerows(rows)
    return np.array([r[:-1] for r in rows], dtype=np.float64), [r[-1] for r in rows]


# ------------------------------------------------------------------ a class of the others' mean
def test_a_class_whose_vector_is_the_others_mean_is_refused():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 4)), np.repeat([0, 1, 2], 20)
    with pytest.raises(UserError, match=r"^the label vector of class 'rain/snow' is the mean of "
                                        r"the other classes' \('rain', 'snow'\): centred"):
        SecretClassifier(class_names=["rain", "snow", "rain/snow"]).fit(x, y)
    # not centred, its target is its own: nothing to refuse
    SecretClassifier(class_names=["rain", "snow", "rain/snow"], center=False).fit(x, y)
    from synth.secret import check_centred
    check_centred(label_embeddings(["rain", "snow", "sleet"]), [0, 1, 2])   # none is


def test_a_tables_class_of_the_others_mean_is_one_line(tmp_path):
    _table(tmp_path / "w.csv", ["rain", "snow", "rain/snow"])
    with pytest.raises(UserError, match=r"class 'rain/snow' is the mean of the other classes' "
                                        r"\('rain', 'snow'\)"):
        run_secret(f"csv:{tmp_path / 'w.csv'}")


# ------------------------------------------------------------------ clitics
@pytest.mark.parametrize("name, words", [
    ("Alzheimer's disease", ["alzheimer", "'s", "disease"]),
    ("Men’s Shoes", ["men", "'s", "shoes"]),    # a typographic apostrophe
    ("don't know", ["do", "n't", "know"]),
    ("O'Neill", ["o'neill"]),                    # GloVe has the whole word
    ("Kids' shoes", ["kids", "shoes"]),
    ("65+", ["65", "+"]), ("100%", ["100", "%"]), ("$50k", ["$", "50k"]),   # symbols
    ("c++", ["c++"]), ("e.coli", ["e.coli"]),   # GloVe has the whole word
])
def test_a_clitic_is_cut_off_as_glove_has_it(name, words):
    assert name_words(name, glove=True) == words
    assert not glove_vectors(words)[1]


def test_names_with_clitics_have_vectors():
    e = label_embeddings(["Alzheimer's disease", "Parkinson's disease", "healthy"])
    assert e.shape == (3, 50) and np.isfinite(e).all()
    e = label_embeddings(["18-24", "25-64", "65+"])   # age brackets: "65+" was an error
    assert e.shape == (3, 50) and np.isfinite(e).all()
    with pytest.raises(UserError, match=r"the word \"xqzzyv's\" has no GloVe vector"):
        label_embeddings(["Xqzzyv's"])   # an unknown stem stays the word the user wrote


# ------------------------------------------------------------------ letters as placeholders
@pytest.mark.parametrize("names, expected", [
    (["Class A", "Class B", "Class C"], True),
    (["ClassA", "ClassB"], True),
    (["group a", "group b", "group 3"], True),
    (["A", "B", "C"], False),                   # bare letters: a set of letters
    (["a cat", "a dog"], False),
])
def test_letters_that_alone_tell_classes_apart_are_placeholders(names, expected):
    assert placeholder_names(names, glove=True) is expected


def test_letter_placeholders_are_said(caplog):
    with caplog.at_level(logging.WARNING, logger="synth.secret"):
        label_vectors_for([0, 1, 2], ["Class A", "Class B", "Class C"])
    assert any("are placeholders" in r.getMessage() for r in caplog.records)


# ------------------------------------------------------------------ a name of no words
@pytest.mark.parametrize("names", [["cat", "", "dog"], ["cat", "--", "dog"]])
def test_a_given_name_of_no_words_is_named_by_its_position(names):
    with pytest.raises(UserError, match=r"^--class-names gives '-*' at position 2 of 3, a name "
                                        r"of no words"):
        run_secret("iris", class_names=names)   # before the set loads


# ------------------------------------------------------------------ the svm base
def test_the_svm_base_says_no_deprecation_of_its_own_code(tmp_path):
    _table(tmp_path / "t.csv", ["cat", "dog", "bird"], per_class=15)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_secret(f"csv:{tmp_path / 't.csv'}", "svm")
    said = [str(w.message) for w in caught if "probability" in str(w.message)]
    assert not said, said


# ------------------------------------------------------------------ figures, recomputed
def test_figures_on_a_table_of_multi_word_names_are_recomputed(tmp_path):
    """Split, fusion weight (out-of-fold macro-F1, ties: log-loss, then the smaller weight),
    and the three test scores, by scikit-learn here, on the raw rows (the set's
    standardization is affine per feature, which the scaled base and regressor undo)."""
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    labels = ["heart failure", "no finding", "Alzheimer's disease"]
    x, lab = _table(tmp_path / "m.csv", labels, per_class=30, spread=0.5)
    result = run_secret(f"csv:{tmp_path / 'm.csv'}")
    classes = sorted(set(lab))   # the table's classes, as text in order
    y = np.array([classes.index(v) for v in lab])
    idx = np.arange(len(y))
    rest, test = train_test_split(idx, test_size=0.2, stratify=y, random_state=0)
    tr, va = train_test_split(rest, test_size=max(0.1, 3 / len(rest)), stratify=y[rest],
                              random_state=0)
    fit = np.concatenate([np.sort(tr), np.sort(va)])
    test = np.sort(test)
    assert (result["train_samples"], result["test_samples"]) == (len(fit), len(test))
    words = [name_words(c, glove=True) for c in classes]
    e = np.stack([glove_vectors(w)[0].mean(0) for w in words])
    e -= e.mean(0)
    e /= np.linalg.norm(e, axis=1, keepdims=True)

    def base():
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))

    def reg():
        return make_pipeline(StandardScaler(), RidgeCV(alphas=(0.1, 1.0, 10.0, 100.0, 1000.0)))

    def cos(v):
        return (v / np.linalg.norm(v, axis=1, keepdims=True)) @ e.T

    def soft(s, t):
        z = np.exp(s / t - (s / t).max(1, keepdims=True))
        return z / z.sum(1, keepdims=True)

    X, Y = x[fit], y[fit]
    oof_p, oof_s = np.zeros((len(Y), 3)), np.zeros((len(Y), 3))
    for a, b in StratifiedKFold(3, shuffle=True, random_state=0).split(X, Y):
        oof_p[b] = base().fit(X[a], Y[a]).predict_proba(X[b])
        oof_s[b] = cos(reg().fit(X[a], e[Y[a]]).predict(X[b]))
    best = None
    for t in (0.05, 0.1, 0.2, 0.5, 1.0):
        for w in (round(0.1 * i, 1) for i in range(11)):
            p = (1 - w) * oof_p + w * soft(oof_s, t)
            key = (f1_score(Y, p.argmax(1), average="macro"),
                   np.mean(np.log(p[np.arange(len(Y)), Y] + 1e-12)), -w)
            if best is None or key > best[0]:
                best = (key, w, t)
    _, w, t = best
    assert (result["weight"], result["temperature"]) == (w, t)
    p = base().fit(X, Y).predict_proba(x[test])
    s = cos(reg().fit(X, e[Y]).predict(x[test]))
    yt = y[test]
    for key, pred in (("base_scores", p.argmax(1)), ("semantic_scores", s.argmax(1)),
                      ("secret_scores", ((1 - w) * p + w * soft(s, t)).argmax(1))):
        assert result[key]["accuracy"] == pytest.approx(accuracy_score(yt, pred), abs=1e-12)
        assert result[key]["macro_f1"] == pytest.approx(
            f1_score(yt, pred, average="macro"), abs=1e-12)
    assert [c["class"] for c in result["base_scores"]["per_class"]] == classes
