"""One reader of an accelerator file serves every command (h305): ``nnsynth hwsim eval
--accel`` and ``hwsim table --accel`` (built and --table) read it through
``hwsim.accel.read_accel_file``, as ``nnsynth search --accel`` does; they had their own
``_config_from(AcceleratorConfig, _load_yaml(...))`` pair (h299's log), kept only for
--dse-config.  Their errors stay one line naming the file, the reader's own words."""
import ast
from pathlib import Path

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from hwsim.accel import read_accel_file
from synth.errors import ConfigError

HWSIM_CLI = Path(__file__).resolve().parents[2] / "deploy" / "cli" / "commands" / "hwsim.py"
MODEL = ["--model", "mlp_small", "--input-shape", "4", "--num-classes", "3"]


def test_hwsim_commands_build_no_accelerator_of_their_own():
    tree = ast.parse(HWSIM_CLI.read_text())
    own = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Call)
           and getattr(node.func, "id", "") == "_config_from"
           and any(getattr(a, "id", "") == "AcceleratorConfig" for a in node.args)]
    assert own == [], f"hwsim.py builds AcceleratorConfig itself at lines {own}"
    assert "read_accel_file" in HWSIM_CLI.read_text()


@pytest.mark.parametrize("text", ["rows: 0\n", "bogus: 1\n", "- 8\n", "dataflow: xx\n"])
@pytest.mark.parametrize("args", [["hwsim", "eval", "--spec", "mlp_small", "--input-shape",
                                   "4", "--num-classes", "3"],
                                  ["hwsim", "table", "--device", "accel", *MODEL]])
def test_their_errors_are_the_readers_line(tmp_path, args, text):
    f = tmp_path / "a.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        read_accel_file(f)
    r = CliRunner().invoke(cli, [*args, "--accel", str(f)])
    assert r.exit_code == 2 and r.output == f"error: {e.value}\n", r.output
    assert str(f) in r.output


def test_a_good_file_prices_the_same_array(tmp_path):
    f = tmp_path / "odd.yaml"
    f.write_text("rows: 8\ncols: 64\ndataflow: os\nclock_mhz: 50\n")
    import json
    r = CliRunner().invoke(cli, ["hwsim", "eval", "--spec", "mlp_small", "--input-shape", "4",
                                 "--num-classes", "3", "--accel", str(f), "--json"])
    assert r.exit_code == 0, r.output
    import hwsim
    priced = hwsim.price(hwsim.build_priced("mlp_small", (4,), 3), (4,), read_accel_file(f))
    assert json.loads(r.output)["latency_ms"] == priced["latency_ms"]
