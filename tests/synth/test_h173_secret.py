"""h173's probe of SECRET (``nnsynth secret``): its scores and what its result says."""
import numpy as np
from sklearn.metrics import f1_score

from synth.secret_eval import scores


def test_macro_f1_of_two_methods_averages_over_the_same_classes():
    """A test split without class 2 (a CSV's split column): a method that predicted class 2
    once was averaged over classes {0, 1, 2} (F1 0 for 2) and one that did not over {0, 1},
    so base and SECRET's macro-F1 were means over different classes."""
    y = np.array([0, 1, 0, 1])
    predicts_2 = np.array([0, 1, 2, 1])      # one error: a 0 called 2
    never_2 = np.array([0, 1, 1, 1])         # one error: a 0 called 1
    for pred in (predicts_2, never_2):
        assert scores(y, pred)["macro_f1"] == f1_score(y, pred, labels=[0, 1], average="macro")
    assert scores(y, predicts_2)["macro_f1"] == (2 / 3 + 1) / 2
    assert scores(y, never_2)["macro_f1"] == (2 / 3 + 0.8) / 2
    # every class present: scikit-learn's default, as before
    full = np.array([0, 1, 2, 2, 1, 0])
    guess = np.array([0, 2, 2, 1, 1, 0])
    assert scores(full, guess)["macro_f1"] == f1_score(full, guess, average="macro")


def test_json_result_carries_the_placeholder_names_warning():
    """nnsynth secret --dataset wine --json: the log warned that 'class_0', 'class_1', ...
    are placeholders (the semantic space means nothing), the JSON result did not say so."""
    from synth.secret_eval import network_fusion, run_secret
    result = run_secret("wine", "lr")
    assert "placeholders" in result["warning"]
    assert "warning" not in run_secret("wine", "lr", class_names=["red", "white", "rose"])
    assert "warning" not in run_secret("wine", "lr", label_vectors="random")
    # --model: the network's outputs per split (here a fixed linear map of the features)
    from tests.synth.test_h329_secret_followups import _wine_outputs
    data, out, ys = _wine_outputs()
    assert "placeholders" in network_fusion(out, ys, data)["warning"]
    # (wine's validation split of 15 rows is said since h329: the weight was chosen on it)
    said = network_fusion(out, ys, data, class_names=["red", "white", "rose"])["warning"]
    assert "placeholders" not in said and said.startswith("the fusion weight")


def test_the_searched_grid_and_folds_are_checked():
    """SecretClassifier(temperatures=(0,)) made every fused probability NaN and predicted its
    first class (accuracy 1/3 on iris), a negative temperature reversed the similarities,
    weights=(1.5,) or (nan,) fused into negative or NaN "probabilities", weights=() kept a
    weight of 0 it did not hold and cv=2.5 ran 2 folds, all without a word."""
    import pytest
    from sklearn.datasets import load_iris

    from synth.errors import UserError
    from synth.secret import SecretClassifier
    X, y = load_iris(return_X_y=True)
    words = ["small", "blue", "large"]
    for bad, says in [({"temperatures": (0,)}, "temperatures"),
                      ({"temperatures": (-1.0,)}, "temperatures"),
                      ({"temperatures": (float("inf"),)}, "temperatures"),
                      ({"weights": (1.5,)}, "weights"), ({"weights": (float("nan"),)}, "weights"),
                      ({"weights": ()}, "weights"), ({"weights": 0.5}, "weights"),
                      ({"cv": 2.5}, "cv")]:
        with pytest.raises(UserError, match=says):
            SecretClassifier(class_names=words, **bad).fit(X, y)
    fitted = SecretClassifier(class_names=words, cv=np.int64(2), weights=np.linspace(0, 1, 5),
                              temperatures=np.float32([0.5, 1.0])).fit(X, y)
    assert fitted.weight_ in np.linspace(0, 1, 5) and fitted.temperature_ in (0.5, 1.0)
    with pytest.raises(UserError, match="temperatures"):   # refit_semantic's grid too
        fitted.refit_semantic(X, y, temperatures=(0,))


def test_label_vectors_that_are_not_finite_numbers_are_one_line():
    """label_vectors with NaN or inf ended in scikit-learn's 'Input y contains NaN', strings
    in numpy's 'could not convert string to float': ValueErrors, not the one-line error."""
    import pytest
    from sklearn.datasets import load_iris

    from synth.errors import UserError
    from synth.secret import SecretClassifier
    X, y = load_iris(return_X_y=True)
    for vectors, says in [(np.array([[1, 0], [0, 1], [np.nan, 1]]), "class '2' holds NaN"),
                          (np.array([[1, 0], [0, 1], [np.inf, 1]]), "class '2' holds NaN"),
                          ({0: [1, 0], 1: [0, 1], 2: [1, None]}, "class '2' holds NaN"),
                          ({0: [1, 0], 1: [0, 1], 2: ["a", "b"]}, "must be numbers")]:
        with pytest.raises(UserError, match=says):
            SecretClassifier(label_vectors=vectors).fit(X, y)
    with pytest.raises(UserError, match="no GloVe vector"):   # its own words, not rewrapped
        SecretClassifier(class_names=["zzqq", "blue", "red"]).fit(X, y)
