"""Helper 216: Ctrl-C of `nnsynth sweep` said "interrupted: finished work is kept; rerun the
same command to resume" whatever was there, before any run had finished a stage as well.  It
now says how many runs had finished (their ledgers record every stage their config enables)
and how many kept some finished stages, or that none had finished (as `nnsynth run`'s line
since 5d40b80).  No Ray: the sweep's runs are ledgers written here, and the CLI's sweep is
interrupted where run_sweep would start."""
import yaml

import deploy.sweep
from deploy.cli.main import interrupted_line
from deploy.ledger import Ledger
from deploy.run_config import enabled_stages
from deploy.sweep import load_sweep
from tests._cli import run
from tests.deploy.teachers import teacher_only

BASE = teacher_only("ctrl-c-h216", "iris", '{"family": "mlp", "hidden": [8], "bn": true}')
NONE_YET = "interrupted: no run had finished yet; rerun the same command to start the sweep"


def _sweep(tmp_path):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(BASE))
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "base": "base.yaml",
                                    "root": str(tmp_path / "sweeps"),
                                    "grid": {"seed": [0, 1, 2]}}))
    return path


def _finish(path, index, stages=None):
    """Record ``stages`` (all the run's enabled ones by default) in run ``index``'s ledger."""
    sweep, runs = load_sweep(path)
    cfg = runs[index][1]
    run_dir = path.parent / "sweeps" / "s" / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(run_dir)
    for stage in stages or enabled_stages(cfg):   # the fingerprint of its config (h232)
        ledger.record(stage, cfg.stage_fingerprint(stage), {}, 1.0)


def test_the_sweep_line_says_how_many_runs_had_finished(tmp_path):
    path = _sweep(tmp_path)
    line = lambda: interrupted_line("sweep", {"sweep_file": str(path)})   # noqa: E731
    assert line() == NONE_YET                          # no run directory yet
    _finish(path, 1, stages=["teacher"])               # teacher done, export not
    assert line() == ("interrupted: no run had finished yet (1 more run kept the stages it "
                      "finished); rerun the same command to resume (it skips what finished)")
    _finish(path, 0)
    assert line() == ("interrupted: 1 of 3 runs had finished and is kept, and 1 more run kept "
                      "the stages it finished; rerun the same command to resume (it skips "
                      "what finished)")
    _finish(path, 1)
    assert line() == ("interrupted: 2 of 3 runs had finished and are kept; rerun the same "
                      "command to resume (it skips what finished)")
    # a sweep file that cannot be read (or none given): nothing counted, nothing claimed
    for params in ({"sweep_file": str(tmp_path / "none.yaml")}, {}):
        got = interrupted_line("sweep", params)
        assert "finished work is kept" not in got and "had finished" not in got, got


def test_ctrl_c_of_the_sweep_command_before_any_run_finished(tmp_path, monkeypatch):
    path = _sweep(tmp_path)

    def interrupted(*a, **k):
        raise KeyboardInterrupt
    monkeypatch.setattr(deploy.sweep, "run_sweep", interrupted)
    result = run(["-q", "sweep", str(path)])
    assert result.exit_code == 130 and "Traceback" not in result.output, result.output
    assert result.output.strip().splitlines()[-1] == NONE_YET
    _finish(path, 2)
    result = run(["-q", "sweep", str(path)])
    assert result.output.strip().splitlines()[-1].startswith(
        "interrupted: 1 of 3 runs had finished and is kept;"), result.output
