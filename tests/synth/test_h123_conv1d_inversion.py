"""Conv1d-BatchNorm sequence teachers (input (C, L), channels x steps): the registry had no
family that builds Conv1d, and a teacher whose BatchNorm normalizes the channels of a Conv1d
was refused by the inversion ("normalizes the channels of a sequence ... not for
Conv1d-BatchNorm networks").  The ``convnet1d`` family builds one; DeepInversion matches its
per-channel statistics (averaged over time) with a random roll along time as its jitter, no
flips, and a TV prior along time; the synthesized inputs keep their (C, L) shape and each
channel's valid range."""
import pytest
import torch

from synth.errors import UserError
from synth.inversion import (SEQUENCE_JITTER, SEQUENCE_TV_L2, _augment, as_teacher,
                             balanced_labels, settings_for, synthesize)
from synth.models import batchnorm_layers, build, count_parameters
from tests.synth.test_h116_sequence_inversion import SHAPE, sequence_set, sequence_teacher

SPEC = {"family": "convnet1d", "widths": [8, 16], "kernels": [5, 5], "strides": [1, 2],
        "bn": True, "pool": "avg", "hidden": []}


def test_the_convnet1d_family_builds_its_variant_and_options():
    model = build("convnet1d_small", (6, 100), 4)
    assert model(torch.randn(3, 6, 100)).shape == (3, 4)
    assert len(batchnorm_layers(model)) == 2
    assert all(isinstance(m, torch.nn.BatchNorm1d) for m in batchnorm_layers(model))
    plain = build({**SPEC, "bn": False, "pool": "flatten", "hidden": [12]}, SHAPE, 3)
    assert not batchnorm_layers(plain) and plain(torch.randn(2, *SHAPE)).shape == (2, 3)
    # flatten: 16 channels x 10 steps (20 steps, stride 2) -> 12 -> 3
    assert count_parameters(plain.classifier) == 16 * 10 * 12 + 12 + 12 * 3 + 3
    assert build({**SPEC, "pool": "max"}, SHAPE, 3)(torch.randn(2, *SHAPE)).shape == (2, 3)


@pytest.mark.parametrize("change,message", [
    ({"kernels": [5]}, "widths, kernels and strides must be lists of the same nonzero length"),
    ({"widths": [], "kernels": [], "strides": []}, "lists of the same nonzero length"),
    ({"pool": "mean"}, "pool must be avg, max or flatten, got 'mean'"),
    # the family's declared ranges (h218), before the builder's own checks
    ({"strides": [1, 0]}, r"'strides' values must each be in \[1, 16777216\], got \[1, 0\]"),
    ({"hidden": [0]}, r"'hidden' values must each be in \[1, 100000000\], got \[0\]"),
])
def test_a_bad_convnet1d_spec_is_one_line(change, message):
    with pytest.raises(UserError, match=message) as e:
        build({**SPEC, **change}, SHAPE, 3)
    assert "\n" not in str(e.value)


def test_convnet1d_takes_sequences_only():
    with pytest.raises(UserError, match=r"takes sequences .*\(images"):
        build(SPEC, (1, 8, 8), 3)


@pytest.fixture(scope="module")
def data():
    return sequence_set()


@pytest.fixture(scope="module")
def teacher(data):
    return sequence_teacher(SPEC, data, epochs=8, lr=0.05)


def test_settings_for_a_conv1d_teacher_roll_along_time(teacher, data):
    config = settings_for(teacher, value_range=data.pixel_range(), flip=True)
    assert config.jitter == int(SEQUENCE_JITTER * SHAPE[1]) == 1   # 20 steps
    assert config.tv_l2_weight == SEQUENCE_TV_L2 and not config.flip   # never time-reversed
    assert config.first_bn_multiplier == 10.0   # the first BN normalizes conv channels
    assert config.method == "deepinversion" and config.lowres_iterations == 0
    long = as_teacher(build(SPEC, (3, 140), 3), (3, 140))
    assert settings_for(long).jitter == 10   # 7% of 140 steps


def test_the_roll_moves_time_only_and_never_flips():
    x = torch.arange(2 * 3 * 20, dtype=torch.float32).view(2, 3, 20)
    gen = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(40):
        y = _augment(x, 3, True, gen)
        shift = next(s for s in range(-3, 4) if torch.equal(y, torch.roll(x, s, dims=2)))
        seen.add(shift)
    assert len(seen) > 3
    assert torch.equal(_augment(x, 0, True, gen), x)


def test_a_conv1d_batchnorm_teacher_inverts_keeping_shape_and_range(teacher, data):
    # the training inputs' own range per channel (this toy set records none), as a
    # sequence set records it (synth.data.input_range): inputs are clipped channel by channel
    lo, hi = data.x_train.amin(dim=(0, 2)), data.x_train.amax(dim=(0, 2))
    config = settings_for(teacher, value_range=(lo, hi), iterations=300, device="cpu")
    result = synthesize(teacher, balanced_labels(30, 3), config, pixel_range=(lo, hi), seed=0)
    s = result.stats
    assert result.images.shape == (30,) + SHAPE
    assert s["fidelity_initial"] < 0.7 and s["fidelity"] >= 0.9, s
    assert s["bn_loss_final"] < 0.5 * s["bn_loss_initial"], s
    assert (result.images >= lo.view(-1, 1) - 1e-6).all()
    assert (result.images <= hi.view(-1, 1) + 1e-6).all()
    with torch.no_grad():
        assert (teacher(result.images).argmax(1) == result.labels).float().mean() >= 0.9
