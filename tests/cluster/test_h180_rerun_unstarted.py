"""``nnsynth invert`` killed before its first shard was written leaves its job.json alone; a
rerun with other settings (or after the teacher file changed) was refused as 'holds shards
of a different synthesis job' where there were none, and the folder could only be
abandoned.  The rerun now starts its own job there; a folder holding shards of another job
is still refused, and nothing but nnsynth's own files is removed."""
import json
import shutil

import pytest

from cluster.invert import invert_checkpoint
from synth.errors import UserError
from tests._cli import run
from tests.synth._tiny import one_thread_teacher_checkpoint

SETTINGS = dict(batch_size=10, shard_size=10, early_stop=False, progress=False)


@pytest.fixture(scope="module")
def teacher_path(digits, tmp_path_factory):
    return one_thread_teacher_checkpoint(digits, tmp_path_factory.mktemp("t"))


@pytest.fixture(scope="module")
def finished(ray_local, teacher_path, tmp_path_factory):
    """A finished 10-input job run with 2 iterations per batch."""
    out = tmp_path_factory.mktemp("jobs") / "finished"
    invert_checkpoint(teacher_path, out, 10, iterations=2, **SETTINGS)
    return out


def _unstarted(finished, folder):
    """The folder a kill before the first shard leaves: the job's job.json, nothing else."""
    folder.mkdir()
    shutil.copy(finished / "job.json", folder / "job.json")
    return folder


def test_a_rerun_with_other_settings_starts_in_an_unstarted_folder(finished, teacher_path,
                                                                   tmp_path, caplog):
    out = _unstarted(finished, tmp_path / "inv")
    (out / "students").mkdir()   # a user's file there is kept (a student saved just before
    (out / "students" / "mine.txt").write_text("mine")   # the first shard is not: below)
    r = run(["invert", "--teacher", str(teacher_path), "--num-images", "10", "--iterations",
             "3", "--batch-size", "10", "--shard-size", "10", "--no-early-stop", "--out",
             str(out), "--json"])
    assert r.exit_code == 0, r.output
    assert (f"{out} held a synthesis job that had written no shards yet (it differs in "
            f"config): starting this one") in caplog.text
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["written"] == 1 and summary["rows"] == 10
    assert json.loads((out / "job.json").read_text())["config"]["iterations"] == 3
    assert (out / "students" / "mine.txt").read_text() == "mine"


def test_an_unstarted_job_of_another_threshold_or_its_students_do_not_block(
        finished, teacher_path, tmp_path):
    out = _unstarted(finished, tmp_path / "inv")
    (out / "students").mkdir()   # an ADI student saved just before the first shard: the
    (out / "students" / "pair-0.pt").write_bytes(b"old")   # old job's, removed with it
    summary = invert_checkpoint(teacher_path, out, 10, iterations=2, min_fidelity=0.5,
                                **SETTINGS)
    assert summary["written"] == 1
    assert json.loads((out / "job.json").read_text())["config"]["min_fidelity"] == 0.5
    assert not (out / "students").exists()


def test_a_folder_with_shards_of_another_job_is_still_refused(finished, teacher_path,
                                                              tmp_path):
    out = tmp_path / "inv"
    shutil.copytree(finished, out)
    with pytest.raises(UserError, match="holds shards of a different synthesis job"):
        invert_checkpoint(teacher_path, out, 10, iterations=3, **SETTINGS)
    with pytest.raises(UserError, match="made for min_fidelity 0.95, not 0.5"):
        invert_checkpoint(teacher_path, out, 10, iterations=2, min_fidelity=0.5, **SETTINGS)
    # an amortized job killed after training its generator, before its first shard: that
    # generator is work to resume, kept and named
    out = _unstarted(finished, tmp_path / "amortized")
    (out / "generator.pt").write_bytes(b"its weights")
    with pytest.raises(UserError, match=r"holds the trained generator \(generator.pt\) of a "
                                        r"different synthesis job, no shards yet"):
        invert_checkpoint(teacher_path, out, 10, iterations=3, **SETTINGS)
    assert (out / "generator.pt").read_bytes() == b"its weights"
