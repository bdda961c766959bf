"""SECRET on class names users have, and the rule that chooses its fusion weight (h302).

- A camel-case name ("LeftHand", "heartFailure", "USBPort") was one unknown word
  ("lefthand" is GloVe's 172,595th word; "heartfailure" none): an error, or a rare token's
  vector.  Now its humps, where GloVe has each; "iPhone", "YouTube" stay whole; "Type1"
  (no GloVe word) is "type 1".
- "LeftHand" and "left hand" given as two classes passed the names check (different words
  then).  Now one line naming both, before any data set loads.
- A data set's own names that are one set of words ("Left hand" and "left-hand" of a CSV)
  were said as "classes '0' and '2' have the same label vector": now by the names.
- The fusion weight's rule: ``select`` (accuracy, balanced accuracy, macro-F1), recorded in
  the result (``weight_chosen_by``)."""
import csv

import numpy as np
import pytest

from synth.errors import UserError
from synth.labels import label_embeddings, name_words
from synth.secret import SELECT, SecretClassifier, choose_fusion, selection_rule
from synth.secret_eval import check_distinct_names, run_secret


@pytest.mark.parametrize("name, words", [
    ("LeftHand", ["left", "hand"]), ("heartFailure", ["heart", "failure"]),
    ("USBPort", ["usb", "port"]), ("BothFeet", ["both", "feet"]),
    ("iPhone", ["iphone"]), ("YouTube", ["youtube"]), ("HEALTHY", ["healthy"]),
    ("Stroke", ["stroke"]), ("left_hand", ["left", "hand"]),
    ("heart failure", ["heart", "failure"]),
    ("Type1", ["type", "1"]), ("mp3", ["mp3"]), ("e.coli", ["e.coli"]),
])
def test_camel_case_names_are_their_words(name, words):
    assert name_words(name, glove=True) == words


def test_a_camel_case_name_has_the_vector_of_its_words():
    np.testing.assert_array_equal(label_embeddings(["LeftHand", "heartFailure"]),
                                  label_embeddings(["left hand", "heart failure"]))


def test_a_word_glove_lacks_is_still_one_line():
    with pytest.raises(UserError, match=r"^class 'Xyzzyqq': the word 'xyzzyqq' has no GloVe"):
        label_embeddings(["Xyzzyqq"])


def test_names_the_same_after_camel_case_are_refused_before_loading():
    with pytest.raises(UserError, match=r"^--class-names gives 'LeftHand' and 'left hand', the "
                                        r"same words \(positions 1 and 2 of 3\)"):
        check_distinct_names(["LeftHand", "left hand", "foot"])


def test_a_sets_own_names_of_the_same_words_are_named(tmp_path):
    path = tmp_path / "dup.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "label"])
        for i in range(30):
            w.writerow([i % 7, i % 5, ("Left hand", "left-hand", "foot")[i % 3]])
    with pytest.raises(UserError) as err:
        run_secret(f"csv:{path}")
    assert str(err.value).startswith(
        f"csv:{path}'s class names give 'Left hand' and 'left-hand', the same words "
        f"(positions 1 and 3 of 3)"), err.value   # was "classes '0' and '2' have the same ..."
    assert "(--class-names)" in str(err.value)


def _oof():
    """8 of class 0, 2 of class 1: the base gets both 1s and 5 of the 0s (accuracy 0.7,
    macro-F1 0.67); the semantic space says 0 throughout (accuracy 0.8, macro-F1 0.44)."""
    y = np.array([0] * 8 + [1] * 2)
    base = np.array([0] * 5 + [1] * 3 + [1] * 2)
    p = np.eye(2)[base] * 0.8 + 0.1
    scores = np.tile([1.0, -1.0], (10, 1))
    return p, scores, y


@pytest.mark.parametrize("select, weight", [("accuracy", 1.0), ("balanced_accuracy", 0.0),
                                            ("macro_f1", 0.0)])
def test_the_weight_maximizes_the_rule_chosen(select, weight):
    p, s, y = _oof()
    w, _, grid = choose_fusion(p, s, y, weights=(0.0, 1.0), temperatures=(1.0,), select=select)
    assert w == weight
    assert grid[0]["accuracy"] == 0.7 and grid[1]["accuracy"] == 0.8
    assert grid[0]["balanced_accuracy"] == pytest.approx(0.8125)
    assert grid[1]["macro_f1"] == pytest.approx(8 / 18)


def test_the_rule_is_checked_and_recorded():
    with pytest.raises(UserError, match=r"^select must be one of accuracy, balanced_accuracy, "
                                        r"macro_f1, got 'f1'$"):
        SecretClassifier(select="f1").fit(np.eye(4), [0, 1, 0, 1])
    r = run_secret("iris", class_names=["small iris", "blue iris", "large iris"])
    assert r["weight_chosen_by"] == selection_rule(SELECT)
    assert r["class_names"] == ["small iris", "blue iris", "large iris"]


def test_camel_case_placeholders_are_warned_of():
    """'Class1', 'Class2' are 'class 1', 'class 2' now (an unknown word before): the
    placeholder warning reads the same words, or they were fused as meaning without a word."""
    from synth.secret import placeholder_warning
    assert placeholder_warning(["Class1", "Class2", "Class3"]).startswith(
        "class names 'Class1', 'Class2', 'Class3' are placeholders")
    assert placeholder_warning(["LeftHand", "RightHand"]) is None
