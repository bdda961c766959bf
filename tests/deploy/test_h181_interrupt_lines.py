"""Ctrl-C's last line says what the run kept and what a rerun does with it (helper 181).

``nnsynth prune`` and ``nnsynth continual`` interrupted after their synthesis said "this
command writes its output at the end, so none was written; rerun it to start again", while
the synthesized inputs were kept in ``<out>.resume`` and a rerun reused them.  ``train``
with ``--fixed-point`` and a training interrupted before its first saved state said
"finished work is kept; rerun the same command to resume" (nothing was kept), and
``submit`` said "none was written; rerun it to start again" while the submitted job ran on
(a rerun submits a second one).  The line now follows the command's options and the state
files that are there (``deploy.cli.main.interrupted_line``)."""
import logging

import pytest

import synth.continual as continual
import synth.dfprune as dfprune
import synth.inversion as inversion
import synth.workflows as workflows
from deploy.cli.main import NOTHING_KEPT, cli, interrupted_line
from synth.data import load_dataset
from tests._cli import run
from tests.synth._tiny import one_thread_teacher_checkpoint, tiny_teacher


def _ctrl_c(*args, **kwargs):   # the user's Ctrl-C, at the place it is patched in
    raise KeyboardInterrupt


def _counting(monkeypatch) -> list:
    calls, real = [], inversion.synthesize
    monkeypatch.setattr(inversion, "synthesize", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


@pytest.fixture(scope="module")
def teacher(tmp_path_factory, digits):
    from synth.checkpoint import save_checkpoint
    model, accuracy = tiny_teacher(digits, epochs=1)
    return save_checkpoint(tmp_path_factory.mktemp("t") / "teacher.pt", model,
                           dataset=digits.metadata(), metrics={"test_accuracy": accuracy})


def test_ctrl_c_of_prune_in_its_fine_tuning_says_the_inputs_are_kept(teacher, tmp_path,
                                                                     monkeypatch, caplog):
    out = tmp_path / "p.pt"
    args = ["-q", "prune", "--model", str(teacher), "--ratio", "0.5", "--num-images", "16",
            "--iterations", "12", "--kd-steps", "4", "--out", str(out)]
    real = dfprune.finetune_kd
    monkeypatch.setattr(dfprune, "finetune_kd", _ctrl_c)
    r = run(args)
    assert r.exit_code == 130, r.output
    assert "none was written" not in r.output, r.output
    assert (f"interrupted: the inputs synthesized here are kept in {out}.resume; rerun the same "
            f"command to reuse them (the pruning and the KD fine-tuning run again)") in r.output
    monkeypatch.setattr(dfprune, "finetune_kd", real)   # the rerun does what the line said
    calls = _counting(monkeypatch)
    with caplog.at_level(logging.WARNING):
        r = run(args)
    assert r.exit_code == 0, r.output
    assert calls == [] and "reusing the 16 inputs synthesized" in caplog.text
    assert out.is_file() and not (tmp_path / "p.pt.resume").exists()


def test_ctrl_c_of_continual_in_its_training_says_the_inputs_are_kept(tmp_path, monkeypatch,
                                                                      caplog):
    old = one_thread_teacher_checkpoint(load_dataset("digits[0,1,2,3,4]"), tmp_path)
    out = tmp_path / "c.pt"
    args = ["-q", "continual", "--model", str(old), "--new-dataset", "digits", "--new-classes",
            "5", "--num-images", "16", "--iterations", "12", "--epochs", "1", "--out", str(out)]
    real = continual.learn_new_classes
    monkeypatch.setattr(continual, "learn_new_classes", _ctrl_c)
    r = run(args)
    assert r.exit_code == 130, r.output
    assert "none was written" not in r.output, r.output
    assert (f"the inputs synthesized here are kept in {out}.resume; rerun the same command to "
            f"reuse them (the training on the new classes runs again)") in r.output
    monkeypatch.setattr(continual, "learn_new_classes", real)
    calls = _counting(monkeypatch)
    with caplog.at_level(logging.WARNING):
        r = run(args)
    assert r.exit_code == 0, r.output
    assert calls == [] and "reusing the 16 inputs synthesized" in caplog.text
    assert out.is_file() and not (tmp_path / "c.pt.resume").exists()


def test_ctrl_c_of_train_says_the_state_it_kept_and_none_in_fixed_point(tmp_path, monkeypatch):
    """Interrupted as the checkpoint is written: the training's state (saved after its last
    epoch) is in <out>.resume; a --fixed-point training keeps none."""
    monkeypatch.setattr(workflows, "save_checkpoint", _ctrl_c)
    out = tmp_path / "m.pt"
    args = ["-q", "train", "--dataset", "digits", "--model", "mlp_small", "--epochs", "1",
            "--min-steps", "0",
            "--out", str(out)]
    r = run(args)
    assert r.exit_code == 130, r.output
    assert (f"interrupted: the training's state is kept in {out}.resume; rerun the same "
            f"command to resume from it") in r.output
    assert (tmp_path / "m.pt.resume").is_file()
    r = run(args[:-2] + ["--fixed-point", "4.16", "--out", str(tmp_path / "q.pt")])
    assert r.exit_code == 130 and NOTHING_KEPT in r.output, r.output
    assert not (tmp_path / "q.pt.resume").exists()


def _line(args: list[str]) -> str:
    """The Ctrl-C line of ``nnsynth ARGS``, from the options as the command parses them."""
    command = cli.commands[args[0]]
    params = command.make_context(args[0], list(args[1:]), resilient_parsing=True).params
    return interrupted_line(args[0], params)


def test_each_commands_line_claims_only_what_it_kept(tmp_path):
    out = str(tmp_path / "m.pt")
    # nothing there yet: interrupted before the first saved state, or in the synthesis
    for args in (["train", "--dataset", "digits", "--model", "mlp_small"],
                 ["distill", "--teacher", "t.pt", "--student", "mlp_small", "--synth", "d"],
                 ["grow-prune", "--dataset", "digits", "--model", "mlp_small"],
                 ["prune", "--model", "t.pt", "--ratio", "0.5"],
                 ["continual", "--model", "t.pt", "--new-dataset", "digits",
                  "--new-classes", "5"]):
        assert _line(args + ["--out", out]) == NOTHING_KEPT, args
    (tmp_path / "m.pt.resume").write_bytes(b"a state")
    # (no loop of this process looked for it: an earlier run's, resumed only if its settings
    # were these -- h232: it was said kept, a rerun resuming from it, of any file there)
    kept = f"{out}.resume holds an earlier run's state"
    assert kept in _line(["train", "--dataset", "digits", "--model", "mlp_small", "--out", out])
    assert kept in _line(["distill", "--teacher", "t.pt", "--student", "mlp_small", "--synth",
                          "d", "--out", out])
    assert kept in _line(["prune", "--model", "t.pt", "--ratio", "0.5", "--out", out])
    # runs that neither read nor write <out>.resume: a file there is not theirs
    for args in (["train", "--dataset", "digits", "--model", "mlp_small", "--fixed-point",
                  "4.16"],
                 ["distill", "--teacher", "t.pt", "--student", "mlp_small", "--data-free"],
                 ["prune", "--model", "t.pt", "--ratio", "0.5", "--synth", "d"],
                 ["continual", "--model", "t.pt", "--new-dataset", "digits", "--new-classes",
                  "5", "--synth", "d"],
                 ["continual", "--model", "t.pt", "--new-dataset", "digits", "--new-classes",
                  "5", "--method", "lwf"]):
        assert _line(args + ["--out", out]) == NOTHING_KEPT, args
    (tmp_path / "m.pt.resume").unlink()
    (tmp_path / "m.pt.dense.resume").write_bytes(b"a state")   # grow-prune, in its pruning
    line = _line(["grow-prune", "--dataset", "digits", "--model", "mlp_small", "--out", out])
    assert f"{out}.dense.resume holds an earlier run's state" in line, line


def test_submit_says_its_job_runs_on_and_search_names_its_directory(tmp_path):
    line = _line(["submit", "default", "--address", "http://h:8265"])
    assert "keeps running on the cluster" in line and "ray job stop" in line, line
    assert "submits another job" in line and "none was written" not in line, line
    line = _line(["search", "--out", str(tmp_path / "s")])   # no search begun there
    assert "no search was begun yet; rerun the same command" in line, line
    # their own directories: kept (invert's once a shard is there: test_h206_deploy; run's
    # once its ledger records a stage: test_h214_run_interrupt; sweep's says how many runs
    # had finished: test_h216_sweep_interrupt; search's and symbiotic's how many trials or
    # trainings had: test_lead_interrupt_counts)
    for name in ("eval", "export", "scann", "incremental", "secret", "hwsim", "datasets"):
        assert interrupted_line(name, {"out": str(tmp_path / "m.pt")}) == NOTHING_KEPT, name
