"""A plain convolutional network for search: depth, widths, kernels and strides per layer.

Spec: ``{"family": "convnet", "widths": [16, 32], "kernels": [3, 3], "strides": [1, 2],
"bn": true, "pool": "avg", "hidden": []}``.  Each layer is Conv2d (padding k//2) ->
BatchNorm (optional) -> ReLU; then global pooling ("avg" or "max") or "flatten", optional
hidden FC layers, and the classifier.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from synth.config import short_repr
from synth.errors import UserError
from synth.models.registry import (SIDE, WIDTH, SpecModel, batchnorm_layers, register_family,
                                   register_variant)


@register_family("convnet", {"widths": [16, 32], "kernels": [3, 3], "strides": [1, 2],
                             "bn": True, "pool": "avg", "hidden": []},
                 "stack of conv-BN-ReLU layers with per-layer width, kernel and stride",
                 input_rank=3, ranges={"widths": WIDTH, "kernels": SIDE, "strides": SIDE,
                                       "hidden": WIDTH})
class ConvNet(SpecModel):
    def __init__(self, spec, input_shape, num_classes):
        super().__init__(spec, input_shape, num_classes)
        widths, kernels, strides = spec["widths"], spec["kernels"], spec["strides"]
        if len(input_shape) != 3:
            raise UserError(f"convnet needs image input (C, H, W), got shape {tuple(input_shape)}")
        if not (len(widths) == len(kernels) == len(strides)) or not widths:
            raise UserError(f"convnet widths, kernels and strides must have the same nonzero length, "
                            f"got {len(widths)}, {len(kernels)}, {len(strides)}")
        if spec["pool"] not in ("avg", "max", "flatten"):
            raise UserError(f"convnet pool must be avg, max or flatten, got {short_repr(spec['pool'])}")
        bn = bool(spec["bn"])
        layers: list[nn.Module] = []
        channels = input_shape[0]
        for w, k, s in zip(widths, kernels, strides):
            w, k, s = int(w), int(k), int(s)
            if w < 1 or k < 1 or s < 1:
                raise UserError(f"convnet widths, kernels and strides must be >= 1, got {w}, {k}, {s}")
            layers += [nn.Conv2d(channels, w, k, stride=s, padding=k // 2, bias=not bn)]
            if bn:
                layers.append(nn.BatchNorm2d(w))
            layers.append(nn.ReLU())
            channels = w
        pool = {"avg": nn.AdaptiveAvgPool2d(1), "max": nn.AdaptiveMaxPool2d(1),
                "flatten": nn.Identity()}[spec["pool"]]
        self.features = nn.Sequential(*layers, pool, nn.Flatten())
        # the classifier's width by the output-size formula: padding k//2 leaves every side
        # >= 1.  It was a real forward pass on two zero samples (a 4 MB checkpoint of 30
        # 64-wide layers recording input (3, 2048, 2048): 2.4 GB and seconds, bounded since;
        # every build of a large input paid for it), and on the meta device torch's Python
        # meta kernels would import sympy (~1 s a process): build() avoids both.
        sides = [int(n) for n in input_shape[1:]]
        for k, s in zip(kernels, strides):
            sides = [(n + 2 * (int(k) // 2) - int(k)) // int(s) + 1 for n in sides]
        width = channels * (math.prod(sides) if spec["pool"] == "flatten" else 1)
        with torch.no_grad():   # the BatchNorm statistics that pass left, so that a model of
            for m in batchnorm_layers(self.features):   # a seed is what it was: in training
                m.running_var.mul_(1 - m.momentum)      # mode on zeros (no conv bias with bn),
                m.num_batches_tracked.add_(1)           # batch mean and variance 0
        head: list[nn.Module] = []
        for h in spec["hidden"]:
            head += [nn.Linear(width, int(h)), nn.ReLU()]
            width = int(h)
        head.append(nn.Linear(width, num_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x):
        return self.classifier(self.features(x))


register_variant("convnet_small", {"family": "convnet", "widths": [16, 32], "kernels": [3, 3],
                                   "strides": [1, 2]})
register_variant("convnet_digits", {"family": "convnet", "widths": [32, 64], "kernels": [3, 3],
                                    "strides": [1, 1], "pool": "flatten", "hidden": [64]})
