"""CIFAR-style ResNets (He et al. 2016) with basic blocks and a width multiplier.

Spec: ``{"family": "resnet", "depths": [2, 2, 2, 2], "width": 64}``; stage widths are
``width * 2**i`` and stage strides ``[1, 2, 2, 2]``.  The stem is a 3x3 convolution with
stride 1 (no max pooling), so 8x8 to 32x32 inputs of 1 or 3 channels all work.
ResNet-18 = depths [2,2,2,2]; ResNet-34 = [3,4,6,3].
"""
from __future__ import annotations

from torch import nn

from synth.errors import UserError
from synth.models.registry import DEPTH, WIDTH, SpecModel, register_family, register_variant


class BasicBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_ch)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU()
        self.shortcut = nn.Sequential()
        if stride != 1 or in_ch != out_ch:
            self.shortcut = nn.Sequential(nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_ch))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


def _blocks(spec: dict) -> int:
    """Basic blocks of a complete spec (each depth is a count, not a list's length)."""
    return sum(max(int(d), 0) for d in spec["depths"]) if isinstance(spec["depths"], list) else 0


@register_family("resnet", {"depths": [2, 2, 2, 2], "width": 64},
                 "CIFAR-style ResNet with basic blocks: stage depths and base width",
                 input_rank=3, layers=_blocks, ranges={"depths": DEPTH, "width": WIDTH})
class ResNet(SpecModel):
    def __init__(self, spec, input_shape, num_classes):
        super().__init__(spec, input_shape, num_classes)
        if len(input_shape) != 3:
            raise UserError(f"resnet needs image input (C, H, W), got shape {tuple(input_shape)}")
        depths, width = [int(d) for d in spec["depths"]], int(spec["width"])
        if not depths or any(d < 1 for d in depths) or width < 1:
            raise UserError(f"resnet depths must be >= 1 and width >= 1, got {depths}, {width}")
        self.stem = nn.Sequential(nn.Conv2d(input_shape[0], width, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU())
        blocks, ch = [], width
        for i, d in enumerate(depths):
            out = width * 2 ** i
            for j in range(d):
                blocks.append(BasicBlock(ch, out, 2 if (i > 0 and j == 0) else 1))
                ch = out
        self.layers = nn.Sequential(*blocks)
        self.pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(ch, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.layers(self.stem(x))))


register_variant("resnet18", {"family": "resnet", "depths": [2, 2, 2, 2], "width": 64})
register_variant("resnet34", {"family": "resnet", "depths": [3, 4, 6, 3], "width": 64})
register_variant("resnet18_w16", {"family": "resnet", "depths": [2, 2, 2, 2], "width": 16})
register_variant("resnet8_w16", {"family": "resnet", "depths": [1, 1, 1], "width": 16})
