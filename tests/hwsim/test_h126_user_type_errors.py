"""A TypeError from a user's forward is the model's error, told in one line; one raised in
hwsim's own pricing code keeps its traceback (h126).

extract() told a RuntimeError or ValueError of the forward pass as 'model does not accept
input shape ...', but a TypeError (an nn.Bilinear given one input, a Linear called with two)
ended in a traceback through the Python API.  The rule (since 8e2d4af): an error raised while
hwsim's own code runs inside the forward pass (its hooks, the function mode's work around the
call it passes on: ``hwsim.tracing``'s ``own_code`` blocks) is hwsim's and keeps its traceback;
any other is the model's, told in one line.  (The first rule, the innermost hwsim frame of the
traceback, could not tell a torch call made by hwsim's code from one made by the model.)
"""
from __future__ import annotations

import traceback

import pytest
import torch.nn.functional as F
from torch import nn

import hwsim
from hwsim import extract
from synth.errors import UserError


class OneInputBilinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.bil = nn.Bilinear(4, 4, 2)

    def forward(self, x):
        return self.bil(x)          # nn.Bilinear takes two inputs


class TwoArgLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return self.lin(x, x)       # Linear.forward takes one


class BadPad(nn.Module):
    """A TypeError raised inside a torch function hwsim's function mode passes on."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return F.pad(self.lin(x), "ab")


@pytest.mark.parametrize("model, why", [
    (OneInputBilinear, "missing 1 required positional argument: 'input2'"),
    (TwoArgLinear, "takes 2 positional arguments but 3 were given"),
    (BadPad, "pad(): argument 'pad'"),
], ids=["bilinear-one-input", "linear-two-args", "functional-pad"])
def test_a_type_error_of_the_model_is_one_line(model, why):
    for run in (lambda m: extract(m, (4,), batch=2), lambda m: hwsim.price(m, (4,))):
        with pytest.raises(UserError) as e:
            run(model())
        msg = str(e.value)
        assert "\n" not in msg, msg
        assert f"model {model.__name__} does not accept input shape (4,)" in msg
        assert why in msg


class NoFeatures(nn.Linear):
    """A Linear whose in_features hwsim's Linear op divides by is not a number: the forward
    pass runs (F.linear reads only the weight) and the TypeError is raised in hwsim's own
    code (hwsim.layers.module_op), where it is a fault to see whole, not the model's input."""

    def __init__(self, *a):
        super().__init__(*a)
        self.in_features = None


def test_a_type_error_in_hwsim_code_keeps_its_traceback():
    with pytest.raises(TypeError) as e:
        extract(nn.Sequential(NoFeatures(4, 2)), (4,))
    assert not isinstance(e.value, UserError)
    inner = traceback.extract_tb(e.value.__traceback__)[-1]
    assert inner.filename.endswith("hwsim/layers.py") and inner.name == "module_op"


def test_runtime_errors_are_still_one_line():
    """(a guard) a wrong input width: torch's RuntimeError, told as before, with the model's
    name."""
    with pytest.raises(UserError) as e:
        extract(nn.Sequential(nn.Linear(3, 2)), (4,))
    assert "model Sequential does not accept input shape (4,)" in str(e.value)
