"""DeepInversion of teachers not built by nnsynth (issue 18, "any BatchNorm teacher"):
hand-written BN teachers handed in through ``synth.inversion.as_teacher``; untrained ones
where only the refusal or the settings matter (no training: fast)."""
import pytest
import torch
from torch import nn

from synth.errors import UserError
from synth.inversion import as_teacher, balanced_labels, settings_for, synthesize

RANGE = (torch.tensor([-1.0]), torch.tensor([2.0]))


def conv_teacher(bn=nn.BatchNorm2d, classes=10, side=8):
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), bn(4), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * side * side, classes)).eval()


def test_batchnorm_without_running_statistics_is_refused_in_one_line():
    # track_running_stats=False keeps no running mean/var: Eq. 4 has nothing to match, and
    # the hooks crashed with "unsupported operand type(s) for -: 'Tensor' and 'NoneType'"
    message = refused_by_as_teacher_and_synthesize(
        conv_teacher(lambda c: nn.BatchNorm2d(c, track_running_stats=False)),
        "track_running_stats")
    assert "1" in message   # names the layer


def refused_by_as_teacher_and_synthesize(model, match: str) -> str:
    """``model`` is refused in one line matching ``match`` by as_teacher, and again by
    synthesize once it records a shape and class count; the first message."""
    with pytest.raises(UserError, match=match) as e:
        as_teacher(model, (1, 8, 8))
    assert "\n" not in str(e.value)
    model.input_shape, model.num_classes = (1, 8, 8), 10      # a model that records them
    with pytest.raises(UserError, match=match):
        synthesize(model, balanced_labels(4, 10), settings_for(model, iterations=2),
                   pixel_range=RANGE)
    return str(e.value)


class Pair(nn.Module):
    """A teacher that returns (logits, features), as many user models do."""

    def __init__(self):
        super().__init__()
        self.net = conv_teacher()

    def forward(self, x):
        out = self.net(x)
        return out, out.detach()


def test_as_teacher_checks_the_output_even_with_num_classes_given():
    # with num_classes given the model was never run: a tuple-returning teacher then failed
    # in synthesize with a cross_entropy TypeError traceback, and a wrong num_classes with
    # "Target 11 is out of bounds"
    with pytest.raises(UserError, match="must return logits of shape"):
        as_teacher(Pair(), (1, 8, 8), 10)
    with pytest.raises(UserError, match="12.*10|10.*12") as e:
        as_teacher(conv_teacher(), (1, 8, 8), 12)
    assert "\n" not in str(e.value)
    assert as_teacher(conv_teacher(), (1, 8, 8), 10).num_classes == 10


def test_each_module_keeps_its_own_mode():
    # a teacher in train mode with its BatchNorm frozen in eval mode (as fine-tuning leaves
    # it): as_teacher and synthesize restored train mode on every submodule, unfreezing it
    model = conv_teacher().train()
    model[1].eval()
    modes = [m.training for m in model.modules()]
    teacher = as_teacher(model, (1, 8, 8))
    assert [m.training for m in teacher.modules()] == modes
    synthesize(teacher, balanced_labels(4, 10), settings_for(teacher, iterations=2),
               pixel_range=RANGE)
    assert [m.training for m in teacher.modules()] == modes


@pytest.mark.parametrize("shape, jitter", [((3, 4, 200), 0), ((1, 12, 20), 0), ((1, 8, 64), 0),
                                           ((3, 48, 96), 3), ((1, 28, 28), 2), ((3, 64, 64), 4)])
def test_jitter_follows_the_shorter_side(shape, jitter):
    # a roll moves both axes by up to +-jitter: scaled by the mean side, a 4 x 200 image got
    # +-2 px (half its height) and a 12 x 20 one +-1 px (8% of its height, more than the
    # preset's 2 of 28 px that the rule promises never to exceed)
    assert settings_for(shape).jitter == jitter


def test_an_iteration_cap_below_the_presets_phases_is_taken():
    # a 96 px teacher starts from imagenet224 (2,000 low-resolution and 100 warm-up
    # iterations): `nnsynth prune` as typed (--iterations 200) failed with "lowres_iterations
    # must be in [0, 200], got 2000", a setting the user cannot give
    config = settings_for((3, 96, 96), iterations=200, min_iterations=100)
    assert config.iterations == 200 and 0 < config.lowres_iterations <= 100
    assert config.warmup_iterations <= 20 and config.min_iterations == 100
    small = settings_for((3, 96, 96), iterations=40)
    assert small.warmup_iterations <= 4 and small.min_iterations <= 40
    assert settings_for((3, 96, 96), iterations=200, lowres_iterations=0).lowres_iterations == 0
    assert settings_for((3, 96, 96)).lowres_iterations == 2000   # no cap given: the preset's
    assert settings_for((1, 8, 8), iterations=500).min_iterations == 100   # the default's


def test_grid_has_no_empty_columns(tmp_path):
    # 12 inputs of 10 classes (at most 2 per class) were drawn 8 columns wide: three
    # quarters of the PNG was white
    from PIL import Image

    from synth.images import save_class_grid
    x, y = torch.rand(12, 3, 12, 20), balanced_labels(12, 10)
    names = [f"class {k}" for k in range(10)]
    default = Image.open(save_class_grid(tmp_path / "a.png", x, y, 10, [0.0] * 3, [1.0] * 3,
                                         class_names=names)).size
    two = Image.open(save_class_grid(tmp_path / "b.png", x, y, 10, [0.0] * 3, [1.0] * 3,
                                     per_class=2, class_names=names)).size
    assert default == two


class AuxOnly(nn.Module):
    """BatchNorm only in an auxiliary head that runs in train mode (as Inception's)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.main = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
        self.aux = nn.Sequential(nn.Flatten(), nn.Linear(64, 8), nn.BatchNorm1d(8), nn.Linear(8, 10))

    def forward(self, x):
        return (self.main(x), self.aux(x)) if self.training else self.main(x)


def test_batchnorm_the_forward_pass_never_uses_is_refused_in_one_line():
    # no BN statistics were collected: synthesize failed with IndexError in the hooks
    refused_by_as_teacher_and_synthesize(AuxOnly().eval(), "none of its 1 BatchNorm")


class HeadFirst(nn.Module):
    """Conv features with BatchNorm2d, a BatchNorm1d head registered *before* them."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.head = nn.Sequential(nn.Linear(4 * 64, 16), nn.BatchNorm1d(16), nn.ReLU(),
                                  nn.Linear(16, 10))
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4),
                                      nn.ReLU(), nn.Flatten())

    def forward(self, x):
        return self.head(self.features(x))


def test_the_first_batchnorm_is_the_first_the_forward_pass_runs():
    # settings_for took the first *registered* BN layer for the first: a conv teacher whose
    # head was defined first was treated as an MLP (no jitter, first BN weight x1, while the
    # hooks weight the conv layer, the first run)
    teacher = as_teacher(HeadFirst().eval(), (1, 8, 8))
    conv_first = as_teacher(conv_teacher(), (1, 8, 8))
    assert settings_for(teacher).first_bn_multiplier == settings_for(conv_first).first_bn_multiplier == 10
