"""Zero-Shot KD's data impressions as DeepInversion's targets (``InversionConfig.targets``
"dirichlet"): soft targets from the class similarity of the teacher's last layer, fit by the
tempered softmax while the BN term still holds."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from synth.errors import ConfigError, UserError
from synth.inversion import (InversionConfig, balanced_labels, class_similarity,
                             dirichlet_targets, synthesize)
from tests.synth._tiny import tiny_teacher


@pytest.fixture(scope="module")
def teacher(digits):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tiny_teacher(digits)[0]
    torch.set_num_threads(old)


def test_similarity_and_targets(teacher):
    sim = class_similarity(teacher)
    assert sim.shape == (10, 10)
    assert torch.allclose(sim.diagonal(), torch.ones(10))           # its own class: the max
    assert torch.allclose(sim.amin(1), torch.zeros(10))             # min-max per row
    labels = balanced_labels(40, 10)
    y = dirichlet_targets(sim, labels, (1.0, 0.1), torch.Generator().manual_seed(0))
    assert torch.equal(y.argmax(1), labels)                          # the class is the argmax
    assert torch.allclose(y.sum(1), torch.ones(40)) and (y >= 0).all()
    # beta 0.1 (the second half) is sparser than beta 1.0 (the first)
    assert y[20:].amax(1).mean() > y[:20].amax(1).mean()
    again = dirichlet_targets(sim, labels, (1.0, 0.1), torch.Generator().manual_seed(0))
    assert torch.equal(y, again)                                      # seeded by the generator


def test_soft_targets_are_fit_and_fidelity_kept(teacher, digits):
    t = 3.0
    cfg = InversionConfig.preset("mnist28", iterations=80, batch_size=20, jitter=0,
                                 early_stop=False, device="cpu", targets="dirichlet",
                                 target_temperature=t)
    lo, hi = digits.pixel_range()
    labels = balanced_labels(20, 10)
    r = synthesize(teacher, labels, cfg, pixel_range=(lo, hi), seed=1)
    assert r.targets is not None and r.targets.shape == (20, 10)
    assert torch.equal(r.targets.argmax(1), labels)
    with torch.no_grad():
        p = F.log_softmax(teacher(r.images) / t, 1)
        start = F.log_softmax(teacher(torch.randn(20, 1, 8, 8).clamp(lo, hi)) / t, 1)
    ce = lambda logp: float(-(r.targets * logp).sum(1).mean())  # noqa: E731
    entropy = float(-(r.targets * r.targets.clamp_min(1e-12).log()).sum(1).mean())
    assert ce(p) - entropy < 0.5 * (ce(start) - entropy)           # KL to the targets halved
    assert r.stats["loss_final"] < r.stats["loss_initial"]
    assert r.stats["bn_loss_final"] < 0.5 * r.stats["bn_loss_initial"]
    assert r.fidelity >= 0.5                                          # argmax is the class
    # one-hot (the default) keeps no targets
    onehot = synthesize(teacher, labels, cfg.replace(targets="onehot", iterations=5),
                        pixel_range=(lo, hi), seed=1)
    assert onehot.targets is None


def test_bad_settings_are_refused(teacher, digits):
    with pytest.raises(ConfigError, match="targets"):
        InversionConfig(targets="soft")
    with pytest.raises(UserError, match="dirichlet_beta"):
        InversionConfig(targets="dirichlet", dirichlet_beta=(1.0, 0.0))
    with pytest.raises(UserError, match="dirichlet_beta"):
        InversionConfig(dirichlet_beta=())
    with pytest.raises(ConfigError, match="target_temperature"):
        InversionConfig(target_temperature=0.0)
    with pytest.raises(UserError, match="per-pixel"):
        InversionConfig(targets="dirichlet", method="amortized")
    head = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Conv2d(4, 10, 6), nn.Flatten())
    head.input_shape, head.num_classes = (1, 8, 8), 10
    with pytest.raises(UserError, match="Linear"):
        synthesize(head, torch.arange(10), InversionConfig(targets="dirichlet", iterations=2),
                   pixel_range=digits.pixel_range())
