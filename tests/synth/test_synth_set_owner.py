"""A --synth set made for another teacher is warned of: one of another class count (continual
took a 3-class wine teacher's set as the inputs of a 2-class model's old classes without a
word; its inputs serve, since KD and continual take the model's own outputs, so it is used,
as tests/synth/test_h127_teacher_tables.py's real 3-class table is), and one whose job.json
names another teacher's checksum (found by h156)."""
import json
import logging

import pytest
import torch

from synth.checkpoint import load_model, save_checkpoint, synthesized_for
from synth.data import write_parquet
from synth.models import build

MLP_BN = {"family": "mlp", "hidden": [8], "bn": True, "dropout": 0.0}
META = {"input_shape": [5], "num_classes": 2, "mean": [0.0] * 5, "std": [1.0] * 5}


@pytest.fixture()
def model(tmp_path):
    torch.manual_seed(0)
    return load_model(save_checkpoint(tmp_path / "m.pt", build(MLP_BN, (5,), 2).eval(),
                                      dataset=META))


def _set(folder, classes: int, checksum: str | None = None):
    write_parquet(folder / "s.parquet", torch.randn(30, 5), torch.arange(30) % classes,
                  {**META, "num_classes": classes})
    if checksum is not None:
        (folder / "job.json").write_text(json.dumps({"teacher_checksum": checksum}))
    return folder


def test_a_set_of_other_classes_is_warned_of(model, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="synth.checkpoint"):
        found = synthesized_for(model, _set(tmp_path / "other", 3))
    assert found.num_classes == 3
    assert "is a set of 3 classes where the model predicts 2" in caplog.text


def test_a_set_of_another_teacher_is_warned_of(model, tmp_path, caplog):
    own = model.checkpoint_info["checksum"]
    with caplog.at_level(logging.WARNING, logger="synth.checkpoint"):
        synthesized_for(model, _set(tmp_path / "mine", 2, own))
        assert not caplog.records
        found = synthesized_for(model, _set(tmp_path / "theirs", 2, "0123456789abcdef"))
    assert found.num_classes == 2
    assert "synthesized from another teacher (checksum 0123456789abcdef" in caplog.text
