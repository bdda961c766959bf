"""check_model_classes (the search's teacher check, incremental learning) matches a model's
class names to its own set's as scoring does (synth.data.spelled_as): the model's file
re-spelled 'cat' for 'Cat' was refused as a model of other classes."""
from types import SimpleNamespace

import pytest
import torch

from synth.checkpoint import check_model_classes
from synth.errors import UserError


def _model(names):
    m = torch.nn.Linear(2, 2)
    m.checkpoint_info = {"dataset": {"name": "csv:pets.csv", "class_names": names}}
    return m


def test_a_set_spelled_in_another_case_is_the_models_own():
    data = SimpleNamespace(name="csv:pets.csv", class_names=["cat", "Dog"])
    check_model_classes(_model(["Cat", "dog"]), data, "teacher")


def test_other_classes_or_another_order_are_still_refused():
    for names in (["cat", "bird"], ["dog", "cat"]):
        data = SimpleNamespace(name="csv:pets.csv", class_names=names)
        with pytest.raises(UserError, match="the teacher predicts"):
            check_model_classes(_model(["Cat", "dog"]), data, "teacher")
