"""hwsim's YAML config files are named by the errors about their values (h250).

``nnsynth hwsim eval --model m.pt --accel a.yaml`` with ``rows: 0`` said 'error: rows must
be in [1, 4096], got 0', and ``hwsim dse --dse-config d.yaml`` with ``area_budget_mm2: -1``
'area_budget_mm2 must be ...': neither named the file nor an option (a run config's errors
name their file: 'r.yaml: teacher.epochs must be ...').  A value typed as an option is
still named by the option."""
import pytest
from click.testing import CliRunner

from deploy.cli.main import cli

SPEC = ["--spec", "mlp_small", "--input-shape", "4", "--num-classes", "3"]


@pytest.mark.parametrize("args, text, expected", [
    (["hwsim", "eval", *SPEC, "--accel", "{f}"], "rows: 0",
     "error: {f}: rows must be in [1, 4096], got 0"),
    (["hwsim", "eval", *SPEC, "--accel", "{f}"], "bogus: 1", "error: {f}: unknown config key"),
    (["hwsim", "table", "--device", "accel", "--model", "mlp_small", "--input-shape", "4",
      "--num-classes", "3", "--accel", "{f}"], "dataflow: xx",
     "error: {f}: dataflow must be one of"),
    (["hwsim", "dse", "--model", "mlp_small@4", "--num-classes", "3", "--dse-config", "{f}"],
     "area_budget_mm2: -1", "error: {f}: area_budget_mm2 must be in"),
    (["hwsim", "dse", "--model", "mlp_small@4", "--num-classes", "3", "--dse-config", "{f}"],
     "rows: [0]", "error: {f}: rows value must be in"),
    (["hwsim", "dse", "--model", "mlp_small@4", "--num-classes", "3", "--dse-config", "{f}",
      "--area-budget", "-1"], "area_budget_mm2: 2", "error: --area-budget must be in"),
])
def test_a_bad_value_names_its_file(tmp_path, args, text, expected):
    f = tmp_path / "c.yaml"
    f.write_text(text + "\n")
    r = CliRunner().invoke(cli, [a.format(f=f) for a in args])
    assert r.exit_code == 2, r.output
    assert len(r.output.strip().splitlines()) == 1, r.output
    assert r.output.startswith(expected.format(f=f)), r.output
