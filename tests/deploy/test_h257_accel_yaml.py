"""An --accel or --dse-config file that holds no mapping is refused (helper h257).

A file holding 0, false or [] was read as an empty mapping (``... or {}``): nnsynth hwsim
eval priced the default accelerator and exited 0.  An empty file (or one of comments only,
or null) is still the defaults, as a run config's is.
"""
import pytest

from tests._cli import json_result, one_error_line, run


@pytest.mark.parametrize("text, kind", [("0", "int"), ("false", "bool"), ("[]", "list")])
def test_an_accel_file_without_a_mapping_is_refused(tmp_path, text, kind):
    path = tmp_path / "a.yaml"
    path.write_text(text + "\n")
    line = one_error_line(run(["hwsim", "eval", "--spec", "mlp_small", "--input-shape", "4",
                               "--num-classes", "3", "--accel", str(path)]))
    assert line == f"error: accelerator config {path} must hold a mapping of keys, got {kind}"
    line = one_error_line(run(["hwsim", "dse", "--model", "mlp_small@4", "--num-classes",
                               "3", "--budget", "2", "--dse-config", str(path)]))
    assert f"dse config {path} must hold a mapping of keys" in line


def test_an_empty_accel_file_is_the_defaults(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("# nothing set\n")
    args = ["hwsim", "eval", "--spec", "mlp_small", "--input-shape", "4", "--num-classes", "3",
            "--json"]
    assert json_result(run(args + ["--accel", str(path)]))["config"] == \
        json_result(run(args))["config"]
