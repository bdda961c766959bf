"""``nnsynth hwsim table`` names the configuration its rows price (h300).  Its line said 'on
accel' whatever array priced it: a table built on 8x64 os at 50 MHz read as the default
32x32 ws at 500 MHz's, and one used for another accelerator could not be told apart.  Now
the line (and --json's config_text) names the array, dataflow and clock; ``--table T
--accel A`` predicts for A and refuses a table built for another array in one line."""
from hwsim import tables
from tests._cli import json_result, one_error_line, run

ODD = "rows: 8\ncols: 64\ndataflow: os\nifmap_kb: 0.5\nfilter_kb: 0.5\nofmap_kb: 0.5\nclock_mhz: 50\n"


def _odd_table(tmp_path):
    accel = tmp_path / "odd.yaml"
    accel.write_text(ODD)
    made = run(["hwsim", "table", "--device", "accel", "--model", "lenet5", "--accel",
                str(accel), "--json"])
    path = tmp_path / "t.json"
    path.write_text(made.output.strip().splitlines()[-1])
    return accel, path, json_result(made)


def test_the_tables_line_names_its_array(tmp_path):
    accel, path, report = _odd_table(tmp_path)
    assert report["config_text"] == ("8x64 os at 50 MHz, ifmap_kb 0.5, filter_kb 0.5, "
                                     "ofmap_kb 0.5")
    built = run(["hwsim", "table", "--device", "accel", "--model", "lenet5", "--accel",
                 str(accel)])
    assert built.output.startswith("11 unique ops of lenet5 on accel (8x64 os at 50 MHz, "
                                   "ifmap_kb 0.5, "), built.output
    default = run(["hwsim", "table", "--device", "accel", "--model", "lenet5"])
    assert "on accel (32x32 ws at 500 MHz, hwsim's default);" in default.output, default.output
    used = run(["hwsim", "table", "--table", str(path), "--model", "lenet5"])
    assert used.exit_code == 0, used.output
    assert f"in {path} on accel (8x64 os at 50 MHz, " in used.output.splitlines()[0]


def test_a_table_of_another_array_is_refused_for_the_accel_given(tmp_path):
    accel, path, report = _odd_table(tmp_path)
    other = tmp_path / "r16.yaml"
    other.write_text("rows: 16\n")
    line = one_error_line(run(["hwsim", "table", "--table", str(path), "--model", "lenet5",
                               "--accel", str(other)]))
    assert line.startswith("error: --table '") and (
        "t.json': this accel table was built for rows=8, not 16" in line), line
    same = json_result(run(["hwsim", "table", "--table", str(path), "--model", "lenet5",
                            "--accel", str(accel), "--json"]))
    assert same["prediction"]["latency_ms"] == report["prediction"]["latency_ms"]


def test_a_spring_tables_line_names_the_chip_and_old_tables_say_unknown():
    assert tables.config_text("spring", {}) == "SPRING 64 PEs at 700 MHz, the paper's"
    assert tables.config_text("spring", {"pes": 8, "sparsity": False}) == (
        "SPRING 8 PEs at 700 MHz, sparsity False")
    old = tables.Table({}, device="accel", config=None)   # saved before tables recorded it
    _, human = tables.table_report("m", "accel", old, {"latency_ms": None, "energy_mj": None})
    assert "on accel (its configuration not recorded" in human
