"""The pre-run size check counts the work of layers called by keyword as extract() does."""
import torch
from torch import nn

from hwsim.workload import extract, sample_work


class Two(nn.Module):
    def __init__(self, keyword: bool):
        super().__init__()
        torch.manual_seed(0)
        self.keyword = keyword
        self.a = nn.Linear(8, 16)
        self.up = nn.ConvTranspose1d(16, 4, 3)
        self.b = nn.Linear(3, 2)

    def forward(self, x):
        if self.keyword:
            h = self.a(input=x).unsqueeze(-1)
            return self.b(input=self.up(input=h))
        return self.b(self.up(self.a(x).unsqueeze(-1)))


def test_keyword_called_layers_count_as_positional_ones():
    positional = sample_work(Two(False), (8,))
    assert positional[0] == 8 * 16 + 16 * 4 * 3 + 4 * 3 * 2
    assert sample_work(Two(True), (8,)) == positional
    # and the figure is the MACs extract() prices
    assert sum(o.macs for o in extract(Two(True), (8,))) == positional[0]
