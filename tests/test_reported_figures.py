"""Figures a user reads mean one thing everywhere.

1. ``flops`` is the multiply-accumulates (MACs) per sample of the model's architecture, every
   weight counted, in every command; ``nonzero_flops`` the MACs that touch a nonzero weight.
   (grow-prune and diabdeep printed the nonzero count as ``flops``, eval the dense one: 2981
   against 6464 for one and the same masked checkpoint.)
2. grow-prune's ``steps`` counts the steps kept and its ``final`` history row is the model
   returned (a reverted only step printed ``steps: 1`` and was the row marked final).
3. ``best_epoch`` counts from 1 like ``epochs`` and is None (JSON null) when no epoch was
   chosen (it was 0-based, and -1 for "none").
"""
import json

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from deploy.cli.main import cli
from synth import masked
from synth.grow_prune import GrowPruneSchedule, grow_and_prune
from synth.models import build, count_flops
from synth.train import TrainConfig, fit


def _last_json(output):
    return json.loads(output.strip().splitlines()[-1])


def _invoke(args):
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    return r


def _linear_macs(model):
    return sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear))


# --------------------------------------------------------------------------- 1. flops
def test_grow_prune_and_eval_report_the_same_flops_for_a_masked_checkpoint(tmp_path):
    out = tmp_path / "g.pt"
    gp = _last_json(_invoke(["grow-prune", "--dataset", "digits", "--model", "mlp_small",
                             "--epochs", "1", "--min-steps", "0", "--prune-steps", "2",
                             "--retrain-epochs", "0",
                             "--no-distill", "--keep-dead", "--criterion", "magnitude",
                             "--no-compact", "--out", str(out), "--json"]).output)
    ev = _last_json(_invoke(["eval", "--model", str(out), "--json"]).output)
    model = build("mlp_small", (64,), 10)
    dense = _linear_macs(model)               # MACs, one per weight of an MLP (not 2x MACs)
    assert count_flops(model, (64,)) == dense
    assert gp["flops"] == ev["flops"] == dense
    assert gp["nonzero_flops"] == ev["nonzero_flops"] < dense   # pruned: fewer nonzero MACs
    for row in gp["history"]:
        assert row["flops"] == dense and row["nonzero_flops"] <= dense
        assert "dense_flops" not in row
    saved = torch.load(out, weights_only=True)["metrics"]
    assert saved["flops"] == dense and saved["nonzero_flops"] == ev["nonzero_flops"]
    text = _invoke(["eval", "--model", str(out)]).output
    assert f"flops: {dense}" in text and f"nonzero_flops: {ev['nonzero_flops']}" in text


def test_diabdeep_rows_report_dense_and_nonzero_flops(digits):
    from synth.diabdeep import DiabDeepConfig, measure
    torch.manual_seed(0)
    model = build("mlp_small", digits.input_shape, 10)
    masked.attach_masks(model)
    masked.prune_connections(model, 0.5, "magnitude")
    row = measure("m", model, digits, DiabDeepConfig(latency_repeats=1))
    assert row["flops"] == count_flops(model, digits.input_shape) == _linear_macs(model)
    assert row["nonzero_flops"] == masked.sparse_flops(model, digits.input_shape) < row["flops"]


def test_pipeline_facts_and_summary_name_both_counts():
    from deploy.summary import ROWS
    labels = dict((k, label) for k, label, _ in ROWS)
    assert "MACs" in labels["flops"] and "MACs" in labels["nonzero_flops"]
    from search.results import COLUMNS
    assert "nonzero_flops" in COLUMNS and "flops" in COLUMNS


# --------------------------------------------------------------------------- 2. steps
def test_reverted_only_step_is_not_final_and_not_counted(tmp_path):
    out = tmp_path / "r.pt"
    gp = _last_json(_invoke(["grow-prune", "--dataset", "digits", "--model", "mlp_small",
                             "--epochs", "1", "--min-steps", "0", "--prune-steps", "1",
                             "--prune-fraction", "0.95",
                             "--retrain-epochs", "0", "--no-distill", "--keep-dead",
                             "--criterion", "magnitude", "--schedule",
                             '{"max_accuracy_drop": 0.0}', "--no-compact", "--out", str(out),
                             "--json"]).output)
    history = gp["history"]
    assert [r["phase"] for r in history] == ["start", "reverted"]
    assert gp["steps"] == 0 and gp["reverted_steps"] == 1
    assert [bool(r.get("final")) for r in history] == [True, False]
    assert gp["connections"] == history[0]["connections"] == gp["start_connections"]
    saved = torch.load(out, weights_only=True)
    assert saved["metrics"]["steps"] == 0 and saved["metrics"]["reverted_steps"] == 1


def test_exactly_one_final_row_the_last_kept(digits):
    torch.manual_seed(0)
    model = build("mlp_small", digits.input_shape, 10)
    schedule = GrowPruneSchedule(prune_steps=3, prune_fraction=0.5, retrain_epochs=0,
                                 criterion="magnitude", accuracy_floor=0.99, device="cpu")
    model, history = grow_and_prune(model, digits, schedule)
    finals = [r for r in history if r.get("final")]
    assert len(finals) == 1 and finals[0]["phase"] != "reverted"
    assert finals[0]["connections"] == masked.connections(model)


# --------------------------------------------------------------------------- 3. best_epoch
def test_best_epoch_counts_from_one_and_is_none_without_selection(digits):
    torch.manual_seed(0)
    m = build("mlp_small", digits.input_shape, 10)
    r = fit(m, digits, TrainConfig(epochs=1, progress=False, seed=0))
    assert r["best_epoch"] == 1 and r["epochs"] == 1
    assert [h["epoch"] for h in r["history"]] == [1]
    r = fit(m, digits, TrainConfig(epochs=2, progress=False, seed=0, keep_best=False))
    assert r["best_epoch"] is None
    assert [h["epoch"] for h in r["history"]] == [1, 2]


def test_distill_reports_no_best_epoch_as_null(digits):
    from synth.distill import DistillConfig, distill
    torch.manual_seed(0)
    teacher = build("mlp_small", digits.input_shape, 10)
    student = build("mlp_small", digits.input_shape, 10)
    r = distill(student, teacher, digits.x_train[:64], digits,
                DistillConfig(epochs=1, min_steps=0, progress=False, device="cpu"))
    assert r["best_epoch"] is None
    assert json.loads(json.dumps(r["best_epoch"])) is None


def test_train_command_prints_a_one_based_best_epoch(tmp_path):
    out = tmp_path / "t.pt"
    r = _last_json(_invoke(["train", "--dataset", "digits", "--model", "mlp_small",
                            "--epochs", "1", "--min-steps", "0", "--out", str(out),
                            "--json"]).output)
    assert r["best_epoch"] == 1 and r["epochs"] == 1


@pytest.mark.parametrize("value, shown", [(None, "none"), (3, "3")])
def test_human_output_shows_null_as_none(value, shown, capsys):
    from deploy.cli.options import emit
    emit({"best_epoch": value}, False)
    assert capsys.readouterr().out == f"best_epoch: {shown}\n"
