"""A killed (SIGKILL) nnsynth's temp file beside a single-file --out (h232): the rerun of the
same command removes it -- only nnsynth's own temp names for that target, whose writer is
gone; nothing else there."""
import os
import signal
import subprocess
import sys

from click.testing import CliRunner

import synth.workflows as workflows
from deploy.cli.main import cli
from synth.files import TEMP_NAME

KILLED_WRITER = """
import os, sys
from synth.files import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_bytes(b"half a checkpoint")
    os.kill(os.getpid(), 9)            # SIGKILL mid-write: no finally runs
"""


def _killed_while_writing(path) -> str:
    """The temp file a process killed inside ``atomic_path(path)`` left beside ``path``."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    before = set(os.listdir(os.path.dirname(path)))
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], cwd=root,
                          env={**os.environ, "PYTHONPATH": root}, capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()[-500:]
    (left,) = set(os.listdir(os.path.dirname(path))) - before
    assert TEMP_NAME.fullmatch(left)
    return left


def test_the_rerun_of_train_removes_its_targets_stale_temp_files_only(tmp_path, monkeypatch):
    out = tmp_path / "m.pt"
    stale = _killed_while_writing(out)
    stale_state = _killed_while_writing(tmp_path / "m.pt.resume")
    other = _killed_while_writing(tmp_path / "n.pt")         # another target's: not this run's
    live = f".m.pt.tmp{os.getppid()}.0123456789ab"           # its writer is running
    (tmp_path / live).write_bytes(b"being written")
    mine = [".m.pt.tmp12", ".m.pt.tmp1.0123456789abX", "m.pt.tmp1.0123456789ab"]
    for name in mine:                                        # not nnsynth's temp names
        (tmp_path / name).write_text("the user's")
    gone = subprocess.Popen(["true"])
    gone.wait()                                              # a process id no longer running
    odd = [f".m.pt.tmp{gone.pid}.0123456789ac", f".m.pt.tmp{gone.pid}.0123456789ad"]
    (tmp_path / odd[0]).mkdir()                              # the name, but a folder
    (tmp_path / odd[1]).symlink_to(tmp_path / mine[0])       # the name, but a link

    def stopped(*a, **k):          # Ctrl-C as the data loads: the options were parsed
        raise KeyboardInterrupt
    monkeypatch.setattr(workflows, "load_dataset", stopped)
    r = CliRunner().invoke(cli, ["train", "--dataset", "iris", "--model", "mlp_small",
                                 "--out", str(out)])
    assert r.exit_code == 130, r.output
    left = set(os.listdir(tmp_path))
    assert stale not in left and stale_state not in left, left
    assert {other, live, *mine, *odd} <= left, left
