"""The same synthesis job lists its fallback shards in the same order on every run (h275).

``run_synthesis`` appended each shard the generator made again per pixel
(``fallback_shards``) as the pairs finished it, so with ``--pairs 2`` the list of
``nnsynth invert --json`` followed Ray's scheduling: three runs of one command (mnist5k BN
MLP, 60 inputs in 12 shards of 5) gave [0, 1, 2, 4, 6, 8, 9, 10, 11] twice and
[1, 0, 2, 4, 6, 9, 8, 10, 11] once.  It is in shard order now.  Here shard 1 holds one input
and shard 0 twenty, so the pair of shard 1 finishes first; every shard falls back (the floor
is 1.0, the generator trains for 2 steps)."""
import torch

from cluster.pairs import run_synthesis
from synth.checkpoint import save_checkpoint
from synth.data import input_range, load_dataset
from synth.inversion import settings_for
from synth.models import build
from synth.train import TrainConfig, fit


def test_fallback_shards_are_listed_in_shard_order(ray_local, tmp_path):
    data = load_dataset("mnist5k[0,1]")
    torch.manual_seed(0)
    teacher = build({"family": "mlp", "hidden": [16], "bn": True}, data.input_shape,
                    data.num_classes)
    fit(teacher, data, TrainConfig(epochs=1, seed=0, progress=False))
    path = tmp_path / "t.pt"
    save_checkpoint(path, teacher.eval(), dataset=data.metadata(), metrics={})
    config = settings_for(teacher, value_range=input_range(data.metadata()), iterations=4)
    assert config.method == "amortized" and config.fallback, config
    config = config.replace(min_fidelity=1.0, stop_fidelity=1.0)
    config = config.replace(amortized={**(config.amortized or {}), "steps": 2})
    summary = run_synthesis(path, tmp_path / "syn", 21, 2, config, shard_size=20, seed=1)
    indices = [r["index"] for r in summary.get("fallback_shards", [])]
    assert sorted(indices) == [0, 1], summary   # both fell back: the order is tested
    assert indices == [0, 1], summary
