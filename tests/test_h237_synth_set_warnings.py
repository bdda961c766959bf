"""prune and distill put the warnings about their --synth set in the result's 'warning'
(--json, the checkpoint's metrics), not only on stderr.

``nnsynth distill --teacher bn3.pt --synth inv1 --json`` (inv1 inverted from another
teacher) said 'warning: --synth inv1 was synthesized from another teacher ...' on stderr
and its JSON, which carries every other warning of a run (fidelity, one class, ...), had no
'warning' key; the same for ``nnsynth prune --synth``."""
import json

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from synth.dfprune import PruneConfig
from synth.distill import DistillConfig
from synth.workflows import distill_checkpoint, prune_checkpoint
from tests._cli import json_result, run

LINE = "was synthesized from another teacher (checksum 0123456789abcdef; the {}'s is"


def _teacher(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("f0,f1,label\n" + "".join(f"{i % 9},{i % 4 + 3 * (i % 2)},{'ab'[i % 2]}\n"
                                                for i in range(60)))
    json_result(run(["-q", "train", "--dataset", f"csv:{table}", "--model",
                     '{"family": "mlp", "hidden": [8], "bn": true}', "--epochs", "2",
                     "--min-steps", "0", "--out", str(tmp_path / "m.pt"), "--json"]))
    return tmp_path / "m.pt"


def _set(tmp_path, checksum="0123456789abcdef"):
    folder = tmp_path / "set"
    folder.mkdir()
    pq.write_table(pa.table({"f0": [float(i % 5) for i in range(16)],
                             "f1": [float(i % 3) for i in range(16)],
                             "label": ["ab"[i % 2] for i in range(16)]}),
                   folder / "shard-00000.parquet")
    (folder / "job.json").write_text(json.dumps({"teacher_checksum": checksum}))
    return folder


def test_the_set_of_another_teacher_is_in_the_result(tmp_path, caplog):
    teacher, folder = _teacher(tmp_path), _set(tmp_path)
    pruned = prune_checkpoint(teacher, tmp_path / "p.pt",
                              PruneConfig(ratio=0.5, importance="taylor", device="cpu"),
                              synth_dir=folder, kd_steps=2)
    assert LINE.format("model") in pruned["warning"], pruned
    saved = torch.load(tmp_path / "p.pt", weights_only=True)["metrics"]
    assert LINE.format("model") in saved["warning"]
    student = distill_checkpoint(teacher, "mlp_small", tmp_path / "s.pt",
                                 DistillConfig(epochs=1, min_steps=0, device="cpu"),
                                 synth_dir=folder)
    assert LINE.format("teacher") in student["warning"], student
    assert caplog.text.count(LINE.format("teacher")) == 1   # said once


def test_a_set_of_the_same_teacher_is_not_warned(tmp_path):
    teacher = _teacher(tmp_path)
    from synth.checkpoint import read_checkpoint_and_checksum
    folder = _set(tmp_path, read_checkpoint_and_checksum(teacher)[1])   # as invert records it
    student = distill_checkpoint(teacher, "mlp_small", tmp_path / "s.pt",
                                 DistillConfig(epochs=1, min_steps=0, device="cpu"),
                                 synth_dir=folder)
    assert "synthesized from another teacher" not in student.get("warning", "")
