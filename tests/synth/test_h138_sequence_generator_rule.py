"""A sequence teacher whose BN layers all normalize Conv1d channels is inverted per step with a
generator as its fallback (issue 18; ``settings_for``'s sequence case (b)): the unrefined MLP
generator with ``SEQUENCE_AMORTIZED``'s redraws makes a set per-step inversion leaves below
the fidelity floor.  (It was the first method until teachers were trained as `nnsynth train`
trains them: then it led per-step inversion on no Conv1d row.)  Where the set records no finite
range (the generator squashes into it), where a BN layer follows a dense layer, and for BN MLPs
on sequences there is no generator at all."""
import pytest
import torch
from torch import nn

from synth.amortized import AmortizedConfig
from synth.choices import SEQUENCE_AMORTIZED
from synth.inversion import as_teacher, balanced_labels, settings_for
from synth.models import build
from synth.synthesis import synthesize_inputs
from tests.synth.test_h116_sequence_inversion import SHAPE, sequence_set, sequence_teacher

CONV = {"family": "convnet1d", "widths": [8, 16], "kernels": [5, 5], "strides": [1, 2],
        "bn": True, "pool": "avg", "hidden": []}
BOUNDED = (torch.full((3,), -3.0), torch.full((3,), 3.0))


def test_a_conv1d_bn_teacher_with_a_range_falls_back_to_the_unrefined_generator():
    config = settings_for(as_teacher(build(CONV, SHAPE, 3), SHAPE), value_range=BOUNDED)
    assert config.method == "deepinversion" and config.fallback
    assert config.amortized == SEQUENCE_AMORTIZED
    generator = AmortizedConfig.from_inversion(config)
    assert generator.adapt_redraws == 16 and generator.refine_iterations == 0
    assert generator.sequence_generator == "mlp"
    assert config.jitter == 1 and not config.flip   # the roll along time is kept


@pytest.mark.parametrize("value_range", [None, (torch.full((3,), -float("inf")),
                                                torch.full((3,), float("inf"))),
                                         (torch.zeros(3), torch.tensor([1.0, 0.0, 1.0]))])
def test_no_generator_without_a_finite_range(value_range):
    teacher = as_teacher(build(CONV, SHAPE, 3), SHAPE)
    config = settings_for(teacher, value_range=value_range)
    assert config.method == "deepinversion" and config.amortized is None


@pytest.mark.parametrize("model", [
    # a BN layer after the flatten: not every BN layer averages over time
    lambda: nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.BatchNorm1d(4), nn.ReLU(),
                          nn.Flatten(), nn.Linear(4 * SHAPE[1], 8), nn.BatchNorm1d(8),
                          nn.ReLU(), nn.Linear(8, 3)),
    # a BN MLP on the flattened series (sequence case (a)): per step
    lambda: build({"family": "mlp", "hidden": [16], "bn": True}, SHAPE, 3),
])
def test_other_sequence_teachers_stay_per_step(model):
    teacher = as_teacher(model(), SHAPE)
    config = settings_for(teacher, value_range=BOUNDED)
    assert config.method == "deepinversion" and config.amortized is None


def test_a_tiny_conv1d_teacher_inverts_through_the_generator_within_its_range():
    data = sequence_set()
    teacher = sequence_teacher(CONV, data, epochs=8, lr=0.05)
    lo, hi = data.x_train.amin(dim=(0, 2)), data.x_train.amax(dim=(0, 2))
    config = settings_for(teacher, value_range=(lo, hi), device="cpu").replace(
        method="amortized")   # as the fallback runs it
    result = synthesize_inputs(teacher, balanced_labels(30, 3), config, pixel_range=(lo, hi),
                               seed=0)
    s = result.stats
    assert s["method"] == "amortized" and result.images.shape == (30,) + SHAPE
    assert s["fidelity"] >= 0.9, s
    assert (result.images >= lo.view(-1, 1) - 1e-5).all()
    assert (result.images <= hi.view(-1, 1) + 1e-5).all()
