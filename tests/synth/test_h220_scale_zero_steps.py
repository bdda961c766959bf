"""A held-out sequence file's real steps at its own mean are rescaled like every other step.

checkpoint.in_model_scale kept every step that was zero at every channel as padding: a
file of whole numbers centred on 0 (each series a permutation of -2..2 and 0) has steps
that normalize to exactly 0, which stayed at the model's mean (2.96 for a model trained on
readings around 3) instead of 0: eval/export/secret/grow-prune on that file read other
inputs than the file holds, without a word.  Only the leading run of a padded set is
padding; an equal-length set has none."""
import numpy as np
import torch

from synth.checkpoint import in_model_scale
from synth.data import Dataset, load_dataset


def _ts(path, rows):
    lines = ["@problemName q", "@univariate true", "@equalLength false",
             "@classLabel true lo hi", "@data"]
    lines += [",".join(str(v) for v in vals) + f":{lab}" for vals, lab in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_real_steps_at_the_mean_are_rescaled(tmp_path):
    rng = np.random.default_rng(0)
    rows = [(rng.permutation([-2, -1, 0, 1, 2, 0]), ["lo", "hi"][i % 2]) for i in range(30)]
    data = load_dataset(f"ts:{_ts(tmp_path / 'q.ts', rows)}")
    assert data.mean == [0.0] and data.extra["padding"].startswith("none")
    meta = {**data.metadata(), "mean": [3.0], "std": [1.5]}
    out = in_model_scale(data, meta)
    raw = data.x_test * data.std[0] + data.mean[0]
    assert (raw == 0).any()
    assert torch.allclose(out.x_test, (raw - 3.0) / 1.5)


def test_padding_is_the_leading_run_only():
    x = torch.from_numpy(np.random.default_rng(1).normal(size=(4, 2, 6)).astype(np.float32))
    x[:, :, :2] = 0.0          # two padded steps
    x[:, :, 4] = 0.0           # a real step at the mean on both channels
    y = torch.tensor([0, 1, 0, 1])
    data = Dataset("seq", x, y, x[:0], y[:0], x[:0], y[:0], (2, 6), 2, ["a", "b"],
                   [1.0, 2.0], [1.0, 1.0], extra={"padding": "left, zeros"})
    out = in_model_scale(data, {**data.metadata(), "mean": [0.0, 0.0], "std": [2.0, 2.0]})
    assert torch.equal(out.x_train[:, :, :2], torch.zeros(4, 2, 2))
    assert torch.allclose(out.x_train[:, :, 4], torch.tensor([0.5, 1.0]).expand(4, 2))
