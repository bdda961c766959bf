"""``nnsynth grow-prune --model`` takes a variant, a JSON spec or a checkpoint; a FIFO, a
folder or a link that leads nowhere at a checkpoint's path is named as what it is (helper
h307).  Only a regular file counted as a checkpoint: the rest reached the spec parser, which
said "a file, where a variant name or JSON spec is expected" (grow-prune accepts
checkpoints, and it was no file)."""
import os
import re

import pytest

from synth.errors import UserError
from synth.grow_prune import GrowPruneSchedule
from synth.workflows import grow_prune_checkpoint


@pytest.mark.parametrize("kind,said", [("fifo", "is a named pipe (FIFO)"),
                                       ("folder", "is a folder"),
                                       ("link", "is a symbolic link that leads nowhere")])
def test_a_path_that_is_no_file_is_named_as_a_checkpoint(tmp_path, kind, said):
    path = tmp_path / "m.pt"
    {"fifo": os.mkfifo, "folder": os.mkdir,
     "link": lambda p: os.symlink(tmp_path / "nowhere", p)}[kind](path)
    with pytest.raises(UserError, match=re.escape(f"m.pt {said}; expected an nnsynth "
                                                  f"checkpoint")):
        grow_prune_checkpoint("iris", str(path), tmp_path / "out.pt", GrowPruneSchedule(),
                              progress=False)
    assert not (tmp_path / "out.pt").exists()


def test_a_folder_named_like_a_variant_stays_the_variant(tmp_path, monkeypatch):
    from synth.workflows import names_checkpoint
    monkeypatch.chdir(tmp_path)
    os.mkdir("mlp_small")
    assert not names_checkpoint("mlp_small")
    assert not names_checkpoint({"family": "mlp", "hidden": [8]})
