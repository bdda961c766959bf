"""prune, continual and distill --data-free invert with nnsynth invert's settings for the same
teacher and iteration cap: settings_for's own bounds inside the cap, not a min_iterations of
their own (min(cap, 100) stopped a teacher on the imagenet224 preset, min_iterations 500,
after 100 iterations where invert waited for the whole cap)."""
import pytest
import torch

from synth.inversion import preset_for, settings_for
from synth.models import build
from synth.workflows import inversion_settings
from tests.synth._tiny import TINY_SPEC


def invert_settings(model, value_range, iterations):
    """The InversionConfig cluster.invert.invert_checkpoint builds (no --preset, --flip,
    --method, --batch-size or --min-fidelity; no --adi): settings_for's, cap passed in."""
    return settings_for(model, preset_for(model.input_shape), flip=False,
                        value_range=value_range, iterations=iterations).replace(
        adi_weight=0.0, early_stop=True)


@pytest.mark.parametrize("shape", [(3, 96, 96), (1, 8, 8)])
@pytest.mark.parametrize("cap", [50, 200, 4000])
def test_workflow_settings_are_inverts(shape, cap):
    torch.manual_seed(0)
    model = build(TINY_SPEC, shape, 10)
    value_range = (torch.full((shape[0],), -1.0), torch.full((shape[0],), 2.0))
    ours = inversion_settings(model, value_range, iterations=cap, device="cpu")
    assert ours == invert_settings(model, value_range, cap).replace(device="cpu")
    assert ours.min_iterations <= ours.iterations == cap


def test_imagenet_teacher_waits_its_presets_min_iterations_within_the_cap():
    torch.manual_seed(0)
    model = build(TINY_SPEC, (3, 96, 96), 10)
    assert preset_for(model.input_shape) == "imagenet224"
    value_range = (torch.full((3,), -1.0), torch.full((3,), 2.0))
    assert inversion_settings(model, value_range, iterations=200, device="cpu").min_iterations == 200
    assert inversion_settings(model, value_range, iterations=4000,
                              device="cpu").min_iterations == 500
    uncapped = inversion_settings(model, value_range, iterations=None, device="cpu")
    assert uncapped == settings_for(model, value_range=value_range, device="cpu")
