"""A run renamed between two runs into one run directory is reported under its new name.

``nnsynth run`` left ``name`` out of every stage's fingerprint, so a config whose only change
was its name skipped every stage, export included: config.json said the new name while
summary.md, which export writes, kept the old title (helper 146: iris, ``name: iris-probe``
then ``name: renamed`` into the same --run-dir: "# nnsynth run: iris-probe").  The name
changes no stage's result, but export writes it: export runs again, and the log says why.

No Ray: the teacher comes from a teacher cache filled here; the run is teacher and export."""
import json

from deploy.pipeline import run_pipeline
from deploy.run_config import RunConfig
from tests.deploy.teachers import seed_teacher_cache

TEACHER = {"dataset": "iris", "model": '{"family": "mlp", "hidden": [8], "bn": true}',
           "epochs": 1}
BASE = {"name": "first", "scaling": {"num_workers": 0}, "teacher": TEACHER,
        "synthesis": {"enabled": False}, "search": {"enabled": False},
        "refine": {"enabled": False}, "export": {"onnx": False, "price": False}}


def _config(cache, **top) -> RunConfig:
    values = json.loads(json.dumps({**BASE, **top}))
    values["teacher"]["cache"] = str(cache)
    return RunConfig.from_dict(values)


def test_a_renamed_run_rewrites_its_summary_and_reuses_the_rest(tmp_path):
    cache = tmp_path / "teachers"
    seed_teacher_cache(_config(cache), cache)
    run = tmp_path / "run"
    run_pipeline(_config(cache), run, progress=False, log=lambda m: None)
    assert (run / "summary.md").read_text().splitlines()[0] == "# nnsynth run: first"
    logs = []
    run_pipeline(_config(cache, name="second"), run, progress=False, log=logs.append)
    assert json.loads((run / "config.json").read_text())["name"] == "second"
    assert (run / "summary.md").read_text().splitlines()[0] == "# nnsynth run: second"
    assert any(line.startswith("[1/2] teacher: done earlier") for line in logs), logs
    assert any("export: config or data changed, re-running export (changed: name)" in line
               for line in logs), logs
    # a rerun under the same name skips both
    logs = []
    run_pipeline(_config(cache, name="second"), run, progress=False, log=logs.append)
    assert sum("done earlier" in line for line in logs) == 2, logs
