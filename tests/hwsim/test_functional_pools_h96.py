"""Pools called as functions in a forward (F.max_pool2d(x, 2)) price as their modules (they
were free: a model pooling with F.max_pool2d priced below the nn.MaxPool2d one)."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import hwsim
from hwsim import gpu, tables
from hwsim.workload import extract


class Net(nn.Module):
    """conv -> pool -> linear, the pool a module or a function of x; ``dims`` spatial."""

    def __init__(self, pool, dims, out_values):
        super().__init__()
        torch.manual_seed(0)
        self.conv = (nn.Conv1d, nn.Conv2d, nn.Conv3d)[dims - 1](2, 4, 1)
        self.pool = pool if isinstance(pool, nn.Module) else None
        self.fn = None if isinstance(pool, nn.Module) else pool
        self.fc = nn.Linear(out_values, 3)

    def forward(self, x):
        x = self.conv(x)
        x = self.pool(x) if self.pool is not None else self.fn(x)
        return self.fc(x.flatten(1))


SHAPES = {1: (2, 8), 2: (2, 8, 8), 3: (2, 4, 8, 8)}
FORMS = [   # (module, function, spatial dims, output values per sample)
    (nn.MaxPool2d(2), lambda x: F.max_pool2d(x, 2), 2, 64),
    (nn.MaxPool2d(3, 2, 1), lambda x: torch.max_pool2d(x, 3, 2, 1), 2, 64),
    (nn.MaxPool2d(2), lambda x: F.max_pool2d(x, 2, return_indices=True)[0], 2, 64),
    (nn.AvgPool2d(2, count_include_pad=False), lambda x: F.avg_pool2d(
        x, 2, count_include_pad=False), 2, 64),
    (nn.AdaptiveAvgPool2d(1), lambda x: F.adaptive_avg_pool2d(x, 1), 2, 4),
    (nn.AdaptiveMaxPool2d(2), lambda x: F.adaptive_max_pool2d(x, 2), 2, 16),
    (nn.MaxPool1d(2), lambda x: F.max_pool1d(x, 2), 1, 16),
    (nn.AvgPool1d(2), lambda x: F.avg_pool1d(x, 2), 1, 16),
    (nn.AdaptiveAvgPool1d(2), lambda x: F.adaptive_avg_pool1d(x, 2), 1, 8),
    (nn.MaxPool3d(2), lambda x: F.max_pool3d(x, 2), 3, 128),
    (nn.AvgPool3d(2), lambda x: F.avg_pool3d(x, 2), 3, 128),
    (nn.AdaptiveAvgPool3d(1), lambda x: F.adaptive_avg_pool3d(x, 1), 3, 4),
]


@pytest.mark.parametrize("module, fn, dims, out_values", FORMS)
def test_functional_pool_prices_as_its_module(module, fn, dims, out_values):
    a = extract(Net(module, dims, out_values), SHAPES[dims], batch=2)
    b = extract(Net(fn, dims, out_values), SHAPES[dims], batch=2)
    assert [o.type for o in a] == ["conv", "pool", "linear"]
    assert [o.key() for o in b] == [o.key() for o in a]
    assert hwsim.price_ops(b, spring_cfg=True) == hwsim.price_ops(a, spring_cfg=True)
    assert gpu.evaluate(b) == gpu.evaluate(a)
    assert tables.op_callable(b[1], torch.Generator())().shape == a[1].out_shape


def test_a_pool_module_is_counted_once():
    # nn.MaxPool2d's forward calls F.max_pool2d: one op
    m = nn.Sequential(nn.Conv2d(2, 4, 1), nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(1))
    assert [o.type for o in extract(m, (2, 8, 8))] == ["conv", "pool", "pool"]
