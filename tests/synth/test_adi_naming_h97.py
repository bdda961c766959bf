"""distill --data-free (synth.distill.adi_distill): the teacher is checked where it is
inverted, once per round, in check_teacher's words named after the file (name= through
adi_distill to synthesize; distill_checkpoint no longer checks it first on its own); and
where the inversion settings name a generator for the teacher, ADI says in one info line that
it synthesizes per pixel instead of ignoring the method without a word."""
import logging

import pytest
import torch

import synth.inversion as inversion
from synth.checkpoint import save_checkpoint
from synth.distill import DistillConfig, adi_distill
from synth.errors import UserError
from synth.inversion import InversionConfig, settings_for
from synth.models import build
from synth.workflows import distill_checkpoint
from tests.synth._tiny import TINY_SPEC

ONE_ROUND = dict(rounds=1, images_per_round=10, kd_steps_per_round=1, final_kd_steps=0,
                 min_steps=0, device="cpu", progress=False)
META = {"input_shape": [1, 16, 16], "num_classes": 10, "mean": [0.0], "std": [1.0]}
RANGE = (torch.tensor([0.0]), torch.tensor([1.0]))
PER_PIXEL_LINE = "ADI synthesizes per pixel"


def _teacher(bn: bool = True):
    """A convnet with global pooling and BatchNorm2d only, 16x16: settings_for names a
    generator for it (untrained: its running statistics are BatchNorm's initial ones)."""
    torch.manual_seed(0)
    return build({**TINY_SPEC, "bn": bn}, META["input_shape"], META["num_classes"]).eval()


def _checks(monkeypatch):
    """The names check_teacher is called with (the real check runs)."""
    names, real = [], inversion.check_teacher
    monkeypatch.setattr(inversion, "check_teacher",
                        lambda teacher, name="": names.append(name) or real(teacher, name))
    return names


def test_data_free_distill_checks_the_teacher_once_by_its_file_name(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "t.pt", _teacher(), dataset=META)
    names = _checks(monkeypatch)
    result = distill_checkpoint(path, TINY_SPEC, tmp_path / "s.pt", DistillConfig(**ONE_ROUND),
                                data_free=True, iterations=5)
    assert names == [f"--teacher {path}"]        # one round: one check, named
    assert result["synthesis_method"] == "deepinversion"


def test_adi_distill_names_the_teacher_in_its_errors():
    student = build(TINY_SPEC, META["input_shape"], META["num_classes"])
    config = InversionConfig(iterations=2, device="cpu")
    with pytest.raises(UserError, match=r"^--teacher t\.pt: teacher has no BatchNorm layers"):
        adi_distill(student, _teacher(bn=False), RANGE, DistillConfig(**ONE_ROUND), config,
                    name="--teacher t.pt")
    with pytest.raises(UserError, match=r"^teacher has no BatchNorm layers"):
        adi_distill(student, _teacher(bn=False), RANGE, DistillConfig(**ONE_ROUND), config)


def test_adi_says_it_synthesizes_per_pixel_where_the_settings_name_a_generator(caplog):
    teacher = _teacher()
    student = build(TINY_SPEC, META["input_shape"], META["num_classes"])
    settings = settings_for(teacher, value_range=RANGE, iterations=3, device="cpu")
    assert settings.method == "amortized"
    for config, lines in ((settings, 1), (settings.replace(method="deepinversion"), 0)):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="synth.distill"):
            metrics = adi_distill(student, teacher, RANGE, DistillConfig(**ONE_ROUND), config)
        said = [r for r in caplog.records if PER_PIXEL_LINE in r.getMessage()]
        assert len(said) == lines and all(r.levelno == logging.INFO for r in said)
        assert metrics["synthesis_method"] == "deepinversion"
