"""h186's probe of continual learning: the old and new tasks' accuracy where a class has no
test sample."""
import logging

import torch

from synth.continual import task_accuracy
from synth.data import Dataset
from synth.models import build


def _set(y_test):
    """A 4-feature set of 4 classes whose test split holds the labels ``y_test``."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(len(y_test), 4, generator=g)
    y = torch.as_tensor(y_test)
    return Dataset("t", x, y, x, y, x, y, (4,), 4, ["a", "b", "c", "d"], [0.0] * 4, [1.0] * 4)


def _plain(model, data, classes):
    """The fraction right of the test samples of ``classes``, in plain torch."""
    with torch.no_grad():
        pred = model(data.x_test).argmax(1)
    part = torch.isin(data.y_test, torch.as_tensor(classes))
    return float((pred[part] == data.y_test[part]).double().mean())


def test_a_class_absent_from_the_test_split_is_left_out_of_its_task(caplog):
    """Outputs 0, 1 old and 2, 3 new; class 3 ('d') has no test sample.  The counts-weighted
    per-class figures (nnsynth continual's) made accuracy_new NaN: NaN * 0 samples."""
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": False}, (4,), 4).eval()
    data = _set([0, 0, 1, 1, 1, 2, 2, 2, 0, 2])
    with caplog.at_level(logging.WARNING, logger="synth.continual"):
        acc = task_accuracy(model, data, 2)
    assert acc == {"accuracy_old": _plain(model, data, [0, 1]),
                   "accuracy_new": _plain(model, data, [2, 3])}
    assert "no sample of class 'd': accuracy_new is over the other classes' samples" in caplog.text
    n_old, n_new = 6, 4   # the sample-weighted mean of the two is the accuracy of the split
    with torch.no_grad():
        overall = float((model(data.x_test).argmax(1) == data.y_test).double().mean())
    assert abs((n_old * acc["accuracy_old"] + n_new * acc["accuracy_new"]) / 10 - overall) < 1e-12


def test_a_task_with_no_test_sample_is_none(caplog):
    """No test sample of the new classes at all: None (a ZeroDivisionError traceback)."""
    model = build({"family": "mlp", "hidden": [8], "bn": False}, (4,), 4).eval()
    data = _set([0, 1, 1, 0])
    with caplog.at_level(logging.WARNING, logger="synth.continual"):
        acc = task_accuracy(model, data, 2)
    assert acc["accuracy_new"] is None and acc["accuracy_old"] == _plain(model, data, [0, 1])
    assert "no sample of classes 'c', 'd': accuracy_new is none" in caplog.text
