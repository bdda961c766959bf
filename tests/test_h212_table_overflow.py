"""h212: a saved latency table whose rows sum past a float (1.7e308 mJ each) is refused in
one line naming the table and the row; it printed 'energy_mj: null' without a word."""
import json

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from hwsim import build_priced, extract, tables
from synth.errors import UserError


def _report():
    shape = (1, 28, 28)
    ops = extract(build_priced("lenet5", shape, 10), shape)
    table = tables.build_table(ops, "accel")
    return ops, tables.table_report("m", "accel", table, tables.predict(table, ops))[0]


@pytest.mark.parametrize("column", ["energy_mj", "latency_ms"])
def test_rows_that_sum_past_a_float_are_refused(tmp_path, column):
    ops, report = _report()
    for row in report["rows"]:
        row[column] = 1.7e308
    with pytest.raises(UserError, match=rf"latency table rows\[0\] {column} is 1\.7e\+308; "
                                        r"the limit is 1e\+18"):
        tables.load_table(report)
    path = tmp_path / "t.json"
    path.write_text(json.dumps(report))
    r = CliRunner().invoke(cli, ["hwsim", "table", "--table", str(path), "--model", "lenet5"])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and "t.json" in lines[0] and f"rows[0] {column}" in lines[0]


def test_a_dict_table_whose_sum_overflows_is_refused():
    ops, report = _report()
    table = {k: dict(row, energy_mj=1.7e308)
             for k, row in tables.load_table(report).items()}
    with pytest.raises(UserError, match="energy of op .* brings the sum past what a float"):
        tables.predict(table, ops)


def test_a_table_within_the_bound_still_predicts():
    ops, report = _report()
    for row in report["rows"]:
        row["energy_mj"] = 1e18
    pred = tables.predict(tables.load_table(report), ops)
    assert pred["energy_mj"] == pytest.approx(1e18 * len(ops))
