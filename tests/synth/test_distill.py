"""KD loss against hand-computed values; distillation and the ADI protocol on a tiny teacher."""
import math

import pytest
import torch
import torch.nn.functional as F

from synth.distill import (DistillConfig, adi_distill, adi_final_steps, distill,
                           distill_train_config, kd_loss, live_kd_fn, random_shift)
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
                DistillConfig(epochs=3, batch_size=32, lr=0.1, min_steps=500, progress=False,
                              device="cpu"))
    assert m["train_images"] == len(digits.x_train)
    assert m["test_accuracy"] > 0.5 and m["teacher_test_accuracy"] == pytest.approx(teacher_acc)


def test_adi_protocol_grows_the_pool(teacher, digits):
    model, _ = teacher
    torch.manual_seed(0)
    student = build({**TINY_SPEC, "widths": [4, 8]}, digits.input_shape, digits.num_classes)
    before = [p.detach().clone() for p in student.parameters()]
    cfg = DistillConfig(rounds=2, images_per_round=20, kd_steps_per_round=5, final_kd_steps=5,
                        min_steps=0, batch_size=16, progress=False, device="cpu")
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
                DistillConfig(epochs=1, batch_size=64, jitter=1, min_steps=0, progress=False,
                              device="cpu"))
    assert m["train_images"] == 256
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())


def test_min_steps_adds_epochs_for_small_sets(teacher, digits):
    """``min_steps``: 30 epochs of 256 inputs at batch 128 are only 60 SGD steps; with
    ``min_steps=500`` the same set gets 250 epochs; a large set keeps its epochs."""
    cfg = DistillConfig(epochs=30, batch_size=128, min_steps=500)
    assert distill_train_config(cfg, 256).epochs == 250
    assert distill_train_config(cfg, 255).epochs == 250     # 2 batches per epoch
    assert distill_train_config(cfg, 257).epochs == 167     # 3 batches: ceil(500 / 3)
    assert distill_train_config(cfg, 100_000).epochs == 30
    assert distill_train_config(cfg.replace(min_steps=0), 256).epochs == 30
    model, _ = teacher
    student = build({**TINY_SPEC, "widths": [4, 8]}, digits.input_shape, digits.num_classes)
    m = distill(student, model, digits.x_train[:64], digits,
                DistillConfig(epochs=1, batch_size=32, min_steps=6, progress=False,
                              device="cpu"))
    assert len(m["history"]) == 3    # 2 steps per epoch: 3 epochs for 6 steps


def test_adi_min_steps_extends_the_final_steps(teacher, digits):
    """``min_steps`` counts every KD step of ``adi_distill``: 2 rounds x 5 steps + 5 final
    fall 10 short of 20, so the final steps become 10; more final steps than needed stay."""
    cfg = DistillConfig(rounds=2, images_per_round=20, kd_steps_per_round=5, final_kd_steps=5,
                        min_steps=20, batch_size=16, progress=False, device="cpu")
    assert adi_final_steps(cfg) == 10 and adi_final_steps(cfg.replace(min_steps=0)) == 5
    assert adi_final_steps(cfg.replace(final_kd_steps=30)) == 30
    # the defaults: 8 x 50 steps between rounds, the final ones make up min_steps
    d = DistillConfig()
    assert d.rounds * d.kd_steps_per_round + adi_final_steps(d) == d.min_steps
    model, _ = teacher
    torch.manual_seed(0)
    student = build({**TINY_SPEC, "widths": [4, 8]}, digits.input_shape, digits.num_classes)
    inv = InversionConfig.preset("mnist28", iterations=5, batch_size=20, early_stop=False)
    assert adi_distill(student, model, digits.pixel_range(), cfg, inv)["kd_steps"] == 20


def test_distill_config_errors():
    with pytest.raises(ConfigError, match="min_steps"):
        DistillConfig(min_steps=-1)
    with pytest.raises(ConfigError, match="temperature"):
        DistillConfig(temperature=0)
    with pytest.raises(ConfigError, match="alpha"):
        DistillConfig(alpha=1.5)
    with pytest.raises(ConfigError, match="jitter"):
        DistillConfig(jitter=-1)


def test_random_shift_moves_each_image_by_at_most_the_offset():
    x = torch.zeros(64, 1, 12, 12)
    x[:, :, 6, 6] = 1.0
    out = random_shift(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    rows, cols = torch.meshgrid(torch.arange(12.0), torch.arange(12.0), indexing="ij")
    mass = out[:, 0].sum((1, 2))
    cy, cx = (out[:, 0] * rows).sum((1, 2)) / mass, (out[:, 0] * cols).sum((1, 2)) / mass
    assert (cy - 6).abs().max() <= 2 + 1e-4 and (cx - 6).abs().max() <= 2 + 1e-4
    assert ((cy - 6).abs() > 0.5).any()              # images are actually moved, each its own way
    assert torch.allclose(random_shift(x, 0), x, atol=1e-6)


def test_live_kd_teacher_and_student_see_the_same_shifted_inputs():
    torch.manual_seed(0)
    teacher = build({"family": "mlp", "hidden": [16]}, (1, 8, 8), 3)
    student = build({"family": "mlp", "hidden": [16]}, (1, 8, 8), 3)
    student.load_state_dict(teacher.state_dict())
    x, y = torch.randn(32, 1, 8, 8), torch.randint(0, 3, (32,))
    loss = live_kd_fn(teacher, temperature=2.0, alpha=0.0, shift=2)(student, x, y)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)   # identical nets on identical inputs
    mixed = live_kd_fn(teacher, temperature=2.0, alpha=0.5)(student, x, y)
    assert mixed.item() == pytest.approx(0.5 * F.cross_entropy(student(x), y).item(), rel=1e-5)


def test_kd_augment_mixes_inputs_and_the_teacher_labels_them():
    from synth.distill import _kd_fn, kd_augment  # noqa: F401  (the loss uses kd_augment)
    gen = torch.Generator().manual_seed(0)
    x = torch.stack([torch.full((1, 4, 4), float(v)) for v in range(8)])
    none = DistillConfig(cutmix=0.0)                              # the default is 0.5
    assert kd_augment(x, none, gen) is None                       # nothing asked: unchanged
    assert kd_augment(x, DistillConfig(), gen) is not None        # the default: cutmix
    mixed = kd_augment(x, none.replace(mixup=1.0), gen)
    levels = mixed.flatten(1)
    assert torch.allclose(levels, levels[:, :1].expand_as(levels))  # a convex mix per image
    assert (levels[:, 0] >= 0).all() and (levels[:, 0] <= 7).all()
    assert not torch.equal(mixed, x)
    cut = kd_augment(x, DistillConfig(cutmix=1.0), gen)
    assert set(cut.unique().tolist()) <= set(range(8))            # pasted pixels, not blends
    noisy = kd_augment(x, none.replace(noise=0.5), gen)
    assert 0.3 < (noisy - x).std() < 0.7
    feats = kd_augment(torch.randn(6, 5), DistillConfig(mixup=1.0, cutmix=1.0, shift=1.0), gen)
    assert feats.shape == (6, 5)                                  # feature vectors: mixup only
    # the KD loss labels the augmented batch with the live teacher: identical nets give 0
    torch.manual_seed(0)
    teacher = build({"family": "mlp", "hidden": [16]}, (1, 4, 4), 3)
    student = build({"family": "mlp", "hidden": [16]}, (1, 4, 4), 3)
    student.load_state_dict(teacher.state_dict())
    stale = torch.zeros(8, 3)                                     # precomputed logits: replaced
    loss = _kd_fn(DistillConfig(mixup=1.0, noise=0.3), teacher)(student, x, stale)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)


def test_kd_augment_config_errors():
    for field in ("mixup", "cutmix"):
        with pytest.raises(ConfigError, match=field):
            DistillConfig(**{field: 1.5})
    with pytest.raises(ConfigError, match="noise"):
        DistillConfig(noise=-0.1)


def test_distill_cli_help_states_min_steps_default():
    from click.testing import CliRunner

    from deploy.cli.main import cli
    text = " ".join(CliRunner().invoke(cli, ["distill", "--help"]).output.split())
    assert f"DistillConfig.min_steps = {DistillConfig().min_steps}]" in text
    assert f"DistillConfig.cutmix = {DistillConfig().cutmix:g}]" in text
