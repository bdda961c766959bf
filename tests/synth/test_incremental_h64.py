"""Incremental learning with two data sets (helper 64): every row's accuracy is measured on the
old data, the new data and both, and the stopping rule is on the combined validation data.
Before, ``merge`` kept only the new set's validation and test splits: a model that had
learned only the old set was scored on the new one alone, and forgetting went unmeasured."""
import dataclasses

import pytest
import torch

from synth.errors import UserError
from synth.incremental import (IncrementalConfig, compare, held_out_accuracies, merge,
                               shares_held_out, split_dataset)
from synth.models import build
from synth.train import TrainConfig, evaluate, fit


def mirrored(data):
    """The same classes from another source: every image mirrored left to right."""
    flip = lambda x: x.flip(-1)  # noqa: E731
    return dataclasses.replace(data, name="digits_mirrored", x_train=flip(data.x_train),
                               x_val=flip(data.x_val), x_test=flip(data.x_test))


@pytest.fixture(scope="module")
def old_model(digits):
    """A dense MLP trained on the old set only (it has never seen a mirrored digit)."""
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [32]}, digits.input_shape, digits.num_classes)
    fit(model, digits, TrainConfig(epochs=5, seed=0, device="cpu", progress=False))
    return model.eval()


def acc(model, x, y):
    return evaluate(model, x, y)["accuracy"]


def test_two_sets_report_old_new_and_combined_accuracy(digits, old_model):
    old, new = digits, mirrored(digits)
    on_old = acc(old_model, old.x_test, old.y_test)
    on_new = acc(old_model, new.x_test, new.y_test)
    assert on_old > 0.85 and on_new < on_old - 0.3     # it learned one of the two
    config = IncrementalConfig(target=0.99, max_epochs=0.05, device="cpu")
    r = compare(old_model, old, new, config, methods=("finetune",))
    before = r["before"]
    assert before["test_accuracy_old"] == pytest.approx(on_old)
    assert before["test_accuracy_new"] == pytest.approx(on_new)
    both_x, both_y = torch.cat([old.x_test, new.x_test]), torch.cat([old.y_test, new.y_test])
    assert before["test_accuracy"] == pytest.approx(acc(old_model, both_x, both_y))
    assert before["val_accuracy"] == pytest.approx(acc(
        old_model, torch.cat([old.x_val, new.x_val]), torch.cat([old.y_val, new.y_val])))
    assert before["dense_test_accuracy_old"] == pytest.approx(on_old)
    assert before["dense_test_accuracy_new"] == pytest.approx(on_new)
    for key in ("finetune", "plateau") if "plateau" in r else ("finetune",):
        assert {"test_accuracy", "test_accuracy_old", "test_accuracy_new"} <= set(r[key])
    assert r["held_out"] == {"shared": False, "val": len(old.y_val) + len(new.y_val),
                             "test": len(both_y), "test_old": len(old.y_test),
                             "test_new": len(new.y_test)}


def test_the_stopping_rule_is_on_the_combined_validation_data(digits, old_model):
    """A target between the model's validation accuracy on the new set alone and on old + new:
    it is reached (the rule is on the combined data), and no method trains."""
    old, new = digits, mirrored(digits)
    on_new = acc(old_model, new.x_val, new.y_val)
    on_both = acc(old_model, torch.cat([old.x_val, new.x_val]), torch.cat([old.y_val, new.y_val]))
    assert on_new + 0.1 < on_both
    config = IncrementalConfig(target=(on_new + on_both) / 2, max_epochs=0.05, device="cpu")
    r = compare(old_model, old, new, config, methods=("incremental", "finetune"))
    assert r["before"]["reached"]
    assert r["incremental"]["samples"] == 0 and r["finetune"]["samples"] == 0


def test_one_set_split_in_two_shares_its_held_out_splits(digits, old_model):
    old, new = split_dataset(digits, 0.6, seed=0)
    assert shares_held_out(old, new) and not shares_held_out(digits, mirrored(digits))
    both = merge(old, new)
    assert torch.equal(both.x_test, digits.x_test) and torch.equal(both.x_val, digits.x_val)
    a = held_out_accuracies(old_model, old, new)
    assert a["test_accuracy"] == a["test_accuracy_old"] == a["test_accuracy_new"] == \
        pytest.approx(acc(old_model, digits.x_test, digits.y_test))


def test_two_sets_need_the_old_sets_held_out_splits(digits, old_model):
    """Without the old set's test split forgetting cannot be measured: a one-line error."""
    empty = digits.x_test[:0], digits.y_test[:0]
    old = dataclasses.replace(digits, x_test=empty[0], y_test=empty[1])
    with pytest.raises(UserError, match="incremental learning needs train, val, test splits; "
                                        "data set digits has no test split"):
        compare(old_model, old, mirrored(digits), IncrementalConfig(target=0.5, device="cpu"),
                methods=("finetune",))


def test_merge_names_what_differs_and_refuses_the_same_samples_twice(digits):
    fewer = digits.class_subset(list(range(9)))
    with pytest.raises(UserError, match=r"label other classes: digits has 10 .*digits\[0,1,2,3,"
                                        r"4,5,6,7,8\] 9 .*\(digits\[0,1,2,3,4,5,6,7,8\] lacks "
                                        r"\['9'\]\)"):
        merge(digits, fewer)     # said "differ: shapes (1, 8, 8) vs (1, 8, 8), classes 10 vs 9"
    with pytest.raises(UserError, match="same training samples"):
        merge(digits, digits.class_subset(list(range(10))))     # digits and digits[0,...,9]
