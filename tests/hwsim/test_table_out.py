"""``nnsynth hwsim table --out FILE`` saves the table it builds for ``--table`` to read back.

The only way to keep a table was the shell, ``hwsim table --json > t.json``: the shell
empties t.json before nnsynth starts, so a build that was then refused (h313's accelerator
whose op passes MAX_TABLE_ENTRY) or interrupted left an empty file where the user's earlier
table was.  --out writes the table whole or not at all, replaces only a table nnsynth wrote,
and is refused where nothing is built (--table, --sweep)."""
from __future__ import annotations

import json

from click.testing import CliRunner

from deploy.cli.main import cli
from tests.hwsim.test_h313_table_roundtrip import SHAPE, SPEC, _accel_file

BUILD = ["hwsim", "table", "--device", "accel", "--model", "lenet5"]


def _run(*args):
    return CliRunner().invoke(cli, list(args))


def test_a_saved_table_is_what_json_prints_and_reads_back(tmp_path):
    out = tmp_path / "t.json"
    r = _run(*BUILD, "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text()) == json.loads(r.stdout.strip().splitlines()[-1])
    r = _run("hwsim", "table", "--table", str(out), "--model", "lenet5", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout.strip().splitlines()[-1])["prediction"]["missing"] == []
    said = _run(*BUILD, "--out", str(out))   # its own table is replaced, and said where
    assert said.exit_code == 0 and f"table saved to {out}" in said.output, said.output


def test_a_refused_build_keeps_the_table_already_there(tmp_path):
    out = tmp_path / "t.json"
    assert _run(*BUILD, "--out", str(out)).exit_code == 0
    before = out.read_bytes()
    r = _run("hwsim", "table", "--device", "accel", "--model", SPEC, "--input-shape",
             "x".join(map(str, SHAPE)), "--accel", _accel_file(tmp_path), "--out", str(out))
    assert r.exit_code == 2 and "MAX_TABLE_ENTRY" in r.output, r.output
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml", "t.json"]   # no temp left


def test_a_file_that_is_not_a_table_is_never_replaced(tmp_path):
    for text in ("my notes\n", json.dumps({"rows": []}), json.dumps([1, 2])):
        out = tmp_path / "mine.json"
        out.write_text(text)
        r = _run(*BUILD, "--out", str(out))
        assert r.exit_code == 2 and "is not a latency table nnsynth wrote" in r.output, r.output
        assert len(r.output.strip().splitlines()) == 1 and out.read_text() == text


def test_out_is_refused_where_no_table_is_built(tmp_path):
    saved = tmp_path / "t.json"
    assert _run(*BUILD, "--out", str(saved)).exit_code == 0
    for args, why in ((["--table", str(saved), "--model", "lenet5"], "--table reads"),
                      (["--sweep", "linear", "--widths", "32:64:32"], "--sweep times")):
        r = _run("hwsim", "table", *args, "--out", str(tmp_path / "x.json"))
        assert r.exit_code == 2 and why in r.output and "leave --out out" in r.output, r.output
        assert not (tmp_path / "x.json").exists()
