"""The Ctrl-C line of ``nnsynth train`` and ``distill`` states the rule fit saves its state by
(h284).

fit saves its state only at the end of an epoch whose validation ran (every data-parallel
worker's generators are gathered there), the first one 30 s or more after the previous save;
distill validates every ceil(epochs / 100)-th epoch of a long training.  The line said "it is
saved at the end of the first epoch after every 30 s": with epochs of 20 s validated every
third, the state was at epoch 3 (60 s), where the line promised epoch 2 (40 s)."""
import math
import re
import types

import pytest
import torch

import synth.train as train
from deploy.cli.main import interrupted_line
from synth import resume
from synth.dataset import Dataset
from synth.distill import DistillConfig, distill_train_config
from synth.models import build

SECONDS_PER_EPOCH = 20.0


def _data() -> Dataset:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(24, 4, generator=g)
    y = torch.arange(24) % 3
    return Dataset("tiny", x[:16], y[:16], x[16:20], y[16:20], x[20:], y[20:], (4,), 3,
                   ["a", "b", "c"], [0.0] * 4, [1.0] * 4)


def _saved_epoch(tmp_path, monkeypatch, validate_every: int) -> tuple[int, str]:
    """(the epoch, from 1, of the state fit kept, the state's path): 6 epochs of one step
    that take 20 s each, validated every ``validate_every``-th, Ctrl-C in the fifth."""
    clock = [0.0]
    monkeypatch.setattr(train, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    data = _data()
    model = build({"family": "mlp", "hidden": [4]}, data.input_shape, data.num_classes)
    steps = [0]

    def step(m):
        clock[0] += SECONDS_PER_EPOCH
        steps[0] += 1
        if steps[0] == 5:
            raise KeyboardInterrupt
    state = tmp_path / f"m{validate_every}.pt.resume"
    config = train.TrainConfig(epochs=6, min_steps=0, batch_size=16, progress=False,
                               validate_every=validate_every)
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, data, config, after_step=step, state_path=state, state_key="k")
    return torch.load(state, weights_only=True)["epoch"] + 1, str(state)


def _predicted(line: str, validate_every: int, finished: int = 4) -> int:
    """The epoch (from 1) of the last state the line's rule saves in the ``finished``
    epochs before Ctrl-C: at the end of an epoch -- a validated one, where the line says so
    -- ending STATE_SECONDS or more after the previous save."""
    match = re.search(r"end of the first (validated )?epoch.*? (?:ending|after every) "
                      r"([\d.]+) s", line)   # (the line before h284: 'after every 30 s')
    assert match, line
    every = validate_every if match.group(1) else 1
    last, saved = 0.0, None
    for epoch in range(1, finished + 1):
        now = epoch * SECONDS_PER_EPOCH
        if epoch % every == 0 and now - last >= float(match.group(2)):
            last, saved = now, epoch
    return saved


@pytest.mark.parametrize("command,validate_every", [("train", 1), ("distill", 3)])
def test_the_ctrl_c_line_names_the_epoch_the_state_was_saved_at(tmp_path, monkeypatch,
                                                                command, validate_every):
    resume.forget_states()
    saved, state = _saved_epoch(tmp_path, monkeypatch, validate_every)
    line = interrupted_line(command, {"out": state[:-len(".resume")]})
    assert state in line, line
    assert _predicted(line, validate_every) == saved, (saved, line)
    # train: epochs 2 and 4 (40 s apart); distill: epoch 3, where 'the first epoch after
    # every 30 s' was epoch 4
    assert saved == {"train": 4, "distill": 3}[command]


def test_distill_validates_the_epochs_its_line_says():
    from deploy.cli.main import _distill_validates
    assert "every ceil(epochs / 100)-th of more than 100" in _distill_validates()
    for epochs, every in ((30, 1), (100, 1), (101, 2), (250, 3)):
        config = distill_train_config(DistillConfig(epochs=epochs, min_steps=0), 64)
        assert config.validate_every == every == max(1, math.ceil(epochs / 100))
