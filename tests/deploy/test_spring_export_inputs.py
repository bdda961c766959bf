"""The pipeline's export prices SPRING on real test inputs, as ``nnsynth hwsim eval --spring``
does (h293): SPRING skips zero activations, and the export measured their sparsity on one
random N(0, 1) input, so summary.md's SPRING rows of a model differed from what ``hwsim eval``
gave for the same checkpoint, without a word.

No Ray: ``run_export`` on a teacher trained here (as test_h176_reported_figures does)."""
import json

from click.testing import CliRunner

from deploy.cli.main import cli
from deploy.ledger import RunContext
from deploy.run_config import RunConfig
from deploy.stages import run_export
from tests.deploy.test_h176_reported_figures import SPEC, _teacher


def test_export_prices_spring_on_the_test_inputs_hwsim_eval_uses(tmp_path):
    _teacher(tmp_path / "teacher.pt", epochs=5)
    config = RunConfig.from_dict({
        "name": "spring", "teacher": {"dataset": "iris", "model": json.dumps(SPEC), "cache": ""},
        "synthesis": {"num_images": 64, "pairs": 1, "student": ""},
        "search": {"enabled": False}, "refine": {"enabled": False},
        "export": {"onnx": False, "price": True, "spring": True}})
    ctx = RunContext(config, tmp_path, address=None, progress=False, log=lambda m: None)
    ctx.outputs = {"teacher": {"checkpoint": "teacher.pt"}}
    summary = run_export(ctx)["summary"]
    res = CliRunner().invoke(cli, ["hwsim", "eval", "--model", str(tmp_path / "teacher.pt"),
                                   "--spring", "--json"])
    assert res.exit_code == 0, res.output
    evaluated = json.loads(res.output.strip().splitlines()[-1])
    assert "test split" in evaluated["spring_sparsity_inputs"]
    assert evaluated["spring_inference"]["skipped_fraction"] > 0
    for key in ("latency_ms", "energy_mj"):
        assert summary[f"teacher_spring_{key}"] == evaluated["spring_inference"][key]
    text = (tmp_path / "summary.md").read_text()
    assert "SPRING's activation sparsity measured on the first 30 of the 30 real test rows" in text
