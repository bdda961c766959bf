"""A finished stage whose recorded output file is gone is run again on resume (h238).

Before: ``nnsynth run`` after ``rm runs/x/final.pt`` said 'export: done earlier, skipped'
and its result (and --json) named runs/x/final.pt as final_checkpoint, a file that did not
exist.  No Ray: the teacher comes from a seeded cache, as tests/deploy/test_pipeline_stale.py.
"""
import json

from deploy.pipeline import run_pipeline
from deploy.run_config import RunConfig
from tests.deploy.teachers import seed_teacher_cache, teacher_only

BASE = teacher_only("lost", "digits", '{"family": "mlp", "hidden": [16], "bn": true}')


def test_a_deleted_final_checkpoint_is_made_again(tmp_path):
    values = json.loads(json.dumps(BASE))
    values["teacher"]["cache"] = str(tmp_path / "teachers")
    config = RunConfig.from_dict(values)
    seed_teacher_cache(config, tmp_path / "teachers")
    run_dir = tmp_path / "run"
    run_pipeline(config, run_dir, progress=False, log=lambda m: None)
    (run_dir / "final.pt").unlink()
    logs = []
    result = run_pipeline(config, run_dir, progress=False, log=logs.append)
    assert (run_dir / "final.pt").is_file(), logs
    assert result["final_checkpoint"] == str(run_dir / "final.pt")
    assert any("final.pt is missing" in line for line in logs), logs
    assert not any("export: done earlier (" in line for line in logs), logs


def test_stop_after_a_stage_the_config_turns_off_stops_there(tmp_path):
    # before: --stop-after refine with refine.enabled false ran export, wrote final.pt and
    # summary.md, as if no --stop-after had been given
    values = json.loads(json.dumps(BASE))
    values["teacher"]["cache"] = str(tmp_path / "teachers")
    config = RunConfig.from_dict(values)
    seed_teacher_cache(config, tmp_path / "teachers")
    logs = []
    result = run_pipeline(config, tmp_path / "run", progress=False, log=logs.append,
                          stop_after="refine")
    assert not (tmp_path / "run" / "final.pt").exists(), logs
    assert "final_checkpoint" not in result
    assert any("refine is turned off" in line for line in logs), logs
