"""accel and spring latency tables record the configuration that priced them."""
import json

import pytest
from click.testing import CliRunner
from torch import nn

from deploy.cli.main import cli
from hwsim import extract, tables
from hwsim.accel import AcceleratorConfig
from hwsim.spring import SpringConfig
from synth.errors import UserError


@pytest.fixture(scope="module")
def ops():
    return extract(nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(8 * 6 * 6, 4)), (3, 8, 8))


def test_an_accel_table_records_its_config_and_refuses_another(ops):
    """A table built on a 16x16 array predicted a 32x32 one with the 16x16 figures."""
    cfg = AcceleratorConfig(rows=16, cols=16)
    table = tables.build_table(ops, "accel", cfg)
    assert table.config == cfg.to_dict()
    same = tables.predict(table, ops, config=cfg)
    total = sum(r["latency_ms"] for r in table.values())
    assert same["latency_ms"] == pytest.approx(total)
    with pytest.raises(UserError) as e:
        tables.predict(table, ops, config=AcceleratorConfig())
    text = str(e.value)
    assert "\n" not in text and "built for rows=16, not 32 (and 1 more field)" in text, text
    with pytest.raises(UserError, match="dataflow='ws', not 'os'"):
        tables.predict(table, ops, config=cfg.replace(dataflow="os"))
    assert tables.predict(table, ops)["latency_ms"] == same["latency_ms"]   # no config: as before


def test_the_config_survives_the_saved_report(ops):
    cfg = SpringConfig(int_bits=2, frac_bits=6)
    table = tables.build_table(ops, "spring", cfg)
    out, _ = tables.table_report("m", "spring", table, tables.predict(table, ops))
    loaded = tables.load_table(json.loads(json.dumps(out)))
    assert loaded.config == cfg.to_dict()
    tables.predict(loaded, ops, config=cfg)
    with pytest.raises(UserError, match="int_bits=2, not 4"):
        tables.predict(loaded, ops, config=SpringConfig())
    bad = dict(out, config={"int_bits": 2, "lanes_typo": 3})
    with pytest.raises(UserError, match="lanes_typo"):
        tables.load_table(bad)


def test_a_config_of_the_other_device_is_one_line(ops):
    """A SpringConfig given to build an accel table was an AttributeError traceback."""
    with pytest.raises(UserError, match="accel table is priced with a AcceleratorConfig, got "
                                        "SpringConfig"):
        tables.build_table(ops, "accel", SpringConfig())


def test_cli_a_spring_table_of_another_precision_is_refused(tmp_path):
    """--table T --model M priced a float model (SPRING's 4.16) from a table built for a
    2.6 fixed-point checkpoint, with that precision's figures."""
    r = CliRunner().invoke(cli, ["hwsim", "table", "--device", "spring", "--model",
                                 "mlp_small@1x4x4", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output.strip().splitlines()[-1])
    assert out["config"]["int_bits"] == 4 and out["config"]["frac_bits"] == 16
    good = tmp_path / "good.json"
    good.write_text(json.dumps(out))
    r = CliRunner().invoke(cli, ["hwsim", "table", "--table", str(good), "--model",
                                 "mlp_small@1x4x4", "--json"])
    assert r.exit_code == 0, r.output
    out["config"].update(int_bits=2, frac_bits=6)
    out["spring_precision"] = "2.6"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(out))
    r = CliRunner().invoke(cli, ["hwsim", "table", "--table", str(other), "--model",
                                 "mlp_small@1x4x4"])
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert "built for int_bits=2, not 4" in lines[0], lines[0]
