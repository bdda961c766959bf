"""h329: SECRET follow-ups of h327.

- The svm base was ``SVC(probability=True)``, deprecated in scikit-learn 1.9 and removed in
  1.11 (the project allows any scikit-learn from 1.3): h327 silenced the notice.  Now Platt
  scaling by ``CalibratedClassifierCV(SVC(), method="sigmoid", ensemble=False)``, the folds
  as many as the smallest class allows, and the softmax of the decision values where a class
  of one row leaves nothing to calibrate on.
- The unknown-word error told a library caller of ``--class-names`` and a command-line user
  of ``class_names={...}``: the error carries each its own remedy (``UserError.cli``).
- With a network (``--model``) the fusion weight is chosen on the validation split: the
  result did not say on how many rows, and on a small split (iris: 12) said nothing of it.
- 'only 1 test samples'.
"""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris

from synth.errors import UserError
from synth.secret_eval import make_base


def _iris():
    return load_iris(return_X_y=True)


# ------------------------------------------------------------------ the svm base
def test_the_svm_base_fits_without_the_deprecated_probability_parameter():
    """Every warning an error: SVC(probability=True) raised scikit-learn 1.9's FutureWarning
    (and is gone in 1.11); no parameter of the base is ``probability=True``."""
    x, y = _iris()
    base = make_base("svm", seed=0)
    assert not [k for k, v in base.get_params(deep=True).items()
                if k.endswith("probability") and v is True]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        base.fit(x, y)
        p = base.predict_proba(x)
    assert p.shape == (150, 3) and np.allclose(p.sum(axis=1), 1.0)
    assert np.mean(base.predict(x) == y) > 0.95


def test_the_svm_base_is_sigmoid_calibration_recomputed_by_scikit_learn():
    """Its probabilities are scikit-learn's sigmoid calibration of an SVC on standardized
    features, with 5 folds, or as many as the smallest class has rows (3 here)."""
    from sklearn.base import clone
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    x, y = _iris()
    for keep, folds in ((np.arange(150), 5), (np.r_[0:50, 50:53, 100:150], 3)):
        xs, ys = x[keep], y[keep]
        base = clone(make_base("svm", seed=1)).fit(xs, ys)   # clonable, as Bagging needs
        z = StandardScaler().fit(xs)
        ref = CalibratedClassifierCV(SVC(), method="sigmoid", cv=folds, ensemble=False).fit(
            z.transform(xs), ys)
        assert base[-1].calibrated_
        np.testing.assert_allclose(base.predict_proba(xs), ref.predict_proba(z.transform(xs)),
                                   rtol=1e-10, atol=1e-12)
        # predict is the SVC's own (its decision function), as SVC(probability=True)'s was
        assert np.array_equal(base.predict(xs),
                              SVC().fit(z.transform(xs), ys).predict(z.transform(xs)))


@pytest.mark.parametrize("classes", [(0, 1, 2), (0, 1)])
def test_a_class_of_one_row_gets_the_softmax_of_the_decision_values(classes):
    """No fold can hold out a class of one row: the probabilities are the softmax of the SVC's
    decision values (two classes: the sigmoid of its one), said by ``calibrated_``."""
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC
    x, y = _iris()
    keep = np.r_[0:40, 50:51, 100:140][: 41 if len(classes) == 2 else None]
    xs, ys = x[keep], y[keep]
    base = make_base("svm").fit(xs, ys)
    assert not base[-1].calibrated_
    z = StandardScaler().fit(xs)
    d = SVC().fit(z.transform(xs), ys).decision_function(z.transform(xs))
    d = np.stack([np.zeros_like(d), d], axis=1) if d.ndim == 1 else d
    want = np.exp(d) / np.exp(d).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(base.predict_proba(xs), want, rtol=1e-9)
    assert list(base.classes_) == list(classes)


def test_secret_with_the_svm_base_runs_where_a_class_has_one_row():
    from synth.secret import SecretClassifier
    x, y = _iris()
    keep = np.r_[0:40, 50:51, 100:140]
    est = SecretClassifier(make_base("svm"), class_names=["small", "blue", "large"]).fit(
        x[keep], y[keep])
    assert est.n_folds_ == 0 and np.allclose(est.predict_proba(x).sum(axis=1), 1.0)


# ------------------------------------------------------------------ the unknown-word error
def test_the_unknown_word_error_gives_the_library_its_parameters_and_the_cli_its_option():
    """The library caller is told of class_names= and label_vectors=, not of an option it
    has no command line for; the command line's words travel with the error (``cli``)."""
    from synth.labels import label_embeddings
    with pytest.raises(UserError) as e:
        label_embeddings(["setosa", "blue"])
    api, cli = str(e.value), e.value.cli
    assert "'setosa' has no GloVe vector" in api and "--class-names" not in api
    assert "class_names={class: 'words'}" in api and "label_vectors={class:" in api
    assert cli.startswith("class 'setosa': the word 'setosa' has no GloVe vector")
    assert "--class-names" in cli and "class_names=" not in cli and "label_vectors" not in cli
    assert pickle.loads(pickle.dumps(e.value)).cli == cli   # a Ray worker's error too
    assert UserError("plain").cli is None


# ------------------------------------------------------------------ the fusion weight's rows
def _wine_outputs():
    from synth.data import load_dataset
    data = load_dataset("wine", seed=0)
    w = np.random.default_rng(0).normal(size=(13, 3))
    out, ys = {}, {}
    for split in ("train", "val", "test"):
        x = getattr(data, f"x_{split}").numpy().reshape(-1, 13)
        z = np.exp(x @ w)
        out[split] = (z / z.sum(1, keepdims=True), x)
        ys[split] = getattr(data, f"y_{split}").numpy()
    return data, out, ys


def test_a_network_s_weight_says_how_many_validation_rows_chose_it():
    """wine's validation split holds 15 rows: the result said 'the validation split' and no
    more; now the count (JSON and the text's line) and one line that so few are noisy."""
    from synth.secret_eval import FEW_CHOSEN_ON, network_fusion
    data, out, ys = _wine_outputs()
    r = network_fusion(out, ys, data, class_names=["red", "white", "rose"])
    n = len(ys["val"])
    assert n == 15 < FEW_CHOSEN_ON
    assert r["weight_chosen_on_samples"] == 15
    assert r["weight_chosen_on"] == "the validation split (15 samples)"
    assert f"was chosen on only 15 validation samples (fewer than {FEW_CHOSEN_ON})" in \
        r["warning"]
    assert "\n" not in r["warning"]
    # enough rows (the test split's 36 as validation): counted, not warned of
    big = {**out, "val": out["test"]}
    r = network_fusion(big, {**ys, "val": ys["test"]}, data,
                       class_names=["red", "white", "rose"])
    assert r["weight_chosen_on_samples"] == 36 and "warning" not in r


def test_perfect_validation_scores_are_said_where_log_loss_alone_chose():
    """Every weight perfect on the few validation rows: the tie-break (log-loss) chose."""
    from synth.secret_eval import few_chosen_on_line
    grid = [{"macro_f1": 1.0}] * 3 + [{"macro_f1": 0.9}]
    line = few_chosen_on_line(12, 1.0, grid, "validation samples")
    assert line.startswith("the fusion weight 1.0 (1.0: the semantic space alone) was chosen "
                           "on only 12 validation samples (fewer than 30)")
    assert "3 of its 4 weight/temperature pairs score a perfect macro-F1" in line
    assert few_chosen_on_line(30, 1.0, grid, "validation samples") is None
    assert few_chosen_on_line(12, 0.0, [], "validation samples") is None   # nothing chose it


def test_run_secret_counts_the_out_of_fold_rows():
    from synth.secret_eval import run_secret
    r = run_secret("iris", "lr", class_names=["small iris", "blue iris", "large iris"])
    assert r["weight_chosen_on_samples"] == 120   # train + validation, out of fold


# ------------------------------------------------------------------ wording
def test_one_held_out_row_is_one_sample(tmp_path):
    import csv

    from synth.data import load_dataset
    path = tmp_path / "t.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "label", "split"])
        for i in range(20):
            w.writerow([i, -i, i % 2, "train"])
        for i in range(6):
            w.writerow([i, i, i % 2, "test"])
        w.writerow([1, 2, 2, "test"])
    with pytest.raises(UserError, match=r"has no training samples \(only 1 test sample\);"):
        load_dataset(f"csv:{path}")
