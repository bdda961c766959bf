"""Helper 88: nn.Dropout is the identity at inference (extract runs the model in eval mode)
and is free, as Dropout1d/2d/3d were; it was priced as an activation: an element op per value
and a DRAM read and write of its input on the accelerator (a 2-layer hlstm language model's
three dropouts: +0.2 % latency, +2.5 % energy)."""
import torch
from torch import nn

from hwsim import accel, extract


def test_dropout_is_no_op():
    with_drop = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2))
    without = nn.Sequential(with_drop[0], with_drop[1], with_drop[3])
    a, b = extract(with_drop, (8,), batch=4), extract(without, (8,), batch=4)
    assert [o.type for o in a] == ["linear", "eltwise", "linear"]
    assert accel.evaluate(a)["latency_ms"] == accel.evaluate(b)["latency_ms"]
    assert accel.evaluate(a)["energy_mj"] == accel.evaluate(b)["energy_mj"]


def test_language_model_dropout_is_free():
    from synth.lm import LanguageModel
    torch.manual_seed(0)
    model = LanguageModel({"family": "lm", "cell": "lstm", "embed": 16, "hidden": [16],
                           "tied": True, "dropout": 0.3}, 100)
    ops = extract(model, (9,), inputs=torch.randint(0, 100, (1, 9)))
    assert "drop" not in [o.name for o in ops]
