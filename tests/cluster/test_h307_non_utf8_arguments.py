"""A command-line argument that is not UTF-8 text (a file or folder named in Latin-1) is
refused in one line before Ray starts (helper h307).  ``ray.init`` records the command line
as the job's entrypoint in UTF-8: ``nnsynth invert --out $'d\\xff/inv'`` (and search, run,
sweep, distill with workers) died with a UnicodeEncodeError traceback from Ray's core
worker, after making its output folder."""
import os
import subprocess
import sys

import pytest
import torch

from cluster.connect import check_command_line, check_start, connect
from synth.errors import UserError

LATIN1 = os.fsdecode(b"d\xff")     # what Python makes of the bytes d, 0xff in sys.argv


def test_check_start_names_the_argument(monkeypatch):
    import ray
    ray.shutdown()
    monkeypatch.setattr(sys, "argv", ["nnsynth", "invert", "--out", LATIN1 + "/inv"])
    with pytest.raises(UserError, match=r"argument 'd\\xff/inv' \(after '--out'\) is not "
                                        r"UTF-8 text"):
        check_start(None)
    with pytest.raises(UserError, match="is not UTF-8 text"):
        connect(num_cpus=1)
    assert not ray.is_initialized()


def test_utf8_arguments_pass():
    check_command_line(["nnsynth", "train", "--out", "café/ß", "--dataset", "csv:日本.csv"])


def test_invert_refuses_before_ray_and_makes_no_folder(tmp_path):
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    data = load_dataset("iris")
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": True}, data.input_shape,
                  data.num_classes)
    save_checkpoint(tmp_path / "t.pt", model.eval(), dataset=data.metadata(), metrics={})
    out = os.fsencode(tmp_path) + b"/d\xff"
    done = subprocess.run(
        [os.fsencode(sys.executable), b"-m", b"deploy.cli.main", b"invert", b"--teacher",
         os.fsencode(tmp_path / "t.pt"), b"--out", out + b"/inv", b"--num-images", b"4",
         b"--iterations", b"2", b"--num-cpus", b"1"],
        capture_output=True, timeout=300, cwd=os.path.dirname(os.path.dirname(
            os.path.dirname(os.path.abspath(__file__)))))
    err = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, err[-2000:]
    assert "Traceback" not in err and "d\\xff/inv" in err and "not UTF-8 text" in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert not os.path.lexists(out)
