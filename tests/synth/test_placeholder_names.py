"""SECRET warns when the class names are placeholders ("class_0", "class_1", ...): their GloVe
vectors carry no meaning, so the 'semantic' space is a label code (scikit-learn's wine ran
without a word and reported a semantic score as if it meant something)."""
import logging

import pytest

from synth.labels import placeholder_names


@pytest.mark.parametrize("names, expected", [
    (["class_0", "class_1", "class_2"], True),          # scikit-learn's wine
    (["Type 1", "Type 2"], True),
    (["cluster 3", "cluster 10", "cluster 7"], True),
    ([str(d) for d in range(10)], False),              # digits: the numbers are the meaning
    (["setosa", "versicolor", "virginica"], False),
    (["malignant", "benign"], False),
    (["class 1", "class 1"], False),                   # not told apart by the number
    (["class 1", "group 2"], False),
    (["walking", "running 2"], False),
])
def test_placeholder_names(names, expected):
    assert placeholder_names(names) is expected


def test_secret_on_wine_warns_that_the_names_carry_no_meaning(caplog):
    from synth.secret import label_vectors_for
    with caplog.at_level(logging.WARNING, logger="synth.secret"):
        label_vectors_for([0, 1, 2], ["class_0", "class_1", "class_2"])
    assert any("placeholders" in r.getMessage() for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="synth.secret"):
        label_vectors_for([0, 1], ["malignant", "benign"])
    assert not caplog.records
