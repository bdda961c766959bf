"""Lost or corrupted data (issue 13, items 8-11): nnsynth deletes only directories it made
(a marker it wrote), one run or search writes a directory at a time (an exclusive lock),
a sweep survives any failing run, and run names cannot leave the sweep root."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from deploy.ledger import RunContext
from deploy.pipeline import run_pipeline
from deploy.run_config import RunConfig, load_run_config
from synth.errors import ConfigError, UserError
from synth.files import OWNER_MARKER, claim_dir, lock_dir, remove_owned

ROOT = Path(__file__).resolve().parents[2]
# The teacher trains in the calling process (Ray Train's local mode, as in test_pipeline):
# what these tests check is the directory handling around the stages, not where they train.
FAST = {"name": "fast", "scaling": {"num_workers": 0},
        "teacher": {"dataset": "digits", "model": '{"family": "mlp", "hidden": [16]}',
                    "epochs": 1, "cache": ""},
        "synthesis": {"enabled": False}, "search": {"enabled": False},
        "refine": {"enabled": False}, "export": {"onnx": False, "price": False}}


def _one_error_line(r):
    lines = [l for l in r.output.splitlines() if l.strip()]
    assert r.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error:"), r.output
    return lines[0]


def test_remove_owned_deletes_only_marked_directories(tmp_path):
    mine = claim_dir(tmp_path / "mine")
    (mine / "x").write_text("1")
    assert remove_owned(mine) and not mine.exists()
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("keep")
    with pytest.raises(UserError, match="holds files nnsynth did not write"):
        remove_owned(theirs)
    with pytest.raises(UserError, match="holds files nnsynth did not write"):
        claim_dir(theirs)
    assert (theirs / "notes.txt").read_text() == "keep"
    link = tmp_path / "link"
    link.symlink_to(mine.parent / "elsewhere", target_is_directory=True)
    with pytest.raises(UserError):
        remove_owned(link)
    assert not remove_owned(tmp_path / "absent")


def test_run_in_a_project_checkout_deletes_nothing(tmp_path):
    """Item 8: `nnsynth run tiny --run-dir .` in a checkout must not delete search/."""
    checkout = tmp_path / "checkout"
    (checkout / "search").mkdir(parents=True)
    (checkout / "search" / "__init__.py").write_text("# the user's package\n")
    (checkout / "config.json").write_text("{}")
    r = CliRunner().invoke(cli, ["run", "tiny", "--run-dir", str(checkout)])
    assert "holds files nnsynth did not write" in _one_error_line(r)
    assert (checkout / "search" / "__init__.py").is_file()
    assert (checkout / "config.json").read_text() == "{}"        # not overwritten either


def test_search_stage_keeps_a_search_dir_it_did_not_make(tmp_path):
    """Item 8: "search settings changed: starting the search over" deleted D/search."""
    cfg = load_run_config("tiny")
    run_dir = claim_dir(tmp_path / "run")
    (run_dir / "search").mkdir()
    (run_dir / "search" / "thesis.tex").write_text("precious")

    def no_ray():
        raise RuntimeError("the search dir must be judged before Ray starts")
    ctx = RunContext(cfg, run_dir, address=None, progress=False, log=lambda m: None)
    ctx.connect_ray = no_ray
    # what the ledger records of the earlier stages (the search stage reads its inputs there)
    ctx.outputs = {"teacher": {"checkpoint": "teacher.pt"}, "synthesis": {"dataset": "synthetic"}}
    from deploy.stages import run_search_stage
    with pytest.raises(UserError, match="holds files nnsynth did not write"):
        run_search_stage(ctx)
    assert (run_dir / "search" / "thesis.tex").read_text() == "precious"


def test_search_out_with_a_users_tune_dir_is_refused(tmp_path):
    """Item 8: `nnsynth search --out D` where D/tune holds a user's files."""
    out = tmp_path / "D"
    (out / "tune").mkdir(parents=True)
    (out / "tune" / "data.csv").write_text("1,2")
    r = CliRunner().invoke(cli, ["search", "--dataset", "iris", "--space", "mlp", "--trials", "1",
                                 "--out", str(out)])
    assert "holds files nnsynth did not write" in _one_error_line(r)
    assert (out / "tune" / "data.csv").read_text() == "1,2"


def test_search_tune_dir_is_owned_and_replaced_only_when_marked(tmp_path):
    from search.run import SearchConfig, run_search
    out = claim_dir(tmp_path / "D")
    (out / "tune").mkdir()
    (out / "tune" / "mine.txt").write_text("x")
    with pytest.raises(UserError, match="did not write"):
        run_search(SearchConfig(dataset="iris", space="mlp", trials=1), out, progress=False)
    assert (out / "tune" / "mine.txt").is_file()


def test_second_run_on_a_locked_run_dir_fails_fast(tmp_path):
    """Item 9: two `nnsynth run` on one run directory: the second fails at once, naming the
    first's pid, and writes nothing there."""
    run_dir = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from synth.files import claim_dir, lock_dir\n"
         "with lock_dir(claim_dir(sys.argv[1])):\n    print('locked', flush=True)\n"
         "    time.sleep(120)\n", str(run_dir)],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        from deploy.pipeline import enabled_stages
        from deploy.stages import check_stages
        config = RunConfig.from_dict(FAST)
        check_stages(config, enabled_stages(config))   # imports done: what is timed is the lock
        start = time.perf_counter()
        with pytest.raises(UserError, match=f"in use by another nnsynth process \\(pid {holder.pid}\\)"):
            run_pipeline(RunConfig.from_dict(FAST), run_dir, progress=False)
        assert time.perf_counter() - start < 5
        assert not (run_dir / "config.json").exists() and not (run_dir / "ledger.json").exists()
    finally:
        holder.kill()
        holder.wait()
    run_pipeline(RunConfig.from_dict(FAST), run_dir, progress=False, stop_after="teacher")
    assert (run_dir / "ledger.json").is_file()        # the lock died with its holder


def test_lock_is_exclusive_within_one_process_too(tmp_path):
    d = claim_dir(tmp_path / "d")
    with lock_dir(d, "search directory"):
        with pytest.raises(UserError, match=f"search directory .*\\(pid {os.getpid()}\\)"):
            with lock_dir(d, "search directory"):
                pass
    with lock_dir(d):
        pass


@pytest.mark.parametrize("name", ["..", ".", "a/b", "../escape", "x\\y"])
def test_sweep_run_names_cannot_leave_the_root(name):
    """Item 11: run names `.`, `..` or with a separator are rejected before any work."""
    from deploy.sweep import SweepConfig, expand
    with pytest.raises(ConfigError, match="must be a file name"):
        expand(SweepConfig(name="s", base="tiny", runs=({"name": name},)))
    with pytest.raises(ConfigError, match="must be a file name"):
        RunConfig.from_dict({"name": name})
    with pytest.raises(ConfigError, match="must be a file name"):
        SweepConfig(name=name, base="tiny", runs=({"seed": 1},))


def test_sweep_records_any_failure_and_goes_on(tmp_path, ray_local):
    """Item 10: a run failing with NotADirectoryError (teacher.cache under a regular file)
    is a row with its error; the other run finishes and sweep.parquet is written."""
    from deploy.sweep import SweepConfig, expand, run_sweep
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    base = tmp_path / "base.yaml"
    base.write_text(json.dumps(FAST))
    sweep = SweepConfig(name="s", base=str(base), root=str(tmp_path / "sweeps"), max_parallel=2,
                        runs=({"name": "bad", "teacher.cache": str(blocker / "cache")},
                              {"name": "good"}))
    rows = run_sweep(sweep, expand(sweep), echo=lambda m: None)
    by_name = {r["name"]: r for r in rows}
    assert "teacher.cache" in by_name["bad"]["error"] and by_name["good"]["error"] == ""
    table = pq.read_table(tmp_path / "sweeps" / "s" / "sweep.parquet").to_pylist()
    assert sorted(r["name"] for r in table) == ["bad", "good"]
    assert (tmp_path / "sweeps" / "s" / OWNER_MARKER).is_file()


def test_sweep_error_text_is_one_line():
    """Any exception, not only UserError: the row names its type."""
    from deploy.sweep import error_text
    assert error_text(NotADirectoryError(20, "Not a directory")).startswith("NotADirectoryError")
    assert error_text(UserError("bad\nsecond line")) == "bad"


def test_a_sweep_with_a_failed_run_exits_1_after_trying_every_run(tmp_path, ray_local):
    """`nnsynth sweep s.yaml && next-step` went on after a run failed: the sweep printed the
    run's error row and exited 0 (h238's probe).  Every run is still tried and recorded; the
    exit status is 1, with a line saying how many failed."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    (tmp_path / "base.yaml").write_text(json.dumps(FAST))
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(json.dumps({"name": "s", "base": "base.yaml",
                                 "root": str(tmp_path / "sweeps"),
                                 "runs": [{"name": "bad",
                                           "teacher.cache": str(blocker / "cache")}]}))
    r = CliRunner().invoke(cli, ["-q", "sweep", str(sweep)])
    assert r.exit_code == 1, r.output
    assert "bad: error:" in r.output and "1 of 1 runs failed" in r.output, r.output
    assert "Traceback" not in r.output
    assert (tmp_path / "sweeps" / "s" / "sweep.parquet").is_file()
