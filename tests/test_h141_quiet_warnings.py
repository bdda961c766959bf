"""``nnsynth -q`` hides progress and keeps warnings, as its help says ("warnings and errors
only").  It set the library's loggers to ERROR, so every warning a command logs (a step count
raised on a tiny set, a synthesized set below its fidelity target, a fusion weight not chosen)
was dropped under -q."""
import logging

from synth.checkpoint import save_checkpoint
from synth.continual import class_subset
from synth.data import load_dataset
from tests._cli import json_result, run
from tests.synth.test_h133_continual_steps import old_model


def test_a_quiet_command_still_logs_its_warnings(tmp_path, caplog):
    data = load_dataset("iris", seed=0)
    save_checkpoint(tmp_path / "old.pt", old_model(data, [0, 1], epochs=3),
                    dataset=class_subset(data, [0, 1]).metadata())
    with caplog.at_level(logging.WARNING):
        result = json_result(run(["-q", "continual", "--model", str(tmp_path / "old.pt"),
                                  "--new-dataset", "iris", "--new-classes", "2", "--method",
                                  "finetune", "--epochs", "2", "--min-steps", "6",
                                  "--out", str(tmp_path / "new.pt"), "--json"]))
    assert result["steps"] == 6
    assert any("min_steps 6" in r.getMessage() for r in caplog.records
               if r.levelno == logging.WARNING), caplog.text
