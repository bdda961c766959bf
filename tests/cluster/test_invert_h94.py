"""``nnsynth invert``'s settings and teacher checks are synth.inversion's own: an iteration cap
below the preset's phases is a shorter run (settings_for bounds them), and a teacher without
BatchNorm is refused in check_teacher's one line, naming the file."""
import json

import pytest
from click.testing import CliRunner

from cluster.invert import invert_checkpoint
from cluster.pairs import run_synthesis
from deploy.cli.main import cli
from synth.checkpoint import save_checkpoint
from synth.errors import UserError
from synth.inversion import InversionConfig
from synth.models import build
from tests.synth._tiny import TINY_SPEC, one_thread_teacher_checkpoint


@pytest.fixture(scope="module")
def teacher_path(digits, tmp_path_factory):
    return one_thread_teacher_checkpoint(digits, tmp_path_factory.mktemp("t"))


def test_an_iteration_cap_below_the_presets_phases_is_a_shorter_run(ray_local, teacher_path,
                                                                     tmp_path):
    """--preset imagenet224 --iterations 5 failed with 'warmup_iterations must be in [0, 5],
    got 100': cluster.invert capped min_iterations and the low-resolution phase itself, not
    the warm-up (settings_for(..., iterations=N) bounds all three)."""
    out = tmp_path / "inv"
    r = CliRunner().invoke(cli, ["invert", "--teacher", str(teacher_path), "--num-images", "10",
                                 "--preset", "imagenet224", "--iterations", "5",
                                 "--batch-size", "10", "--out", str(out), "--json"])
    assert "warmup_iterations" not in r.output, r.output
    summary = json.loads(next(line for line in r.stdout.splitlines() if line.startswith("{")))
    assert summary["written"] == 1 and summary["preset"] == "imagenet224"
    job = json.loads((out / "job.json").read_text())["config"]
    assert job["iterations"] == 5 and job["warmup_iterations"] == 0   # 5 // 10
    assert job["min_iterations"] == 5 and job["lowres_iterations"] == 0



def test_a_teacher_without_batchnorm_is_check_teachers_one_line(digits, tmp_path):
    """invert had a message of its own ('train it with a *_bn model'), run_synthesis a third
    (no advice), where every other inversion says check_teacher's ('train a model with
    bn=true'); each names the file.  Nothing is written and no Ray is started."""
    path = tmp_path / "plain.pt"
    model = build({**TINY_SPEC, "bn": False}, digits.input_shape, digits.num_classes)
    save_checkpoint(path, model, dataset=digits.metadata())
    said = ("teacher has no BatchNorm layers: DeepInversion needs their running statistics; "
            "train its spec with \"bn\": true to invert (nnsynth train --model "
            f"'{json.dumps({**TINY_SPEC, 'bn': True})}')")   # h192: the spec to train
    with pytest.raises(UserError) as e:
        invert_checkpoint(path, tmp_path / "out", 10)
    assert str(e.value) == f"--teacher {path}: {said}"
    with pytest.raises(UserError) as e:
        run_synthesis(path, tmp_path / "out", 10, 1, InversionConfig(iterations=2))
    assert str(e.value) == f"{path}: {said}"
    assert not (tmp_path / "out").exists()
