"""PNG grids of (synthesized) images, per class, for eyeballing an inversion run."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch


def denormalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    """Normalized (N, C, H, W) -> raw pixels in [0, 1]."""
    mean = torch.as_tensor(mean, dtype=x.dtype).view(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=x.dtype).view(1, -1, 1, 1)
    return (x * std + mean).clamp(0, 1)


def class_grid(images: torch.Tensor, labels: torch.Tensor, num_classes: int, mean, std,
               per_class: int = 8, pad: int = 1) -> np.ndarray:
    """uint8 (rows*H', cols*W', C) array: one row per class, up to ``per_class`` samples."""
    x = denormalize(images.detach().cpu().float(), mean, std)
    n, c, h, w = x.shape
    grid = np.ones((num_classes * (h + pad) + pad, per_class * (w + pad) + pad, c), np.float32)
    for k in range(num_classes):
        picks = torch.nonzero(labels.cpu() == k).flatten()[:per_class]
        for j, i in enumerate(picks.tolist()):
            top, left = pad + k * (h + pad), pad + j * (w + pad)
            grid[top:top + h, left:left + w] = x[i].permute(1, 2, 0).numpy()
    return (grid * 255).round().astype(np.uint8)


def save_class_grid(path: str | os.PathLike, images, labels, num_classes: int, mean, std,
                    per_class: int = 8, scale: int = 2) -> Path:
    """Write the grid as a PNG atomically (nearest-neighbour upscaled ``scale`` times)."""
    from PIL import Image
    arr = class_grid(images, labels, num_classes, mean, std, per_class)
    img = Image.fromarray(arr[..., 0] if arr.shape[2] == 1 else arr)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    from synth.files import atomic_path
    with atomic_path(path) as tmp:
        img.save(tmp, format="PNG")
    return Path(path)
