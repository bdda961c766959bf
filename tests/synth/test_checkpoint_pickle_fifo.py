"""``checkpoint_pickle`` (which ``nnsynth eval`` asks, through ``is_lm_checkpoint``, before
its reader checks the path) opened a FIFO to read and waited for a writer for ever: CI's
``eval --model FIFO`` test hung to its 600 s timeout.  It now reads regular files only."""
import os

import pytest
import torch

from synth.checkpoint import checkpoint_pickle
from synth.lm import is_lm_checkpoint


@pytest.mark.timeout(60)
def test_a_fifo_or_a_device_is_not_read(tmp_path):
    fifo = tmp_path / "m.pt"
    os.mkfifo(fifo)   # nobody writes: a blocking open would never return
    assert checkpoint_pickle(fifo) is None
    assert is_lm_checkpoint(fifo) is False
    assert checkpoint_pickle("/dev/null") is None
    assert checkpoint_pickle(tmp_path) is None   # a directory


def test_a_torch_save_zip_is_still_read(tmp_path):
    path = tmp_path / "x.pt"
    torch.save({"spec": {"family": "mlp"}, "state_dict": {}}, path)
    raw = checkpoint_pickle(path)
    assert raw is not None and b"state_dict" in raw
