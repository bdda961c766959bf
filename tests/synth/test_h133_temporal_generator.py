"""A generator with a temporal prior for sequences (C, L) (issue 18): method amortized made
sequences with the feature vectors' two-layer MLP only (C*L outputs, no notion of
neighbouring steps).  ``sequence_generator="conv1d"`` gives the image generator's layers over
time: a coarse sequence of a quarter of the steps, x2 upsampling Conv1d-BN stages, a Conv1d
head, the centre L steps kept, the output squashed into each channel's valid range.  The MLP
stays the default (the screen in benchmarks/results/inversion_any_hard.md, h133).
Also: a generator of ``depth`` 0 (allowed by AmortizedConfig) failed on its first forward
pass (the head's convolution got the stem's flat output)."""
import pytest
import torch
from torch import nn

from synth.amortized import AmortizedConfig, Generator, build_generator, synthesize_amortized
from synth.errors import UserError
from synth.inversion import balanced_labels, settings_for
from tests.synth.test_h116_sequence_inversion import SHAPE, sequence_set, sequence_teacher
from tests.synth.test_h116_sequence_inversion import SPEC as MLP_SPEC
from tests.synth.test_h123_conv1d_inversion import SPEC as CONV1D_SPEC


@pytest.mark.parametrize("length", [29, 100, 896, 5])
@pytest.mark.parametrize("depth", [0, 1, 2])
def test_the_sequence_generator_makes_exactly_c_by_l_within_the_range(length, depth):
    torch.manual_seed(0)
    lo = torch.tensor([-1.0, 0.0, -3.0])
    hi = torch.tensor([2.0, 0.5, -2.0])
    g = Generator((3, length), 4, 8, 4, (lo, hi), depth, "conv1d")
    assert any(isinstance(m, nn.Conv1d) for m in g.modules())   # over time, not C*L outputs
    assert not any(isinstance(m, nn.Linear) and m.out_features == 3 * length
                   for m in g.modules())
    x = g(torch.randn(6, 8), torch.tensor([0, 1, 2, 3, 0, 1]))
    assert x.shape == (6, 3, length)
    assert bool((x >= lo[:, None]).all()) and bool((x <= hi[:, None]).all())
    # a per-value range (C, L) too
    lo2, hi2 = torch.full((3, length), -1.0), torch.linspace(0.1, 1, length).repeat(3, 1)
    g = Generator((3, length), 4, 8, 4, (lo2, hi2), depth, "conv1d")
    x = g(torch.randn(2, 8), torch.tensor([0, 1]))
    assert x.shape == (2, 3, length) and bool((x >= lo2).all()) and bool((x <= hi2).all())


def test_the_temporal_generator_starts_smooth_over_time_and_the_mlp_does_not():
    torch.manual_seed(0)
    bounds = (torch.full((3,), -3.0), torch.full((3,), 3.0))
    z, y = torch.randn(64, 8), torch.arange(64) % 4

    def lag1(g):   # correlation of neighbouring steps, over samples and channels
        x = g(z, y).detach()
        a, b = x[..., :-1].flatten(), x[..., 1:].flatten()
        return float(torch.corrcoef(torch.stack([a, b]))[0, 1])
    assert lag1(Generator((3, 100), 4, 8, 16, bounds, 1, "conv1d")) > 0.5
    assert lag1(Generator((3, 100), 4, 8, 16, bounds, 1, "mlp")) < 0.3


def test_the_mlp_generator_stays_the_default_for_sequences_and_feature_vectors():
    bounds = (torch.zeros(3), torch.ones(3))
    assert AmortizedConfig().sequence_generator == "mlp"
    mlp = Generator((3, 29), 4, 8, 4, bounds, 1)
    assert not any(isinstance(m, nn.Conv1d) for m in mlp.modules())
    assert mlp(torch.randn(2, 8), torch.tensor([0, 1])).shape == (2, 3, 29)
    vec = Generator((7,), 4, 8, 4, (torch.zeros(7), torch.ones(7)), 1)
    assert not any(isinstance(m, nn.Conv1d) for m in vec.modules())
    assert vec(torch.randn(2, 8), torch.tensor([0, 1])).shape == (2, 7)
    with pytest.raises(UserError, match="sequence_generator"):
        AmortizedConfig(sequence_generator="rnn")


def test_an_image_generator_of_depth_zero_runs():
    g = Generator((1, 16, 16), 3, 8, 4, (torch.zeros(1), torch.ones(1)), depth=0)
    x = g(torch.randn(4, 8), torch.tensor([0, 1, 2, 0]))
    assert x.shape == (4, 1, 16, 16) and bool(((x >= 0) & (x <= 1)).all())


@pytest.fixture(scope="module")
def data():
    return sequence_set()


@pytest.mark.parametrize("spec,epochs,lr", [(MLP_SPEC, 5, 0.1), (CONV1D_SPEC, 8, 0.05)],
                         ids=["mlp_bn", "convnet1d"])
def test_a_tiny_sequence_teacher_inverts_with_the_temporal_generator(data, spec, epochs, lr):
    teacher = sequence_teacher(spec, data, epochs=epochs, lr=lr)
    lo = data.x_train.amin((0, 2))
    hi = data.x_train.amax((0, 2))
    inversion = settings_for(teacher, value_range=(lo, hi), method="amortized")
    config = AmortizedConfig.from_inversion(inversion, steps=60, check_every=20, min_steps=20,
                                            adapt_steps=20, adapt_max_steps=80, device="cpu",
                                            sequence_generator="conv1d")
    assert isinstance(build_generator(teacher, config, (lo, hi)).head, nn.Conv1d)
    r = synthesize_amortized(teacher, balanced_labels(48, 3), config, pixel_range=(lo, hi),
                             seed=0)
    assert r.images.shape == (48,) + SHAPE
    assert r.stats["fidelity"] >= 0.9
    assert bool((r.images >= lo[:, None]).all()) and bool((r.images <= hi[:, None]).all())
