"""A run whose trainings run in this process (``scaling.num_workers: 0``) and fan nothing out
(a teacher and an export) started Ray anyway (``ctx.connect_ray`` before the teacher's
training): ~7 s of a 13 s run, and a Ray left up in the process (found by h311)."""
import json
import sys

from tests._cli import run
from tests.deploy.teachers import teacher_only


def test_a_teacher_only_run_on_one_process_starts_no_ray(tmp_path):
    values = {**teacher_only("t", "iris", "mlp_small"),
              "teacher": {"dataset": "iris", "model": "mlp_small", "epochs": 1, "cache": ""}}
    (tmp_path / "run.json").write_text(json.dumps(values))
    r = run(["run", str(tmp_path / "run.json"), "--run-dir", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    ray = sys.modules.get("ray")
    assert ray is None or not ray.is_initialized()
    assert (tmp_path / "r" / "summary.md").is_file()
