"""benchmarks/inversion_any.py's sequence rows (h131): ``--list-rows`` names them without doing
any work, and each row's teacher and student specs build for its data set's (C, L) input (a
row whose spec did not fit its set would only fail minutes into a benchmark run)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEQUENCE_ROWS = ["convnet1d_small/japanesevowels", "convnet1d_small/basicmotions",
                 "convnet1d_small/scp1", "mlp_bn/japanesevowels", "convnet1d_small/gunpoint",
                 "convnet1d_small/pickupgesture"]


def listed(rows: list[str]) -> list[list[str]]:
    proc = subprocess.run([sys.executable, "benchmarks/inversion_any.py", "--list-rows",
                           "--rows", ",".join(rows)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return [line.split("\t") for line in proc.stdout.splitlines() if line]


def spec(text: str):
    return json.loads(text) if text.startswith("{") else text


def test_sequence_rows_list_and_build():
    import torch

    from synth.data import load_dataset
    from synth.models import batchnorm_layers, build
    lines = listed(SEQUENCE_ROWS)
    assert [line[0] for line in lines] == SEQUENCE_ROWS
    shapes = {}
    for name, dataset, teacher, epochs, student in lines:
        assert epochs.endswith(" epochs") and int(epochs.split()[0]) > 0
        assert name.endswith("/" + dataset)
        if dataset not in shapes:
            data = load_dataset(dataset)
            assert data.is_sequence, dataset
            shapes[dataset] = (data.input_shape, data.num_classes)
        shape, classes = shapes[dataset]
        t = build(spec(teacher), shape, classes)
        s = build(spec(student), shape, classes)
        assert batchnorm_layers(t), f"{name}: the teacher has no BatchNorm to invert"
        assert s.spec["family"] == "convnet1d", name
        x = torch.zeros(2, *shape)
        assert t.eval()(x).shape == s.eval()(x).shape == (2, classes)


def test_unknown_row_is_one_line_error():
    proc = subprocess.run([sys.executable, "benchmarks/inversion_any.py", "--list-rows",
                           "--rows", "convnet1d_small/nosuch"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert "convnet1d_small/scp1" in proc.stderr and "Traceback" not in proc.stderr
