"""Interruptions (h231): what a killed nnsynth leaves behind never blocks the rerun that is
to resume or redo its work."""
import os
import signal
import subprocess
import sys

import pytest

from synth.errors import UserError
from synth.files import OWNER_MARKER, TEMP_NAME, check_out_dir, claim_dir

KILLED_WRITER = """
import os, sys
from synth.files import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_text('{"half": ')
    os.kill(os.getpid(), 9)            # SIGKILL mid-write: no finally runs
"""


def _killed_while_writing(path) -> None:
    """A process killed (SIGKILL) inside ``atomic_path(path)``, as nnsynth is when killed
    while writing a file: its temp file stays beside ``path``."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], cwd=root,
                          env={**os.environ, "PYTHONPATH": root}, capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-500:]


def test_a_killed_first_write_does_not_block_the_rerun_of_invert(tmp_path):
    # nnsynth invert --out NEW writes job.json first: killed then, the folder held only the
    # temp file, and every rerun was refused ('holds files nnsynth did not write')
    out = tmp_path / "synth"
    out.mkdir()
    _killed_while_writing(out / "job.json")
    left = os.listdir(out)
    assert len(left) == 1 and TEMP_NAME.fullmatch(left[0]) and not (out / "job.json").exists()
    assert check_out_dir(out, "--out", ("job.json",)) == out


def test_a_killed_claim_does_not_block_the_rerun(tmp_path):
    # claim_dir writes the owner marker into a new run directory; killed then, the rerun
    # was refused over the marker's own temp file
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    _killed_while_writing(run_dir / OWNER_MARKER)
    assert claim_dir(run_dir) == run_dir
    assert (run_dir / OWNER_MARKER).is_file()


def test_files_of_the_user_that_look_like_temp_files_still_refuse(tmp_path):
    from synth.files import is_temp_file
    out = tmp_path / "mine"
    out.mkdir()
    (out / ".job.json.tmp12").write_text("mine")           # not the name atomic_path gives
    (out / ".x.tmp1.0123456789ab").mkdir()                 # the name, but a folder
    assert not is_temp_file(out / ".job.json.tmp12")
    assert not is_temp_file(out / ".x.tmp1.0123456789ab")
    with pytest.raises(UserError, match="did not write"):
        check_out_dir(out, "--out", ("job.json",))
    with pytest.raises(UserError, match="did not write"):
        claim_dir(out)


KILLED_PROBE = """
import os, pathlib, sys
from cluster.pairs import prepare_out_dir
def killed(self, *a, **k):        # killed between its write probe and the probe's removal
    os.kill(os.getpid(), 9)
pathlib.Path.unlink = killed
prepare_out_dir(sys.argv[1])
"""


def test_a_kill_during_inverts_write_probe_does_not_block_the_rerun(tmp_path):
    from cluster.pairs import prepare_out_dir
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = tmp_path / "synth"
    done = subprocess.run([sys.executable, "-c", KILLED_PROBE, str(out)], cwd=root,
                          env={**os.environ, "PYTHONPATH": root}, capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-500:]
    assert len(os.listdir(out)) == 1      # the probe, left behind
    assert prepare_out_dir(out) == out


TERMINATED_TRAIN = """
import os, signal, sys, torch
real_save = torch.save
def save(obj, f, *a, **k):             # SIGTERM while the training's state is written
    real_save(obj, f, *a, **k)
    os.kill(os.getpid(), signal.SIGTERM)
    sum(range(1000))                   # (the handler runs between bytecodes)
torch.save = save
import synth.train
synth.train.STATE_SECONDS = 0          # a state after the first epoch
from deploy.cli.main import cli
cli(["train", "--dataset", "iris", "--model", '{"family": "mlp", "hidden": [4]}',
     "--epochs", "2", "--out", sys.argv[1]], prog_name="nnsynth")
"""


def test_sigterm_ends_a_command_as_ctrl_c_does(tmp_path):
    # kill, timeout, a scheduler's preemption: Python's default for SIGTERM ended nnsynth on
    # the spot, the temp file being written left beside --out for good, and no line said
    # what a rerun would do
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = tmp_path / "model.pt"
    done = subprocess.run([sys.executable, "-c", TERMINATED_TRAIN, str(out)], cwd=root,
                          env={**os.environ, "PYTHONPATH": root}, capture_output=True,
                          timeout=120)
    err = done.stderr.decode()
    assert done.returncode == 143, (done.returncode, err[-800:])
    assert "interrupted: " in err.strip().splitlines()[-1]
    assert sorted(os.listdir(tmp_path)) == [], os.listdir(tmp_path)   # no temp file left


def test_the_ctrl_c_line_of_train_promises_no_less_than_is_lost(tmp_path, monkeypatch):
    # the state is saved at the end of an epoch: with epochs of 80 s, Ctrl-C in the second
    # one lost 80 s of training, and the line said 'at most the last 30 s ... run again'
    import re
    import types

    import torch

    import synth.train as train
    from deploy.cli.main import interrupted_line
    from synth.data import load_dataset
    from synth.models import build
    clock = [0.0]
    monkeypatch.setattr(train, "time", types.SimpleNamespace(perf_counter=lambda: clock[0]))
    data = load_dataset("iris", seed=0)
    model = build({"family": "mlp", "hidden": [4]}, data.input_shape, data.num_classes)
    steps = [0]

    def step(m):                  # a step takes 20 s; Ctrl-C in the second epoch's end
        clock[0] += 20.0
        steps[0] += 1
        if steps[0] == 2 * -(-len(data.y_train) // 32):
            raise KeyboardInterrupt
    out = tmp_path / "m.pt"
    state = tmp_path / "m.pt.resume"
    with pytest.raises(KeyboardInterrupt):
        train.fit(model, data, train.TrainConfig(epochs=3, progress=False), after_step=step,
                  state_path=state, state_key="k")
    lost = clock[0] - torch.load(state, weights_only=True)["seconds"]
    line = interrupted_line("train", {"out": str(out)})
    assert str(state) in line
    bound = re.search(r"at most the last ([\d.]+) s", line)
    assert lost > train.STATE_SECONDS and (bound is None or float(bound.group(1)) >= lost), line


def test_diabdeep_out_ends_a_sigterm_with_143(tmp_path):
    # diabdeep --out names its kept rows through the root's line (RESUMES, h259), whose
    # status is SIGTERM's 143 (Terminated, a KeyboardInterrupt), not Ctrl-C's 130
    from deploy.cli.main import Terminated, interrupt_status, interrupted_line
    line = interrupted_line("diabdeep", {"out": str(tmp_path / "r.json")})
    assert line.startswith("interrupted: no model had finished yet"), line
    assert interrupt_status(Terminated()) == 143


def test_a_sigterm_that_reaches_the_root_as_a_plain_keyboardinterrupt_exits_143(monkeypatch):
    # SIGTERM during ray.get (nnsynth run's synthesis): Ray's Cython signal check raises a
    # KeyboardInterrupt of its own in place of Terminated; the run exited 130 (Ctrl-C's)
    from deploy.cli import main
    monkeypatch.setattr(main, "_SIGTERMS", [])
    assert main.interrupt_status(KeyboardInterrupt()) == 130
    with pytest.raises(main.Terminated):
        main._raise_terminated(signal.SIGTERM, None)
    assert main.interrupt_status(KeyboardInterrupt()) == 143
