"""Interruptions (h232): the Ctrl-C line says work is kept only where the rerun resumes it."""
import pytest
from click.testing import CliRunner

import synth.resume as resume
from deploy.cli.main import cli, interrupted_line
from synth.train import STATE_FORMAT

TRAIN = ["train", "--dataset", "iris", "--model", '{"family": "mlp", "hidden": [4]}',
         "--epochs", "2"]


def _interrupted_train(out, monkeypatch, *options):
    """``nnsynth train`` Ctrl-C'd right after fit looked for its state (before any save)."""
    real = resume.load_state

    def looked(*a, **k):
        real(*a, **k)
        raise KeyboardInterrupt
    monkeypatch.setattr(resume, "load_state", looked)
    r = CliRunner().invoke(cli, [*TRAIN, *options, "--out", str(out)])
    monkeypatch.setattr(resume, "load_state", real)
    assert r.exit_code == 130, r.output
    return r.output.strip().splitlines()[-1]


def test_train_interrupted_over_another_runs_state_does_not_say_it_is_kept(tmp_path,
                                                                           monkeypatch):
    # <out>.resume of a run with other settings: the rerun starts over, and the line said
    # 'the training's state is kept in m.pt.resume; rerun the same command to resume from it'
    out = tmp_path / "m.pt"
    resume.save_state(f"{out}.resume", STATE_FORMAT, "another run's key", {"epoch": 0})
    line = _interrupted_train(out, monkeypatch)
    assert "is kept in" not in line and "resume from it" not in line, line
    assert "nothing of this run was kept" in line and "other settings" in line, line


def test_train_interrupted_over_its_own_state_says_it_is_kept(tmp_path, monkeypatch):
    # the state an interrupted run of the same settings saved: the rerun resumes from it
    out = tmp_path / "m.pt"
    state = tmp_path / "m.pt.resume"
    seen = {}
    real = resume.load_state

    def keep(path, format_, key, what):     # the key this command's fit uses
        seen["key"] = key
        return real(path, format_, key, what)
    monkeypatch.setattr(resume, "load_state", keep)
    _interrupted_train(out, monkeypatch)
    resume.save_state(state, STATE_FORMAT, seen["key"], {"epoch": 0})
    monkeypatch.setattr(resume, "load_state", real)
    line = _interrupted_train(out, monkeypatch)
    assert f"state is kept in {state}" in line, line


def test_train_interrupted_before_its_loop_says_the_state_is_an_earlier_runs(tmp_path,
                                                                            monkeypatch):
    # Ctrl-C while the data loads: what is there is an earlier run's, settings unknown here
    out = tmp_path / "m.pt"
    resume.save_state(f"{out}.resume", STATE_FORMAT, "k", {"epoch": 0})
    import synth.workflows as workflows

    def stopped(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(workflows, "load_dataset", stopped)
    r = CliRunner().invoke(cli, [*TRAIN, "--out", str(out)])
    assert r.exit_code == 130, r.output
    line = r.output.strip().splitlines()[-1]
    assert "is kept in" not in line and "earlier run's state" in line, line
    assert "only if" in line, line


@pytest.mark.parametrize("command, params", [("prune", {}), ("continual", {}),
                                             ("distill", {}), ("grow-prune", {})])
def test_a_state_of_other_settings_is_not_said_kept_by_any_command(tmp_path, command, params):
    out = tmp_path / "o.pt"
    state = f"{out}.resume"
    resume.forget_states()
    resume.save_state(state, "nnsynth-x-1", "theirs", {})
    assert resume.load_state(state, "nnsynth-x-1", "ours", "x") is None   # starts over
    line = interrupted_line(command, {"out": str(out), **params})
    assert "kept in" not in line and "nothing of this run was kept" in line, line
    resume.save_state(state, "nnsynth-x-1", "ours", {})       # its own first save
    assert "kept in" in interrupted_line(command, {"out": str(out), **params})
    resume.forget_states()
