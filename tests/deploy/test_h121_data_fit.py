"""`nnsynth run CONFIG` on a user's own data (helper 121): a config shaped like tiny.yaml
with only `teacher.dataset` changed -- a CSV table, `basicmotions` -- said 'valid' under
--check, and the run failed in the stage that met the mismatch (the teacher's lenet5 on a
table, the ADI student lenet5_bn_half or an image preset at the synthesis, after the
teacher had been trained; an lstm teacher without BatchNorm at the synthesis; the search's
auto space on sequences at the search, after two stages), naming no config key.  Now the
data set is loaded by --check and before the first stage, and one line names the key."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from deploy.pipeline import run_pipeline
from deploy.run_config import load_run_config
from synth.errors import ConfigError


def _table(tmp_path):
    lines = ["alcohol,ash,kind"] + [f"{12 + i % 5},{2 + i % 3},{['red', 'white'][i % 2]}"
                                    for i in range(40)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _check(tmp_path, dataset, model="lenet300_100_bn", search="{}"):
    path = tmp_path / "c.yaml"
    path.write_text(f"name: c\nteacher: {{dataset: '{dataset}', model: {model}}}\n"
                    f"synthesis: {{student: ''}}\nsearch: {search}\n")
    result = CliRunner().invoke(cli, ["run", str(path), "--check"])
    return result.exit_code, result.output.strip()


@pytest.mark.parametrize("model, synthesis, search, key, hint", [
    ("lenet5_bn", "{student: ''}", "{}", "teacher.model", "lenet300_100_bn"),
    ("lenet300_100_bn", "{student: lenet5_bn_half}", "{}", "synthesis.student", 'or ""'),
    ("lenet300_100_bn", "{student: '', preset: mnist28}", "{}", "synthesis.preset",
     "give tabular"),
    ("lenet300_100_bn", "{student: ''}", "{options: {space: convnet}}",
     "search.options.space", "or auto"),
])
def test_check_refuses_what_does_not_fit_a_table(tmp_path, model, synthesis, search, key,
                                                 hint):
    csv = _table(tmp_path)
    code, out = _check(tmp_path, f"csv:{csv}")
    assert code == 0 and "valid" in out, out         # the fitting config passes
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: c\nteacher: {{dataset: 'csv:{csv}', model: {model}}}\n"
                    f"synthesis: {synthesis}\nsearch: {search}\n")
    result = CliRunner().invoke(cli, ["run", str(path), "--check"])
    out = result.output.strip()
    assert result.exit_code == 2 and len(out.splitlines()) == 1, out
    assert out.startswith("error:") and key in out and hint in out, out


def test_check_refuses_a_sequence_teacher_without_batchnorm_and_the_auto_space(tmp_path):
    code, out = _check(tmp_path, "basicmotions", model="lstm32")
    assert code == 2 and "teacher.model 'lstm32' has no BatchNorm" in out, out
    assert "synthesis.enabled: false" in out and len(out.splitlines()) == 1
    code, out = _check(tmp_path, "basicmotions")   # auto: the convnet1d space (was refused)
    assert code == 0, out
    code, out = _check(tmp_path, "basicmotions", search="{options: {space: mlp}}")
    assert code == 0, out
    code, out = _check(tmp_path, "basicmotions", search="{options: {space: convnet}}")
    assert code == 2 and "search.options.space" in out, out


def test_run_refuses_before_the_teacher_is_trained(tmp_path):
    """Not only --check: the run itself checks before its first stage (no Ray started),
    leaving no teacher, ledger or config.json behind (nor, since h192, the run directory)."""
    csv = _table(tmp_path)
    path = tmp_path / "c.yaml"
    path.write_text(f"name: c\nteacher: {{dataset: 'csv:{csv}', epochs: 1}}\n")
    config = load_run_config(str(path))
    with pytest.raises(ConfigError, match="teacher.model: 'lenet5_bn' does not fit"):
        run_pipeline(config, tmp_path / "run", progress=False)
    assert not (tmp_path / "run").exists()   # h192: the run directory it made is taken away


@pytest.mark.parametrize("shape, unit", [((1, 16, 16), "image"), ((6, 100), "sequence"),
                                         ((13,), "row")])
def test_summary_names_the_inputs_of_the_data(shape, unit):
    """summary.md of a wine-table run priced 'latency, accelerator (ms/image)' and the
    export stage's time read 'n/a' (it writes the report before its time is known)."""
    from deploy.summary import input_unit, render_summary
    assert input_unit(shape) == unit
    row = {"test_accuracy": 0.9, "parameters": 10, "latency_ms": 0.01, "energy_mj": 0.02}
    text = render_summary("r", row, row, final_source="x", files={},
                          stage_seconds={"teacher": 3.0, "export": None}, unit=input_unit(shape))
    assert f"latency, accelerator (ms/{unit})" in text and f"(mJ/{unit})" in text
    assert ("image" in text) == (unit == "image") and "n/a" not in text
    assert "| export | (writing this report) |" in text
