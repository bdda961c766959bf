"""Ctrl-C says what a rerun does: every command said "rerun the same command to resume",
also those that write their output once at the end and start over when rerun."""
from click.testing import CliRunner

import synth.workflows
from deploy.cli.main import cli


def _interrupted(*args, **kwargs):
    raise KeyboardInterrupt


def test_ctrl_c_promises_a_resume_only_where_there_is_one(tmp_path, monkeypatch):
    monkeypatch.setattr(synth.workflows, "train_checkpoint", _interrupted)
    monkeypatch.setattr(synth.workflows, "grow_prune_checkpoint", _interrupted)
    monkeypatch.setattr(synth.workflows, "prune_checkpoint", _interrupted)
    out = str(tmp_path / "m.pt")
    for command in ("train", "grow-prune"):   # interrupted before any state was saved:
        r = CliRunner().invoke(cli, [command, "--dataset", "iris", "--model", "mlp_small",
                                     "--out", out])   # nothing kept (helper 181; the line
        assert r.exit_code == 130 and "resume" not in r.output, r.output   # with a state:
        assert "none was written; rerun it to start again" in r.output   # test_h181_*)
    r = CliRunner().invoke(cli, ["prune", "--model", str(tmp_path / "t.pt"), "--ratio", "0.5",
                                 "--out", out])
    assert r.exit_code == 130 and "resume" not in r.output, r.output
    assert "none was written; rerun it to start again" in r.output
