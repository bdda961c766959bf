"""h290: ``synth.models.count_parameters(nonzero=True)`` against a count by hand.

It read only tensors named weight and bias, once per module that holds one: a decoder tied
to its embedding counted the shared matrix twice (90 nonzero of 53 parameters), a torch GRU
(``weight_ih_l0``, ...) counted none (0 of 165), a free ``nn.Parameter`` none.
"""
import torch
from torch import nn

from synth import masked
from synth.models import build, count_parameters


class _Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.decoder = nn.Linear(4, 10)
        self.decoder.weight = self.embed.weight      # Press & Wolf: one matrix, two uses
        self.scale = nn.Parameter(torch.tensor([1.0, 0.0, 2.0]))


def _by_hand(tensors):
    return sum(int((t != 0).sum()) for t in tensors)


def test_a_tied_matrix_and_a_free_parameter_are_counted_once():
    torch.manual_seed(0)
    m = _Tied()
    with torch.no_grad():
        m.decoder.bias[:3] = 0.0
    assert count_parameters(m) == 40 + 10 + 3
    assert count_parameters(m, nonzero=True) == _by_hand(
        [m.embed.weight, m.decoder.bias, m.scale]) == 40 + 7 + 2


def test_every_parameter_of_a_torch_recurrent_layer_is_counted():
    torch.manual_seed(0)
    gru = nn.GRU(4, 5, num_layers=2)
    assert count_parameters(gru, nonzero=True) == _by_hand(gru.parameters()) == 165 + 180


def test_a_masked_model_counts_its_effective_weights():
    torch.manual_seed(0)
    m = build({"family": "lstm", "hidden": [6]}, (2, 5), 3)
    masked.attach_masks(m, masked.random_masks(m, 0.3, seed=0))
    effective = [layer.weight for _, layer in masked.prunable_layers(m)]
    effective += [layer.bias for _, layer in masked.prunable_layers(m)]
    assert count_parameters(m, nonzero=True) == _by_hand(effective)
    assert count_parameters(m) == sum(t.numel() for t in effective)
