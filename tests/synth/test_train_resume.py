"""An interrupted training resumes (``fit(state_path=...)``, ``nnsynth train``): the CLI said
"rerun the same command to resume" after Ctrl-C, and ``nnsynth train`` started over."""
import pytest
import torch

import synth.train
from synth.errors import UserError
from synth.models import build
from synth.train import TrainConfig, fit

CONFIG = TrainConfig(epochs=4, batch_size=64, lr=0.05, progress=False)


def _model(digits):
    torch.manual_seed(0)
    return build("mlp_small", digits.input_shape, digits.num_classes)


class Stop(Exception):
    pass


def _stop_at(epoch):
    def hook(model, e):
        if e == epoch:
            raise Stop
    return hook


def test_an_interrupted_fit_resumes_to_the_uninterrupted_model(digits, tmp_path, monkeypatch,
                                                               caplog):
    monkeypatch.setattr(synth.train, "STATE_SECONDS", 0.0)      # a state after every epoch
    whole = _model(digits)
    expected = fit(whole, digits, CONFIG)
    state = tmp_path / "m.pt.resume"
    with pytest.raises(Stop):
        fit(_model(digits), digits, CONFIG, state_path=state, on_epoch_end=_stop_at(2))
    assert torch.load(state, weights_only=True)["epoch"] == 1     # epochs 0 and 1 are kept
    resumed_model = _model(digits)
    ran = []
    resumed = fit(resumed_model, digits, CONFIG, state_path=state,
                  on_epoch_end=lambda m, e: ran.append(e))
    assert ran == [2, 3] and "resuming the training from epoch 3 of 4" in caplog.text
    for a, b in zip(whole.state_dict().values(), resumed_model.state_dict().values()):
        assert torch.equal(a, b)
    assert resumed["best_epoch"] == expected["best_epoch"]
    assert resumed["history"] == expected["history"]


def test_a_state_of_other_settings_is_not_continued(digits, tmp_path, monkeypatch):
    monkeypatch.setattr(synth.train, "STATE_SECONDS", 0.0)
    state = tmp_path / "m.pt.resume"
    with pytest.raises(Stop):
        fit(_model(digits), digits, CONFIG, state_path=state, on_epoch_end=_stop_at(2))
    ran = []
    fit(_model(digits), digits, CONFIG.replace(lr=0.01), state_path=state,
        on_epoch_end=lambda m, e: ran.append(e))
    assert ran == [0, 1, 2, 3]                                   # started over


def test_a_file_that_is_not_a_state_is_refused_and_kept(digits, tmp_path):
    state = tmp_path / "m.pt.resume"
    state.write_bytes(b"the user's own file")
    with pytest.raises(UserError, match="move it away"):
        fit(_model(digits), digits, CONFIG, state_path=state)
    assert state.read_bytes() == b"the user's own file"
    synth.train.remove_state(state)                              # not ours: not deleted
    assert state.exists()


def test_train_checkpoint_leaves_no_state_behind(digits, tmp_path):
    from synth.workflows import train_checkpoint
    out = tmp_path / "m.pt"
    metrics = train_checkpoint("digits", "mlp_small", out, CONFIG.replace(epochs=1))
    assert out.is_file() and metrics["checkpoint"] == str(out)
    assert not (tmp_path / "m.pt.resume").exists()
