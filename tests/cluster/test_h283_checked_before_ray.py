"""A resumed ``nnsynth invert`` checks what it takes from its earlier run -- the amortized
job's generator.pt, each ADI pair's saved student -- before Ray starts (helper h283).  The
checks (h278) ran as the pairs started: a file of another shape was refused only after a
local Ray and the pair actors were up (~20 s under load, 27 s against 7.6 s for the CLI
refusal of an ADI student of another width).  Ray is never needed here: before the fix the
test finds that a local Ray was started (cluster.connect's log record; invert shuts its Ray
down again on the way out)."""
import logging

import pytest
import torch

from cluster.invert import invert_checkpoint
from cluster.pairs import GENERATOR, STUDENTS
from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.errors import UserError
from synth.files import claim_dir
from synth.models import build


@pytest.fixture
def teacher(tmp_path):
    data = load_dataset("iris")
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [16], "bn": True}, data.input_shape,
                  data.num_classes)
    path = tmp_path / "t.pt"
    save_checkpoint(path, model.eval(), dataset=data.metadata(), metrics={})
    return path


def _refused_before_ray(call, phrase, caplog):
    import ray
    # a Ray an earlier module of this process left for reuse (conftest's ray_local): shut
    # down, so that one started by the call is told (the next module's ray_local starts anew)
    ray.shutdown()
    caplog.set_level(logging.INFO, logger="cluster.connect")
    try:
        with pytest.raises(UserError, match=phrase):
            call()
        started = [r.getMessage() for r in caplog.records if "local Ray" in r.getMessage()]
        assert not started and not ray.is_initialized(), started
    finally:
        ray.shutdown()


def test_a_saved_generator_of_another_job_is_refused_before_ray(tmp_path, teacher, caplog):
    out = claim_dir(tmp_path / "syn", "--out")
    torch.save({"state_dict": {"lo": torch.zeros(3, 3)}, "stats": {"steps": 2}}, out / GENERATOR)
    _refused_before_ray(lambda: invert_checkpoint(
        teacher, out, 6, method="amortized", iterations=2, shard_size=3, progress=False,
        num_cpus=1), "is not this job's generator", caplog)


def test_a_saved_adi_student_of_another_width_is_refused_before_ray(tmp_path, teacher, caplog):
    out = claim_dir(tmp_path / "syn", "--out")
    (out / STUDENTS).mkdir()
    other = build({"family": "mlp", "hidden": [12]}, (4,), 3)
    save_checkpoint(out / STUDENTS / "pair-0.pt", other, metrics={"kd_steps": 2})
    _refused_before_ray(lambda: invert_checkpoint(
        teacher, out, 6, adi=True, student={"family": "mlp", "hidden": [8]}, kd_steps=1,
        iterations=2, shard_size=3, progress=False, num_cpus=1),
        "is not the ADI student this job saved", caplog)
