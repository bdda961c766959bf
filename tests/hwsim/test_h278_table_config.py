"""A latency table's accelerator config of a value out of range (helper h278): ``hwsim table
--table FILE`` said 'rows must be in [1, 4096], got 1000000000', naming neither the file nor
its config (an unknown key's error named both)."""
import pytest

from hwsim import tables
from synth.errors import UserError


def _report(**config):
    return {"device": "accel", "config": config, "rows": [
        {"key": "('linear', (1, 4), (1, 3), (3, 4), (1, 4, 3), 1, 0, 0.0, 0.0)",
         "type": "linear", "latency_ms": 0.001, "energy_mj": 0.001}]}


@pytest.mark.parametrize("config, phrase", [
    ({"rows": 10 ** 9}, "rows must be in [1, 4096]"),
    ({"clock_mhz": float("nan")}, "clock_mhz must be"),
    ({"evil": 1}, "unknown config key"),
])
def test_a_tables_config_value_error_names_the_table(config, phrase):
    with pytest.raises(UserError) as e:
        tables.load_table(_report(**config), "latency table 't.json'")
    text = str(e.value)
    assert "\n" not in text and "latency table 't.json'" in text and phrase in text, text


def test_a_tables_config_in_range_loads():
    table = tables.load_table(_report(rows=16, cols=16), "latency table 't.json'")
    assert table.config["rows"] == 16
