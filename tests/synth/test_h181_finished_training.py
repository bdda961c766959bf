"""A training whose state was saved after its last epoch (``fit`` writes one then; the caller
removes it once its own output is written) is reused when rerun: the line said "resuming the
training from epoch 11 of 10" (grow-prune interrupted in its pruning, rerun: "resuming the
training from epoch 2 of 1 (g.pt.dense.resume)")."""
import logging

import torch

from synth.models import build
from synth.train import TrainConfig, fit


def _fit(digits, state):
    torch.manual_seed(0)
    model = build("mlp_small", digits.input_shape, digits.num_classes)
    config = TrainConfig(epochs=2, batch_size=64, seed=0, device="cpu", progress=False)
    return model, fit(model, digits, config, state_path=state, state_key="k")


def test_a_finished_training_is_reused_and_said_so(digits, tmp_path, caplog):
    state = tmp_path / "m.pt.resume"
    model, first = _fit(digits, state)
    assert state.is_file()                 # kept after the last epoch, as an interrupt leaves it
    with caplog.at_level(logging.WARNING, logger="synth.train"):
        again, second = _fit(digits, state)
    assert f"the training had finished (2 epochs); reusing it ({state})" in caplog.text
    assert "resuming the training from epoch" not in caplog.text, caplog.text
    for key in ("val_accuracy", "test_accuracy", "best_epoch", "history"):
        assert second[key] == first[key], key
    a, b = model.state_dict(), again.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
