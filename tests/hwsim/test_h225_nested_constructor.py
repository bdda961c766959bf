"""h225: torch.nested.nested_tensor's strided form (torch._C._nested.nested_tensor) is no
torch function a TorchFunctionMode sees.  Any call on the nested tensor it makes was refused in
one line (h219), but a forward that made one and used it in no call a mode sees (kept on the
module) was priced as its layers alone: the copy of its values free, no refusal.  It is seen
now while extract runs, and refused as it is made; outside extract it is torch's own."""
import pytest
import torch
from torch import nn

from hwsim import extract, price
from synth.errors import UserError


class Keeps(nn.Module):
    """A Linear whose forward also makes a nested tensor of its output rows and keeps it."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(16, 4)

    def forward(self, x):
        y = self.lin(x)
        self.kept = torch.nested.nested_tensor([y[0], y[1]])
        return y


class Pads(nn.Module):
    """Makes a nested tensor of its input rows and returns it padded (a dense result)."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(16, 4)

    def forward(self, x):
        return self.lin(torch.nested.nested_tensor([x[0], x[1]]).to_padded_tensor(0.0))


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
def test_a_nested_tensor_made_in_a_forward_is_refused_as_it_is_made():
    for model in (Keeps(), Pads()):
        with pytest.raises(UserError, match=r"^hwsim cannot price nested_tensor\(\) making a "
                                            r"nested tensor \(torch\.nested\)"):
            extract(model, (16,), batch=4)
        with pytest.raises(UserError, match="nested tensor"):
            price(model, (16,), batch=4)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors")
def test_nested_tensor_is_torchs_own_outside_extract():
    original = torch._C._nested.nested_tensor
    with pytest.raises(UserError):
        extract(Keeps(), (16,), batch=4)
    assert torch._C._nested.nested_tensor is original
    nt = torch.nested.nested_tensor([torch.ones(2), torch.ones(3)])
    assert nt.is_nested and nt.to_padded_tensor(0.0).shape == (2, 3)
