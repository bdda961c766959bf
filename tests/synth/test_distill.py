"""KD loss against hand-computed values; distillation and the ADI protocol on a tiny teacher."""
import math

import pytest
import torch
import torch.nn.functional as F

from synth.distill import DistillConfig, adi_distill, distill, kd_loss
from synth.errors import ConfigError
from synth.inversion import InversionConfig
from synth.models import build
from tests.synth._tiny import TINY_SPEC, tiny_teacher


@pytest.fixture(scope="module")
def teacher(digits):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tiny_teacher(digits)
    torch.set_num_threads(old)


def test_kd_loss_hand_computed():
    s = torch.tensor([[1.0, 0.0]])
    t = torch.tensor([[0.0, 1.0]])
    assert kd_loss(t, t, 3.0).item() == pytest.approx(0.0, abs=1e-7)
    # T = 2: p_t = softmax([0, .5]), p_s = softmax([.5, 0]); loss = T^2 * KL(p_t || p_s)
    pt = torch.softmax(torch.tensor([0.0, 0.5]), 0)
    ps = torch.softmax(torch.tensor([0.5, 0.0]), 0)
    kl = float((pt * (pt / ps).log()).sum())
    assert kd_loss(s, t, 2.0).item() == pytest.approx(4 * kl, rel=1e-5)
    # alpha mixes in cross-entropy on the teacher's argmax (class 1)
    ce = -math.log(float(torch.softmax(s[0], 0)[1]))
    assert kd_loss(s, t, 2.0, alpha=1.0).item() == pytest.approx(ce, rel=1e-5)
    assert kd_loss(s, t, 2.0, alpha=0.25).item() == pytest.approx(0.75 * 4 * kl + 0.25 * ce,
                                                                  rel=1e-5)
    labels = torch.tensor([0])
    assert kd_loss(s, t, 2.0, labels=labels, alpha=1.0).item() == pytest.approx(
        F.cross_entropy(s, labels).item())


def test_distill_on_real_inputs_learns_the_teacher(teacher, digits):
    model, teacher_acc = teacher
    torch.manual_seed(0)
    student = build({**TINY_SPEC, "widths": [4, 8]}, digits.input_shape, digits.num_classes)
    m = distill(student, model, digits.x_train, digits,
                DistillConfig(epochs=3, batch_size=32, lr=0.1, progress=False, device="cpu"))
    assert m["train_images"] == len(digits.x_train)
    assert m["test_accuracy"] > 0.5 and m["teacher_test_accuracy"] == pytest.approx(teacher_acc)


def test_adi_protocol_grows_the_pool(teacher, digits):
    model, _ = teacher
    torch.manual_seed(0)
    student = build({**TINY_SPEC, "widths": [4, 8]}, digits.input_shape, digits.num_classes)
    before = [p.detach().clone() for p in student.parameters()]
    cfg = DistillConfig(rounds=2, images_per_round=20, kd_steps_per_round=5, final_kd_steps=5,
                        batch_size=16, progress=False, device="cpu")
    inv = InversionConfig.preset("mnist28", iterations=30, batch_size=20, jitter=1, early_stop=False)
    m = adi_distill(student, model, digits.pixel_range(), cfg, inv, data=digits, return_pool=True)
    assert m["images"] == 40 and m["kd_steps"] == 15 and m["pool"][0].shape == (40, 1, 8, 8)
    assert 0 <= m["test_accuracy"] <= 1 and m["fidelity"] > 0.3
    assert any(not torch.equal(a, b) for a, b in zip(before, student.parameters()))


def test_distill_with_jitter_keeps_teacher_frozen(teacher, digits):
    model, _ = teacher
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()  # distill must put it in eval mode: no running-statistics updates
    student = build({**TINY_SPEC, "widths": [4, 8]}, digits.input_shape, digits.num_classes)
    m = distill(student, model, digits.x_train[:256], digits,
                DistillConfig(epochs=1, batch_size=64, jitter=1, progress=False, device="cpu"))
    assert m["train_images"] == 256
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


def test_distill_config_errors():
    with pytest.raises(ConfigError, match="temperature"):
        DistillConfig(temperature=0)
    with pytest.raises(ConfigError, match="alpha"):
        DistillConfig(alpha=1.5)
    with pytest.raises(ConfigError, match="jitter"):
        DistillConfig(jitter=-1)
