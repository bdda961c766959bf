"""Helper 83's follow-ups (CLI side): a checkpoint path that is not a file, and a checkpoint
whose recorded data set does not load here, are one-line errors that say so; the teacher
checkpoint is named by the library, not by the CLI matching the message's wording."""
import os

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


def _one_line_error(args) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


@pytest.mark.timeout(120)   # a FIFO opened to read blocks: fail in minutes, not at 600 s
@pytest.mark.parametrize("command", ["eval", "export"])
def test_model_that_is_a_device_or_a_fifo_says_so(tmp_path, command):
    """--model /dev/null said "checkpoint not found: /dev/null"."""
    out = ["--out", tmp_path / "m.onnx"] if command == "export" else []
    line = _one_line_error([command, "--model", "/dev/null", *out])
    assert "checkpoint /dev/null is a device" in line
    fifo = tmp_path / "m.pt"
    os.mkfifo(fifo)   # never opened: the command returns at once
    line = _one_line_error([command, "--model", fifo, *out])
    assert f"checkpoint {fifo} is a named pipe (FIFO)" in line


def test_eval_of_a_checkpoint_whose_set_is_elsewhere_suggests_dataset(tmp_path, monkeypatch):
    """Trained on csv:animals.csv in one folder and evaluated from another: the error was only
    "CSV file not found: animals.csv"."""
    rows = ["a,b,label"] + [f"{i % 2 * 4 + 0.01 * (i % 7):.2f},{0.1 * (i % 5):.1f},"
                            f"{'ab'[i % 2]}" for i in range(60)]
    (tmp_path / "animals.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["train", "--dataset", "csv:animals.csv", "--model",
                                 "mlp_small", "--epochs", "1", "--min-steps", "0", "--out", "m.pt"])
    assert r.exit_code == 0, r.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    # moved since (h287: while it is where it was, it is found from another folder)
    (tmp_path / "animals.csv").rename(tmp_path / "moved.csv")
    line = _one_line_error(["eval", "--model", "../m.pt"])
    assert "checkpoint ../m.pt records the data set csv:animals.csv" in line
    assert "CSV file not found: animals.csv" in line and "--dataset" in line
    r = CliRunner().invoke(cli, ["eval", "--model", "../m.pt", "--dataset",
                                 "csv:../moved.csv", "--json"])
    assert r.exit_code == 0, r.output


def test_prune_names_the_teacher_without_options_wrapper(tmp_path):
    """The message the CLI showed is kept now that the library names the checkpoint
    (deploy.cli.options.naming_teacher, which matched errors starting with 'teacher ', is
    gone)."""
    import deploy.cli.options as options
    import torch
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    assert not hasattr(options, "naming_teacher")
    data = load_dataset("digits")
    torch.manual_seed(0)
    path = save_checkpoint(tmp_path / "no_bn.pt", build("mlp_small", data.input_shape,
                                                         data.num_classes),
                           dataset=data.metadata())
    line = _one_line_error(["prune", "--model", path, "--ratio", "0.5", "--importance",
                            "taylor", "--kd-steps", "0", "--out", tmp_path / "p.pt",
                            "--device", "cpu"])
    assert line.startswith(f"error: --model {path}: teacher has no BatchNorm layers")
