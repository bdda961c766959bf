"""Inverting a teacher nnsynth did not build: any ``nn.Module`` with BatchNorm layers, given
its input shape by ``synth.inversion.as_teacher`` (issue 18: "a user's teacher is never
ours").  Before, ``settings_for`` on such a module was a TypeError traceback and
``synthesize`` said "got input_shape ()"."""
import pytest
import torch
from torch import nn

from synth.errors import UserError
from synth.inversion import as_teacher, balanced_labels, settings_for, synthesize


def _plain_convnet() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 16, 3, padding=1, stride=2), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


@pytest.fixture(scope="module")
def trained(digits):
    torch.manual_seed(0)
    net = _plain_convnet()
    opt = torch.optim.Adam(net.parameters(), 3e-3)
    for _ in range(4):
        perm = torch.randperm(len(digits.x_train))
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(net(digits.x_train[idx]), digits.y_train[idx]).backward()
            opt.step()
    return net.eval()


def test_a_module_without_a_recorded_shape_is_named_with_the_call_that_gives_one():
    from synth.amortized import AmortizedConfig, synthesize_amortized
    net = _plain_convnet()
    lo, hi = torch.zeros(1), torch.ones(1)
    for call in (lambda: settings_for(net),
                 lambda: synthesize(net, balanced_labels(4, 10), pixel_range=(lo, hi)),
                 lambda: synthesize_amortized(net, balanced_labels(4, 10), AmortizedConfig(),
                                              pixel_range=(lo, hi))):
        with pytest.raises(UserError, match=r"records no input_shape.*as_teacher\(model"):
            call()


def test_as_teacher_records_shape_and_classes_and_refuses_what_cannot_run():
    net = as_teacher(_plain_convnet(), (1, 8, 8))
    assert net.input_shape == (1, 8, 8) and net.num_classes == 10 and net.training
    with pytest.raises(UserError, match="input_shape must be"):
        as_teacher(_plain_convnet(), (1, 1, 8, 8))
    with pytest.raises(UserError, match=r"does not take one input of shape \(8, 8\)"):
        as_teacher(_plain_convnet(), (8, 8))     # a sequence shape (21cb424), not a conv net's
    with pytest.raises(UserError, match="does not take one input of shape"):
        as_teacher(_plain_convnet(), (3, 8, 8))
    with pytest.raises(UserError, match="no BatchNorm"):
        as_teacher(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)), (1, 8, 8))


def test_a_plain_module_inverts_as_an_nnsynth_one(trained, digits):
    teacher = as_teacher(trained, (1, 8, 8))
    config = settings_for(teacher, value_range=digits.pixel_range(), iterations=60,
                          min_iterations=60, batch_size=20)
    assert config.jitter == 0 and not config.flip        # 8x8: no roll, no flip
    result = synthesize(teacher, balanced_labels(20, 10), config,
                        pixel_range=digits.pixel_range(), seed=0)
    s = result.stats
    assert s["fidelity"] > s["fidelity_initial"] and s["fidelity"] >= 0.9
    assert s["bn_loss_final"] < 0.5 * s["bn_loss_initial"]
    assert s["loss_final"] < s["loss_initial"]
