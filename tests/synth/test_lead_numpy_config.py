"""Config fields take NumPy scalars as the numbers they are (lead, 2026-12-06).

``TrainConfig(epochs=np.int64(3))`` -- a value from np.arange, a grid or a DataFrame row --
was refused ('epochs must be an integer, got np.int64(3)'), and a np.float32 learning rate
passed validation but stayed a NumPy scalar, which json.dumps of the config refuses."""
import json

import numpy as np
import pytest

from synth.errors import ConfigError
from synth.train import TrainConfig


def test_numpy_scalars_become_python_numbers():
    config = TrainConfig(epochs=np.int64(3), lr=np.float32(0.5), seed=np.uint8(7))
    assert (config.epochs, config.seed) == (3, 7)
    assert type(config.epochs) is int and type(config.seed) is int
    assert type(config.lr) is float and config.lr == pytest.approx(0.5)
    assert json.loads(json.dumps(config.to_dict()))["epochs"] == 3


def test_numpy_values_are_still_checked():
    with pytest.raises(ConfigError, match=r"batch_size must be in \[1, 100000\], got 0"):
        TrainConfig(batch_size=np.int64(0))
    with pytest.raises(ConfigError, match="epochs must be an integer"):
        TrainConfig(epochs=np.float64(2.5))


def test_a_tuple_of_numpy_integers_becomes_one_of_ints():
    from synth.diabdeep import DiabDeepConfig
    config = DiabDeepConfig(server_hidden=tuple(np.arange(64, 0, -32)))
    assert config.server_hidden == (64, 32)
    assert all(type(v) is int for v in config.server_hidden)
    json.dumps(config.to_dict())
