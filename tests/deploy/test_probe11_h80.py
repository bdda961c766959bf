"""Helper 80's probe of user-facing errors in run configs and the CLI: each mistake is one
line naming the file or key and what was expected, exit status 2, no traceback; and a set
whose class names differ from the model's only in case is scored by name."""
import json

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


def _invoke(args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("section, expected", [
    # check_stages' errors: they named the key but not the file the user passed
    ("synthesis: {inversion: {bogus: 1}}", "unknown config key 'synthesis.inversion.bogus'"),
    ("scaling: {num_workers: x}", "scaling.num_workers must be an integer"),
    ("search: {options: {dataset: iris}}", "search.options.dataset is set by the pipeline"),
])
def test_run_check_stage_option_errors_name_the_config_file(tmp_path, section, expected):
    path = tmp_path / "my_run.yaml"
    path.write_text(f"name: t\n{section}\n")
    line = _one_line_error(_invoke(["run", path, "--check"]))
    assert line.startswith(f"error: {path}: ") and expected in line


@pytest.mark.parametrize("amortized, expected", [
    ("{bogus: 1}", "unknown config key 'synthesis.inversion.amortized.bogus'"),
    ("{steps: ten}", "synthesis.inversion.amortized: steps must be an integer"),
    ("{steps: 10, warmup_steps: 20}", "synthesis.inversion.amortized: warmup_steps must be"),
])
def test_amortized_settings_are_checked_by_key(tmp_path, amortized, expected):
    """``synthesis.inversion.amortized`` was checked only to be a mapping: --check said
    'valid' and the synthesis stage failed after the teacher was trained."""
    path = tmp_path / "a.yaml"
    path.write_text(f"name: t\nsynthesis: {{inversion: {{method: amortized, "
                    f"amortized: {amortized}}}}}\n")
    line = _one_line_error(_invoke(["run", path, "--check"]))
    assert f"{path}: " in line and expected in line


def test_good_amortized_settings_pass_the_check(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("name: t\nsynthesis: {inversion: {method: amortized, "
                    "amortized: {steps: 10, width: 8}}}\n")
    result = _invoke(["run", path, "--check", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["valid"] is True


def _no_bn_checkpoint(tmp_path, dataset="digits"):
    """An untrained checkpoint of a model without BatchNorm (inversion refuses it)."""
    import torch
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    data = load_dataset(dataset)
    torch.manual_seed(0)
    model = build("mlp_small", data.input_shape, data.num_classes)
    return save_checkpoint(tmp_path / "no_bn.pt", model, dataset=data.metadata())


def test_prune_of_a_model_without_batchnorm_names_the_checkpoint(tmp_path):
    path = _no_bn_checkpoint(tmp_path)
    line = _one_line_error(_invoke(["prune", "--model", path, "--ratio", "0.5",
                                    "--importance", "taylor", "--kd-steps", "0",
                                    "--out", tmp_path / "p.pt", "--device", "cpu"]))
    assert f"--model {path}" in line and "BatchNorm" in line


def test_continual_of_a_model_without_batchnorm_names_the_checkpoint(tmp_path):
    path = _no_bn_checkpoint(tmp_path, "digits[0,1,2,3,4]")
    line = _one_line_error(_invoke(["continual", "--model", path, "--new-dataset", "digits",
                                    "--new-classes", "5", "--out", tmp_path / "c.pt",
                                    "--device", "cpu"]))
    assert f"--model {path}" in line and "BatchNorm" in line


def _animals(path, names):
    rows = ["a,b,label"] + [f"{(i % 3) * 2 + 0.01 * (i % 13):.3f},{0.07 * (i % 5):.3f},"
                            f"{names[i % 3]}" for i in range(150)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_eval_and_export_match_classes_named_in_another_case(tmp_path):
    """A model of 'bird', 'Cat', 'dog' (sorted: 'Cat', 'bird', 'dog') scored on a file of
    'bird', 'cat', 'dog' was scored output i as the file's class i, with a warning: a
    perfect model printed accuracy 0.33 (eval) and onnx_accuracy 0.33 (export).  Now the
    classes are matched by name, case ignored, as continual learning matches them."""
    own = _animals(tmp_path / "animals.csv", ["bird", "Cat", "dog"])
    lower = _animals(tmp_path / "lower.csv", ["bird", "cat", "dog"])
    model = tmp_path / "m.pt"
    r = _invoke(["train", "--dataset", f"csv:{own}", "--model", "mlp_small", "--epochs", "20",
                 "--lr", "0.1", "--out", model, "--device", "cpu", "--json"])
    assert r.exit_code == 0, r.output
    r = _invoke(["eval", "--model", model, "--json"])
    assert r.exit_code == 0, r.output
    accuracy = json.loads(r.output.strip().splitlines()[-1])["accuracy"]
    assert accuracy > 0.9
    r = _invoke(["eval", "--model", model, "--dataset", f"csv:{lower}", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.strip().splitlines()[-1])["accuracy"] == accuracy
    # no classes-by-index warning (lower.csv's own split, stratified by its other class
    # order, holds rows animals.csv trained on: that warning, h246, is right)
    assert "are not the model's" not in r.output
    r = _invoke(["export", "--model", model, "--dataset", f"csv:{lower}",
                 "--out", tmp_path / "m.onnx", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output.strip().splitlines()[-1])["onnx_accuracy"] == accuracy


@pytest.mark.parametrize("content, expected", [
    # a folder given as the config: it said "config file not found"
    (None, "is a folder; expected a YAML file"),
    # a binary or Latin-1 file: it said "cannot be read (UnicodeDecodeError)"
    (b"name: caf\xe9\n", "is not UTF-8 text"),
    # an empty file (or comments only) ran the whole default pipeline as run 'run'
    (b"", "is empty"),
    (b"# teacher: {model: lenet5_bn}\n", "is empty"),
    # amortized as a list: "synthesis.inversion: amortized must be a mapping ..., got (1, 2)"
    (b"synthesis: {inversion: {amortized: [1, 2]}}\n",
     "synthesis.inversion.amortized must be a mapping of option: value, got [1, 2]"),
])
def test_config_file_mistakes_are_one_line(tmp_path, content, expected):
    path = tmp_path / "my.yaml"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    line = _one_line_error(_invoke(["run", path, "--check"]))
    assert str(path) in line and expected in line


def test_an_explicitly_empty_mapping_is_still_every_default(tmp_path):
    path = tmp_path / "d.yaml"
    path.write_text("{}\n")
    assert _invoke(["run", path, "--check"]).exit_code == 0


@pytest.mark.parametrize("dataset, expected", [
    ("csv:data", "CSV file data is a folder; expected a .csv file"),
    ("images:pic.png", "image folder pic.png is a file; expected a folder"),
    ("cifar10:pic.png", "CIFAR-10 directory pic.png is a file; expected a folder"),
    ("csv:nope.csv", "csv:nope.csv not found"),
])
def test_run_check_refuses_a_data_path_of_the_wrong_kind(tmp_path, monkeypatch, dataset,
                                                         expected):
    """`run --check` said 'valid' for a csv: path that was a folder (or an images: folder
    that was a file): only a missing path was refused, and the run failed in its first
    stage."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "pic.png").write_bytes(b"\x89PNG")
    path = tmp_path / "r.yaml"
    path.write_text(f"teacher: {{dataset: '{dataset}'}}\n")
    line = _one_line_error(_invoke(["run", path, "--check"]))
    assert f"{path}: teacher.dataset: " in line and expected in line
