"""h188: latency tables read back from a file (``hwsim.tables.load_table``, ``nnsynth hwsim
table --table``), checked against what 'hwsim table --json' writes."""
import ast
import json

import pytest
from click.testing import CliRunner
from torch import nn

from deploy.cli.main import cli
from hwsim import build_priced, extract, tables
from synth.errors import UserError


def _report(model=None, shape=(1, 28, 28)):
    model = model or build_priced("lenet5", shape, 10)
    ops = extract(model, shape)
    table = tables.build_table(ops, "accel")
    return ops, tables.table_report("m", "accel", table, tables.predict(table, ops))[0]


@pytest.mark.parametrize("kind", [None, [1, 2], {"a": 1}, 3])
def test_a_row_type_that_is_no_op_type_is_one_line(tmp_path, kind):
    """A row whose 'type' was not a string (null, a list) passed load_table and ended
    'hwsim table --table' in a TypeError traceback ('unsupported format string passed to
    NoneType.__format__') when its row was printed."""
    _, report = _report()
    report["rows"][0]["type"] = kind
    path = tmp_path / "t.json"
    path.write_text(json.dumps(report))
    with pytest.raises(UserError, match=r"rows\[0\] type"):
        tables.load_table(json.loads(path.read_text()))
    r = CliRunner().invoke(cli, ["hwsim", "table", "--table", str(path), "--model", "lenet5"])
    assert r.exit_code == 2, r.output
    assert "rows[0] type" in r.output and "Traceback" not in r.output


def test_a_row_type_other_than_its_keys_is_refused():
    """A row labelled 'pool' whose key is a conv's printed as a pool: its type is the op
    type its key names ('hwsim table' writes the two alike)."""
    _, report = _report()
    row = report["rows"][0]
    kind = ast.literal_eval(row["key"])[0]
    row["type"] = "pool" if kind != "pool" else "conv"
    with pytest.raises(UserError, match=r"rows\[0\] type"):
        tables.load_table(report)
    del row["type"]   # a row without one takes its key's
    assert next(iter(tables.load_table(report).values()))["type"] == kind


def test_a_table_of_a_layer_with_an_infinite_setting_reads_back():
    """A layer whose settings hold an infinity (LPPool2d(inf): a max pool of |x|, a Hardtanh
    with no lower bound) wrote 'inf' in its row's key, which load_table refused ('rows[1] has
    no op key hwsim table wrote'): the table 'hwsim table --json' wrote could not be read."""
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.LPPool2d(float("inf"), 2),
                          nn.Hardtanh(-float("inf"), 1.0), nn.Flatten(), nn.Linear(676, 3))
    ops, report = _report(model)
    table = tables.load_table(json.loads(json.dumps(report)))
    assert tables.predict(table, ops) == report["prediction"]
    assert not tables.predict(table, ops)["missing"]


def test_duplicate_rows_are_refused():
    """Two rows of one op (a table edited or joined by hand) priced it by whichever came
    last, with no word."""
    _, report = _report()
    twin = dict(report["rows"][0], latency_ms=report["rows"][0]["latency_ms"] * 10)
    report["rows"].append(twin)
    with pytest.raises(UserError, match=r"rows\[\d+\] is the op of rows\[0\] again"):
        tables.load_table(report)
