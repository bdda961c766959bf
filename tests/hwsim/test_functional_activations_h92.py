"""Activations called as functions in a module's forward are priced as their modules are."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import hwsim
from hwsim.workload import extract


class Net(nn.Module):
    """conv -> act -> linear, the activation either a module or a function of x."""

    def __init__(self, act):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 6 * 6, 10)
        self.act = act if isinstance(act, nn.Module) else None
        self.fn = None if isinstance(act, nn.Module) else act

    def forward(self, x):
        x = self.conv(x)
        x = self.act(x) if self.act is not None else self.fn(x)
        return self.fc(x.flatten(1))


FORMS = [
    (nn.ReLU(), F.relu), (nn.ReLU(), torch.relu), (nn.ReLU(), lambda x: x.relu()),
    (nn.ReLU(), lambda x: F.relu(x, inplace=True)), (nn.ReLU(), lambda x: x.relu_()),
    (nn.ReLU6(), F.relu6), (nn.GELU(), F.gelu),
    (nn.GELU(approximate="tanh"), lambda x: F.gelu(x, approximate="tanh")),
    (nn.SiLU(), F.silu), (nn.Sigmoid(), torch.sigmoid), (nn.Sigmoid(), lambda x: x.sigmoid()),
    (nn.Tanh(), torch.tanh), (nn.Hardswish(), F.hardswish),
    (nn.LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2)), (nn.ELU(), F.elu),
    (nn.Softmax(dim=1), lambda x: F.softmax(x, dim=1)),
    (nn.Softmax(dim=1), lambda x: torch.softmax(x, 1)),
]


@pytest.mark.parametrize("module, fn", FORMS)
def test_functional_activation_prices_as_its_module(module, fn):
    a = extract(Net(module), (3, 6, 6), batch=2)
    b = extract(Net(fn), (3, 6, 6), batch=2)
    assert [o.key() for o in b] == [o.key() for o in a]   # same work, geometry included
    assert len(a) == 3
    pa, pb = hwsim.price_ops(a, spring_cfg=True), hwsim.price_ops(b, spring_cfg=True)
    assert pb == pa


def test_activation_inside_a_priced_module_is_counted_once():
    # nn.ReLU's forward calls F.relu, an nn.LSTM runs its gates inside: one op each
    class Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(4, 8, batch_first=True)
            self.relu = nn.ReLU()

        def forward(self, x):
            y, _ = self.rnn(x.transpose(1, 2))
            return torch.tanh(self.relu(y))

    ops = extract(Seq(), (4, 5))
    assert [o.type for o in ops] == ["lstm", "eltwise", "eltwise"]
    assert ops[-1].geometry == (("kind", "Tanh"),)


def test_synth_recurrent_cell_activations_stay_in_the_cell_op():
    from synth.models import build
    model = build({"family": "lstm", "hidden": [8]}, (3, 5), 4)
    assert not any("#" in o.name for o in extract(model, (3, 5)))
