"""PNG grids of (synthesized) inputs, one row per class with its name, for eyeballing an
inversion run.  Small images are upscaled (nearest neighbour) to a readable cell size; feature
vectors (tabular sets) are drawn as one strip of coloured cells per sample (blue below the
training mean, red above, white at it; saturated at 3 standard deviations); sequences
(N, C, L) as one small line plot per sample, a line per channel (matplotlib)."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch

MIN_CELL = 56        # px: the shorter side of one upscaled image (an 8x8 digit becomes 56x56)
FEATURE_CELL = 12    # px per feature of a tabular sample
PAD = 2              # px between cells
LABEL_SIZE = 11      # px: the class names' font size in image and tabular grids


def label_font(names) -> tuple[str, list[str]]:
    """(path of a TrueType font, ``names`` as drawn) for the class names of a grid: the names
    of a user's folder or CSV are any Unicode, and Pillow's default font draws only ASCII
    (a class 'café' was labelled 'caf' and a box, 'Ωmega' and Cyrillic or CJK names boxes
    only).  matplotlib's DejaVu Sans (Latin, Greek, Cyrillic, ...) where it has every
    character, else the first font matplotlib's font manager knows (the system's) that has
    them; a character no font has is written as its ``\\uXXXX`` escape, never a box."""
    import unicodedata

    from matplotlib import font_manager, ft2font
    names = [str(n) for n in names]
    wanted = {ch for n in names for ch in n if not unicodedata.category(ch).startswith("C")}
    default = str(font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans")))
    paths = [default] + sorted({   # not LastResort: its "glyphs" are boxes naming a block
        f.fname for f in font_manager.fontManager.ttflist if f.fname != default
        and f.fname.lower().endswith((".ttf", ".otf")) and "lastresort" not in f.fname.lower()})
    best, lacking = default, None
    for path in paths:
        try:
            font = ft2font.FT2Font(path)
        except (OSError, RuntimeError, ValueError):
            continue
        missing = {ch for ch in wanted if font.get_char_index(ord(ch)) == 0}
        if lacking is None or len(missing) < len(lacking):
            best, lacking = path, missing
        if not missing:
            break
    drawable = wanted - (lacking or set())
    return best, ["".join(ch if ch in drawable else ch.encode("unicode_escape").decode("ascii")
                          for ch in n) for n in names]


def denormalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    """Normalized (N, C, H, W) -> raw pixels in [0, 1]."""
    mean = torch.as_tensor(mean, dtype=x.dtype).view(1, -1, 1, 1)
    std = torch.as_tensor(std, dtype=x.dtype).view(1, -1, 1, 1)
    return (x * std + mean).clamp(0, 1)


def feature_colors(x: torch.Tensor, limit: float = 3.0) -> torch.Tensor:
    """Normalized feature vectors (N, F) -> RGB strips (N, 3, 1, F) in [0, 1]: a diverging
    blue-white-red map of the z-score, saturated at +-``limit``."""
    z = (x.detach().float() / limit).clamp(-1, 1)
    pos, neg = z.clamp(min=0), (-z).clamp(min=0)
    rgb = torch.stack([1 - neg, 1 - pos - neg, 1 - pos], dim=1)  # white at 0
    return rgb[:, :, None, :]


def cell_scale(h: int, w: int, tabular: bool = False) -> tuple[int, int]:
    """Integer upscaling (vertical, horizontal) of one input for a readable cell."""
    if tabular:
        return FEATURE_CELL, FEATURE_CELL
    s = max(1, math.ceil(MIN_CELL / max(1, min(h, w))))
    return s, s


def class_grid(images: torch.Tensor, labels: torch.Tensor, num_classes: int, mean, std,
               per_class: int = 8, pad: int = 1) -> np.ndarray:
    """uint8 (rows*H', cols*W', C) array at native resolution: one row per class, up to
    ``per_class`` samples (images) or ``per_class`` stacked strips (feature vectors)."""
    x = images.detach().cpu().float()
    tabular = x.dim() == 2
    x = feature_colors(x) if tabular else denormalize(x, mean, std)
    n, c, h, w = x.shape
    cols, rows_per = (1, per_class) if tabular else (per_class, 1)
    cell_h = rows_per * h
    grid = np.ones((num_classes * (cell_h + pad) + pad, cols * (w + pad) + pad, c), np.float32)
    for k in range(num_classes):
        picks = torch.nonzero(labels.cpu() == k).flatten()[:per_class]
        for j, i in enumerate(picks.tolist()):
            top = pad + k * (cell_h + pad) + (j * h if tabular else 0)
            left = pad + (0 if tabular else j * (w + pad))
            grid[top:top + h, left:left + w] = x[i].permute(1, 2, 0).numpy()
    return (grid * 255).round().astype(np.uint8)


def save_class_grid(path: str | os.PathLike, images, labels, num_classes: int, mean, std,
                    per_class: int = 8, class_names=None, scale: int | None = None) -> Path:
    """Write the grid as a PNG atomically: one row per class, its name on the left, each input
    upscaled to a readable size (``cell_scale``; ``scale`` forces a factor)."""
    x = images.detach().cpu().float()
    if x.dim() == 3:   # sequences (N, C, L)
        return save_sequence_grid(path, x, labels, num_classes, per_class, class_names)
    from PIL import Image, ImageDraw, ImageFont
    tabular = x.dim() == 2
    h, w = (1, x.shape[1]) if tabular else tuple(x.shape[-2:])
    sy, sx = (scale, scale) if scale else cell_scale(h, w, tabular)
    # as many cells per class as the fullest class fills (no empty columns or strips)
    per_class = max(1, min(per_class, int(torch.bincount(labels.detach().cpu().long().flatten(),
                                                         minlength=1).max())))
    arr = class_grid(x, labels, num_classes, mean, std, per_class, pad=0)
    cell_h = (per_class if tabular else 1) * h
    cols = 1 if tabular else per_class
    font_path, names = label_font(class_names or range(num_classes))
    font = ImageFont.truetype(font_path, LABEL_SIZE)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = PAD * 3 + max(int(probe.textlength(n, font=font)) for n in names)
    ch, cw = cell_h * sy, w * sx
    canvas = Image.new("RGB", (label_w + cols * (cw + PAD) + PAD,
                               num_classes * (ch + PAD) + PAD), "white")
    draw = ImageDraw.Draw(canvas)
    for k in range(num_classes):
        top = PAD + k * (ch + PAD)
        draw.text((PAD, top + ch // 2), names[k], fill="black", font=font, anchor="lm")
        for j in range(cols):
            block = arr[k * cell_h:(k + 1) * cell_h, j * w:(j + 1) * w]
            tile = Image.fromarray(block[..., 0] if block.shape[2] == 1 else block)
            canvas.paste(tile.convert("RGB").resize((cw, ch), Image.NEAREST),
                         (label_w + j * (cw + PAD), top))
    from synth.files import atomic_path
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")
    return Path(path)


SEQUENCE_CELL = (1.7, 1.1)   # inches (width, height) of one sample's plot, at 100 dpi
MAX_LEGEND_CHANNELS = 12     # a legend naming the channels' colours up to this many channels


def save_sequence_grid(path: str | os.PathLike, x: torch.Tensor, labels, num_classes: int,
                       per_class: int = 8, class_names=None) -> Path:
    """Sequences (N, C, L) as a PNG written atomically: one row per class (its name on the
    left), one small line plot per sample with a line per channel, in the normalized units
    the model sees (z-scores of the training data, so channels of any scale share an axis);
    every plot has the same vertical range (the 0.5-99.5th percentiles of what is shown)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    x = x.detach().cpu().float()
    labels = labels.detach().cpu().long().flatten()
    per_class = max(1, min(per_class, int(torch.bincount(labels, minlength=1).max())))
    picks = [torch.nonzero(labels == k).flatten()[:per_class].tolist() for k in range(num_classes)]
    shown = x[[i for p in picks for i in p]]
    lo, hi = (float(v) for v in torch.quantile(shown.flatten()[:1_000_000],
                                               torch.tensor([0.005, 0.995])))
    margin = 0.05 * max(hi - lo, 1e-6)
    font_path, names = label_font(class_names or range(num_classes))
    from PIL import ImageFont   # inches left of the plots: the longest name at 8 pt, 100 dpi
    width = max(ImageFont.truetype(font_path, round(8 * 100 / 72)).getlength(n) for n in names)
    left = max(0.8, width / 100 + 0.35)   # + the tick labels (a longer name was cut off)
    fig = Figure(figsize=(SEQUENCE_CELL[0] * per_class + left,
                          SEQUENCE_CELL[1] * num_classes + 0.5), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(num_classes, per_class, squeeze=False, sharex=True, sharey=True)
    steps = np.arange(x.shape[2])
    lines = []
    for k in range(num_classes):
        for j in range(per_class):
            ax = axes[k][j]
            ax.set_ylim(lo - margin, hi + margin)
            ax.tick_params(labelsize=6, length=2)
            if j >= len(picks[k]):
                ax.set_axis_off()
                continue
            lines = ax.plot(steps, x[picks[k][j]].numpy().T, linewidth=0.7)
        axes[k][0].set_ylabel(names[k], rotation=0, ha="right", va="center",
                              fontproperties=FontProperties(fname=font_path, size=8))
    if x.shape[1] <= MAX_LEGEND_CHANNELS and lines:
        fig.legend(lines, [f"ch {c}" for c in range(x.shape[1])], loc="upper center",
                   ncol=x.shape[1], fontsize=7, frameon=False)
    fig.subplots_adjust(left=left / fig.get_figwidth() + 0.02, right=0.99, bottom=0.06,
                        top=1 - 0.35 / fig.get_figheight(), wspace=0.08, hspace=0.12)
    from synth.files import atomic_path
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return Path(path)
