"""Two of h185's findings outside its files:
- ``nnsynth eval --dataset ''`` (and export) scored the checkpoint's own set without a word,
  where ``train --dataset ''`` says "unknown data set ''";
- ``nnsynth train --out <a named pipe>`` hung for ever: ``synth.files.check_replaceable``
  read the pipe to see whether it was a checkpoint of ours."""
import os
import subprocess
import sys

import pytest

from tests._cli import one_error_line, run


@pytest.mark.parametrize("command", ["eval", "export"])
def test_an_empty_dataset_is_refused(tmp_path, command):
    line = one_error_line(run([command, "--model", str(tmp_path / "m.pt"), "--dataset", ""]))
    assert "--dataset: unknown data set ''" in line and "digits" in line


def test_a_named_pipe_as_out_is_refused_at_once(tmp_path):
    fifo = tmp_path / "p.pt"
    os.mkfifo(fifo)
    # in a child that a hang cannot outlive (the old code waited for a writer for ever)
    r = subprocess.run([sys.executable, "-m", "deploy.cli.main", "train", "--dataset", "iris",
                        "--model", "mlp_small", "--out", str(fifo)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "exists and is not" in r.stderr, r.stderr
