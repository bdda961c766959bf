"""A rerun of a generator synthesis job whose shards were all written (interrupted after its
last shard, before it ended, or run again) reports the job's generator, as a resumed job
does: its summary had no ``generator`` and ``generator_pairs`` (h280: ``nnsynth invert`` of a
BN MLP, 4 shards, Ctrl-C after the fourth; the rerun's --json lacked both)."""
from cluster.pairs import run_synthesis
from tests.cluster.test_h275_fallback_order import _job


def test_a_rerun_of_a_finished_generator_job_reports_its_generator(ray_local, tmp_path):
    path, config = _job("mnist5k[0,1]", tmp_path)
    whole = run_synthesis(path, tmp_path / "syn", 4, 1, config, shard_size=2, seed=1)
    assert whole["written"] == 2 and "generator" in whole, whole
    again = run_synthesis(path, tmp_path / "syn", 4, 1, config, shard_size=2, seed=1)
    assert again["written"] == 0 and again["skipped"] == 2, again
    assert again["generator"] == {**whole["generator"], "resumed": True}, again
    assert again["generator_pairs"] == whole["generator_pairs"] == 1
