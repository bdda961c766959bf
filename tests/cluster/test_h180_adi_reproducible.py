"""``nnsynth invert --adi`` is reproducible: each pair's student is built from the job's seed
(``cluster.pairs.pair_seed``), so two runs of one job write the same inputs and students;
two runs of --adi --student lenet5_bn on one teacher differed by up to 0.013 in every shard
(the competition term, Eq. 8, ran against differently initialized students)."""
import pyarrow.parquet as pq
import pytest
import torch

from cluster.pairs import run_synthesis
from synth.checkpoint import read_checkpoint
from synth.distill import DistillConfig
from synth.inversion import InversionConfig
from tests.synth._tiny import one_thread_teacher_checkpoint

STUDENT = {"family": "mlp", "hidden": [16]}
CONFIG = InversionConfig(iterations=3, batch_size=5, early_stop=False, adi_weight=1.0,
                         device="cpu")
KD = DistillConfig(kd_steps_per_round=2, batch_size=8, lr=0.05, device="cpu", seed=3)
JOB = dict(student_spec=STUDENT, seed=3, shard_size=10, distill=KD)


@pytest.fixture(scope="module")
def teacher_path(digits, tmp_path_factory):
    return one_thread_teacher_checkpoint(digits, tmp_path_factory.mktemp("t"))


def _run(teacher_path, out, **extra):
    return run_synthesis(teacher_path, out, 30, 1, CONFIG, **JOB, **extra)


def _shards(out) -> list:
    return [pq.read_table(p).column("x").to_pylist() for p in sorted(out.glob("shard-*"))]


def _student(out) -> dict:
    return read_checkpoint(out / "students" / "pair-0.pt")["state_dict"]


@pytest.fixture(scope="module")
def whole(ray_local, teacher_path, tmp_path_factory):
    """The job run whole: 3 shards of 2 ADI rounds on one pair."""
    out = tmp_path_factory.mktemp("adi") / "whole"
    assert _run(teacher_path, out)["written"] == 3
    return out


def _same_student(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_two_runs_of_an_adi_job_write_the_same_set(whole, teacher_path, tmp_path):
    again = tmp_path / "again"
    _run(teacher_path, again)
    assert _shards(again) == _shards(whole)
    assert _same_student(_student(again), _student(whole))


class Interrupted(Exception):
    """Stands for the kill: raised in the driver once the first shard is on disk."""


def test_a_resumed_adi_job_writes_the_set_of_an_uninterrupted_one(whole, teacher_path,
                                                                  tmp_path):
    """A rerun's pair started from the saved student with an empty pool (the earlier shards'
    inputs it had learned from), a fresh optimizer and fresh RNG draws: its KD steps ran on
    the new rounds' inputs alone, and the resumed set differed from the whole run's.  It now
    starts with its pool (read back from the shards it wrote), its optimizer's momentum and
    its draws as the interrupted run left them."""
    out = tmp_path / "resumed"

    def stop(info, pool):
        raise Interrupted(info["index"])

    with pytest.raises(Interrupted):
        _run(teacher_path, out, on_shard=stop)
    assert len(_shards(out)) == 1
    summary = _run(teacher_path, out)
    assert summary["skipped"] == 1 and summary["written"] == 2
    assert _shards(out) == _shards(whole)
    assert _same_student(_student(out), _student(whole))
