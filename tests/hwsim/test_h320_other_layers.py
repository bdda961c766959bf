"""h320: layers a user's model has that the registry never builds, priced as the textbook
counts them, and a table's predicted total kept within the bound of its rows."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from hwsim import build_priced, extract, tables
from synth.errors import UserError


def _big_rows_table(tmp_path, each: float):
    """lenet5's accel table as 'hwsim table --json' writes it, every row's latency_ms
    ``each`` (within MAX_TABLE_ENTRY), saved to a file: (its ops, the file)."""
    shape = (1, 28, 28)
    ops = extract(build_priced("lenet5", shape, 10), shape)
    table = tables.build_table(ops, "accel")
    report = tables.table_report("m", "accel", table, tables.predict(table, ops))[0]
    for row in report["rows"]:
        row["latency_ms"] = each
    path = tmp_path / "t.json"
    path.write_text(json.dumps(report))
    return ops, path


def test_a_predicted_total_past_the_rows_bound_is_refused(tmp_path):
    """Every row within MAX_TABLE_ENTRY, their sum past it: the prediction was printed
    (and written into the report beside its rows) as 'predicted total 4e+18 ms' without a
    word, a figure no row of the table may hold.  Refused in one line, as a row is."""
    ops, path = _big_rows_table(tmp_path, tables.MAX_TABLE_ENTRY / 2)
    table = tables.load_table(json.loads(path.read_text()))   # every row is within it
    assert len(ops) > 2
    with pytest.raises(UserError, match=r"predicted total latency_ms of \d+ ops, each within "
                                        r"the bound, is .*e\+18; the limit is 1e\+18 "
                                        r"\(MAX_TABLE_ENTRY"):
        tables.predict(table, ops)
    r = CliRunner().invoke(cli, ["hwsim", "table", "--table", str(path), "--model", "lenet5"])
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the predicted total latency_ms")
    assert "clock_mhz" in lines[0] and "Traceback" not in r.output


def test_a_predicted_total_within_the_bound_is_given(tmp_path):
    """Rows a tenth of the bound each over lenet5's ops: the sum is within it, predicted."""
    ops, path = _big_rows_table(tmp_path, tables.MAX_TABLE_ENTRY / 10 / 16)
    pred = tables.predict(tables.load_table(json.loads(path.read_text())), ops)
    assert 0 < pred["latency_ms"] <= tables.MAX_TABLE_ENTRY and not pred["missing"]
