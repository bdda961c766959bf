"""h301: every command's --out that cannot be written is refused before any work, in one line,
exit 2 (``deploy.cli.main.outputs_locked``: the output lock is the check).
``nnsynth diabdeep --out /proc/r.json`` grew and pruned its networks for 1.5 minutes, then
failed ('cannot write /proc/r.json.resume'); train, distill, prune and scann likewise
(43-96 s), export and invert after loading."""
import os
import time

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli

MLP = '{"family": "mlp", "hidden": [8], "bn": true}'


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
@pytest.mark.parametrize("args, out", [
    (["diabdeep", "--dataset", "basicmotions", "--epochs", "1", "--baselines", "none"],
     "/proc/h301-r.json"),
    (["train", "--dataset", "iris", "--model", MLP, "--epochs", "50", "--min-steps", "0"],
     "/proc/h301-m.pt"),
    (["scann", "--dataset", "iris"], "/proc/h301/s.pt"),
], ids=["diabdeep", "train", "scann"])
def test_an_out_in_a_folder_that_takes_no_file_is_refused_at_once(args, out):
    start = time.perf_counter()
    r = CliRunner().invoke(cli, [*args, "--out", out])
    assert r.exit_code == 2, r.output
    assert r.output == (f"error: --out {out} cannot be written: /proc is not writable (it "
                        f"takes no new files)\n")
    assert time.perf_counter() - start < 10      # before any work (it was 43-96 s)


def test_an_out_folder_under_a_file_is_refused_and_nothing_is_made(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f").write_text("x")
    r = CliRunner().invoke(cli, ["diabdeep", "--dataset", "basicmotions", "--out", "f/r.json"])
    assert r.exit_code == 2, r.output
    assert r.output == "error: --out f/r.json cannot be written: f is a file, not a directory\n"
    assert sorted(os.listdir(tmp_path)) == ["f"]
