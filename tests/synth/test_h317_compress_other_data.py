"""h317: the compression commands' printed figures on data the other tests never use.

* ``nnsynth continual --method deepinversion`` balances the new inputs against the
  synthesized ones by repeating the smaller side; its min-steps warning counted the
  repeated side as if it were that many inputs: basicmotions' 14 new windows beside 32
  synthesized were "64 (32 new + 32 synthesized)", while the result said new_images 14.
* ``nnsynth grow-prune`` (compacting by default) printed the last kept step's masked counts
  as its last history row and the saved, compacted model's below it (gunpoint: 584
  connections, 44,900 MACs in the row, 547 and 42,125 in the summary) with no line saying
  where the difference came from.
"""
from __future__ import annotations

import logging
import re

import pytest
import torch

from synth.checkpoint import load_model
from synth.continual import ContinualConfig, class_subset, learn_new_classes
from synth.data import load_dataset
from synth.models import build
from synth.train import TrainConfig, fit
from tests._cli import run

MLP = {"family": "mlp", "hidden": [16], "bn": False, "dropout": 0.0}


@pytest.fixture(scope="module")
def iris():
    data = load_dataset("iris", seed=0)
    torch.manual_seed(0)
    old = build(MLP, data.input_shape, 2)
    fit(old, class_subset(data, [0, 1]), TrainConfig(epochs=2, min_steps=0, seed=0,
                                                      device="cpu", progress=False))
    return data, old.eval()


def said(caplog) -> str:
    return " ".join(r.getMessage() for r in caplog.records if r.name == "synth.continual")


@pytest.mark.parametrize("synthesized, words", [
    (64, r"128 \(36 new repeated to 64 \+ 64 synthesized\) training inputs"),
    (8, r"72 \(36 new \+ 8 synthesized repeated to 36\) training inputs"),
])
def test_continual_warning_counts_the_distinct_inputs(iris, caplog, synthesized, words):
    data, old = iris
    new = class_subset(data, [2], offset=2)
    assert len(new.y_train) == 36
    stand_in = class_subset(data, [0, 1]).x_train.repeat(2, 1)[:synthesized]
    config = ContinualConfig(device="cpu", progress=False, epochs=1, min_steps=4)
    with caplog.at_level(logging.WARNING, "synth.continual"):
        _, metrics = learn_new_classes(old, new, config, stand_in)
    assert metrics["synthesized_images"] == synthesized
    assert re.search(words, said(caplog)), said(caplog)   # was '64 new', '36 synthesized'


def test_continual_warning_without_repetition_is_unchanged(iris, caplog):
    data, old = iris
    new = class_subset(data, [2], offset=2)
    stand_in = class_subset(data, [0, 1]).x_train[:36]
    config = ContinualConfig(device="cpu", progress=False, epochs=1, min_steps=4)
    with caplog.at_level(logging.WARNING, "synth.continual"):
        learn_new_classes(old, new, config, stand_in)
    assert "72 (36 new + 36 synthesized) training inputs" in said(caplog)


def grow_prune(tmp_path, *extra):
    """digits, an MLP pruned hard without retraining: compaction drops units."""
    out = tmp_path / "g.pt"
    result = run(["-q", "grow-prune", "--dataset", "digits", "--model",
                  '{"family": "mlp", "hidden": [32, 16]}', "--epochs", "1", "--min-steps",
                  "0", "--prune-steps", "2", "--prune-fraction", "0.8", "--criterion",
                  "magnitude", "--retrain-epochs", "0", "--retrain-min-steps", "0",
                  "--no-distill", "--keep-dead", "--schedule", '{"max_accuracy_drop": 1}',
                  "--device", "cpu", "--out", str(out), *extra])
    assert result.exit_code == 0, result.output
    return result.output, out


def test_grow_prune_text_says_the_saved_model_is_compacted(tmp_path):
    from synth import masked
    output, out = grow_prune(tmp_path)
    rows = [line for line in output.splitlines() if line.startswith("step ")]
    last = int(rows[-1].split("connections")[1].split()[0].replace(",", ""))
    saved = masked.connections(load_model(out))
    assert last > saved   # compaction removed something
    line = [x for x in output.splitlines() if x.startswith("saved ")]
    assert len(line) == 1, output   # was none: 'connections: N' below a row of more
    assert f"connections {saved:>9,}" in line[0] and "removed" in line[0]
    assert f"connections: {saved}" in output


def test_grow_prune_text_masked_has_no_compaction_line(tmp_path):
    output, _ = grow_prune(tmp_path, "--no-compact")
    assert not [x for x in output.splitlines() if x.startswith("saved ")], output
