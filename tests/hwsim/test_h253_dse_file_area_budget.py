"""hwsim dse: an area budget of a --dse-config file below every configuration's area names
the file (h253), as the file's other value errors do (h250).

``nnsynth hwsim dse --model lenet5 --dse-config d.yaml`` with ``area_budget_mm2: 0.001`` said
'error: area_budget_mm2 must be at least the smallest configuration's area, 0.143 mm^2, got
0.001': the config's field, not the file it came from (explore finds it, after the config
was made).  The same budget typed as --area-budget is still told by the option."""
from tests._cli import one_error_line, run

ARGS = ["hwsim", "dse", "--model", "mlp_small@4", "--num-classes", "3"]


def test_the_files_budget_names_the_file(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text("area_budget_mm2: 0.001\n")
    line = one_error_line(run(ARGS + ["--dse-config", str(f)]))
    assert line.startswith(f"error: {f}: area_budget_mm2 must be at least the smallest "
                           f"configuration's area, "), line
    assert line.endswith("mm^2, got 0.001"), line


def test_a_typed_budget_is_told_by_its_option(tmp_path):
    f = tmp_path / "d.yaml"
    f.write_text("area_budget_mm2: 2\n")
    line = one_error_line(run(ARGS + ["--dse-config", str(f), "--area-budget", "0.001"]))
    assert line.startswith("error: --area-budget must be at least the smallest "), line
    assert str(f) not in line
