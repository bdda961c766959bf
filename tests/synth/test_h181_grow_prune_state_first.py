"""``nnsynth grow-prune`` refused a ``<out>.resume`` it cannot use (a folder, a file that is not
nnsynth's, another command's state) only when its loop started, after the dense training:
``nnsynth grow-prune --dataset digits --model mlp_small --epochs 5 --out g.pt`` with a folder
g.pt.resume trained for 20 s, then said "g.pt.resume is a directory" (and left
g.pt.dense.resume behind).  ``synth.grow_prune.check_state`` refuses it at once."""
import pytest
import torch

from synth import grow_prune
from synth.errors import UserError
from synth.resume import save_state
from synth.train import STATE_FORMAT as TRAIN_STATE
from tests._cli import one_error_line, run


def test_check_state_refuses_what_the_loop_could_not_use_and_accepts_its_own(tmp_path):
    path = tmp_path / "g.pt.resume"
    assert grow_prune.check_state(path) is None                   # nothing there: fine
    save_state(path, grow_prune.STATE_FORMAT, "other settings", {"step": 1})
    assert grow_prune.check_state(path) is None                   # its own (any settings)
    path.unlink()
    path.mkdir()
    with pytest.raises(UserError, match="g.pt.resume is a directory, not an nnsynth "
                                        "grow-prune state"):
        grow_prune.check_state(path)
    path.rmdir()
    torch.save({"weights": torch.zeros(2)}, path)                 # the user's own file
    with pytest.raises(UserError, match="is not an nnsynth grow-prune state: move it away"):
        grow_prune.check_state(path)
    save_state(path, TRAIN_STATE, "k", {"epoch": 0})              # nnsynth train's
    with pytest.raises(UserError, match="holds the state of an interrupted training"):
        grow_prune.check_state(path)
    assert path.is_file()                                         # refused, and kept


def test_grow_prune_refuses_a_folder_at_its_state_before_the_dense_training(tmp_path):
    (tmp_path / "g.pt.resume").mkdir()
    (tmp_path / "g.pt.resume" / "mine.txt").write_text("keep")
    line = one_error_line(run(["-q", "grow-prune", "--dataset", "digits", "--model",
                               "mlp_small", "--epochs", "1", "--prune-steps", "1",
                               "--out", str(tmp_path / "g.pt")]))
    assert "g.pt.resume is a directory, not an nnsynth grow-prune state" in line, line
    # the dense training did not run: it leaves its state until the checkpoint is written
    assert not (tmp_path / "g.pt.dense.resume").exists()
    assert (tmp_path / "g.pt.resume" / "mine.txt").read_text() == "keep"
