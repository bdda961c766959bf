"""A single-logit binary classifier (sigmoid output) handed to as_teacher is refused in words
that say why (one logit per class) and how to wrap it, not check_shape's generic
'num_classes must be an integer in [2, ...], got 1'."""
import pytest
import torch
from torch import nn

from synth.errors import UserError
from synth.inversion import as_teacher


def binary(width=1):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, width))


class TwoLogits(nn.Module):
    """The wrapper the message gives: logits (0, z), whose softmax is sigmoid(z) for class 1."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        z = self.net(x)
        return torch.cat([torch.zeros_like(z), z], 1)


@pytest.mark.parametrize("num_classes", [None, 1])
def test_one_logit_teacher_is_refused_saying_one_logit_per_class(num_classes):
    with pytest.raises(UserError) as e:
        as_teacher(binary(), (4,), num_classes)
    text = str(e.value)
    assert "one logit per class" in text and "torch.cat" in text and "\n" not in text
    assert "must be an integer" not in text


def test_the_wrapper_the_message_gives_is_a_teacher_of_two_classes():
    net = binary()
    teacher = as_teacher(TwoLogits(net), (4,))
    assert teacher.num_classes == 2
    x = torch.randn(5, 4)
    with torch.no_grad():
        net.eval()
        p = torch.softmax(teacher(x), 1)[:, 1]
        assert torch.allclose(p, torch.sigmoid(net(x))[:, 0])
