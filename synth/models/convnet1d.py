"""A 1-D convolutional network for sequences (channels x steps): wearable-sensor or EEG windows.

Spec: ``{"family": "convnet1d", "widths": [16, 32], "kernels": [5, 5], "strides": [1, 2],
"bn": true, "pool": "avg", "hidden": []}``.  Each layer is Conv1d (padding k//2) ->
BatchNorm1d over the channels (optional) -> ReLU; then global pooling over time ("avg" or
"max") or "flatten", optional hidden FC layers, and the classifier.  The image ``convnet``'s
spec and checks, along the time axis instead of (H, W).
"""
from __future__ import annotations

import torch
from torch import nn

from synth.config import short_repr
from synth.errors import UserError
from synth.models.registry import SIDE, WIDTH, SpecModel, register_family, register_variant


@register_family("convnet1d", {"widths": [16, 32], "kernels": [5, 5], "strides": [1, 2],
                               "bn": True, "pool": "avg", "hidden": []},
                 "stack of Conv1d-BN-ReLU layers over time with per-layer width, kernel and "
                 "stride (sequences)", input_rank=2,
                 ranges={"widths": WIDTH, "kernels": SIDE, "strides": SIDE, "hidden": WIDTH})
class ConvNet1d(SpecModel):
    def __init__(self, spec, input_shape, num_classes):
        super().__init__(spec, input_shape, num_classes)
        widths, kernels, strides = spec["widths"], spec["kernels"], spec["strides"]
        if len(input_shape) != 2:
            raise UserError(f"convnet1d needs sequence input (C, L), got shape "
                            f"{tuple(input_shape)}")
        if not isinstance(widths, list) or not isinstance(kernels, list) or \
                not isinstance(strides, list) or not widths or \
                not (len(widths) == len(kernels) == len(strides)):
            raise UserError(f"convnet1d widths, kernels and strides must be lists of the same "
                            f"nonzero length, got {short_repr(widths)}, {short_repr(kernels)}, "
                            f"{short_repr(strides)}")
        if spec["pool"] not in ("avg", "max", "flatten"):
            raise UserError(f"convnet1d pool must be avg, max or flatten, got "
                            f"{short_repr(spec['pool'])}")
        bn = bool(spec["bn"])
        layers: list[nn.Module] = []
        channels, steps = input_shape
        for w, k, s in zip(widths, kernels, strides):
            if not all(isinstance(v, int) for v in (w, k, s)) or w < 1 or k < 1 or s < 1:
                raise UserError(f"convnet1d widths, kernels and strides must be integers >= 1, "
                                f"got {short_repr(w)}, {short_repr(k)}, {short_repr(s)}")
            layers += [nn.Conv1d(channels, w, k, stride=s, padding=k // 2, bias=not bn)]
            if bn:
                layers.append(nn.BatchNorm1d(w))
            layers.append(nn.ReLU())
            channels, steps = w, (steps + 2 * (k // 2) - k) // s + 1
        pool = {"avg": nn.AdaptiveAvgPool1d(1), "max": nn.AdaptiveMaxPool1d(1),
                "flatten": nn.Identity()}[spec["pool"]]
        self.features = nn.Sequential(*layers, pool, nn.Flatten())
        width = channels * (1 if spec["pool"] != "flatten" else steps)
        head: list[nn.Module] = []
        for h in spec["hidden"]:
            if not isinstance(h, int) or h < 1:
                raise UserError(f"convnet1d hidden sizes must be integers >= 1, got "
                                f"{short_repr(h)}")
            head += [nn.Linear(width, h), nn.ReLU()]
            width = h
        head.append(nn.Linear(width, num_classes))
        self.classifier = nn.Sequential(*head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


register_variant("convnet1d_small", {"family": "convnet1d", "widths": [16, 32],
                                     "kernels": [5, 5], "strides": [1, 2]})
