"""h184: dense fine-tuning of the default dense model (the sparse one with its masks removed,
``dense_copy``: its pruned weights start at 0) was charged the sparse model's MACs per
training sample for the whole run (``train_until`` priced a sample by the weights nonzero at
its start), though every weight of the dense copy trains from the first step.  Recomputed
here from the layers' weights and masks.

Also h184: the incremental update's ``growth_rounds`` counted its training rounds, growth or
none: an update with growth off (``growth_rounds=0``, or a model already at the target, which
``compare`` updates with growth off) said ``growth_rounds: 1, grown: 0``, and the benchmark's
no-growth ablation (``growth_ratio=0``) said 3 rounds.  It now counts the growth passes run;
``training_rounds`` the rounds of training."""
import pytest
import torch

from synth import masked
from synth.incremental import (BACKWARD_FACTOR, IncrementalConfig, Meter, compare, dense_copy,
                               incremental_update, split_dataset, train_until)
from synth.models import build, count_flops


@pytest.fixture(scope="module")
def parts(digits):
    return split_dataset(digits, 0.6, seed=0)


def sparse_mlp(data, keep=0.5):
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [16]}, data.input_shape, data.num_classes)
    masked.attach_masks(model)
    masked.prune_connections(model, 1 - keep, "lamp")
    return model


def test_dense_fine_tuning_of_a_pruned_model_is_charged_the_dense_macs(parts):
    old, _ = parts
    model = sparse_mlp(old, keep=0.25)
    dense = dense_copy(model, "cpu")            # pruned weights at 0, all of them trainable
    full = count_flops(dense, old.input_shape)
    assert masked.sparse_flops(dense, old.input_shape) < full / 3
    meter = Meter((old.x_val, old.y_val), old.input_shape)
    config = IncrementalConfig(batch_size=32, check_every=50, device="cpu")
    train_until(dense, old.x_train, old.y_train, 2.0, 100, config, meter, seed=0)
    assert meter.samples == 100
    # recomputed: each training sample is a forward, an input and a weight gradient over
    # every weight of the dense model (an MLP: one MAC per weight and sample)
    weights = sum(m.weight.numel() for m in dense.modules() if isinstance(m, torch.nn.Linear))
    assert weights == full
    assert meter.train_macs == BACKWARD_FACTOR * full * 100
    # a masked model still pays its active connections only
    sparse = sparse_mlp(old, keep=0.25)
    meter = Meter((old.x_val, old.y_val), old.input_shape)
    train_until(sparse, old.x_train, old.y_train, 2.0, 100, config, meter, seed=0)
    active = sum(int(m.mask.sum()) for _, _, m in masked.masked_layers(sparse))
    assert meter.train_macs == BACKWARD_FACTOR * active * 100


def test_compare_charges_the_default_dense_model_dense(parts):
    old, new = parts
    model = sparse_mlp(old, keep=0.25)
    full = count_flops(model, old.input_shape)
    config = IncrementalConfig(target=1.0, max_epochs=0.05, min_steps=0, check_every=10_000,
                               device="cpu")
    r = compare(model, old, new, config, methods=("finetune", "finetune_sparse"))
    tuned, sparse = r["finetune"], r["finetune_sparse"]
    assert tuned["samples"] == sparse["samples"] > 0
    assert tuned["train_macs"] - tuned["eval_macs"] == BACKWARD_FACTOR * full * tuned["samples"]
    active = masked.connections(model)
    assert (sparse["train_macs"] - sparse["eval_macs"]
            == BACKWARD_FACTOR * active * sparse["samples"])


def test_an_update_without_growth_reports_no_growth_round(parts):
    old, new = parts
    model = sparse_mlp(old, keep=0.2)
    config = IncrementalConfig(growth_ratio=0.5, growth_batches=1, growth_rounds=0,
                               max_epochs=0.05, replay_ratio=0.0, device="cpu")
    _, s = incremental_update(model, old, new, config, target=1.0)     # out of reach
    assert s["grown"] == 0 and s["growth_macs"] == 0
    assert s["growth_rounds"] == 0 and s["training_rounds"] == 1
    # growth_ratio 0 (benchmarks/incremental.py's no-growth ablation): rounds of training,
    # no growth pass
    _, s = incremental_update(model, old, new, config.replace(growth_rounds=3, growth_ratio=0.0,
                                                              round_epochs=0.01), target=1.0)
    assert s["grown"] == 0 and s["growth_rounds"] == 0 and s["training_rounds"] == 3
    # growth on: one pass per round, each paid for
    _, s = incremental_update(model, old, new, config.replace(growth_rounds=2,
                                                              round_epochs=0.01), target=1.0)
    assert s["growth_rounds"] == 2 == s["training_rounds"] and s["grown"] > 0
    assert s["growth_macs"] > 0


def test_a_model_at_the_target_reports_no_growth_round(parts):
    old, new = parts
    r = compare(sparse_mlp(old), old, new,
                IncrementalConfig(target=0.01, growth_batches=2, device="cpu"),
                methods=("incremental",))
    s = r["incremental"]
    assert s["grown"] == 0 and s["growth_rounds"] == 0 and s["training_rounds"] == 1
