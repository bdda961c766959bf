"""DeepInversion objective terms against hand-computed values, and a short inversion."""
import math

import pytest
import torch
from torch import nn

from synth.errors import ConfigError, UserError
from synth.inversion import (BNFeatureHooks, InversionConfig, balanced_labels, bn_statistics_gap,
                             competition_loss, js_divergence, synthesize, total_variation)
from tests.synth._tiny import tiny_teacher


@pytest.fixture(scope="module")
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads only add contention
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def teacher(digits, one_thread):
    return tiny_teacher(digits)[0]


def test_bn_gap_hand_computed():
    # 1 channel, values 1, 3 (image 0) and 5, 7 (image 1): mean 4, biased var = 5
    x = torch.tensor([[[[1.0, 3.0]]], [[[5.0, 7.0]]]])
    gap = bn_statistics_gap(x, torch.tensor([1.0]), torch.tensor([1.0]))
    assert gap.item() == pytest.approx(abs(4 - 1) + abs(5 - 1))
    # 2 channels: the L2 norm (not MSE, not L1) of the per-channel gaps
    x2 = torch.cat([x, x + 10], dim=1)
    gap = bn_statistics_gap(x2, torch.tensor([4.0, 10.0]), torch.tensor([2.0, 5.0]))
    assert gap.item() == pytest.approx(math.hypot(0, 4) + math.hypot(3, 0))
    # BatchNorm1d inputs (N, F): statistics over N
    gap = bn_statistics_gap(torch.tensor([[0.0], [2.0]]), torch.tensor([0.0]), torch.tensor([0.0]))
    assert gap.item() == pytest.approx(1.0 + 1.0)


def test_total_variation_hand_computed():
    x = torch.tensor([[[[0.0, 1.0], [3.0, 5.0]]]])
    l1, l2 = total_variation(x)
    # horizontal diffs 1, 2; vertical diffs 3, 4
    assert l1.item() == pytest.approx((1 + 2) / 2 + (3 + 4) / 2)
    assert l2.item() == pytest.approx((1 + 4) / 2 + (9 + 16) / 2)
    assert total_variation(torch.ones(3, 2, 4, 4))[0].abs().max() == 0


def test_js_bounds_and_competition():
    a = torch.randn(64, 10) * 5
    b = torch.randn(64, 10) * 5
    js = js_divergence(a, b)
    assert (js >= 0).all() and (js <= math.log(2) + 1e-6).all()
    assert js_divergence(a, a).abs().max() < 1e-6
    assert competition_loss(a, a).sub(1).abs().max() < 1e-6
    # maximal disagreement: two classes, opposite confident logits -> clamped near ln 2
    t, s = torch.tensor([[100.0, -100.0]]), torch.tensor([[-100.0, 100.0]])
    p, q = torch.tensor([0.99, 0.01]), torch.tensor([0.01, 0.99])
    m = (p + q) / 2
    expected = 0.5 * (p * (p / m).log()).sum() + 0.5 * (q * (q / m).log()).sum()
    assert js_divergence(t, s, temperature=1.0).item() == pytest.approx(expected.item(), rel=1e-5)
    assert 1 - math.log(2) <= competition_loss(t, s).item() <= 1


def test_hooks_registered_once_and_match_manual(teacher, digits):
    hooks = BNFeatureHooks(teacher)
    layers = hooks.layers
    assert len(hooks._handles) == len(layers) == 2
    x = digits.x_train[:16]
    inputs = []
    probes = [m.register_forward_hook(lambda m, i, o: inputs.append(i[0])) for m in layers]
    hooks.active = True
    with torch.no_grad():
        teacher(x)
    hooks.active = False
    for p in probes:
        p.remove()
    manual = [bn_statistics_gap(i, m.running_mean, m.running_var) for i, m in zip(inputs, layers)]
    assert hooks.loss(10.0).item() == pytest.approx((10 * manual[0] + manual[1]).item(), rel=1e-5)
    with torch.no_grad():
        teacher(x)  # inactive: nothing collected
    assert hooks.gaps == []
    hooks.remove()
    assert all(not m._forward_hooks for m in layers)


def test_short_inversion_lowers_losses(teacher, digits):
    cfg = InversionConfig.preset("mnist28", iterations=60, batch_size=20, jitter=1,
                                 early_stop=False, device="cpu")
    lo, hi = digits.pixel_range()
    r = synthesize(teacher, balanced_labels(20, 10), cfg, pixel_range=(lo, hi), seed=1)
    assert r.images.shape == (20, 1, 8, 8)
    assert r.stats["bn_loss_final"] < 0.5 * r.stats["bn_loss_initial"]
    assert r.fidelity >= 0.5                              # chance is 0.1
    assert (r.images >= lo - 1e-6).all() and (r.images <= hi + 1e-6).all()
    assert r.teacher_confidence.shape == r.losses.shape == (20,)
    assert torch.equal(r.labels, balanced_labels(20, 10))
    assert teacher.training is False and all(p.requires_grad for p in teacher.parameters())
    assert not any(m._forward_hooks for m in teacher.modules())
    again = synthesize(teacher, balanced_labels(20, 10), cfg, pixel_range=(lo, hi), seed=1)
    assert torch.allclose(again.images, r.images)          # seeded


def test_early_stop_and_adi(teacher, digits):
    cfg = InversionConfig.preset("mnist28", iterations=200, batch_size=10, check_every=5,
                                 min_iterations=10, stop_fidelity=0.0, stop_tolerance=1.0)
    student = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    r = synthesize(teacher, torch.arange(10), cfg.replace(adi_weight=1.0),
                   pixel_range=digits.pixel_range(), student=student)
    assert r.stats["iterations"] == [10]                   # stopped at min_iterations


def test_config_and_input_errors(teacher, digits):
    with pytest.raises(ConfigError, match="tv_l2_weight"):
        InversionConfig(tv_l2_weight=-1.0)
    with pytest.raises(ConfigError, match="iterations"):
        InversionConfig.preset("cifar32", iterations=0)
    with pytest.raises(UserError, match="preset"):
        InversionConfig.preset("svhn")
    assert InversionConfig.preset("imagenet224").jitter == 30
    no_bn = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with pytest.raises(UserError, match="BatchNorm"):
        synthesize(no_bn, torch.arange(10), pixel_range=digits.pixel_range())
    with pytest.raises(UserError, match="labels"):
        synthesize(teacher, torch.tensor([10]), pixel_range=digits.pixel_range())
