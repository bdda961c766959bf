"""nnsynth run names its --run-dir as the user typed it (h266), as search names its --out
(h265, ``synth.files.shown_path``): a relative --run-dir r was shown as '/home/u/.../r' in
'report: .../summary.md', 'stopped after ...; run directory: ...', 'reusing teacher ...' and
the refusals of the folder (anyone's files there, a file in the way, another run holding
it), which search's --out refusals shared.  No Ray: the refusals come before it starts, the
run's teacher is a seeded cache entry and its export runs in this process."""
import os

import yaml
from click.testing import CliRunner

from deploy.cli.main import cli
from deploy.run_config import RunConfig
from synth.files import claim_dir, lock_dir
from tests.deploy.teachers import seed_teacher_cache, teacher_only


def _invoke(args):
    r = CliRunner().invoke(cli, args)
    return r.exit_code, r.output.strip().splitlines()


def _refusal(args):
    code, lines = _invoke(args)
    assert code == 2 and len(lines) == 1, (code, lines[-20:])
    return lines[0]


def test_refusals_name_the_folder_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "x").write_text("the user's")
    (tmp_path / "afile").write_text("")
    assert _refusal(["run", "tiny", "--run-dir", "mine"]) == (
        "error: mine holds files nnsynth did not write (e.g. x); move them or choose another "
        "--run-dir")
    assert _refusal(["run", "tiny", "--run-dir", "afile/sub"]) == (
        "error: --run-dir afile/sub cannot be written: afile is a file, not a directory")
    assert _refusal(["search", "--out", "mine", "--dataset", "iris", "--space", "mlp",
                     "--trials", "1", "--no-hardware"]) == (
        "error: mine holds files nnsynth did not write (e.g. x); move them or choose another "
        "--out")
    claim_dir(tmp_path / "busy")
    with lock_dir(tmp_path / "busy"):       # another run writing there
        assert _refusal(["run", "tiny", "--run-dir", "busy"]) == (
            f"error: run directory busy is in use by another nnsynth process (pid "
            f"{os.getpid()}); wait for it to finish or choose another directory")
    assert str(tmp_path) not in (tmp_path / "mine" / "x").read_text()


def test_run_lines_name_the_folder_as_given(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    values = {**teacher_only("given", "iris", "mlp_small"), "teacher": {
        "dataset": "iris", "model": "mlp_small", "epochs": 1, "cache": "teachers"}}
    (tmp_path / "given.yaml").write_text(yaml.safe_dump(values))
    seed_teacher_cache(RunConfig.from_dict(values), tmp_path / "teachers")   # no Ray Train
    code, lines = _invoke(["run", "given.yaml", "--run-dir", "r"])
    assert code == 0, lines[-20:]
    text = "\n".join(lines)
    assert str(tmp_path) not in text, text
    assert any(line.startswith("  reusing teacher teachers/iris_mlp_small") for line in lines)
    assert lines[-1] == "report: r/summary.md"
    code, lines = _invoke(["run", "given.yaml", "--run-dir", "r", "--stop-after", "teacher"])
    assert code == 0 and lines[-1] == "stopped after teacher; run directory: r", lines[-20:]


def test_a_sweeps_refusal_names_its_root_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sweep.yaml").write_text("name: s1\nbase: tiny\nroot: out\nmax_parallel: 1\n"
                                         "grid:\n  seed: [0]\n")
    (tmp_path / "out" / "s1").mkdir(parents=True)
    (tmp_path / "out" / "s1" / "mine").write_text("the user's")
    assert _refusal(["sweep", "sweep.yaml"]) == (
        "error: out/s1 holds files nnsynth did not write (e.g. mine); move them or choose "
        "another sweep root")
