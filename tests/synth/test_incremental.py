"""Incremental learning: data merge/split, training to a target with exact cost accounting,
the grow-and-prune update, the four-way comparison and the CLI."""
import json
import math

import pytest
import torch

from synth import masked
from synth.errors import ConfigError, UserError
from synth.incremental import (BACKWARD_FACTOR, IncrementalConfig, Meter, compare, dense_copy,
                               incremental_update, merge, replay_set, split_dataset, train_until)
from synth.models import build, count_flops

MLP = {"family": "mlp", "hidden": [16]}


@pytest.fixture(scope="module")
def parts(digits):
    return split_dataset(digits, 0.6, seed=0)


def sparse_mlp(data, keep=0.5, hidden=16):
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [hidden]}, data.input_shape, data.num_classes)
    masked.attach_masks(model)
    masked.prune_connections(model, 1 - keep, "lamp")
    return model


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


def test_replay_set_is_new_plus_a_share_of_old(parts):
    old, new = parts
    x, y = replay_set(old, new, 0.5, seed=0)
    assert len(y) == len(new.y_train) + round(0.5 * len(new.y_train))
    assert torch.equal(x[:len(new.y_train)], new.x_train)
    assert len(replay_set(old, new, 100.0, seed=0)[1]) == len(old.y_train) + len(new.y_train)


def test_train_until_counts_sparse_macs_per_sample_and_each_check(parts):
    old, _ = parts
    model = sparse_mlp(old, keep=0.25)
    sparse = masked.sparse_flops(model, old.input_shape)
    assert sparse < count_flops(model, old.input_shape) / 3
    config = IncrementalConfig(batch_size=32, check_every=50, device="cpu")
    meter = Meter((old.x_val, old.y_val), old.input_shape)
    reached = train_until(model, old.x_train, old.y_train, 2.0, 100, config, meter, seed=0)
    assert not reached and meter.samples == 100
    assert meter.train_macs == BACKWARD_FACTOR * sparse * 100
    # checks: at the start, after 64 samples (>= 50) and at the budget's end (100)
    assert [t["samples"] for t in meter.trajectory] == [0, 64, 100]
    assert meter.eval_macs == 3 * sparse * len(old.y_val)
    assert masked.connections(model) == masked.connections(sparse_mlp(old, keep=0.25))


def test_train_until_stops_at_once_when_the_target_is_met(parts):
    old, _ = parts
    meter = Meter((old.x_val, old.y_val), old.input_shape)
    assert train_until(sparse_mlp(old), old.x_train, old.y_train, 0.0, 1000,
                       IncrementalConfig(device="cpu"), meter, seed=0)
    assert meter.samples == 0 and meter.train_macs == 0 and len(meter.trajectory) == 1


def test_update_grows_by_gradient_prunes_back_and_counts_growth(parts):
    old, new = parts
    model = sparse_mlp(old)
    start = masked.connections(model)
    config = IncrementalConfig(growth_ratio=0.25, growth_batches=2, batch_size=32,
                               prune_fraction=0.2, device="cpu")
    updated, s = incremental_update(model, old, new, config, target=0.01)  # met at every check
    grown = s["grown"]          # round(0.25 x active) per layer
    assert s["reached"] and abs(grown - 0.25 * start) <= 2
    assert s["pruned"] == round(0.2 * (start + grown))
    assert s["connections"] == start + grown - s["pruned"]
    assert masked.connections(model) == start                 # the input model is untouched
    sparse = start + grown      # the growth pass ran at the sparse cost before growing
    growth = (2 * start + count_flops(model, old.input_shape)) * 2 * 32
    assert s["growth_macs"] == growth and s["samples"] == 2 * 32
    assert s["train_macs"] == growth + s["eval_macs"]         # no training step was needed
    assert s["eval_macs"] == (sparse + s["connections"]) * len(new.y_val)
    assert s["train_samples"] == len(new.y_train) + round(0.5 * len(new.y_train))


def test_update_grows_again_while_the_target_is_not_reached(parts):
    old, new = parts
    model = sparse_mlp(old, keep=0.2)
    start = masked.connections(model)
    config = IncrementalConfig(growth_ratio=0.5, growth_batches=1, growth_rounds=3,
                               round_epochs=0.05, max_epochs=0.5, replay_ratio=0.0,
                               device="cpu")
    _, s = incremental_update(model, old, new, config, target=1.0)   # out of reach
    assert not s["reached"] and s["growth_rounds"] == 3 and s["pruned"] == 0
    assert s["connections"] == start + s["grown"] and s["grown"] > start * (1.5 ** 2 - 1)
    budget = math.ceil(0.5 * (len(old.y_train) + len(new.y_train)))
    assert s["samples"] == budget + 3 * 64      # the whole budget + three growth passes
    _, s = incremental_update(model, old, new, config.replace(growth_rounds=0), target=1.0)
    assert s["grown"] == 0 and s["growth_rounds"] == 0 and s["training_rounds"] == 1


def test_update_undoes_a_prune_step_that_cannot_recover(parts):
    old, new = parts
    model = sparse_mlp(old, keep=0.8, hidden=32)
    from synth.train import TrainConfig, evaluate, fit
    fit(model, old, TrainConfig(epochs=3, lr=0.1, device="cpu", progress=False))
    before = masked.connections(model)
    target = evaluate(model, new.x_val, new.y_val)["accuracy"] - 0.05
    config = IncrementalConfig(growth_ratio=0.1, growth_batches=1, prune_fraction=0.99,
                               max_epochs=0.01, device="cpu")
    updated, s = incremental_update(model, old, new, config, target=target)
    assert s["reached"] and s["pruned"] == 0
    assert s["connections"] == before + s["grown"]            # pruning undone, growth kept
    assert s["val_accuracy"] >= target


def test_compare_sets_the_target_from_dense_fine_tuning_and_reports_four_methods(parts):
    old, new = parts
    model = sparse_mlp(old)
    config = IncrementalConfig(growth_batches=2, plateau_epochs=1, max_epochs=1,
                               check_every=256, device="cpu")
    r = compare(model, old, new, config)
    assert r["target"] == pytest.approx(r["plateau"]["plateau_val_accuracy"] - 0.005)
    for key in ("incremental", "finetune", "finetune_sparse", "scratch"):
        s = r[key]
        assert 0 <= s["test_accuracy"] <= 1 and s["train_macs"] >= s["eval_macs"] > 0
        if s["reached"]:
            assert s["val_accuracy"] >= 0
    full = count_flops(model, old.input_shape)
    assert r["scratch"]["connections"] == full
    assert r["finetune_sparse"]["connections"] == masked.connections(model)
    if r["incremental"]["reached"] and r["finetune"]["reached"]:   # else None: a cost to
        assert r["cost_reduction_vs_finetune"] == pytest.approx(      # the target, never
            1 - r["incremental"]["train_macs"] / r["finetune"]["train_macs"])   # a budget
    else:
        assert r["cost_reduction_vs_finetune"] is None
    assert masked.masked_layers(r["model"])
    with pytest.raises(UserError, match="methods must be among"):
        compare(model, old, new, config, methods=("nope",))


def test_a_model_already_at_the_target_is_not_updated_and_costs_one_check(parts):
    """compare checked the peers first (train_until) but grew the sparse model before its
    first check: a model already at the target paid a growth pass, and the update was
    reported far costlier than fine-tuning's one check."""
    old, new = parts
    model = sparse_mlp(old)
    config = IncrementalConfig(target=0.01, growth_batches=2, device="cpu")
    r = compare(model, old, new, config, methods=("incremental", "finetune"))
    assert r["before"]["reached"]
    s = r["incremental"]
    assert s["reached"] and s["grown"] == 0 and s["pruned"] == 0 and s["growth_macs"] == 0
    assert s["samples"] == 0 and s["train_macs"] == s["eval_macs"]      # one check, no step
    assert s["connections"] == masked.connections(model)
    assert r["finetune"]["samples"] == 0
    assert r["cost_reduction_vs_finetune"] >= 0         # one check each: no dearer (the
    # default dense model is this one unmasked, whose pruned weights are still zero)


def test_dense_copy_frees_every_connection_and_keeps_the_function(parts):
    old, _ = parts
    model = sparse_mlp(old)
    dense = dense_copy(model, "cpu")
    assert not masked.masked_layers(dense)
    assert torch.allclose(dense(old.x_test[:5]), model(old.x_test[:5]))
    assert masked.masked_layers(model) and model(old.x_test[:2]).shape == (2, 10)  # unharmed


def test_unmasked_sparse_model_keeps_its_zeros_when_fine_tuned(parts):
    old, new = parts
    torch.manual_seed(0)
    model = build(MLP, old.input_shape, old.num_classes)
    with torch.no_grad():
        model.net[1].weight[:, ::2] = 0.0            # zeros, but no masks (as after compaction)
    nonzero = masked.connections(model)
    config = IncrementalConfig(growth_batches=1, target=0.5, max_epochs=1, device="cpu")
    r = compare(model, old, new, config, methods=("finetune_sparse",))
    assert r["before"]["connections"] == nonzero == r["finetune_sparse"]["connections"]
    assert "plateau" not in r and r["target"] == 0.5


def test_cli_incremental_updates_a_checkpoint(digits, tmp_path):
    from click.testing import CliRunner
    from deploy.cli.main import cli
    from synth.checkpoint import load_model, save_checkpoint
    model = sparse_mlp(digits)
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, dataset=digits.metadata(), masks=masked.masks_of(model))
    out = tmp_path / "u.pt"
    args = ["incremental", "--model", str(path), "--old", "digits", "--new", "digits",
            "--max-epochs", "0.5", "--target", "0.5", "--out", str(out)]
    r = CliRunner().invoke(cli, args + ["--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output.strip().splitlines()[-1])
    assert set(res) >= {"target", "incremental", "finetune", "finetune_sparse", "scratch"}
    assert masked.connections(load_model(out)) == res["incremental"]["connections"]
    r = CliRunner().invoke(cli, args + ["--growth-ratio", "0.1"])
    assert r.exit_code == 0 and "grow-and-prune" in r.output and "vs fine-tune dense" in r.output
    r = CliRunner().invoke(cli, args + ["--replay-ratio", "-1"])
    assert r.exit_code == 2 and "--replay-ratio must be" in r.output


def test_cli_incremental_refuses_an_infinite_replay_ratio(tmp_path):
    """--replay-ratio inf passed the range check (no upper bound) and was an OverflowError
    traceback from int(inf) in the replay set."""
    from click.testing import CliRunner
    from deploy.cli.main import cli
    r = CliRunner().invoke(cli, ["incremental", "--model", str(tmp_path / "absent.pt"),
                                 "--old", "digits", "--new", "digits", "--replay-ratio", "inf"])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert "--replay-ratio must be a finite number in [0, inf), got inf" in lines[0]


def test_cli_old_fraction_with_two_data_sets_is_refused(tmp_path):
    """--old-fraction splits one set; with --old iris --new wine it was ignored without a
    word.  Its default, shown in --help, is the library's."""
    from click.testing import CliRunner
    from deploy.cli.main import cli
    from synth.incremental import OLD_FRACTION
    r = CliRunner().invoke(cli, ["incremental", "--model", str(tmp_path / "absent.pt"),
                                 "--old", "iris", "--new", "wine", "--old-fraction", "0.5"])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert "--old-fraction splits one data set" in lines[0] and "drop --old-fraction" in lines[0]
    help_text = " ".join(CliRunner().invoke(cli, ["incremental", "--help"]).output.split())
    assert f"OLD_FRACTION = {OLD_FRACTION}" in help_text
