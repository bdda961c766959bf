"""`nnsynth continual --json` keeps the line naming a class its test split lacks (h236).

A new folder whose test/ has no image of the new class 'c': the result's accuracy_new was
null and the reason was only logged ("the test split holds no sample of class 'c':
accuracy_new is none"), so a --json reader that keeps stdout alone saw a null and nothing
else; the checkpoint's metrics did not say it either.  It is now in the result's (and the
checkpoint's) 'warning' too, logged once.
"""
import logging

import torch

from synth.checkpoint import read_checkpoint, save_checkpoint
from synth.data_registry import load_dataset
from synth.models import build
from tests._cli import json_result, run
from tests.deploy.test_continual_absent_class import _folder as folder


def _folder(root, splits):
    return folder(root, splits, train=8, other=4)


def test_the_absent_class_line_is_in_the_json_result(tmp_path, caplog):
    old = load_dataset(_folder(tmp_path / "old", {"train": "ab", "val": "ab", "test": "ab"}))
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": False}, old.input_shape, 2)
    path = save_checkpoint(tmp_path / "old.pt", model.eval(), dataset=old.metadata())
    new = _folder(tmp_path / "new", {"train": "abc", "val": "abc", "test": "ab"})
    with caplog.at_level(logging.WARNING):
        result = json_result(run(["continual", "--model", str(path), "--new-dataset", new,
                                  "--new-classes", "c", "--method", "finetune", "--epochs",
                                  "1", "--min-steps", "0", "--out", str(tmp_path / "n.pt"),
                                  "--json"]))
    line = "no sample of class 'c': accuracy_new is none"
    assert result["accuracy_new"] is None and line in result["warning"]
    assert line in read_checkpoint(tmp_path / "n.pt")["metrics"]["warning"]
    assert caplog.text.count(line) == 1   # said once on stderr



def test_a_synth_set_of_another_teacher_is_in_the_json_result(tmp_path):
    """continual --synth DIR inverted from another model: 'was synthesized from another
    teacher' was logged only (prune and distill keep it in their result since 3f0d35c)."""
    import synth.workflows
    from synth.continual import ContinualConfig
    old = load_dataset("iris[0,1]")
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8], "bn": True}, old.input_shape, 2)
    path = save_checkpoint(tmp_path / "old.pt", model.eval(), dataset=old.metadata())
    # a real --synth set whose job.json names another teacher (nnsynth invert's record)
    import json
    from synth.data import write_parquet
    synth_dir = tmp_path / "s"
    write_parquet(synth_dir / "part-0.parquet", torch.cat([old.x_train, old.x_val]),
                  torch.cat([old.y_train, old.y_val]), old.metadata())
    (synth_dir / "job.json").write_text(json.dumps({"teacher_checksum": "0123456789abcdef"}))
    line = f"--synth {synth_dir} was synthesized from another teacher (checksum 0123456789abcdef"
    result = synth.workflows.continual_checkpoint(
        str(path), "iris", [2], tmp_path / "n.pt", ContinualConfig(
            method="deepinversion", epochs=1, min_steps=0, progress=False),
        synth_dir=str(synth_dir))
    assert line in result["warning"]
