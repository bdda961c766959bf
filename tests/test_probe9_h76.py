"""Probe round 9 (helper 76): a user's own networks through the model-consuming commands."""
import json

import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.checkpoint import save_checkpoint
from synth.models import build


def _run(*args):
    return CliRunner().invoke(cli, ["-q", *args])


def test_export_of_a_checkpoint_saved_without_a_data_set_takes_dataset(tmp_path, digits):
    # a user's own training loop, saved with save_checkpoint(path, model): no data set
    # recorded; export said "pass --dataset" and had no such option
    torch.manual_seed(0)
    model = build("convnet_small", digits.input_shape, digits.num_classes).eval()
    save_checkpoint(tmp_path / "own.pt", model)
    out = _run("export", "--model", str(tmp_path / "own.pt"), "--out", str(tmp_path / "o.onnx"))
    assert out.exit_code == 2 and "pass --dataset" in out.output
    out = _run("export", "--model", str(tmp_path / "own.pt"), "--out", str(tmp_path / "o.onnx"),
               "--dataset", "digits", "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.output.strip().splitlines()[-1])
    assert result["checked_on"] == "digits test" and result["prediction_mismatches"] == 0
    assert result["parameters"] == sum(p.numel() for p in model.parameters())
    # the wrong set is one line, not a check on other inputs
    out = _run("export", "--model", str(tmp_path / "own.pt"), "--out", str(tmp_path / "w.onnx"),
               "--dataset", "iris")
    assert out.exit_code == 2 and out.output.startswith("error: data set iris has input shape")
    assert not (tmp_path / "w.onnx").exists()
