"""h321: the compression commands' reports say what they counted.

* ``nnsynth incremental``: a method already at the target trains on no sample, yet its row
  read 'MACs 1.85e+04  samples 0' (breast_cancer; gunpoint 1.49e+04): the MACs of its one
  validation check, taken for training cost.  Each method now gives ``cost_macs`` (all it
  spent to the target, as the benchmark's GMACs column and the cost reductions count it) and
  its parts ``training_macs``, ``growth_macs``, ``eval_macs``; ``train_macs`` keeps the sum
  for JSON readers, and a row reads 'MACs 1.85e+04 (training 0, growth 0, checks 1.85e+04)'.
  A reduction of one check against 2.02e+08 MACs from scratch read '100.0%': now '>99.9%'.
* ``nnsynth prune`` and ``nnsynth continual`` printed ``synthesized_images`` / ``new_images``
  of a CSV's rows and a set's series: the text says ``synthesized_inputs`` / ``new_inputs``,
  and the JSON (and the checkpoint's metrics) gives both names.
"""
from __future__ import annotations

import pytest
import torch

from deploy.cli.commands.incremental import human_text
from synth import masked
from synth.checkpoint import load_model, save_checkpoint, trained_record
from synth.continual import ContinualConfig, class_subset, learn_new_classes
from synth.data import load_dataset
from synth.incremental import (BACKWARD_FACTOR, IncrementalConfig, compare,
                               incremental_update, split_dataset)
from synth.models import build
from synth.synthesis import inputs_named
from tests._cli import json_result, run

MLP = {"family": "mlp", "hidden": [8], "bn": False, "dropout": 0.0}


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    """breast_cancer with string labels (benign, malignant), 80 rows a class, and the same
    with a third class 'mixed' (the mean of a benign and a malignant row)."""
    from sklearn.datasets import load_breast_cancer
    d = load_breast_cancer()
    header = ",".join([f"f{i}" for i in range(d.data.shape[1])] + ["label"])
    rows = [(x, d.target_names[y]) for y in (0, 1) for x in d.data[d.target == y][:80]]
    gen = torch.Generator().manual_seed(0)
    m, b = (torch.tensor(d.data[d.target == y]) for y in (0, 1))
    mixed = [((m[i] + b[j]) / 2).tolist() for i, j in zip(
        torch.randint(len(m), (80,), generator=gen), torch.randint(len(b), (80,), generator=gen))]
    folder = tmp_path_factory.mktemp("h321")
    paths = []
    for name, extra in (("bc.csv", []), ("bc3.csv", [(x, "mixed") for x in mixed])):
        path = folder / name
        path.write_text("\n".join([header] + [",".join([*map(str, x), y])
                                              for x, y in rows + extra]) + "\n")
        paths.append(f"csv:{path}")
    return paths


def sparse_checkpoint(path, data):
    torch.manual_seed(0)
    model = build(MLP, data.input_shape, data.num_classes)
    masked.attach_masks(model)
    masked.prune_connections(model, 0.5, "lamp")
    save_checkpoint(path, model, dataset=trained_record(data), masks=masked.masks_of(model))
    return path


# ------------------------------------------------------------------------------ incremental
def _half_pruned(digits):
    """digits split 60/40 into old and new, and an MLP of old's shape masked at half its
    connections (LAMP, seed 0): (model, old, new)."""
    old, new = split_dataset(digits, 0.6, seed=0)
    torch.manual_seed(0)
    model = build(MLP, old.input_shape, old.num_classes)
    masked.attach_masks(model)
    masked.prune_connections(model, 0.5, "lamp")
    return model, old, new


@pytest.fixture(scope="module")
def at_target(digits):
    """``compare`` where every method is at the target before it trains (target 0.01)."""
    model, old, new = _half_pruned(digits)
    config = IncrementalConfig(target=0.01, min_steps=0, device="cpu")
    return model, old, new, compare(model, old, new, config)


def test_a_method_at_the_target_reports_no_training_macs(at_target):
    model, old, new, r = at_target
    check = masked.sparse_flops(model, old.input_shape) * len(old.y_val)   # one check
    for key in ("incremental", "finetune", "finetune_sparse"):
        s = r[key]
        assert s["reached"] and s["samples"] == 0
        assert s["training_macs"] == 0 and s["growth_macs"] == 0
        assert s["eval_macs"] == s["cost_macs"] == check
        assert s["train_macs"] == s["cost_macs"]       # the old name: the same sum


def test_the_text_row_says_the_macs_are_a_check(at_target):
    text = human_text(at_target[3])
    row = next(line for line in text.splitlines() if line.startswith("grow-and-prune"))
    check = f"{at_target[3]['incremental']['eval_macs']:.3g}"
    assert f"MACs {check} (training 0, growth 0, checks {check})" in row, row
    assert "the old model is at the target already" in text
    assert "training steps + growth passes + validation checks" in text


def test_a_trained_method_gives_its_parts(digits):
    model, old, new = _half_pruned(digits)
    config = IncrementalConfig(growth_ratio=0.5, growth_batches=1, growth_rounds=1,
                               prune_steps=0, max_epochs=0.05, min_steps=0, device="cpu")
    updated, s = incremental_update(model, old, new, config, target=1.0)   # out of reach
    assert s["growth_macs"] > 0 and s["eval_macs"] > 0
    assert s["cost_macs"] == s["training_macs"] + s["growth_macs"] + s["eval_macs"]
    trained = s["samples"] - config.batch_size       # one growth batch's samples
    active = sum(int(m.mask.sum()) for _, _, m in masked.masked_layers(updated))  # MLP: a
    assert s["training_macs"] == BACKWARD_FACTOR * active * trained   # MAC per weight


def test_a_kept_result_without_the_parts_prints_them(at_target):
    """A rerun reports the result its checkpoint kept: one written before the parts holds
    train_macs (the sum), growth_macs and eval_macs alone."""
    r = {k: (dict(v) if isinstance(v, dict) else v) for k, v in at_target[3].items()}
    for key in ("before", "incremental", "finetune", "finetune_sparse", "scratch"):
        for part in ("cost_macs", "training_macs"):
            r[key].pop(part, None)
    check = f"{r['incremental']['eval_macs']:.3g}"
    assert f"(training 0, growth 0, checks {check})" in human_text(r)


def test_a_reduction_short_of_all_does_not_read_100_percent(at_target):
    r = dict(at_target[3], cost_reduction_vs_scratch=1 - 1.49e4 / 2.02e8)
    line = human_text(r).splitlines()[-1]
    assert ">99.9% vs from scratch" in line and "100.0%" not in line, line


def test_the_cli_on_a_csv_gives_the_parts(tmp_path, tables):
    bc = tables[0]
    path = sparse_checkpoint(tmp_path / "m.pt", load_dataset(bc))
    args = ["incremental", "--model", str(path), "--old", bc, "--new", bc, "--target", "0.01",
            "--min-steps", "0", "--device", "cpu"]
    r = json_result(run(args + ["--json"]))
    for key in ("incremental", "finetune", "finetune_sparse", "scratch"):
        s = r[key]
        assert s["samples"] == 0 and s["training_macs"] == 0
        assert s["cost_macs"] == s["train_macs"] == s["eval_macs"] > 0
    text = run(args)
    assert text.exit_code == 0, text.output
    assert "(training 0, growth 0, checks " in text.output


# --------------------------------------------------------------------- prune and continual
def test_prune_names_the_rows_inputs(tmp_path, tables):
    bc = tables[0]
    data = load_dataset(bc)
    torch.manual_seed(0)
    model = build(MLP, data.input_shape, data.num_classes)
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, dataset=data.metadata(), metrics={})
    args = ["prune", "--model", str(path), "--ratio", "0.5", "--importance", "magnitude",
            "--kd-steps", "0", "--device", "cpu"]
    text = run(args + ["--out", str(tmp_path / "p.pt")])
    assert text.exit_code == 0, text.output
    assert "synthesized_inputs: 0" in text.output and "synthesized_images" not in text.output
    r = json_result(run(args + ["--out", str(tmp_path / "q.pt"), "--json"]))
    assert r["synthesized_inputs"] == r["synthesized_images"] == 0    # the old name kept
    saved = load_model(tmp_path / "q.pt").checkpoint_info["metrics"]
    assert saved["synthesized_inputs"] == saved["synthesized_images"] == 0


def test_continual_names_the_rows_inputs(tmp_path, tables):
    bc, bc3 = tables
    data = load_dataset(bc)
    torch.manual_seed(0)
    model = build(MLP, data.input_shape, data.num_classes)
    path = tmp_path / "m.pt"
    save_checkpoint(path, model, dataset=data.metadata(), metrics={})
    args = ["continual", "--model", str(path), "--new-dataset", bc3, "--new-classes", "mixed",
            "--method", "finetune", "--epochs", "1", "--min-steps", "0", "--device", "cpu"]
    text = run(args + ["--out", str(tmp_path / "c.pt")])
    assert text.exit_code == 0, text.output
    new = len(class_subset(load_dataset(bc3), [2]).y_train)
    assert f"new_inputs: {new}" in text.output and "synthesized_inputs: 0" in text.output
    assert "_images" not in text.output
    r = json_result(run(args + ["--out", str(tmp_path / "d.pt"), "--json"]))
    assert r["new_inputs"] == r["new_images"] == new
    assert r["synthesized_inputs"] == r["synthesized_images"] == 0


def test_continual_counts_synthesized_inputs_under_both_names(digits):
    torch.manual_seed(0)
    old = build(MLP, digits.input_shape, 2).eval()
    new = class_subset(digits, [2], offset=2)
    synth = class_subset(digits, [0, 1]).x_train[:12]
    config = ContinualConfig(device="cpu", progress=False, epochs=1, min_steps=0)
    _, metrics = learn_new_classes(old, new, config, synth)
    assert metrics["synthesized_inputs"] == metrics["synthesized_images"] == 12
    assert metrics["new_inputs"] == metrics["new_images"] == len(new.y_train)


def test_a_kept_result_gets_the_new_names():
    """A rerun reports the result its checkpoint kept, perhaps with the old names alone."""
    kept = {"method": "deepinversion", "new_images": 14, "synthesized_images": 32, "steps": 5}
    assert list(inputs_named(kept, keep_old=False)) == [
        "method", "new_inputs", "synthesized_inputs", "steps"]
    both = inputs_named(kept, keep_old=True)
    assert both["new_inputs"] == both["new_images"] == 14
    assert both["synthesized_inputs"] == both["synthesized_images"] == 32
