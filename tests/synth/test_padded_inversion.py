"""A sequence teacher of a left-padded set (``synth.sequences``: short series padded on the
left with zeros, metadata "padding" and "lengths") is inverted into padded inputs: each input
per pixel gets a length drawn in the set's range and zeros before it.  Full-length inputs
taught the BN MLP of japanesevowels' students 59-76% (real inputs 99.0%): at test time most
series are half padding, which the synthesized set never showed them; padded, 90-95%."""
import pytest
import torch

from synth.errors import UserError
from synth.inversion import (InversionConfig, balanced_labels, padded_lengths,
                             settings_for, synthesize)
from tests.synth.test_h116_sequence_inversion import SHAPE, SPEC, sequence_set, sequence_teacher

PADDED = {"dataset": {"padding": "left, zeros after normalization (the channel's train mean), "
                                 "to 20 steps", "lengths": [6, 20]}}
RANGE = (torch.full((3,), -3.0), torch.full((3,), 3.0))


@pytest.fixture(scope="module")
def teacher():
    return sequence_teacher(SPEC, sequence_set(), epochs=5, lr=0.1)


def test_settings_follow_the_padding_the_checkpoint_records(teacher):
    teacher.checkpoint_info = PADDED
    try:
        assert list(settings_for(teacher, value_range=RANGE).lengths) == [6, 20]
    finally:
        del teacher.checkpoint_info
    assert settings_for(teacher, value_range=RANGE).lengths is None   # nothing recorded
    equal = {"dataset": {"padding": "none (equal length)", "lengths": [20, 20]}}
    assert padded_lengths(equal, SHAPE) is None
    assert padded_lengths({"dataset": {**PADDED["dataset"], "lengths": [6, 30]}}, SHAPE) is None
    assert padded_lengths(PADDED, (60,)) is None   # feature vectors: no steps


def test_padded_inputs_hold_zeros_before_a_drawn_length(teacher):
    labels = balanced_labels(48, 3)
    config = settings_for(teacher, value_range=RANGE, device="cpu").replace(lengths=[6, 20])
    x = synthesize(teacher, labels, config, pixel_range=RANGE, seed=0).images
    live = (x != 0).any(1)                       # (N, L): steps holding a value
    lengths = live.sum(1)
    first = SHAPE[1] - lengths                   # the padding is a prefix ...
    assert all(not live[i, :first[i]].any() and live[i, first[i]:].all() for i in range(len(x)))
    assert int(lengths.min()) >= 6 and int(lengths.max()) <= 20
    assert len(set(lengths.tolist())) >= 5       # ... of lengths drawn over the range
    full = synthesize(teacher, labels, config.replace(lengths=None), pixel_range=RANGE,
                      seed=0).images
    assert bool((full != 0).any(1).all())        # without it every step holds a value


@pytest.mark.parametrize("bad", [[0, 5], [7, 3], [1.5, 4], "6-20", [6]])
def test_lengths_are_validated(bad):
    with pytest.raises(UserError, match="lengths must be"):
        InversionConfig(lengths=bad)


def test_a_generator_pads_its_samples_by_their_first_latent():
    from synth.amortized import Generator
    torch.manual_seed(0)
    g = Generator(SHAPE, 3, 8, 4, RANGE, lengths=[6, 20])
    z = torch.randn(64, 8)
    x = g(z, torch.arange(64) % 3)
    live = (x != 0).any(1)
    lengths = live.sum(1)
    first = SHAPE[1] - lengths
    assert all(not live[i, :first[i]].any() and live[i, first[i]:].all() for i in range(len(x)))
    assert int(lengths.min()) >= 6 and len(set(lengths.tolist())) >= 5
    assert torch.equal(g(z, torch.arange(64) % 3), x)   # the same latents, the same lengths
    order = torch.argsort(z[:, 0])                       # longer for a larger first latent
    assert bool((lengths[order][1:] >= lengths[order][:-1]).all())
    plain = Generator(SHAPE, 3, 8, 4, RANGE)
    assert bool((plain(z, torch.arange(64) % 3) != 0).any(1).all())
