"""An ONNX --out whose path is not UTF-8 text (helper h303): a folder named in another
encoding (bytes Python holds as surrogates) made `nnsynth export` trace the model and then
fail in torch.onnx with a TypeError traceback; now one line naming --out, before any work."""
from __future__ import annotations

import os

from tests._cli import one_error_line, run


def test_an_out_path_that_is_not_utf8_is_one_line(tmp_path):
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    iris = load_dataset("iris")
    save_checkpoint(tmp_path / "m.pt", build("mlp_small", iris.input_shape, 3),
                    dataset=iris.metadata())
    folder = os.fsdecode(os.fsencode(str(tmp_path)) + b"/onnx\xff")
    os.mkdir(folder)
    line = one_error_line(run(["export", "--model", str(tmp_path / "m.pt"),
                               "--out", folder + "/m.onnx"]))
    assert line.startswith("error: --out ") and "\\xff" in line and "udc" not in line
    assert "holds bytes that are not UTF-8 text" in line
    assert os.listdir(folder) == []
