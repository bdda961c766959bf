"""LeNet-5 (LeCun et al. 1998) with optional BatchNorm, for 1- or 3-channel inputs.

Spec: ``{"family": "lenet5", "channels": [6, 16], "hidden": [120, 84], "bn": true}``.
Two 5x5 convolutions (padding 2 then 0, as in the classic 28x28 variant), each followed
by BatchNorm (optional), ReLU and 2x2 max pooling; then fully connected layers.
Widths are explicit so that a compacted network is again a LeNet-5 spec.
"""
from __future__ import annotations

import json
import math

import torch
from torch import nn

from synth.config import short_repr
from synth.errors import UserError
from synth.models.registry import (WIDTH, SpecModel, batchnorm_layers, bounded_work,
                                   register_family, register_variant)


@register_family("lenet5", {"channels": [6, 16], "hidden": [120, 84], "bn": False},
                 "LeNet-5: two 5x5 conv + pool stages, then FC layers; optional BatchNorm",
                 input_rank=3, ranges={"channels": WIDTH, "hidden": WIDTH})
class LeNet5(SpecModel):
    def __init__(self, spec, input_shape, num_classes):
        super().__init__(spec, input_shape, num_classes)
        if len(input_shape) != 3:
            raise UserError(f"lenet5 needs image input (C, H, W), got shape {tuple(input_shape)}")
        c1, c2 = (int(c) for c in spec["channels"])
        bn = bool(spec["bn"])
        self.features = nn.Sequential(
            nn.Conv2d(input_shape[0], c1, 5, padding=2, bias=not bn),
            nn.BatchNorm2d(c1) if bn else nn.Identity(), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 5, bias=not bn),
            nn.BatchNorm2d(c2) if bn else nn.Identity(), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten())
        sides = [(int(n) // 2 - 4) // 2 for n in input_shape[1:]]   # conv p2, pool, conv, pool
        if min(sides) >= 1:   # the classifier's width by formula, as convnet's: no pass
            flat = c2 * math.prod(sides)
            with torch.no_grad():   # the BatchNorm statistics the pass on zeros (in training
                for m in batchnorm_layers(self.features):   # mode, no conv bias with bn) left
                    m.running_var.mul_(1 - m.momentum)
                    m.num_batches_tracked.add_(1)
        else:   # a side below 1 fails in the pass, with torch's own message
            # bounded as build()'s fit check is: a 2.5 MB checkpoint of channels [1000, 1]
            # recording input_shape (3, 2048, 2048) asked for 33 GB in this pass
            with torch.no_grad(), bounded_work(self.features, tuple(input_shape), 2,
                                               lambda: short_repr(json.dumps(spec), 200)):
                flat = self.features(torch.zeros((2,) + tuple(input_shape))).shape[1]
        layers: list[nn.Module] = []
        width = flat
        for h in spec["hidden"]:
            layers += [nn.Linear(width, int(h))]
            if bn:
                layers.append(nn.BatchNorm1d(int(h)))
            layers.append(nn.ReLU())
            width = int(h)
        layers.append(nn.Linear(width, num_classes))
        self.classifier = nn.Sequential(*layers)

    def forward(self, x):
        return self.classifier(self.features(x))


register_variant("lenet5", {"family": "lenet5"})
register_variant("lenet5_bn", {"family": "lenet5", "bn": True})
register_variant("lenet5_bn_half", {"family": "lenet5", "channels": [3, 8], "hidden": [60, 42],
                                    "bn": True})
register_variant("lenet5_half", {"family": "lenet5", "channels": [3, 8], "hidden": [60, 42]})
