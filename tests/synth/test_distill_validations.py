"""The validation split is evaluated a bounded number of times in one distillation: a set of
64 synthesized inputs takes one SGD step per epoch, so the 1,920-step floor made 1,920
evaluations of the real validation split (more than the training cost)."""
import torch

from synth.distill import MAX_VALIDATIONS, DistillConfig, distill, distill_train_config
from synth.models import build
from tests.synth._tiny import TINY_SPEC, tiny_teacher


def test_min_steps_on_a_tiny_set_validates_a_bounded_number_of_times(digits):
    teacher, _ = tiny_teacher(digits)
    x = torch.randn(10, *digits.input_shape, generator=torch.Generator().manual_seed(0))
    config = DistillConfig(epochs=1, min_steps=250, batch_size=64, cutmix=0.0, progress=False)
    student = build(TINY_SPEC, digits.input_shape, digits.num_classes)
    metrics = distill(student, teacher, x, digits, config)
    history = metrics["history"]
    assert len(history) <= MAX_VALIDATIONS < 250            # 250 before: one per one-step epoch
    assert history[-1]["epoch"] == 250                      # the last epoch is always validated
    assert [h["epoch"] for h in history] == sorted({h["epoch"] for h in history})


def test_few_epochs_still_validate_every_epoch():
    train = distill_train_config(DistillConfig(epochs=30, min_steps=0), 1000)
    assert train.epochs == 30 and train.validate_every == 1
    train = distill_train_config(DistillConfig(epochs=1, min_steps=1920, batch_size=128), 64)
    assert train.epochs == 1920 and 1920 / train.validate_every <= MAX_VALIDATIONS


def test_validation_cadence_does_not_change_the_student(digits):
    """keep_best off (the default): validating fewer epochs gives the same weights."""
    import synth.distill as sd
    teacher, _ = tiny_teacher(digits)
    x = torch.randn(10, *digits.input_shape, generator=torch.Generator().manual_seed(1))
    config = DistillConfig(epochs=1, min_steps=60, batch_size=64, progress=False)
    results = []
    for bound in (MAX_VALIDATIONS, 10):
        old, sd.MAX_VALIDATIONS = sd.MAX_VALIDATIONS, bound
        try:
            torch.manual_seed(0)
            student = build(TINY_SPEC, digits.input_shape, digits.num_classes)
            distill(student, teacher, x, digits, config)
        finally:
            sd.MAX_VALIDATIONS = old
        results.append(student.state_dict())
    for k, v in results[0].items():
        assert torch.equal(v, results[1][k]), k
