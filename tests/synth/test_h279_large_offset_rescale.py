"""A table of large-offset features scored by a model of another file of it (h279).

``in_model_scale`` recovered a set's raw values in float32 (``x * std + mean``): a feature of
readings near 1e9 (epoch seconds, a meter reading) holds raw float32 values 64 apart, so a
half of the training file itself, given to ``nnsynth eval --dataset``, reached the model as
multiples of 64 of its std-3 units: 38.7% where the model scores 84.0% on those very rows
(a 3-class MLP of two such features), without a word.  The rescaling is now an affine map
whose gain and shift are computed in float64.
"""
import numpy as np
import torch

from synth.checkpoint import in_model_scale
from synth.data import load_dataset


def _write(path, x, y):
    rows = (f"{float(u)!r},{float(v)!r},{c}\n" for (u, v), c in zip(x, y))
    path.write_text("a,b,label\n" + "".join(rows))


def test_a_large_offset_survives_the_models_normalization(tmp_path):
    rng = np.random.default_rng(0)
    y = np.arange(90) % 3
    x = 1e9 + rng.normal(size=(90, 2)) * 3 + y[:, None]
    _write(tmp_path / "all.csv", x, y)
    _write(tmp_path / "half.csv", x[::2], y[::2])
    whole = load_dataset(f"csv:{tmp_path / 'all.csv'}")
    half = load_dataset(f"csv:{tmp_path / 'half.csv'}")
    assert half.mean != whole.mean   # a rescaling to do
    got = in_model_scale(half, whole.metadata())
    raw = x[::2]   # every row of half.csv is in one of its splits: find each by its label
    want = (raw - np.asarray(whole.mean)) / np.asarray(whole.std)
    scored = torch.cat([got.x_train, got.x_val, got.x_test]).numpy().astype(np.float64)
    # each scored row is one of half.csv's rows in the model's normalization (to float32's
    # precision of a value of a few units); before, rows were 64 / std apart or more
    nearest = np.abs(scored[:, None, :] - want[None, :, :]).max(axis=2).min(axis=1)
    assert nearest.max() < 1e-5, nearest.max()
