"""Helper 214: Ctrl-C of `nnsynth run` in its first stage (the teacher's training), before
any stage was recorded in the ledger, said "interrupted: finished work is kept; rerun the
same command to resume" although nothing was kept.  It says so now only when the run
directory's ledger records a finished stage (as invert's line, commit 577df96).  No Ray: the
teacher comes from a teacher cache filled here (tests/deploy/test_h146_interrupt.py)."""
import dataclasses
import json

import yaml

from deploy import stages as stage_impl
from deploy.cli.main import interrupted_line
from deploy.run_config import RunConfig
from tests._cli import run
from tests.deploy.teachers import seed_teacher_cache, teacher_only

KEPT = "interrupted: finished work is kept; rerun the same command to resume"
NOT_YET = "interrupted: no stage had finished yet; rerun the same command to start the run"
BASE = teacher_only("ctrl-c-h214", "iris", '{"family": "mlp", "hidden": [8], "bn": true}')


def _ctrl_c_before(monkeypatch, stage):
    real = stage_impl.STAGE_REGISTRY[stage].run

    def interrupted(ctx):
        raise KeyboardInterrupt
    monkeypatch.setitem(stage_impl.STAGE_REGISTRY, stage,
                        dataclasses.replace(stage_impl.STAGE_REGISTRY[stage], run=interrupted))
    return real


def _last_line(result):
    assert result.exit_code == 130 and "Traceback" not in result.output, result.output
    return result.output.strip().splitlines()[-1]


def test_ctrl_c_in_the_first_stage_does_not_say_work_was_kept(tmp_path, monkeypatch):
    values = json.loads(json.dumps(BASE))
    values["teacher"]["cache"] = str(tmp_path / "teachers")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(values))
    out = tmp_path / "run"
    real = _ctrl_c_before(monkeypatch, "teacher")
    assert _last_line(run(["-q", "run", str(path), "--run-dir", str(out)])) == NOT_YET
    # the default run directory (runs/<name>, under the working directory) is read too
    monkeypatch.chdir(tmp_path)
    assert _last_line(run(["-q", "run", str(path)])) == NOT_YET
    # the teacher finished (from the cache) and the export is interrupted: kept, resumable
    seed_teacher_cache(RunConfig.from_dict(values), tmp_path / "teachers")
    monkeypatch.setitem(stage_impl.STAGE_REGISTRY, "teacher",
                        dataclasses.replace(stage_impl.STAGE_REGISTRY["teacher"], run=real))
    _ctrl_c_before(monkeypatch, "export")
    assert _last_line(run(["-q", "run", str(path), "--run-dir", str(out)])) == KEPT
    assert interrupted_line("run", {"config": str(path), "run_dir": str(out)}) == KEPT
    # a config that cannot be read (the interrupt came while it was read): nothing kept
    assert interrupted_line("run", {"config": str(tmp_path / "none.yaml")}) == NOT_YET
