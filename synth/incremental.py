"""Incremental learning by grow-and-prune (Dai, Yin & Jha 2019) with its training cost.

When new data arrives for a grown-and-pruned model, instead of training again from scratch:
1. grow connections by the gradient on the new data, then train on the new data;
2. grow connections by the gradient on new + old data, then train on both;
3. prune iteratively on new + old data (``synth.grow_prune``).
The cost is counted in training multiply-accumulates: 3 x the sparse forward MACs per sample
(forward + the two backward products) x samples processed; a growth pass costs the *dense* MACs
(the dormant connections' gradients are computed too).  ``compare`` runs the update against
training from scratch (dense training then the same pruning) and against fine-tuning the old
sparse model, and reports cost, connections and accuracy of each.
"""
from __future__ import annotations

import copy
import dataclasses

import torch

from synth import masked
from synth.config import Config, check_range
from synth.data import Dataset
from synth.errors import UserError
from synth.grow_prune import GrowPruneSchedule, grow_and_prune
from synth.models import build, count_flops
from synth.train import TrainConfig, evaluate, fit

BACKWARD_FACTOR = 3   # training MACs per forward MAC (forward + input and weight gradients)


@dataclasses.dataclass(frozen=True)
class IncrementalConfig(Config):
    growth_ratio: float = 0.2        # connections grown per growth step (fraction of active)
    growth_batches: int = 20
    new_epochs: int = 2              # step 1: training on the new data
    mixed_epochs: int = 3            # step 2: training on new + old data
    prune_steps: int = 2             # step 3
    prune_fraction: float = 0.2
    retrain_epochs: int = 1
    scratch_epochs: int = 15         # baseline: dense training from scratch, then the same pruning
    finetune_epochs: int = 6         # baseline: fine-tuning the old sparse model on new + old
    lr: float = 0.05
    batch_size: int = 64
    seed: int = 0
    device: str = "auto"

    def validate(self) -> None:
        check_range("growth_ratio", self.growth_ratio, 0, 100, low_open=True)
        for name in ("growth_batches", "new_epochs", "mixed_epochs", "prune_steps",
                     "retrain_epochs", "scratch_epochs", "finetune_epochs", "seed"):
            check_range(name, getattr(self, name), 0, None, integer=True)
        check_range("prune_fraction", self.prune_fraction, 0, 1, low_open=True, high_open=True)
        check_range("lr", self.lr, 0, 10, low_open=True)
        check_range("batch_size", self.batch_size, 1, None, integer=True)

    def train(self, epochs: int, seed_offset: int = 0) -> TrainConfig:
        return TrainConfig(epochs=epochs, lr=self.lr, batch_size=self.batch_size,
                           seed=self.seed + seed_offset, device=self.device, progress=False)

    def schedule(self) -> GrowPruneSchedule:
        return GrowPruneSchedule(prune_steps=self.prune_steps, prune_fraction=self.prune_fraction,
                                 retrain_epochs=self.retrain_epochs, lr=self.lr,
                                 batch_size=self.batch_size, seed=self.seed, device=self.device)


def merge(old: Dataset, new: Dataset) -> Dataset:
    """Training samples of both; validation and test of ``new`` (the data set now served)."""
    if tuple(old.input_shape) != tuple(new.input_shape) or old.num_classes != new.num_classes:
        raise UserError(f"old and new data differ: shapes {old.input_shape} vs {new.input_shape}, "
                        f"classes {old.num_classes} vs {new.num_classes}")
    return dataclasses.replace(new, name=f"{old.name}+{new.name}",
                               x_train=torch.cat([old.x_train, new.x_train]),
                               y_train=torch.cat([old.y_train, new.y_train]))


def _train_cost(model, data: Dataset, epochs: int) -> int:
    return BACKWARD_FACTOR * masked.sparse_flops(model, data.input_shape) * len(data.y_train) * epochs


def _grow_and_train(model, data: Dataset, config: IncrementalConfig, epochs: int, step: int) -> int:
    """One growth step on ``data`` then ``epochs`` of training; returns its training MACs."""
    grads = masked.accumulate_gradients(model, data.x_train, data.y_train,
                                        batches=config.growth_batches,
                                        batch_size=config.batch_size, seed=config.seed + step)
    cost = (BACKWARD_FACTOR * count_flops(model, data.input_shape) * config.growth_batches
            * config.batch_size)
    masked.grow_connections(model, grads, config.growth_ratio)
    cost += _train_cost(model, data, epochs)
    fit(model, data, config.train(epochs, step), desc="incremental")
    return cost


def _prune(model, data: Dataset, config: IncrementalConfig) -> int:
    """Step 3 (shared by the update and the from-scratch baseline); returns its training MACs."""
    if config.prune_steps == 0:
        return 0
    model, history = grow_and_prune(model, data, config.schedule())
    return sum(_train_cost_rows(row, data, config.retrain_epochs) for row in history[1:])


def _train_cost_rows(row: dict, data: Dataset, epochs: int) -> int:
    return BACKWARD_FACTOR * row["flops"] * len(data.y_train) * epochs


def _summary(model, data: Dataset, cost: int, sample_epochs: int) -> dict:
    return {"train_macs": int(cost), "sample_epochs": int(sample_epochs),
            "connections": masked.connections(model),
            "test_accuracy": evaluate(model, data.x_test, data.y_test)["accuracy"]}


def _masked_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A copy whose zero weights are masked (a compacted checkpoint has zeros but no masks)."""
    model = copy.deepcopy(model)
    if not masked.masked_layers(model):
        masked.attach_masks(model, masked.nonzero_masks(model))
    return model


def incremental_update(model: torch.nn.Module, old: Dataset, new: Dataset,
                       config: IncrementalConfig) -> tuple[torch.nn.Module, dict]:
    """Steps 1-3 on a copy of ``model``; returns (updated model, summary with its cost)."""
    model = _masked_copy(model)
    both = merge(old, new)
    cost = _grow_and_train(model, new, config, config.new_epochs, 1)
    cost += _grow_and_train(model, both, config, config.mixed_epochs, 2)
    cost += _prune(model, both, config)
    sample_epochs = (len(new.y_train) * config.new_epochs + len(both.y_train) * (
        config.mixed_epochs + config.prune_steps * config.retrain_epochs))
    return model, _summary(model, both, cost, sample_epochs)


def compare(model: torch.nn.Module, old: Dataset, new: Dataset,
            config: IncrementalConfig) -> dict:
    """The update against training from scratch and against fine-tuning, same data."""
    both = merge(old, new)
    before = _summary(model, both, 0, 0)
    updated, inc = incremental_update(model, old, new, config)
    torch.manual_seed(config.seed)
    scratch = build(model.spec, model.input_shape, model.num_classes)
    masked.attach_masks(scratch)
    cost = _train_cost(scratch, both, config.scratch_epochs)
    fit(scratch, both, config.train(config.scratch_epochs, 3), desc="scratch")
    cost += _prune(scratch, both, config)
    scr = _summary(scratch, both, cost, len(both.y_train) * (
        config.scratch_epochs + config.prune_steps * config.retrain_epochs))
    tuned = _masked_copy(model)
    cost = _train_cost(tuned, both, config.finetune_epochs)
    fit(tuned, both, config.train(config.finetune_epochs, 4), desc="fine-tune")
    fin = _summary(tuned, both, cost, len(both.y_train) * config.finetune_epochs)
    return {"before": before, "incremental": inc, "scratch": scr, "finetune": fin,
            "cost_reduction_vs_scratch": 1 - inc["train_macs"] / scr["train_macs"],
            "cost_reduction_vs_finetune": 1 - inc["train_macs"] / fin["train_macs"],
            "model": updated}


def split_dataset(data: Dataset, old_fraction: float, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Split the training samples at random into "old" and "new" data (shared val/test)."""
    check_range("old_fraction", old_fraction, 0, 1, low_open=True, high_open=True)
    order = torch.randperm(len(data.y_train), generator=torch.Generator().manual_seed(seed))
    cut = int(round(old_fraction * len(order)))
    part = [order[:cut], order[cut:]]
    return tuple(dataclasses.replace(data, name=f"{data.name}:{tag}", x_train=data.x_train[idx],
                                     y_train=data.y_train[idx])
                 for tag, idx in zip(("old", "new"), part))
