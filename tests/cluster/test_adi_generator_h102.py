"""ADI (nnsynth invert --adi, the pipeline's synthesis with a student and adi_weight > 0) where
settings_for names a generator for the teacher: run_synthesis took the generator's path, which
trained and sampled against the student as initialized (no KD, nothing saved, --kd-steps
unused, protocol "amortized"); now the ADI protocol runs per pixel and says so, and an
explicit --method amortized with --adi is refused in one line."""
import pytest
import torch

import cluster.pairs
from cluster.invert import invert_checkpoint
from cluster.pairs import STUDENTS, run_synthesis
from synth.checkpoint import save_checkpoint
from synth.distill import DistillConfig
from synth.errors import UserError
from synth.inversion import settings_for
from synth.models import build
from tests.synth._tiny import TINY_SPEC

META = {"name": "digits16", "input_shape": [1, 16, 16], "num_classes": 10, "mean": [0.0],
        "std": [1.0]}
PER_PIXEL = "ADI synthesizes per pixel"


@pytest.fixture(scope="module")
def teacher16(tmp_path_factory):
    """A 16 px convnet with global pooling and BatchNorm2d only (settings_for: a generator)."""
    torch.manual_seed(0)
    model = build(TINY_SPEC, META["input_shape"], META["num_classes"]).eval()
    return save_checkpoint(tmp_path_factory.mktemp("t16") / "t16.pt", model, dataset=META), model


def test_adi_settings_run_per_pixel_only_where_adi_meets_a_generator(teacher16):
    _, model = teacher16
    config = settings_for(model, iterations=3, device="cpu").replace(adi_weight=1.0)
    assert config.method == "amortized"
    ran, note = cluster.pairs.adi_settings(config, student=object())
    assert ran == config.replace(method="deepinversion") and PER_PIXEL in note
    for unchanged in ((config, None), (config.replace(adi_weight=0.0), object()),
                      (config.replace(method="deepinversion"), object())):
        assert cluster.pairs.adi_settings(*unchanged) == (unchanged[0], None)


def test_adi_with_an_explicit_generator_is_refused_in_one_line(teacher16, tmp_path):
    path, _ = teacher16
    with pytest.raises(UserError, match="--adi and --method amortized do not combine"):
        invert_checkpoint(path, tmp_path / "o", 10, adi=True, student=TINY_SPEC,
                          method="amortized", iterations=3, progress=False)
    assert not (tmp_path / "o").exists()


@pytest.mark.timeout(300)
def test_adi_on_a_generator_teacher_runs_the_adi_protocol(ray_local, teacher16, tmp_path):
    path, model = teacher16
    config = settings_for(model, iterations=3, batch_size=10, device="cpu").replace(
        adi_weight=1.0)
    assert config.method == "amortized"
    out = tmp_path / "adi"
    summary = run_synthesis(path, out, 10, pairs=1, config=config, student_spec=TINY_SPEC,
                            shard_size=10, seed=1,
                            distill=DistillConfig(kd_steps_per_round=2, device="cpu"))
    assert summary["protocol"] == "adi" and PER_PIXEL in summary["adi_note"]
    assert summary["student_kd_steps"] == {0: 2}              # the student learned
    assert (out / STUDENTS / "pair-0.pt").is_file() and not (out / "generator.pt").exists()
