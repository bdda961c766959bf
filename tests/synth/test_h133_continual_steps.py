"""Class-incremental learning runs at least ``min_steps`` optimizer steps, and says how many.

``nnsynth continual`` trained ``epochs`` (8) passes over the new classes' data: iris's one new
class (36 samples, one batch of 64) was 8 SGD steps in all, and an iris[0,1] MLP fine-tuned
on class 2 scored 0.10 on it -- the new class barely learned, with nothing saying why.  The
epochs are raised so that at least ``ContinualConfig.min_steps`` (50) steps run (a warning
on stderr names the counts), and the result reports ``steps`` and the ``epochs`` that ran.
A set that already makes that many steps (digits 5-9: 88 at 8 epochs) trains as before.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import re

import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from synth.continual import (ContinualConfig, class_subset, learn_new_classes,
                             per_class_accuracy)
from synth.data import load_dataset
from synth.errors import ConfigError
from synth.models import build
from synth.train import TrainConfig, fit
from tests._cli import json_result, one_error_line, run

MLP = {"family": "mlp", "hidden": [64, 32], "bn": False, "dropout": 0.0}   # mlp_small


@contextlib.contextmanager
def counted_steps():
    """The number of optimizer steps taken inside the block (every optimizer's, counted by
    torch's global post-step hook)."""
    count = [0]
    handle = register_optimizer_step_post_hook(lambda *a: count.__setitem__(0, count[0] + 1))
    try:
        yield count
    finally:
        handle.remove()


def old_model(data, classes, epochs=15):
    """A model of ``classes`` of ``data``, trained as ``nnsynth train`` does (SGD 0.02,
    batch 32)."""
    torch.manual_seed(0)
    model = build(MLP, data.input_shape, len(classes))
    fit(model, class_subset(data, classes), TrainConfig(epochs=epochs, seed=0, device="cpu",
                                                        progress=False))
    return model.eval()


@pytest.fixture(scope="module")
def iris():
    data = load_dataset("iris", seed=0)
    return data, old_model(data, [0, 1])


def test_a_tiny_new_class_gets_min_steps_and_is_learned(iris, caplog):
    data, old = iris
    new = class_subset(data, [2], offset=2)
    assert len(new.y_train) == 36   # one batch of 64: 8 epochs were 8 steps
    config = ContinualConfig(method="finetune", device="cpu", progress=False)
    with counted_steps() as steps, caplog.at_level(logging.WARNING, "synth.continual"):
        model, metrics = learn_new_classes(old, new, config)
    assert steps[0] >= config.min_steps == 50   # was 8
    assert (metrics["steps"], metrics["epochs"], metrics["epochs_requested"]) == (
        steps[0], 50, 8)
    # the new class is learned (0.10 at 8 steps; fine-tuning forgets the old ones, as it does)
    assert per_class_accuracy(model, class_subset(data, [0, 1, 2]))["per_class"][2] >= 0.9
    said = " ".join(r.getMessage() for r in caplog.records)
    assert re.search(r"36 new training inputs make 1 optimizer step .* 8 epochs would be 8 "
                     r"steps; running 50 epochs \(50 steps, min_steps 50\)", said), said


def test_min_steps_counts_the_synthesized_inputs(iris):
    """deepinversion trains on as many synthesized inputs as new ones: 36 + 36 make 2 steps
    an epoch, so 25 epochs (the old class's real inputs stand in for synthesized ones)."""
    data, old = iris
    new = class_subset(data, [2], offset=2)
    stand_in = class_subset(data, [0, 1]).x_train[:20]
    config = ContinualConfig(device="cpu", progress=False, epochs=2)
    with counted_steps() as steps:
        _, metrics = learn_new_classes(old, new, config, stand_in)
    assert steps[0] == metrics["steps"] == 50 and metrics["epochs"] == 25


def test_min_steps_zero_runs_exactly_the_epochs(iris):
    data, old = iris
    config = ContinualConfig(method="lwf", min_steps=0, epochs=3, device="cpu", progress=False)
    with counted_steps() as steps:
        _, metrics = learn_new_classes(old, class_subset(data, [2], offset=2), config)
    assert steps[0] == metrics["steps"] == 3 and metrics["epochs"] == 3


def test_a_set_of_many_steps_trains_as_before(caplog):
    """digits 5-9 make 11 steps an epoch, 88 in 8 epochs: min_steps changes nothing (the
    same weights as without it, and no warning)."""
    data = load_dataset("digits", seed=0)
    old = old_model(data, [0, 1, 2, 3, 4], epochs=3)
    new = class_subset(data, [5, 6, 7, 8, 9], offset=5)
    config = ContinualConfig(method="finetune", device="cpu", progress=False)
    with counted_steps() as steps, caplog.at_level(logging.WARNING, "synth.continual"):
        model, metrics = learn_new_classes(old, new, config)
    assert steps[0] == metrics["steps"] == 88 and metrics["epochs"] == 8
    assert not [r for r in caplog.records if r.name == "synth.continual"]
    plain, _ = learn_new_classes(old, new, dataclasses.replace(config, min_steps=0))
    for (k, a), b in zip(model.state_dict().items(), plain.state_dict().values()):
        assert torch.equal(a, b), k


def test_min_steps_is_validated():
    for bad in (-1, 2.5, 10**9):
        with pytest.raises(ConfigError, match="min_steps must be"):
            ContinualConfig(min_steps=bad)


def test_cli_reports_the_steps_and_states_the_default(iris, tmp_path):
    from synth.checkpoint import save_checkpoint
    data, old = iris
    save_checkpoint(tmp_path / "old.pt", old, dataset=class_subset(data, [0, 1]).metadata())
    args = ["continual", "--model", str(tmp_path / "old.pt"), "--new-dataset", "iris",
            "--new-classes", "2", "--method", "finetune", "--out", str(tmp_path / "new.pt"),
            "--json"]
    result = json_result(run(args))
    assert (result["steps"], result["epochs"], result["min_steps"]) == (50, 50, 50)
    assert result["accuracy_new"] >= 0.9
    result = json_result(run(args + ["--min-steps", "5", "--epochs", "2"]))
    assert (result["steps"], result["epochs"], result["epochs_requested"]) == (5, 5, 2)
    assert "--min-steps" in one_error_line(run(args + ["--min-steps", "-1"]))
    shown = " ".join(run(["continual", "--help"]).output.split())
    assert f"ContinualConfig.min_steps = {ContinualConfig.min_steps}]" in shown


# --------------------------------------------------------------------------- incremental
# ``nnsynth incremental`` counts its budgets in passes over old + new: 20 passes over iris's
# 108 training samples are 40 SGD steps, the dense "plateau" run that sets the target 16.  A
# weak iris model's update was measured against a target of 0.91 from an unconverged plateau,
# and training from scratch and the update missed it within 40 steps (cost reduction n/a).
# Every pass count is now scaled so that the budget makes IncrementalConfig.min_steps (400).

@pytest.fixture(scope="module")
def weak_iris(tmp_path_factory):
    """An iris MLP trained 2 epochs (as ``nnsynth train --epochs 2``), saved."""
    from synth.checkpoint import save_checkpoint
    data = load_dataset("iris", seed=0)
    torch.manual_seed(0)
    model = build(MLP, data.input_shape, data.num_classes)
    fit(model, data, TrainConfig(epochs=2, seed=0, device="cpu", progress=False))
    path = tmp_path_factory.mktemp("h133") / "weak.pt"
    save_checkpoint(path, model.eval(), dataset=data.metadata())
    return path


def test_incremental_budgets_make_min_steps_on_a_tiny_set(weak_iris):
    from synth.incremental import IncrementalConfig
    args = ["incremental", "--model", str(weak_iris), "--old", "iris", "--new", "iris",
            "--device", "cpu", "--json"]
    with counted_steps() as steps:
        r = json_result(run(args))
    rows = ("plateau", "incremental", "finetune", "finetune_sparse", "scratch")
    assert steps[0] == sum(r[k]["steps"] for k in rows)   # each row's optimizer steps
    assert r["min_steps"] == IncrementalConfig.min_steps == 400
    assert r["pass_scale"] == pytest.approx(10)           # 20 passes: 40 steps -> 400
    assert r["plateau"]["steps"] == 160                   # 8 passes: 16 steps -> 160
    assert all(r[k]["steps"] <= 400 for k in rows[1:]) and r["incremental"]["pass_scale"] == 10
    # the target is the converged plateau's, and every method reaches it within 400 steps
    assert r["target"] > 0.95
    assert all(r[k]["reached"] for k in rows[1:])
    assert r["cost_reduction_vs_scratch"] is not None
    human = run(args[:-1]).output
    assert "pass counts scaled by 10" in human
    assert re.search(r"from scratch +reached .* steps +%d " % r["scratch"]["steps"], human)


def test_incremental_min_steps_zero_keeps_the_pass_counts(weak_iris):
    r = json_result(run(["incremental", "--model", str(weak_iris), "--old", "iris", "--new",
                         "iris", "--device", "cpu", "--min-steps", "0", "--json"]))
    assert r["pass_scale"] == 1 and r["plateau"]["steps"] == 16
    assert r["scratch"]["steps"] == 40 and not r["scratch"]["reached"]   # as it was


def test_incremental_min_steps_is_validated_and_leaves_many_steps_alone():
    from synth.incremental import IncrementalConfig, pass_scale, samples_for_steps, steps_of
    with pytest.raises(ConfigError, match="min_steps must be"):
        IncrementalConfig(min_steps=-1)
    config = IncrementalConfig()
    assert pass_scale(config, 3600) == 1      # mnist5k old + new: 20 passes are 1125 steps
    assert pass_scale(config, 1293) == 1      # digits: 420
    for n in (1, 63, 64, 65, 108, 1000):
        for want in (1, 7, 400, 1126):
            assert steps_of(samples_for_steps(want, n, 64), n, 64) == want
            assert steps_of(samples_for_steps(want, n, 64) + 1, n, 64) == want + 1
    shown = " ".join(run(["incremental", "--help"]).output.split())
    assert f"IncrementalConfig.min_steps = {config.min_steps}]" in shown
