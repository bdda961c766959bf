"""Multilayer perceptrons: LeNet-300-100 (LeCun et al. 1998) and any widths.

Spec: ``{"family": "mlp", "hidden": [300, 100], "bn": false, "dropout": 0.0}``.
Images are flattened, so an MLP works on any input shape.
"""
from __future__ import annotations

import math

from torch import nn

from synth.errors import UserError
from synth.models.registry import PROBABILITY, WIDTH, SpecModel, register_family, register_variant


@register_family("mlp", {"hidden": [300, 100], "bn": False, "dropout": 0.0},
                 "fully connected network: hidden widths, optional BatchNorm1d and dropout",
                 ranges={"hidden": WIDTH, "dropout": PROBABILITY})
class MLP(SpecModel):
    def __init__(self, spec, input_shape, num_classes):
        super().__init__(spec, input_shape, num_classes)
        hidden = [int(h) for h in spec["hidden"]]
        if any(h < 1 for h in hidden):
            raise UserError(f"mlp hidden widths must be >= 1, got {spec['hidden']}")
        layers: list[nn.Module] = [nn.Flatten()]
        width = math.prod(input_shape)
        for h in hidden:
            layers.append(nn.Linear(width, h))
            if spec["bn"]:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.ReLU())
            if spec["dropout"] > 0:
                layers.append(nn.Dropout(float(spec["dropout"])))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


register_variant("lenet300_100", {"family": "mlp", "hidden": [300, 100]})
register_variant("lenet300_100_bn", {"family": "mlp", "hidden": [300, 100], "bn": True})
register_variant("mlp_small", {"family": "mlp", "hidden": [64, 32]})
