"""An in-place layer's input sparsity is measured before it overwrites its input."""
import pytest
import torch
from torch import nn

import hwsim
from hwsim.workload import extract


def _net(act):
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), act, nn.Conv2d(8, 4, 3))


@pytest.mark.parametrize("inplace", [nn.ReLU(inplace=True), nn.ReLU6(inplace=True),
                                     nn.LeakyReLU(0.1, inplace=True), nn.Hardtanh(inplace=True),
                                     nn.SELU(inplace=True)])
def test_an_inplace_activation_reads_its_input_sparsity_before_the_op(inplace):
    out_of_place = type(inplace)(**{k: v for k, v in vars(inplace).items()
                                    if k in ("negative_slope",)})
    a = extract(_net(inplace), (3, 8, 8), batch=2)
    b = extract(_net(out_of_place), (3, 8, 8), batch=2)
    # the conv's output has no zeros: the ReLU's input sparsity is 0 (it was the fraction
    # of zeros of its own output, ~0.5 for a ReLU)
    assert a[1].act_sparsity == b[1].act_sparsity
    assert [o.key() for o in a] == [o.key() for o in b]
    assert hwsim.price_ops(a, spring_cfg=True) == hwsim.price_ops(b, spring_cfg=True)

