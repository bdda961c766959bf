"""Counts of units, channels and features scaled by a fraction round half up, by one rule
(synth.models.round_units) everywhere: Python's round() rounds a half to even, so a width
scaled to 2.5 kept 2 units and one scaled to 3.5 kept 4."""
import pytest
import torch

from synth.models import build, round_units


def test_round_units_rounds_half_up_and_keeps_at_least_least():
    assert [round_units(v) for v in (0.4, 1.5, 2.5, 3.5, 2.49, 2.51)] == [1, 2, 3, 4, 2, 3]
    assert round_units(5 * (1 - 0.9)) == 1 and round_units(0.3, least=2) == 2
    assert round_units(0.2, least=0) == 0


def test_scann_compressed_widths_round_half_up():
    from synth.scann import compressed_widths
    assert compressed_widths([5, 7], 2, 1) == [3, 4]      # round(): [2, 4]


def test_scann_reduced_features_round_half_up():
    from synth.data import load_dataset
    from synth.scann import fit_reduction
    reduced, _ = fit_reduction(load_dataset("wine", seed=0), "gaussian_rp", 0.5)
    assert reduced.input_shape == (7,)                  # 13 * 0.5 = 6.5; round(): 6


def test_dfprune_keeps_half_up():
    from synth.dfprune import global_counts, keep_counts, prunable_groups
    model = build({"family": "mlp", "hidden": [5, 7]}, (4,), 3)
    groups = prunable_groups(model)
    assert sorted(keep_counts(model, groups, 0.5).values()) == [3, 4]   # round(): [2, 4]
    scores = {g.name: torch.arange(g.size, dtype=torch.float) for g in groups}
    # 12 channels at ratio 0.5 keep 6 either way; 7 alone at 0.5 keep 4, as keep_counts
    # does (round() removed 3.5 -> 4 of them and kept 3)
    assert sum(global_counts(scores, groups, 0.5).values()) == 6
    assert [g.size for g in groups] == [5, 7]
    assert global_counts(scores, groups[1:], 0.5) == {groups[1].name: 4}


@pytest.mark.parametrize("width, live", [(5, 3), (7, 4)])
def test_seed_units_round_half_up(width, live):
    from synth.masked import random_masks
    model = build({"family": "mlp", "hidden": [width]}, (4,), 3)
    masks = random_masks(model, 1.0, seed=0, unit_fraction=0.5)
    first = next(iter(masks.values()))
    assert int(first.any(1).sum()) == live                 # round(): 2 of 5, 4 of 7
