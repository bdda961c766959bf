"""``nnsynth invert --adi --pairs 2`` is reproducible: shard i is pair (i mod 2)'s, run in
order, whichever pair finishes first.  Handed to the first free pair, the shards a pair's
student had learned from before each of its own hung on timing: two runs of one job (40
digits, shards of 5, 2 pairs) wrote 2 of 8 shards differently and different students."""
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


@pytest.fixture(scope="module")
def teacher_path(digits, tmp_path_factory):
    return one_thread_teacher_checkpoint(digits, tmp_path_factory.mktemp("t"))


def _run(teacher_path, out):
    """20 images in 4 shards of one ADI round each, on 2 pairs."""
    summary = run_synthesis(teacher_path, out, 20, 2, CONFIG, student_spec=STUDENT, seed=3,
                            shard_size=5, distill=KD)
    assert summary["written"] == 4 and summary["pairs"] == 2
    return summary


def _shards(out) -> list:
    return [pq.read_table(p).column("x").to_pylist() for p in sorted(out.glob("shard-*"))]


def _students(out) -> list[dict]:
    return [read_checkpoint(out / "students" / f"pair-{i}.pt")["state_dict"] for i in (0, 1)]


def _pool_shards(out) -> list[list[int]]:
    return [torch.load(out / "students" / f"pair-{i}.kd.pt", weights_only=True)["shards"]
            for i in (0, 1)]


def test_two_pair_adi_runs_write_the_same_set_whichever_pair_finishes_first(
        ray_local, teacher_path, tmp_path, monkeypatch):
    first = tmp_path / "first"
    _run(teacher_path, first)
    # the second run sees pair 1 finish first every time (the latest call returns first):
    # before, pair 1 then took every shard after the first, and pair 0 had one
    real_wait = ray_local.wait

    def latest_first(refs, num_returns=1, **kwargs):
        real_wait(refs, num_returns=len(refs), **kwargs)
        return refs[-1:], refs[:-1]

    monkeypatch.setattr(ray_local, "wait", latest_first)
    second = tmp_path / "second"
    _run(teacher_path, second)
    monkeypatch.undo()
    assert _pool_shards(first) == _pool_shards(second) == [[0, 2], [1, 3]]
    assert _shards(first) == _shards(second)
    for a, b in zip(_students(first), _students(second)):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
