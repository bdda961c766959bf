"""User probe 7a (helper 69): a user's own data files (CSV, plain Parquet, latin-1 text,
image folders, .ts) on cases the bundled sets never exercise.  Each test failed before
its fix."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from synth.data import load_dataset
from synth.errors import UserError


def _write_csv(path, header, rows, encoding="utf-8", newline="\n"):
    text = newline.join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + newline
    path.write_bytes(text.encode(encoding))
    return f"csv:{path}"


# --------------------------------------------------------------------------- 1. constant feature
def test_feature_constant_on_train_is_scaled_by_one_not_1e8(tmp_path):
    """A feature that is 0 in every training row (a digit's border pixel) had std 0 and was
    divided by 1e-8: a test row where it is 1 became 1e8 (test loss 1.3e6).  It is divided
    by 1 now (scikit-learn's StandardScaler), and the std the set records is that 1."""
    rows = []
    for i in range(60):
        split = "train" if i < 40 else ("val" if i < 50 else "test")
        edge = 0 if split == "train" else 1
        rows.append([i % 7 * 0.5, edge, i % 2, split])
    data = load_dataset(_write_csv(tmp_path / "c.csv", ["a", "edge", "label", "split"], rows))
    assert data.std[1] == 1.0
    assert torch.all(data.x_train[:, 1] == 0)
    assert torch.allclose(data.x_test[:, 1], torch.ones(len(data.x_test)))
    assert float(data.x_test.abs().max()) < 10
    lo, hi = data.pixel_range()
    assert torch.isfinite(lo).all() and torch.isfinite(hi).all()


def test_image_channel_constant_on_train_is_scaled_by_one(tmp_path):
    from synth.data import _image_dataset
    x = np.random.default_rng(0).random((40, 3, 4, 4)).astype(np.float32)
    x[:, 2] = 0.0                                   # a blue channel that is always black
    y = np.arange(40) % 2
    train, val, test = np.arange(30), np.arange(30, 35), np.arange(35, 40)
    x[35:, 2] = 1.0                                 # ... except in the test images
    data = _image_dataset("t", x, y, ["a", "b"], 0, (train, val, test))
    assert data.std[2] == 1.0
    assert float(data.x_test[:, 2].max()) == pytest.approx(1.0)
