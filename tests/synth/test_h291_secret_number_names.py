"""SECRET says when the class names are numbers coding the classes (a CSV's label column of
0, 1, 2): their GloVe vectors are those of "zero", "one", "two", which mean the numbers, not
the classes.  nnsynth secret on iris written with labels 0/1/2 printed 'label vectors glove
(zero, one, two)' and fused them as meaning, without a word (h291).  The bundled digits sets,
whose classes are the numbers, are not warned of."""
import logging

import numpy as np
import pytest


@pytest.fixture
def iris012(tmp_path):
    from sklearn.datasets import load_iris
    d = load_iris()
    path = tmp_path / "iris012.csv"
    rows = ["a,b,c,d,label"] + [",".join(map(str, x)) + f",{y}" for x, y in zip(d.data, d.target)]
    path.write_text("\n".join(rows) + "\n")
    return f"csv:{path}"


def test_numbered_classes_of_a_file_are_warned_of(iris012, caplog):
    from synth.secret_eval import run_secret
    with caplog.at_level(logging.WARNING):
        r = run_secret(iris012, "lr")
    assert "are numbers" in r.get("warning", ""), r.get("warning")
    assert "'0', '1', '2'" in r["warning"] and "--class-names" in r["warning"]
    assert any("are numbers" in rec.getMessage() for rec in caplog.records)


def test_words_given_for_the_numbered_classes_are_not_warned_of(iris012):
    from synth.secret_eval import run_secret
    r = run_secret(iris012, "lr", class_names=["small iris", "blue iris", "large iris"])
    assert "warning" not in r or "are numbers" not in r["warning"]


def test_the_api_warns_of_integer_labels_without_names(caplog):
    from synth.secret import SecretClassifier
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    y = np.repeat([0, 1, 2], 20)
    x[:, 0] += y
    with caplog.at_level(logging.WARNING, logger="synth.secret"):
        SecretClassifier().fit(x, y)
    assert any("are numbers" in rec.getMessage() for rec in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="synth.secret"):
        SecretClassifier(class_names=["walking", "running", "sitting"]).fit(x, y)
    assert not any("are numbers" in rec.getMessage() for rec in caplog.records)


def test_bundled_digits_are_not_warned_of():
    from synth.secret import number_warning
    assert number_warning(["0", "1", "2"]) is not None
    assert number_warning(["1.5", "-2", "3"]) is not None
    assert number_warning(["0", "1", "2"], label_vectors="random") is None
    assert number_warning(["zero", "one"]) is None
    assert number_warning(["0", "one"]) is None
    from synth.secret_eval import names_warning
    assert names_warning("digits", None, [str(d) for d in range(10)]) is None
    assert names_warning("digits[3,7]", None, ["3", "7"]) is None
    assert names_warning("csv:t.csv", None, ["3", "7"]) is not None
    assert names_warning("digits", ["3", "7"], ["3", "7"]) is not None
