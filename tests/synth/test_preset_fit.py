"""An inversion preset that does not fit the teacher's input is refused in one line:
`nnsynth invert --preset cifar32` on a tabular teacher was accepted and reported as cifar32
while the tabular rules were applied.  The pipeline's synthesis.preset defaults to "auto"
(the preset nearest the teacher's input), so a pipeline on a tabular set is not refused for
a preset the user never gave."""
import pytest
from torch import nn

from synth.errors import UserError
from synth.inversion import as_teacher, settings_for


def tabular_teacher():
    return as_teacher(nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(),
                                    nn.Linear(8, 3)), (4,))


def image_teacher():
    return as_teacher(nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)),
                      (1, 8, 8))


@pytest.mark.parametrize("preset", ["mnist28", "cifar32", "imagenet224"])
def test_an_image_preset_for_a_tabular_teacher_is_refused(preset):
    with pytest.raises(UserError, match=f"'{preset}' is for images.*feature vectors"):
        settings_for(tabular_teacher(), preset)


def test_the_tabular_preset_for_an_image_teacher_is_refused():
    with pytest.raises(UserError, match="'tabular' is for feature vectors.*images"):
        settings_for(image_teacher(), "tabular")


def test_presets_that_fit_are_taken():
    assert settings_for(tabular_teacher(), "tabular").jitter == 0
    assert settings_for(image_teacher(), "cifar32").batch_size == 256


def test_the_pipelines_preset_follows_the_teacher_by_default():
    from deploy.run_config import SynthesisStage
    from synth.errors import ConfigError
    assert SynthesisStage().preset == "auto"
    SynthesisStage(preset="tabular").validate()
    with pytest.raises(ConfigError, match="synthesis.preset must be auto or one of"):
        SynthesisStage(preset="cifar").validate()
