"""DeepInversion on teachers and data the benchmark table does not hold (helper h314, issue 18:
"any trained network with BatchNorm"), as a user meets them.

- Grids: class names from a user's folder or CSV are any Unicode; Pillow's default font
  draws only ASCII, so 'é' and 'ж' were the same box (a class 'café' read 'caf' + box),
  and a sequence grid cut a long class name off at the left edge.
- Teachers nnsynth did not train (``as_teacher``): a NaN running statistic made NaN inputs
  behind a "raise the iteration cap" warning; a negative variance was matched as if data;
  a model whose BatchNorm layers never ran in training mode (trained in eval mode) gave a
  set of fidelity 1.0 matching N(0, 1) with no word.
"""
import logging

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from synth.errors import UserError
from synth.images import MIN_CELL, PAD, save_class_grid
from synth.inversion import as_teacher, balanced_labels, settings_for, synthesize

RANGE = (torch.tensor([-1.0]), torch.tensor([2.0]))


def label_crops(path, classes: int, cols: int = 1) -> list[np.ndarray]:
    """The label band left of the cells, one crop per class row (8x8 inputs: 56 px cells)."""
    img = np.asarray(Image.open(path).convert("L"))
    label_w = img.shape[1] - cols * (MIN_CELL + PAD) - PAD
    return [img[PAD + k * (MIN_CELL + PAD):PAD + k * (MIN_CELL + PAD) + MIN_CELL, :label_w]
            for k in range(classes)]


def test_non_ascii_class_names_are_drawn_not_boxes(tmp_path):
    names = ["\u00e9", "\u0436", "e"]   # é, ж: one box each in Pillow's default font
    path = save_class_grid(tmp_path / "g.png", torch.rand(3, 1, 8, 8), torch.arange(3), 3,
                           [0.0], [1.0], class_names=names)
    crops = label_crops(path, 3)
    assert all((c < 128).any() for c in crops)          # every name is drawn
    assert not np.array_equal(crops[0], crops[1])       # é and ж are not the same glyph
    assert not np.array_equal(crops[0], crops[2])       # é is not e


def test_a_character_no_font_has_is_written_as_its_escape():
    from synth.images import label_font
    _, shown = label_font(["caf\u00e9", "x\ue000y"])   # U+E000: private use, in no font
    assert shown == ["caf\u00e9", "x\\ue000y"]


def test_a_long_class_name_of_a_sequence_grid_is_not_cut_off(tmp_path):
    names = ["a class name far longer than the old margin", "b"]
    path = save_class_grid(tmp_path / "s.png", torch.randn(2, 2, 20), torch.arange(2), 2,
                           None, None, class_names=names)
    img = np.asarray(Image.open(path).convert("L"))
    assert (img[:, :3] > 200).all()   # nothing drawn at the left edge: the name fits


def conv_teacher() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Flatten(), nn.Linear(4 * 8 * 8, 10))


def seen_data(net: nn.Module) -> nn.Module:
    """``net`` after one training-mode pass on data (running statistics updated)."""
    net.train()
    with torch.no_grad():
        net(torch.randn(32, 1, 8, 8) * 0.5 + 0.3)
    return net.eval()


@pytest.mark.parametrize("value, match", [(float("nan"), "NaN or infinite running statistics"),
                                          (float("inf"), "NaN or infinite running statistics"),
                                          (-0.5, "negative running variance")])
def test_running_statistics_no_data_can_have_are_refused_in_one_line(value, match):
    # NaN: every input came out NaN, behind "raise the iteration cap, or check the teacher"
    net = seen_data(conv_teacher())
    net[1].running_var[2] = value
    with pytest.raises(UserError, match=match) as e:
        as_teacher(net, (1, 8, 8))
    assert "'1'" in str(e.value) and "\n" not in str(e.value)   # names the layer
    net.input_shape, net.num_classes = (1, 8, 8), 10
    with pytest.raises(UserError, match=match):
        synthesize(net, balanced_labels(4, 10), settings_for(net, iterations=2),
                   pixel_range=RANGE)


def test_batchnorm_that_never_saw_data_in_training_mode_is_said_in_one_line(caplog):
    # trained in eval mode only: running statistics still N(0, 1); its inputs reached
    # fidelity 1.0 without a word while matching N(0, 1) instead of the data's statistics
    net = conv_teacher().eval()
    opt = torch.optim.SGD(net.parameters(), 0.1)
    x, y = torch.randn(64, 1, 8, 8), torch.arange(64) % 10
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    with caplog.at_level(logging.WARNING, logger="synth.inversion"):
        as_teacher(net, (1, 8, 8))
    lines = [r.getMessage() for r in caplog.records if "initial running statistics" in
             r.getMessage()]
    assert len(lines) == 1 and "\n" not in lines[0] and "'1'" in lines[0]
    assert "train() mode" in lines[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="synth.inversion"):
        as_teacher(seen_data(conv_teacher()), (1, 8, 8))   # trained: nothing said
    assert not [r for r in caplog.records if "initial running" in r.getMessage()]
