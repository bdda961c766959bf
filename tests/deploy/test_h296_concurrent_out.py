"""h296: the same command started twice at once on one --out.  Two ``nnsynth train --out
m.pt`` both ran to exit 0, the one finished last silently replacing the other's checkpoint
(and sharing its ``m.pt.resume``); now the second is refused in one line naming the first's
pid, exit 2, and a killed first run does not block the next (``deploy.cli.main.
outputs_locked``, ``synth.files.OutputLock``)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from deploy.cli.main import cli
from tests.synth.test_h296_output_lock import _holder

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ["train", "--dataset", "iris", "--model", '{"family": "mlp", "hidden": [8], "bn": true}',
         "--min-steps", "0"]


def _started(args: list[str], cwd: Path, lock: Path) -> subprocess.Popen:
    """A real ``nnsynth`` process running ``args`` in ``cwd``, once it holds ``lock`` (at most
    20 s: the code before the fix takes none, and its second run then goes ahead)."""
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from deploy.cli.main import cli; "
                             "sys.argv[0] = 'nnsynth'; cli()", *args], cwd=cwd,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    end = time.monotonic() + 20
    while time.monotonic() < end and proc.poll() is None and not (
            lock.is_file() and lock.read_text().strip() == str(proc.pid)):
        time.sleep(0.05)
    assert proc.poll() is None, "the first run ended before the second began"
    return proc


def test_second_train_on_the_same_out_is_refused_and_a_killed_first_does_not_block(
        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lock = tmp_path / ".m.pt.nnsynth.lock"
    first = _started([*TRAIN, "--epochs", "100000", "--out", "m.pt"], tmp_path, lock)
    try:
        r = CliRunner().invoke(cli, [*TRAIN, "--epochs", "1", "--lr", "0.05", "--out", "m.pt"])
        assert r.exit_code == 2, r.output
        assert r.output == (f"error: m.pt is being written by another nnsynth run (pid "
                            f"{first.pid}); wait for it or choose another --out\n")
        assert not (tmp_path / "m.pt").exists()
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    r = CliRunner().invoke(cli, [*TRAIN, "--epochs", "1", "--out", "m.pt", "--json"])
    assert r.exit_code == 0, r.output           # the killed run's lock file does not block
    from synth.checkpoint import read_checkpoint
    assert read_checkpoint(tmp_path / "m.pt")["metrics"]["epochs"] == 1
    assert not lock.exists()


def test_every_out_is_locked_a_folder_and_an_export_too(tmp_path, monkeypatch):
    """An --out folder (invert) and an output-file option of another kind (export's ONNX
    file) are refused alike before any work; the folder is not made."""
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, [*TRAIN, "--epochs", "1", "--out", "t.pt"])
    assert r.exit_code == 0, r.output
    for args, out in ((["invert", "--teacher", "t.pt", "--num-images", "4", "--out", "syn"],
                       "syn"),
                      (["export", "--model", "t.pt", "--out", "m.onnx"], "m.onnx")):
        holder = _holder(tmp_path / out)
        try:
            r = CliRunner().invoke(cli, args)
        finally:
            holder.kill()
            holder.wait()
        assert r.exit_code == 2, r.output
        assert r.output == (f"error: {out} is being written by another nnsynth run (pid "
                            f"{holder.pid}); wait for it or choose another --out\n")
        assert not (tmp_path / out).exists()
