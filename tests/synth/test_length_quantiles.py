"""A left-padded sequence set records its training series' length deciles (metadata
"length_quantiles"; japanesevowels' series are 7-29 steps but 80% of them 11-21), and
InversionConfig.lengths takes them as a distribution to draw inputs' lengths from.
settings_for keeps drawing uniformly in [shortest, longest]: the deciles taught the BN MLP's
students no more (benchmarks/results/inversion_any.md)."""
import numpy as np
import pytest
import torch

from synth.data import load_dataset
from synth.errors import UserError
from synth.inversion import InversionConfig, draw_lengths, padded_lengths

STEPS = 29
PADDING = "left, zeros after normalization (the channel's train mean), to 29 steps"


def test_two_values_draw_uniformly_as_before():
    u = torch.rand(4096, generator=torch.Generator().manual_seed(0))
    got = draw_lengths([7, 29], STEPS, u)
    uniform = (7 + (u * 23).floor().long()).clamp(7, 29)   # the range-only rule
    assert torch.equal(got, uniform)


def test_quantiles_give_the_recorded_distribution():
    q = [7, 11, 12, 13, 14, 15, 16, 17, 18, 21, 29]
    u = torch.rand(20000, generator=torch.Generator().manual_seed(1))
    got = draw_lengths(q, STEPS, u).numpy()
    assert got.min() >= 7 and got.max() <= 29
    assert abs(np.mean(got > 21) - 0.1) < 0.02             # the top decile only
    assert abs(np.mean(got <= 11) - 0.1) < 0.03 + 1 / 23   # the bottom decile, its edge
    assert abs(np.median(got) - 15) <= 1
    flat = draw_lengths([10] * 11, STEPS, u)               # every series of one length
    assert bool((flat == 10).all())


def test_settings_draw_uniformly_in_the_range_even_where_deciles_are_recorded():
    meta = {"padding": PADDING, "lengths": [7, 29],
            "length_quantiles": [7, 11, 12, 13, 14, 15, 16, 17, 18, 21, 29]}
    assert padded_lengths({"dataset": meta}, (12, STEPS)) == [7, 29]


@pytest.mark.parametrize("bad", [[3, 2, 5], [0, 3, 5], list(range(1, 103)), [2, 3.5, 4]])
def test_quantiles_are_validated(bad):
    with pytest.raises(UserError, match="lengths must be"):
        InversionConfig(lengths=bad)


def test_a_padded_set_records_its_training_length_deciles():
    data = load_dataset("japanesevowels")
    q = data.extra["length_quantiles"]
    x = data.x_train.numpy()
    real = x.shape[2] - (np.abs(x).sum(1) > 0).argmax(1)   # steps after the padding
    want = np.percentile(real, np.arange(0, 101, 10), method="nearest").astype(int).tolist()
    assert q == want and q[0] == data.extra["lengths"][0] and q[-1] <= STEPS
    assert q[5] < 18   # half the series are shorter than the range's middle
