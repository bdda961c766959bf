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


def test_export_of_a_masked_resnet_names_no_compact(tmp_path, digits):
    # grow-prune --no-compact of a resnet gives a masked resnet; export's default compaction
    # refused it without saying how to export it
    from synth import masked
    torch.manual_seed(0)
    model = build("resnet8_w16", digits.input_shape, digits.num_classes).eval()
    masked.attach_masks(model)
    masked.prune_connections(model, 0.5)
    save_checkpoint(tmp_path / "m.pt", model, dataset=digits.metadata())
    out = _run("export", "--model", str(tmp_path / "m.pt"), "--out", str(tmp_path / "m.onnx"))
    assert out.exit_code == 2 and "pass --no-compact" in out.output
    out = _run("export", "--model", str(tmp_path / "m.pt"), "--out", str(tmp_path / "m.onnx"),
               "--no-compact", "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.output.strip().splitlines()[-1])
    assert result["prediction_mismatches"] == 0
    effective = [t for mod in model.modules() for n, t in (("weight", getattr(mod, "weight", None)),
                 ("bias", getattr(mod, "bias", None))) if isinstance(t, torch.Tensor)]
    assert result["parameters"] == sum(t.numel() for t in effective)
    assert result["nonzero_parameters"] == sum(int((t != 0).sum()) for t in effective)
    assert result["nonzero_parameters"] < result["parameters"] / 2 + 1000
