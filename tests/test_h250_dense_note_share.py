"""The dense-array note's share of zero weights is 0% only when there are none (h250).

``nnsynth hwsim eval --model fx.pt`` of an iris mlp_small trained with --fixed-point 4.12
(one weight of 2,400 rounded to exactly zero) said 'it multiplies the model's 1 zero
weights (0% of 2,400)': a share printed as none, of a plural of one."""
import torch

import hwsim
from hwsim import dense_note
from synth.models import build


def test_one_zero_weight_of_many_is_not_zero_percent():
    torch.manual_seed(0)
    model = build("mlp_small", (4,), 3)
    with torch.no_grad():
        next(p for p in model.parameters() if p.dim() == 2)[0, 0] = 0.0
    note = dense_note(hwsim.extract(model, (4,)))
    assert "1 zero weight (0.04% of 2,400)" in note, note


def test_share_text():
    from hwsim import share_text
    assert share_text(1, 2400) == "0.04%"
    assert share_text(8, 23) == "35%"
    assert share_text(2399, 2400) == "99.96%"
    assert share_text(0, 10) == "0%" and share_text(10, 10) == "100%"
