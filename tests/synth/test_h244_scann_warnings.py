"""scann's warnings about its pruning and its result (h244).

1. ``nnsynth scann --dataset scp1`` logged 'pruning starts from validation accuracy 0.9464,
   below the floor 0.9543 (--target-accuracy) ... lower it': scann has no --target-accuracy
   (its floor is ``max_accuracy_drop`` below the accuracy the network held), and the line
   was not in --json's 'warning'.
2. ``nnsynth scann --dataset pickupgesture --scheme A`` ended at test accuracy 0.10 (10
   classes: chance) against a baseline of 0.75, and gunpoint's scheme B had every pruning
   step undone ('steps 0'); neither said a word.

The runs are iris at a few epochs (``ScannConfig`` patched, as test_h237_scann_notes does)."""
import functools
import re

import torch

import synth.scann
from synth.grow_prune import floor_warning
from synth.scann import ScannConfig
from tests._cli import json_result, one_error_line, run


def _short(monkeypatch, **fields):
    monkeypatch.setattr(synth.scann, "ScannConfig", functools.partial(
        ScannConfig, epochs=5, retrain_epochs=2, prune_steps=3, **fields))


def test_the_floor_warning_names_scanns_option_and_is_in_the_result(monkeypatch, caplog):
    _short(monkeypatch)   # seed 1 (seed 0's did not start below, h268's longer growth)
    result = json_result(run(["-q", "scann", "--dataset", "iris", "--scheme", "A", "--seed",
                              "1", "--device", "cpu", "--json"]))
    line = re.search(r"pruning starts from validation accuracy [0-9.]+, below the floor "
                     r"[0-9.]+ \(--max-accuracy-drop 0\.01 below the accuracy the network "
                     r"held\)[^;]*; raise --max-accuracy-drop", result.get("warning", ""))
    assert line, result
    assert "--target-accuracy" not in result["warning"] + caplog.text
    assert caplog.text.count(line.group(0)) == 1   # said once, as it began


def test_grow_prunes_own_floor_wording_is_unchanged():
    assert floor_warning(0.5, 0.9) == (
        "pruning starts from validation accuracy 0.5000, below the floor 0.9000 "
        "(--target-accuracy): a step is undone unless its retraining lifts the model above "
        "the floor; lower it, or train the start longer")


def test_a_result_at_chance_is_warned_in_the_result_and_the_checkpoint(monkeypatch, tmp_path,
                                                                      caplog):
    # scheme C, seed 0: 0.3333 on iris's test split, baseline 0.8667 (since h268's one scale
    # for the reduced features, it predicts one class there: that wording, test_h253)
    _short(monkeypatch)
    out = tmp_path / "s.pt"
    result = json_result(run(["-q", "scann", "--dataset", "iris", "--scheme", "C", "--seed",
                              "0", "--device", "cpu", "--out", str(out), "--json"]))
    acc, base = result["test_accuracy"], result["baseline_test_accuracy"]
    found = re.search(r"the synthesized MLP[^;]*its test accuracy 0\.3333[^;]* at chance "
                      r"\(0\.3333, the largest class's share[^;]*against the dense baseline's "
                      + re.escape(f"{base:.4f}") + r"[^;]*try another --scheme \(this is C\), "
                      r"--reduce or --components[^;]*", result.get("warning", ""))
    assert acc == 1 / 3 and found, result
    line = found.group(0)
    assert caplog.text.count(line) == 1
    assert line in torch.load(out, weights_only=True)["metrics"]["warning"]


def test_the_at_chance_line_of_a_result_that_predicts_several_classes():
    y_test = torch.arange(3).repeat_interleave(10)   # three classes of 10: chance 1/3
    assert synth.scann.shortfall_warning(ScannConfig(scheme="C"), 1 / 3, 0.8667, y_test) == (
        "the synthesized MLP's test accuracy 0.3333 is at chance (0.3333, the largest "
        "class's share of the test split), against the dense baseline's 0.8667: try "
        "another --scheme (this is C), --reduce or --components")


def test_no_kept_pruning_step_and_a_drop_below_the_baseline_are_warned(monkeypatch):
    _short(monkeypatch, prune_fraction=0.99)   # every step cuts 99%: each is undone
    monkeypatch.setattr(synth.scann, "PRUNE_BACKOFF", 0)   # (not retried at 49.5%, 24.75%)
    result = json_result(run(["-q", "scann", "--dataset", "iris", "--scheme", "B", "--seed",
                              "0", "--device", "cpu", "--json"]))
    assert result["steps"] == 0 and result["reverted_steps"] >= 1, result
    warning = result.get("warning", "")
    assert (f"no pruning step was kept: the {result['reverted_steps']} tried were undone, each "
            f"below the floor (--max-accuracy-drop 0.01 below the accuracy the network held)"
            in warning), result
    acc, base = result["test_accuracy"], result["baseline_test_accuracy"]
    assert acc < base - 0.01
    assert (f"the synthesized MLP's test accuracy {acc:.4f} is {base - acc:.4f} below the dense "
            f"baseline's {base:.4f}, more than --max-accuracy-drop 0.01" in warning), result


def test_no_warning_within_the_allowed_drop(monkeypatch):
    _short(monkeypatch, max_accuracy_drop=1.0)
    result = json_result(run(["-q", "scann", "--dataset", "iris", "--scheme", "B", "--seed",
                              "0", "--device", "cpu", "--max-accuracy-drop", "1", "--json"]))
    assert result["steps"] > 0
    assert "warning" not in result, result


def test_the_max_accuracy_drop_option_sets_the_floor_and_its_help_the_default(monkeypatch):
    seen = {}
    real = synth.scann.run_scann

    def spy(data, config, **kw):
        seen["drop"] = config.max_accuracy_drop
        return real(data, config, **kw)
    monkeypatch.setattr(synth.scann, "run_scann", spy)
    _short(monkeypatch)
    json_result(run(["-q", "scann", "--dataset", "iris", "--scheme", "B", "--device", "cpu",
                     "--max-accuracy-drop", "0.2", "--json"]))
    assert seen["drop"] == 0.2
    text = run(["scann", "--help"]).output
    assert (f"ScannConfig.max_accuracy_drop = {ScannConfig().max_accuracy_drop:g}]"
            in " ".join(text.split()))
    assert one_error_line(run(["scann", "--dataset", "iris", "--max-accuracy-drop", "2"])
                          ).startswith("error: --max-accuracy-drop must be in [0, 1], got 2")
