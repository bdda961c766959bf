"""``nnsynth export --out``: what is at the path and how the file is written (helper h185)."""
import os
import stat
import subprocess
import sys
import warnings

import onnx
import pytest
import torch

from deploy.onnx_export import export_and_verify, export_onnx, onnx_predict
from synth.checkpoint import save_checkpoint
from synth.data import load_dataset
from synth.models import build
from tests._cli import json_result, one_error_line, run


@pytest.fixture(scope="module")
def wine_checkpoint(tmp_path_factory):
    """An untrained mlp on wine, saved as nnsynth saves one (what export reads)."""
    torch.manual_seed(0)
    data = load_dataset("wine")
    model = build({"family": "mlp", "hidden": [8]}, data.input_shape, data.num_classes)
    path = tmp_path_factory.mktemp("ckpt") / "wine.pt"
    save_checkpoint(path, model, dataset=data.metadata())
    return path


def test_a_replaced_export_keeps_its_permission_bits(tmp_path, wine_checkpoint):
    """An export the user had made private (chmod 600 m.onnx) came back 0644 -- readable by
    every user -- after nnsynth export --out m.onnx ran again: the export was verified under
    its own temporary name and moved over the file with os.replace, past atomic_path's
    keeping of the mode (0912714)."""
    out = tmp_path / "m.onnx"
    json_result(run(["export", "--model", str(wine_checkpoint), "--out", str(out), "--json"]))
    os.chmod(out, 0o600)
    json_result(run(["export", "--model", str(wine_checkpoint), "--out", str(out), "--json"]))
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]   # no temporary left


def test_a_long_file_name_is_written(tmp_path):
    """--out with a 250-character name (the file system takes 255) failed with 'cannot write
    .bbb...b.onnx.verify3910.onnx: File name too long': the check's temporary name added 15
    characters to the user's, and the error named that temporary file, not --out."""
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [4]}, (3,), 2).eval()
    x = torch.randn(6, 3)
    out = tmp_path / ("b" * 245 + ".onnx")
    check = export_and_verify(model, out, x)
    assert check["path"] == str(out) and out.is_file()
    with torch.no_grad():
        assert abs(onnx_predict(out, x) - model(x).numpy()).max() <= 1e-5
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def _export_in_a_process(checkpoint, out, timeout=60):
    """``nnsynth export`` in a child process (a hang is a timeout, not a stuck test run)."""
    code = "import sys; from deploy.cli.main import cli; cli(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, "export", "--model", str(checkpoint),
                           "--out", str(out)], capture_output=True, text=True,
                          timeout=timeout, cwd=os.path.dirname(os.path.dirname(
                              os.path.dirname(os.path.abspath(__file__)))))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_as_out_is_refused_without_reading_it(tmp_path, wine_checkpoint):
    """--out naming a named pipe (or /dev/stdout, a pipe under `| cat`) hung for ever while
    --out was checked: whether it held an ONNX model was asked by reading it, and a pipe
    nobody writes to never ends.  Only a regular file is read; anything else is not ours."""
    fifo = tmp_path / "pipe.onnx"
    os.mkfifo(fifo)
    try:
        done = _export_in_a_process(wine_checkpoint, fifo)
    except subprocess.TimeoutExpired:
        pytest.fail("nnsynth export --out <a named pipe> hung")
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "exists and is not an ONNX model" in lines[0], done.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)   # left as it was


def test_an_onnx_model_nnsynth_did_not_write_is_kept(tmp_path, wine_checkpoint):
    """--out naming someone else's ONNX model (torch.onnx.export of the user's own network)
    replaced it without a word, though the refusal of any other file says 'nnsynth replaces
    only its own files': any parseable ONNX graph counted as ours.  An nnsynth export is
    one whose graph takes ``input`` and gives ``logits`` (every export since the first)."""
    theirs = tmp_path / "theirs.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(torch.nn.Sequential(torch.nn.Linear(4, 2)), (torch.zeros(1, 4),),
                          str(theirs), dynamo=False)
    before = theirs.read_bytes()
    line = one_error_line(run(["export", "--model", str(wine_checkpoint), "--out", str(theirs)]))
    assert "is not an ONNX model nnsynth exported" in line, line
    assert theirs.read_bytes() == before
    ours = tmp_path / "ours.onnx"   # an export without metadata (export_onnx's default)
    export_onnx(build({"family": "mlp", "hidden": [3]}, (13,), 3), ours)
    json_result(run(["export", "--model", str(wine_checkpoint), "--out", str(ours), "--json"]))
    assert onnx.load(str(ours)).metadata_props   # replaced by the new export
