"""``nnsynth train`` makes at least ``--min-steps`` optimizer steps (default 500): 15 epochs
of iris' 108 training inputs were 60 steps of 32 and scored 80% on the test split, an
11-class table of 158 training rows 64% against LogisticRegression's 98%, without a word."""
import json

import pytest
import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.data import load_dataset
from synth.errors import ConfigError
from synth.models import build
from synth.train import TrainConfig, epochs_for_steps, fit


def test_epochs_are_raised_to_make_the_minimum_steps():
    assert epochs_for_steps(15, 500, 108, 32) == 125          # 4 steps an epoch
    assert epochs_for_steps(15, 500, 1293, 32) == 15          # 41 steps an epoch: 615
    assert epochs_for_steps(3, 0, 10, 32) == 3
    data = load_dataset("iris", seed=0)
    torch.manual_seed(0)
    model = build({"family": "mlp", "hidden": [8]}, data.input_shape, data.num_classes)
    m = fit(model, data, TrainConfig(epochs=2, min_steps=40, progress=False))
    assert (m["epochs"], m["epochs_requested"], m["min_steps"]) == (10, 2, 40)
    assert len(m["history"]) == 10
    plain = fit(model, data, TrainConfig(epochs=2, progress=False))
    assert plain["epochs"] == 2 and "epochs_requested" not in plain
    with pytest.raises(ConfigError):
        TrainConfig(min_steps=-1)


def test_train_command_trains_a_small_set_to_the_minimum_steps(tmp_path):
    def run(*extra):
        r = CliRunner().invoke(cli, ["-q", "train", "--dataset", "iris", "--model", "mlp_small",
                                     "--out", str(tmp_path / "m.pt"), "--json", *extra])
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)
    made = run()
    assert (made["epochs"], made["epochs_requested"], made["min_steps"]) == (125, 15, 500)
    assert made["test_accuracy"] >= 0.9            # 0.80 at 15 epochs (60 steps)
    exact = run("--min-steps", "0", "--epochs", "3")
    assert exact["epochs"] == 3 and "epochs_requested" not in exact
