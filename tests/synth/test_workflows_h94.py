"""distill --data-free refuses a teacher it cannot invert in check_teacher's one line (the
words every inversion uses), naming the file."""
import pytest

from synth.checkpoint import save_checkpoint
from synth.distill import DistillConfig
from synth.errors import UserError
from synth.models import build
from synth.workflows import distill_checkpoint
from tests.synth._tiny import TINY_SPEC


def test_data_free_distill_of_a_teacher_without_batchnorm_says_check_teachers_line(digits,
                                                                                  tmp_path):
    path = tmp_path / "plain.pt"
    model = build({**TINY_SPEC, "bn": False}, digits.input_shape, digits.num_classes)
    save_checkpoint(path, model, dataset=digits.metadata())
    with pytest.raises(UserError) as e:
        distill_checkpoint(path, TINY_SPEC, tmp_path / "s.pt", DistillConfig(device="cpu"),
                           data_free=True)
    assert str(e.value) == (f"--teacher {path}: teacher has no BatchNorm layers: DeepInversion "
                            f"needs their running statistics; drop --data-free and give inputs "
                            f"with --synth DIR (a set nnsynth invert made from a teacher with "
                            f"BatchNorm of the same data)")   # h192: what distill can do instead
    assert not (tmp_path / "s.pt").exists()
