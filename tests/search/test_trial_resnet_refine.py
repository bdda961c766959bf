"""A search that grows and prunes every trial (SearchConfig.grow_prune) on a space with a
resnet: the trial trained and pruned the resnet, then failed in compaction (a residual sum
ties the widths it joins) and the trial was lost.  Now the resnet is kept masked and its
result counts its nonzero parameters."""
import json

import torch

from search.run import SearchConfig
from search.searchers import DONE_KEY
from synth.compact import compact_if_supported
from synth.models import build, count_parameters

RESNET = {"family": "resnet", "depths": [1], "width": 4}


def test_compact_if_supported_keeps_a_resnet_and_compacts_an_mlp():
    resnet = build(RESNET, (1, 8, 8), 10)
    assert compact_if_supported(resnet) is resnet
    mlp = build({"family": "mlp", "hidden": [16]}, (64,), 10).eval()
    with torch.no_grad():
        mlp.net[1].weight[:8] = 0          # 8 hidden units with no input: removed
        mlp.net[1].bias[:8] = -1           # relu(-1) = 0: nothing to fold
    small = compact_if_supported(mlp)
    assert count_parameters(small) < count_parameters(mlp)


def test_a_grow_prune_trial_of_a_resnet_finishes_masked(tmp_path, monkeypatch):
    from tests.search._trial import run_trial_here
    config = SearchConfig(dataset="digits", epochs=1, min_steps=0, hardware=False, grow_prune={
        "prune_steps": 1, "prune_fraction": 0.5, "retrain_epochs": 1})
    settings = {**config.to_dict(), "out_dir": str(tmp_path), "data_seed": 0}
    final = run_trial_here(monkeypatch, "r1", {"spec": json.dumps(RESNET)}, settings)[-1]
    assert final[DONE_KEY] is True
    assert final["nonzero_parameters"] < final["parameters"]
