"""Ctrl-C of ``nnsynth sweep`` (h232) counts as finished only the runs whose ledgers hold
every stage done for the run's config now: a ledger of an earlier sweep of other settings
(the runs' names are the grid's, not the settings') counted as finished, kept work that the
rerun runs again from scratch."""
import yaml

from deploy.cli.main import interrupted_line
from deploy.ledger import Ledger
from deploy.run_config import enabled_stages
from deploy.sweep import load_sweep
from tests.deploy.teachers import teacher_only

BASE = teacher_only("ctrl-c-h232", "iris", '{"family": "mlp", "hidden": [8]}')


def _sweep(tmp_path, epochs):
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(
        {**BASE, "teacher": {**BASE["teacher"], "epochs": epochs}}))
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "base": "base.yaml",
                                    "root": str(tmp_path / "sweeps"),
                                    "grid": {"seed": [0, 1]}}))
    return path


def _finish(path, index):
    """Run ``index``'s ledger with every stage done as ``nnsynth run`` records it."""
    _, runs = load_sweep(path)
    cfg = runs[index][1]
    run_dir = path.parent / "sweeps" / "s" / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(run_dir)
    inputs = {"teacher": "0123456789abcdef"}     # the data's digest, as the stage saw it
    for stage in enabled_stages(cfg):
        ledger.record(stage, cfg.stage_fingerprint(stage, inputs), {}, 1.0,
                      made_from={"config": cfg.to_dict(), "inputs": inputs})


def test_runs_of_an_earlier_config_are_not_counted_as_kept(tmp_path):
    path = _sweep(tmp_path, epochs=1)
    _finish(path, 0)
    line = lambda: interrupted_line("sweep", {"sweep_file": str(path)})   # noqa: E731
    assert line().startswith("interrupted: 1 of 2 runs had finished and is kept"), line()
    _sweep(tmp_path, epochs=3)     # the same sweep, its base now trains 3 epochs
    assert line() == ("interrupted: no run had finished yet; rerun the same command to start "
                      "the sweep"), line()
