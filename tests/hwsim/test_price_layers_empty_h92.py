"""price_layers and price_ops give the same figures, an empty workload included."""
import pytest
import torch
from torch import nn

import hwsim
from hwsim.accel import AcceleratorConfig


@pytest.mark.parametrize("spring", [False, True])
@pytest.mark.parametrize("cfg", [None, AcceleratorConfig(rows=8, cols=16, ifmap_kb=2)])
def test_empty_and_nonempty_workloads_agree(spring, cfg):
    torch.manual_seed(0)
    ops = hwsim.extract(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(),
                                      nn.Linear(4 * 6 * 6, 5)), (3, 8, 8))
    for work in ([], ops):
        by_ops = hwsim.price_ops(work, cfg, spring)
        by_layers = hwsim.price_layers(work, cfg, spring)
        assert by_layers.keys() == by_ops.keys()
        assert by_layers["area_mm2"] == by_ops["area_mm2"] > 0
        for k, v in by_ops.items():
            assert by_layers[k] == pytest.approx(v, rel=1e-9), k
