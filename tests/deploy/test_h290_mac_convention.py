"""h290: one convention for ``flops``, said where it is printed.

Every ``flops`` nnsynth reports (train, prune, grow-prune, eval, diabdeep, search rows,
summary.md) is ``synth.models.count_flops``: multiply-accumulates per sample, every weight
counted, which is half of what ``torch.utils.flop_counter.FlopCounterMode`` counts (one
multiply and one add per MAC).  ``nnsynth train`` and ``nnsynth prune`` printed ``flops``
(``flops_before``/``flops_after``) without a word of which; eval, grow-prune and diabdeep
said MACs.
"""
import pytest
import torch
from click.testing import CliRunner
from torch.utils.flop_counter import FlopCounterMode

from deploy.cli.main import cli
from synth.models import build, count_flops


@pytest.mark.parametrize("command", ["train", "prune", "grow-prune", "eval", "diabdeep"])
def test_each_command_printing_flops_says_they_are_macs(command):
    text = " ".join(CliRunner().invoke(cli, [command, "--help"]).output.split())
    assert "multiply-accumulates (MACs)" in text or "MACs per" in text, command


@pytest.mark.parametrize("spec, shape", [
    ("mlp_small", (1, 8, 8)), ("lenet5_bn_half", (1, 28, 28)), ("convnet_small", (3, 9, 7)),
    ({"family": "resnet", "depths": [1, 1], "width": 4}, (1, 8, 8)),
    ("convnet1d_small", (6, 30)), ({"family": "lstm", "hidden": [5, 4], "frame": 3}, (2, 10)),
    ({"family": "hlstm", "hidden": [5], "gate_hidden": 3, "frame": 2}, (2, 9))])
def test_flops_are_half_of_torch_flop_counter(spec, shape):
    torch.manual_seed(0)
    model = build(spec, shape, 3).eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros((1,) + shape))
    assert 2 * count_flops(model, shape) == counter.get_total_flops()
