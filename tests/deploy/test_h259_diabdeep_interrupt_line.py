"""Ctrl-C of ``nnsynth diabdeep --out`` (h259): its line comes from the root, after the
progress bars are closed, as every command's does.  The command printed its own, with the
bar of the training it stopped still open, so on a terminal or a pipe the line was glued to
it: 'grow-prune:   0%|          | 0/2 [00:00<?, ?it/s]interrupted: the finished models are
kept in r.json.resume; ...'.  And it said the models were kept whenever <out>.resume was
there, another run's state (of other settings, which the rerun does not resume) too."""
import os
import re
import signal
import subprocess
import sys
import time

from deploy.cli.main import interrupted_line

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_ctrl_c_during_a_bar_ends_with_the_roots_line_on_a_line_of_its_own(tmp_path):
    err = tmp_path / "err.txt"
    with open(err, "wb") as stream:
        proc = subprocess.Popen(
            [sys.executable, "-m", "deploy.cli.main", "diabdeep", "--dataset", "blink",
             "--baselines", "none", "--threads", "1", "--out", str(tmp_path / "r.json")],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stream,
            env={**os.environ, "PYTHONPATH": ROOT})
        try:
            deadline = time.monotonic() + 60
            while b"%|" not in err.read_bytes():     # the first training's bar is drawn
                assert proc.poll() is None and time.monotonic() < deadline, err.read_text()
                time.sleep(0.05)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=60) == 130, err.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
    text = err.read_text()
    assert "Traceback" not in text, text
    assert text.count("interrupted: ") == 1, text
    assert not re.search(r"[^\r\n]interrupted: ", text), text   # glued to a bar
    assert "interrupted: no model had finished yet" in text, text


def test_another_runs_state_is_not_said_to_be_kept(tmp_path):
    (tmp_path / "r.json.resume").write_bytes(b"an earlier run's state")
    line = interrupted_line("diabdeep", {"out": str(tmp_path / "r.json")})
    assert "finished models are kept" not in line
    assert "holds an earlier run's state" in line, line
    assert interrupted_line("diabdeep", {"out": None}).startswith(
        "interrupted: this command writes its output at the end")
