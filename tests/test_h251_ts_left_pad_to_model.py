"""A model trained on a left-padded sequence set (series of unequal lengths, the shorter ones
padded on the left to the longest) scores a file of shorter series: padded on the left to the
model's steps, as its training set's shorter series were.  `nnsynth eval` of a japanesevowels
model (29 steps) on aeon's JapaneseVowels_TRAIN.ts (longest series 26 steps) was refused:
'has input shape (12, 26) but the model expects (12, 29)'."""
import json

import numpy as np
import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from tests.synth._tiny import TOY_TS_HEADER


def _write(path, lengths, seed):
    """A 2-channel .ts file of series of ``lengths`` steps ('?' ends the shorter ones), classes
    up/down by sign."""
    rng = np.random.default_rng(seed)
    top = max(lengths)
    lines = []
    for i, steps in enumerate(lengths):
        label = "up" if i % 2 == 0 else "down"
        a = rng.normal(size=(2, steps)) + (3.0 if label == "up" else -3.0)
        lines.append(":".join(",".join([f"{v:.6f}" for v in c] + ["?"] * (top - steps))
                              for c in a) + ":" + label)
    path.write_text(TOY_TS_HEADER + "\n".join(lines) + "\n")
    return path


def test_a_file_of_shorter_series_is_left_padded_to_the_model(tmp_path):
    own = _write(tmp_path / "Own_TRAIN.ts", [4 + i % 3 for i in range(30)], 0)    # 4-6 steps
    short = _write(tmp_path / "Short.ts", [3 + i % 2 for i in range(12)], 1)      # 3-4 steps
    equal = _write(tmp_path / "Equal_TRAIN.ts", [6] * 30, 2)
    model, flat = tmp_path / "m.pt", tmp_path / "e.pt"
    for data, path in ((own, model), (equal, flat)):
        res = CliRunner().invoke(cli, ["train", "--dataset", f"ts:{data}", "--model",
                                       "mlp_small", "--epochs", "1", "--min-steps", "0",
                                       "--out", str(path)])
        assert res.exit_code == 0, res.output
    res = CliRunner().invoke(cli, ["eval", "--model", str(model), "--dataset", f"ts:{short}",
                                   "--split", "all", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["samples"] == 12 and "at most 4 steps" in out["note"], out
    assert "left-padded" in out["note"] and "model's 6 steps" in out["note"]
    # what the model read: each series behind 2-3 steps of padding that the model's
    # normalization keeps at the padding value (0), its real steps in the model's scale
    from synth.checkpoint import checkpoint_dataset, load_model
    from synth.data import load_dataset
    m = load_model(model)
    data = checkpoint_dataset(m, f"ts:{short}", whole=True)
    x = torch.cat([data.x_train, data.x_val, data.x_test])
    assert tuple(x.shape) == (12, 2, 6) and data.input_shape == (2, 6)
    raw = load_dataset(f"ts:{short}", whole=True)        # the same rows, in the same order
    seen = torch.cat([raw.x_train, raw.x_val, raw.x_test])
    real = seen * torch.tensor(raw.std).view(-1, 1) + torch.tensor(raw.mean).view(-1, 1)
    record = m.checkpoint_info["dataset"]
    scaled = ((real - torch.tensor(record["mean"]).view(-1, 1))
              / torch.tensor(record["std"]).view(-1, 1))
    for row, s, r in zip(x, scaled, seen):
        n = 4 - int((r == 0).all(dim=0).int().cumprod(0).sum())   # the series' real steps
        assert n in (3, 4)
        assert (row[:, :6 - n] == 0).all()                  # padding, at the padding value
        assert torch.allclose(row[:, 6 - n:], s[:, 4 - n:], atol=1e-5)
    # a model of equal-length series never saw padding: still refused, in one line
    res = CliRunner().invoke(cli, ["eval", "--model", str(flat), "--dataset", f"ts:{short}"])
    assert res.exit_code == 2 and "has input shape (2, 4) but the model expects (2, 6)" in \
        res.output, res.output

