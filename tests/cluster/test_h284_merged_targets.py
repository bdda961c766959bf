"""``cluster.pairs.merge_results`` keeps the soft targets of every round (h284).

An ADI shard is synthesized in rounds (one per batch) and merged into one
``InversionResult``; with ``InversionConfig.targets="dirichlet"`` (Zero-Shot KD's data
impressions, the opt-in Python API) each round carries its (N, K) soft ``targets``, and the
merge dropped them: the merged result said None, as if the inputs had one-hot targets."""
import dataclasses

import torch

from cluster.pairs import merge_results
from synth.inversion import balanced_labels, settings_for, synthesize
from synth.models import build


def test_merged_rounds_carry_their_soft_targets_in_order():
    torch.manual_seed(0)   # a BN MLP of 4 features and 3 classes (no data set is read)
    teacher = build({"family": "mlp", "hidden": [8], "bn": True}, (4,), 3).eval()
    value_range = (torch.full((4,), -3.0), torch.full((4,), 3.0))   # normalized units
    config = dataclasses.replace(settings_for(teacher, value_range=value_range),
                                 targets="dirichlet", iterations=5, min_iterations=0)
    rounds = [synthesize(teacher, balanced_labels(n, 3), config, pixel_range=value_range,
                         seed=seed) for seed, n in ((0, 6), (1, 4))]
    assert all(r.targets is not None and r.targets.shape == (len(r.labels), 3) for r in rounds)
    merged = merge_results(rounds)
    assert merged.targets is not None, "the merge dropped the soft targets"
    assert torch.equal(merged.targets, torch.cat([r.targets for r in rounds]))
    assert torch.equal(merged.labels, torch.cat([r.labels for r in rounds]))
    # one-hot rounds still merge to no targets
    onehot = [dataclasses.replace(r, targets=None) for r in rounds]
    assert merge_results(onehot).targets is None
