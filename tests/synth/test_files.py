"""synth.files: a write that fails for a reason the user can fix (a full disk, a read-only or
forbidden folder) is a one-line error naming the file, leaves no temp file and keeps the
previous version; an output folder that cannot be written is refused before any work."""
import errno
import os

import pytest
from click.testing import CliRunner

from synth.errors import UserError
from synth.files import atomic_path, check_out_dir, write_text_atomic


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_is_a_user_error_and_keeps_the_old_file(tmp_path):
    out = write_text_atomic(tmp_path / "report.txt", "old\n")
    with pytest.raises(UserError, match=r"cannot write .*report.txt: No space left on device"):
        with atomic_path(out) as tmp:
            tmp.write_text("half")
            _full_disk()
    assert out.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "report.txt"]


def test_other_errors_are_not_renamed(tmp_path):
    with pytest.raises(FileNotFoundError):   # not a write error: the caller's to report
        with atomic_path(tmp_path / "x.txt"):
            open(tmp_path / "missing-input")


def _checkpoint(path):
    from synth.checkpoint import save_checkpoint
    from synth.models import build
    model = build({"family": "mlp", "hidden": [8]}, (4,), 3)
    save_checkpoint(path, model, dataset={"name": "iris", "input_shape": [4], "num_classes": 3,
                                          "mean": [0.0] * 4, "std": [1.0] * 4})
    return str(path)


def test_export_on_a_full_disk_is_one_line(tmp_path, monkeypatch):
    """The ONNX writer's OSError (a traceback) is the one line of every other command."""
    import torch.onnx
    from deploy.cli.main import cli
    model = _checkpoint(tmp_path / "m.pt")
    monkeypatch.setattr(torch.onnx, "export", _full_disk)
    r = CliRunner().invoke(cli, ["export", "--model", model, "--out", str(tmp_path / "m.onnx")])
    lines = r.stderr.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, r.stderr
    assert "No space left on device" in lines[0] and "Traceback" not in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


def test_an_unwritable_out_folder_is_refused_before_any_work(tmp_path, monkeypatch):
    """A read-only folder (os.access says so: root on a read-only mount, a user without the
    permission) was found only when the checkpoint was saved, after the training."""
    import synth.train
    from deploy.cli.main import cli
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: (
        False if os.path.realpath(p) == str(folder) else real_access(p, mode, **kw)))
    monkeypatch.setattr(synth.train, "fit", lambda *a, **k: pytest.fail("trained first"))
    r = CliRunner().invoke(cli, ["train", "--dataset", "iris", "--model", "mlp_small",
                                 "--out", str(folder / "sub" / "m.pt")])
    assert r.exit_code == 2, r.output
    assert f"{folder} is not writable" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    with pytest.raises(UserError, match="--out .* is not writable"):
        check_out_dir(folder / "inv")
