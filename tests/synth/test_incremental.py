"""Incremental learning: data merge/split, cost accounting, and the three-way comparison."""
import pytest
import torch

from synth import masked
from synth.errors import ConfigError, UserError
from synth.incremental import (BACKWARD_FACTOR, IncrementalConfig, compare, incremental_update,
                               merge, split_dataset)
from synth.models import build


@pytest.fixture(scope="module")
def parts(digits):
    return split_dataset(digits, 0.6, seed=0)


def test_split_and_merge_keep_every_training_sample(digits, parts):
    old, new = parts
    assert len(old.y_train) + len(new.y_train) == len(digits.y_train)
    assert len(old.y_train) == round(0.6 * len(digits.y_train))
    both = merge(old, new)
    assert sorted(both.y_train.tolist()) == sorted(digits.y_train.tolist())
    assert torch.equal(both.x_test, digits.x_test)
    with pytest.raises(ConfigError, match=r"old_fraction must be in \(0, 1\), got 1.0"):
        split_dataset(digits, 1.0)


def test_merge_rejects_mismatched_sets(digits, parts):
    from synth.data import load_dataset
    with pytest.raises(UserError, match="old and new data differ"):
        merge(parts[0], load_dataset("iris"))


def test_update_grows_then_prunes_and_counts_cost(parts):
    old, new = parts
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [32]}, old.input_shape, old.num_classes)
    masked.attach_masks(model)
    masked.prune_connections(model, 0.8, "magnitude")
    start = masked.connections(model)
    config = IncrementalConfig(growth_ratio=0.5, growth_batches=2, new_epochs=1, mixed_epochs=1,
                               prune_steps=1, prune_fraction=0.2, retrain_epochs=1,
                               device="cpu")
    updated, summary = incremental_update(model, old, new, config)
    grown = round(start * 1.5)
    grown = round(grown * 1.5)
    assert summary["connections"] == grown - round(0.2 * grown)
    assert masked.connections(model) == start            # the input model is untouched
    n_new, n_all = len(new.y_train), len(old.y_train) + len(new.y_train)
    assert summary["sample_epochs"] == n_new + 2 * n_all
    dense_growth = BACKWARD_FACTOR * (64 * 32 + 32 * 10) * 2 * 64
    assert summary["train_macs"] > 2 * dense_growth


def test_compare_reports_three_methods(parts):
    old, new = parts
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [16]}, old.input_shape, old.num_classes)
    masked.attach_masks(model)
    masked.prune_connections(model, 0.5, "lamp")
    config = IncrementalConfig(growth_batches=2, new_epochs=1, mixed_epochs=1, prune_steps=1,
                               retrain_epochs=1, scratch_epochs=2, finetune_epochs=2,
                               device="cpu")
    r = compare(model, old, new, config)
    for key in ("incremental", "scratch", "finetune"):
        assert r[key]["train_macs"] > 0 and 0 <= r[key]["test_accuracy"] <= 1
    assert r["cost_reduction_vs_scratch"] == pytest.approx(
        1 - r["incremental"]["train_macs"] / r["scratch"]["train_macs"])
    assert r["finetune"]["connections"] == masked.connections(model)


def test_unmasked_sparse_model_keeps_its_zeros_when_fine_tuned(parts):
    old, new = parts
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [16]}, old.input_shape, old.num_classes)
    with torch.no_grad():
        model.net[1].weight[:, ::2] = 0.0            # zeros, but no masks (as after compaction)
    nonzero = masked.connections(model)
    config = IncrementalConfig(growth_batches=1, new_epochs=1, mixed_epochs=1, prune_steps=1,
                               retrain_epochs=1, scratch_epochs=1, finetune_epochs=1,
                               device="cpu")
    r = compare(model, old, new, config)
    assert r["before"]["connections"] == nonzero == r["finetune"]["connections"]
