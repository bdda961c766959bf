"""nnsynth diabdeep's state records its run whether or not a report is there yet (h292): it
claimed ``<report>.resume`` only on a rerun of a written report (``is_finished``), so a run
killed between writing its report and removing its state left a state recording no run, and
its own rerun kept it with a warning (h289's limit) instead of removing it."""
import json
import logging

import torch

import synth.resume
from synth.data import load_dataset
from synth.diabdeep import STATE_FORMAT, run_diabdeep
from tests.synth.test_h284_diabdeep_rerun import _config

KEPT = "is kept: it holds the state of"


def test_its_own_runs_leftover_state_is_removed(tmp_path, monkeypatch, caplog):
    data = load_dataset("basicmotions", seed=0)
    report, state = tmp_path / "r.json", tmp_path / "r.json.resume"
    synth.resume.forget_states()

    def killed(*args, **kwargs):   # between writing the report and removing the state
        raise KeyboardInterrupt
    with monkeypatch.context() as m:
        m.setattr(synth.resume, "remove_state", killed)
        try:
            run_diabdeep(_config(), data=data, report=str(report))
        except KeyboardInterrupt:
            pass
    assert report.is_file() and state.is_file()
    saved = torch.load(state, weights_only=True)
    assert saved["format"] == STATE_FORMAT
    assert saved.get(synth.resume.RUN) == json.loads(report.read_text())["run_key"]["key"]
    synth.resume.forget_states()          # the rerun: a new command
    with caplog.at_level(logging.WARNING):
        run_diabdeep(_config(), data=data, report=str(report))
    assert "is the finished result of this same command" in caplog.text
    assert not state.exists() and KEPT not in caplog.text    # kept, with the line, before
