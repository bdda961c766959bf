"""User probe 6 (helper 65): other data sets (.ts files, CSV tables) and other accelerator
configurations, run as a user would; each test failed before its fix."""
import json

import pytest
import torch

from tests._cli import json_result, one_error_line, run


def _ts(path, order: str, rows: int = 30) -> str:
    """A two-class .ts file (20 series of class '1', 10 of class '2'), its classes declared
    in ``order``."""
    lines = ["@problemName probe", "@univariate true", f"@classLabel true {order}", "@data"]
    for i in range(rows):
        label = "1" if i % 3 else "2"
        values = ",".join(f"{(i * 7 + t) % 5 - (2 if label == '2' else 0)}" for t in range(8))
        lines.append(f"{values}:{label}")
    path.write_text("\n".join(lines) + "\n")
    return f"ts:{path}"


def test_eval_on_a_file_declaring_the_classes_in_another_order(tmp_path):
    """Two .ts files with the same series, one declaring '@classLabel true 1 2' and the other
    '2 1': `nnsynth eval --model m.pt --dataset ts:b.ts` scored the model's output 0 (class
    '1') against label index 0 of b.ts (class '2'): a model right on 70% printed 30%."""
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    a, b = _ts(tmp_path / "a.ts", "1 2"), _ts(tmp_path / "b.ts", "2 1")
    data = load_dataset(a, seed=0)
    model = build({"family": "mlp", "hidden": [4]}, data.input_shape, data.num_classes)
    with torch.no_grad():   # always predicts class '1', the first of a.ts
        for p in model.parameters():
            p.zero_()
        list(model.parameters())[-1][0] = 1.0
    save_checkpoint(tmp_path / "m.pt", model, dataset=data.metadata())
    acc = {f: json_result(run(["eval", "--model", str(tmp_path / "m.pt"), "--dataset", f,
                               "--split", "train", "--json"]))["accuracy"] for f in (a, b)}
    assert acc[a] == pytest.approx(2 / 3, abs=0.1)
    assert acc[b] == acc[a]
