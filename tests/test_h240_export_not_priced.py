"""A run whose export does not price says so (h240).

Before: with ``export: {price: false}`` the export stage skipped hwsim (accelerator model and
SPRING) and its result (``nnsynth run --json``) and summary.md simply had no latency or
energy rows or keys, with no word that pricing was turned off; ``export.spring: false`` left
out the SPRING rows alike.  Now the result says ``priced`` / ``spring_priced`` and summary.md
notes what was not run.  No Ray: the teacher comes from a seeded cache."""
import json

import pytest

from deploy.pipeline import run_pipeline
from deploy.run_config import RunConfig
from tests.deploy.teachers import seed_teacher_cache
from tests.test_h238_missing_outputs import BASE as MISSING_BASE

BASE = {**MISSING_BASE, "name": "unpriced"}   # teacher and export, no ONNX, no pricing


def _run(tmp_path, **export):
    values = json.loads(json.dumps(BASE))
    values["teacher"]["cache"] = str(tmp_path / "teachers")
    values["export"].update(export)
    config = RunConfig.from_dict(values)
    seed_teacher_cache(config, tmp_path / "teachers")
    result = run_pipeline(config, tmp_path / "run", progress=False, log=lambda m: None)
    return result, (tmp_path / "run" / "summary.md").read_text()


def test_a_run_without_pricing_says_so(tmp_path):
    result, report = _run(tmp_path, price=False)
    assert result["priced"] is False and result["spring_priced"] is False, result
    assert not any("latency" in k for k in result), result
    assert "pricing not run (export.price: false)" in report, report
    assert "latency" not in report.split("## Notes")[0]


@pytest.mark.parametrize("spring", [True, False])
def test_a_priced_run_says_whether_spring_ran(tmp_path, spring):
    result, report = _run(tmp_path, price=True, spring=spring)
    assert result["priced"] is True and result["spring_priced"] is spring, result
    assert ("final_spring_latency_ms" in result) is spring
    assert "pricing not run" not in report
    assert ("SPRING not run (export.spring: false)" in report) is not spring, report
