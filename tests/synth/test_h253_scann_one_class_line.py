"""scann's result at chance because its MLP predicts one class is one line (h253).

``nnsynth scann`` of a table whose held-out rows all read alike (any model computes one
output for them) warned twice of one fact: 'the model predicts class 'a' for every test
sample: its test accuracy 0.7500 is that class's share ...' (``one_class_warning``) and
'the synthesized MLP's test accuracy 0.7500 is at chance (0.7500, ...)' (its shortfall
line).  The one line says both: the class, the share, chance, the baseline, the remedies."""
from tests._cli import json_result, run
from tests.test_h237_one_class import _table   # val and test rows alike, 3 of 4 'a'


def test_one_class_at_chance_is_one_line(tmp_path, caplog):
    result = json_result(run(["-q", "scann", "--dataset", _table(tmp_path / "flat.csv"),
                              "--hidden", "8,4", "--device", "cpu", "--json"]))
    line = ("the synthesized MLP predicts class 'a' for every test sample: its test accuracy "
            "0.7500 is that class's share of the test split, at chance (0.7500, the largest "
            "class's share), against the dense baseline's 0.7500, and the other classes are "
            "never predicted: try another --scheme (this is B), --reduce or --components (an "
            "imbalanced set: balance its classes)")
    warning = result.get("warning", "")
    assert line in warning, warning
    assert warning.count("for every test sample") == 1, warning
    assert "test accuracy 0.7500 is at chance" not in warning, warning
    assert caplog.text.count("for every test sample") == 1, caplog.text
