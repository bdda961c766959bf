"""h110: growth and pruning break ties between equal scores by index (not topk's choice)."""
import torch
from torch import nn

from synth import masked


def _layer(weight, mask):
    model = nn.Sequential(nn.Linear(weight.shape[1], weight.shape[0]))
    with torch.no_grad():
        model[0].weight.copy_(weight)
    masked.attach_masks(model, {"0": mask})
    return model


def test_growth_among_equal_gradients_takes_the_lowest_indices():
    torch.manual_seed(0)
    mask = torch.rand(40, 50) < 0.5
    grads = {"0": torch.randint(0, 3, (40, 50)).float()}   # many equal |G|
    model = _layer(torch.randn(40, 50), mask)
    k = masked.grow_connections(model, grads, 0.3)
    score = torch.where(mask, torch.tensor(-1.0), grads["0"]).flatten()
    want = torch.zeros(score.numel(), dtype=torch.bool)
    want[torch.sort(score, descending=True, stable=True).indices[:k]] = True
    assert torch.equal((model[0].parametrizations.weight[0].mask & ~mask).flatten(), want)


def test_pruning_among_equal_magnitudes_takes_the_lowest_indices():
    torch.manual_seed(0)
    weight = torch.randint(-2, 3, (40, 50)).float() / 4    # a fixed-point grid: many ties
    for criterion in ("magnitude", "layerwise"):
        model = _layer(weight, torch.ones(40, 50, dtype=torch.bool))
        k = masked.prune_connections(model, 0.3, criterion)
        want = torch.ones(2000, dtype=torch.bool)
        want[torch.sort(weight.abs().flatten(), stable=True).indices[:k]] = False
        assert torch.equal(model[0].parametrizations.weight[0].mask.flatten(), want)
