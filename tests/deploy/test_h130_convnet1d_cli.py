"""A convnet1d (Conv1d-BN-ReLU over sequences) through the commands, as a user runs them on
basicmotions: train reports its MACs (128, the head alone, before), grow-prune masks and
prunes its Conv1d weights (only the classifier's before) and compacts it, prune removes
its filters (refused before: 'structured pruning supports families lenet5, convnet, mlp
and resnet'), and both export to ONNX.  No Ray."""
import json

import pytest
import torch
from click.testing import CliRunner

from deploy.cli.main import cli


def _run(*args):
    result = CliRunner().invoke(cli, [*map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def teacher(tmp_path_factory):
    path = tmp_path_factory.mktemp("h130") / "t.pt"
    out = _run("train", "--dataset", "basicmotions", "--model", "convnet1d_small",
               "--epochs", "2", "--min-steps", "0", "--out", path)
    assert out["flops"] == 176_128      # 16x100x6x5 + 32x50x16x5 + 32x4
    return path


def test_grow_prune_prunes_the_conv1d_layers_and_exports(teacher, tmp_path):
    out = _run("grow-prune", "--dataset", "basicmotions", "--model", teacher,
               "--prune-steps", "1", "--prune-fraction", "0.5", "--retrain-epochs", "0",
               "--no-distill", "--no-compact", "--out", tmp_path / "g.pt")
    dense = 16 * 6 * 5 + 32 * 16 * 5 + 32 * 4
    assert out["start_connections"] == dense
    assert out["connections"] == dense - round(0.5 * dense)
    saved = torch.load(tmp_path / "g.pt", weights_only=True)
    assert {"features.0", "features.3", "classifier.0"} <= set(saved["masks"])
    # half the connections went, most of them from the convolutions: fewer MACs
    assert out["nonzero_flops"] < 0.7 * out["flops"]
    onnx = _run("export", "--model", tmp_path / "g.pt", "--out", tmp_path / "g.onnx")
    assert onnx["max_abs_diff"] <= 1e-4


def test_prune_removes_conv1d_filters_and_exports(teacher, tmp_path):
    out = _run("prune", "--model", teacher, "--ratio", "0.5", "--importance", "magnitude",
               "--kd-steps", "0", "--out", tmp_path / "p.pt")
    assert out["spec_after"]["widths"] == [8, 16]
    assert out["flops_after"] == 8 * 100 * 6 * 5 + 16 * 50 * 8 * 5 + 16 * 4
    onnx = _run("export", "--model", tmp_path / "p.pt", "--out", tmp_path / "p.onnx")
    assert onnx["max_abs_diff"] <= 1e-4


def test_invert_help_says_how_sequences_are_inverted():
    out = CliRunner().invoke(cli, ["invert", "--help"]).output
    text = " ".join(out.split())
    assert "Conv1d (convnet1d) is inverted as sequences, with a random roll along time" in text
    assert "tabular also for sequences (C, L), inverted as C*L features" not in text
