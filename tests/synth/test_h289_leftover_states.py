"""A rerun of a finished command removes a state left beside its --out only where the state
records that run (h289).

``synth.resume.is_finished`` removed any state older than the finished checkpoint: a
checkpoint copied over --out by hand is newer than everything beside it, so the rerun deleted
the state of another, interrupted run of other settings (its training lost).  A state now
records the run that saved it (``synth.resume.RUN``, its ``run_stamp`` key); one of another
run, or recording none, is kept and named in a warning line."""
import json
import shutil

import pytest
import torch
from click.testing import CliRunner

import synth.train
import synth.workflows
from deploy.cli.main import cli
from synth.resume import save_state
from synth.train import STATE_FORMAT

MLP = '{"family": "mlp", "hidden": [4]}'
RUN = "run"   # synth.resume.RUN: the entry naming the run that saved a state
KEPT = "is kept: it holds the state of"


def _train(out, *more):
    return CliRunner().invoke(cli, ["train", "--dataset", "iris", "--model", MLP, "--epochs",
                                    "2", "--min-steps", "0", *more, "--out", str(out),
                                    "--json"])


def _interrupted(monkeypatch, where: str):
    """Ctrl-C at ``where`` (a name ``train_checkpoint`` calls), states saved every epoch."""
    monkeypatch.setattr(synth.train, "STATE_SECONDS", 0.0)

    def stop(*args, **kwargs):
        raise KeyboardInterrupt
    module = synth.workflows if where == "save_checkpoint" else synth.train
    monkeypatch.setattr(module, where, stop)


def test_another_runs_state_is_kept_beside_a_copied_checkpoint(tmp_path, monkeypatch):
    out, copy = tmp_path / "m.pt", tmp_path / "copy.pt"
    assert _train(out).exit_code == 0
    shutil.copy(out, copy)
    with monkeypatch.context() as m:   # another run (other lr), stopped before its checkpoint
        _interrupted(m, "save_checkpoint")
        assert _train(out, "--lr", "0.05").exit_code != 0
    assert torch.load(f"{out}.resume", weights_only=True)["format"] == STATE_FORMAT
    shutil.copy(copy, out)              # the finished checkpoint copied back (a new mtime)
    done = _train(out)
    assert done.exit_code == 0, done.output
    assert (tmp_path / "m.pt.resume").is_file()     # removed before: it was older than m.pt
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert f"m.pt.resume {KEPT} another, interrupted run" in result["warning"]
    # that run, rerun, resumes from it and removes it once its checkpoint is written
    assert _train(out, "--lr", "0.05").exit_code == 0
    assert not (tmp_path / "m.pt.resume").exists()


def test_its_own_runs_leftover_state_is_removed(tmp_path, monkeypatch):
    # killed between writing the checkpoint and removing its state: the rerun removes it
    out = tmp_path / "m.pt"
    with monkeypatch.context() as m:
        _interrupted(m, "remove_state")
        assert _train(out).exit_code != 0
    assert out.is_file() and (tmp_path / "m.pt.resume").is_file()
    done = _train(out)
    assert done.exit_code == 0, done.output
    assert not (tmp_path / "m.pt.resume").exists()
    assert KEPT not in done.output


@pytest.mark.parametrize("run", [None, "0" * 64])
def test_a_state_recording_no_run_or_another_is_kept(tmp_path, run):
    out = tmp_path / "m.pt"
    assert _train(out).exit_code == 0
    save_state(f"{out}.resume", STATE_FORMAT, "k", {"epoch": 0, **({RUN: run} if run else {})})
    done = _train(out)
    assert done.exit_code == 0 and (tmp_path / "m.pt.resume").is_file()
    assert KEPT in done.output and ("records none" in done.output) == (run is None)


def test_grow_prunes_two_leftover_states_of_its_own_run_are_removed(tmp_path, monkeypatch):
    # its dense training's state (.dense.resume) and its loop's (.resume) both record the run
    import synth.grow_prune
    out = tmp_path / "g.pt"
    args = ["grow-prune", "--dataset", "iris", "--model", MLP, "--epochs", "2", "--min-steps",
            "0", "--prune-steps", "1", "--retrain-epochs", "1", "--retrain-min-steps", "0",
            "--out", str(out), "--json"]
    with monkeypatch.context() as m:
        _interrupted(m, "remove_state")            # fit's states after every epoch
        m.setattr(synth.grow_prune, "remove_state", synth.train.remove_state)  # Ctrl-C there
        assert CliRunner().invoke(cli, args).exit_code != 0
    left = [tmp_path / "g.pt.resume", tmp_path / "g.pt.dense.resume"]
    assert out.is_file() and all(p.is_file() for p in left)
    done = CliRunner().invoke(cli, args)
    assert done.exit_code == 0 and KEPT not in done.output, done.output
    assert not any(p.exists() for p in left)
