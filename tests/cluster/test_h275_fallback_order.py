"""The same synthesis job lists its fallback shards alike on every run, resumed or not (h275).

``run_synthesis`` appended each shard the generator made again per pixel
(``fallback_shards``) as the pairs finished it, so with ``--pairs 2`` the list of
``nnsynth invert --json`` followed Ray's scheduling: three runs of one command (mnist5k BN
MLP, 60 inputs in 12 shards of 5) gave [0, 1, 2, 4, 6, 8, 9, 10, 11] twice and
[1, 0, 2, 4, 6, 9, 8, 10, 11] once.  It is in shard order now.  And a rerun of an
interrupted job listed only the shards it wrote itself (with shards 6-11 left to write,
[6, 8, 9, 10, 11] and 'in 5 of 6 shards'), where its fidelity and restarted inputs cover the
whole set: each shard's metadata records its fallback now (``synthesis.fallback``), read
back for the shards kept."""
import torch

from cluster.pairs import run_synthesis, shard_path
from synth.checkpoint import save_checkpoint
from synth.data import input_range, load_dataset
from synth.inversion import settings_for
from synth.models import build
from synth.train import TrainConfig, fit


def _job(name, tmp):
    """(teacher path, config): a BN MLP on ``name``, whose generator (2 warm-up steps)
    misses the floor of 1.0 in the shards below, so they fall back."""
    data = load_dataset(name)
    torch.manual_seed(0)
    teacher = build({"family": "mlp", "hidden": [16], "bn": True}, data.input_shape,
                    data.num_classes)
    fit(teacher, data, TrainConfig(epochs=1, seed=0, progress=False))
    path = tmp / "t.pt"
    save_checkpoint(path, teacher.eval(), dataset=data.metadata(), metrics={})
    config = settings_for(teacher, value_range=input_range(data.metadata()), iterations=4)
    assert config.method == "amortized" and config.fallback, config
    config = config.replace(min_fidelity=1.0, stop_fidelity=1.0,
                            amortized={**(config.amortized or {}), "steps": 2})
    return path, config


def _listed(summary):
    return [r["index"] for r in summary.get("fallback_shards", [])]


def test_fallback_shards_are_listed_in_shard_order(ray_local, tmp_path):
    """Shard 1 holds one input, shard 0 twenty: shard 1's pair finishes first."""
    path, config = _job("mnist5k[0,1]", tmp_path)
    summary = run_synthesis(path, tmp_path / "syn", 21, 2, config, shard_size=20, seed=1)
    assert sorted(_listed(summary)) == [0, 1], summary   # both fell back: the order is tested
    assert _listed(summary) == [0, 1], summary


def test_a_resumed_job_lists_the_kept_shards_fallbacks(ray_local, tmp_path):
    path, config = _job("mnist5k", tmp_path)
    whole = run_synthesis(path, tmp_path / "whole", 15, 1, config, shard_size=5, seed=2)
    assert _listed(whole) == [0, 1, 2], whole
    out = tmp_path / "resumed"
    run_synthesis(path, out, 15, 1, config, shard_size=5, seed=2)
    shard_path(out, 2).unlink()   # as if interrupted before the last shard
    resumed = run_synthesis(path, out, 15, 1, config, shard_size=5, seed=2)
    assert resumed["written"] == 1 and resumed["skipped"] == 2, resumed
    assert _listed(resumed) == [0, 1, 2], resumed   # [2] before
    timeless = [{k: v for k, v in r.items() if not k.endswith("_seconds")}
                for r in whole["fallback_shards"]]
    assert [{k: v for k, v in r.items() if not k.endswith("_seconds")}
            for r in resumed["fallback_shards"]] == timeless
    # the note's count: of every shard ('in 1 of 1 shards' before)
    assert whole.get("fallback_checked") == resumed.get("fallback_checked") == 3, resumed
