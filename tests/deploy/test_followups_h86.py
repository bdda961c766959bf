"""Helper 86's follow-ups (deploy side): a constraint's errors quote it as typed and name
the part; a missing sweep file is called a sweep file; a sweep's base errors name the sweep
file.  Each test failed before its fix, but for the constraint cases '<=1' and 'latency_ms=1'
(guards: they read as well before)."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.errors import ConfigError


def _one_line(args, tmp_path):
    res = CliRunner().invoke(cli, args)
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 2 and len(lines) == 1, res.output
    assert not (tmp_path / "out").exists()
    return lines[0]


def test_search_unknown_constraint_metric_quotes_the_constraint(tmp_path):
    """It said "constraint metric 'foo' unknown; known: ...", not which constraint."""
    line = _one_line(["search", "--constraint", "foo<=1", "--dataset", "digits",
                      "--out", str(tmp_path / "out")], tmp_path)
    assert line == ("error: constraint 'foo<=1': metric 'foo' unknown; known: parameters, "
                    "flops, latency_ms, energy_mj")


@pytest.mark.parametrize("text, message", [
    ("Latency_ms<=1", r"^constraint 'Latency_ms<=1': metric 'Latency_ms' unknown; known: "),
    # the value's error named the value; 'abc' and 'nan' said "must look like METRIC<=VALUE"
    ("latency_ms<=abc", r"^constraint 'latency_ms<=abc': value 'abc' is not a finite number$"),
    ("latency_ms<=nan", r"^constraint 'latency_ms<=nan': value 'nan' is not a finite number$"),
    # a bound below zero holds for no candidate (every cost is >= 0): accepted, then every
    # candidate was infeasible
    ("parameters<-1", r"^constraint 'parameters<-1' holds for no candidate: parameters is "),
    ("flops<0", r"^constraint 'flops<0' holds for no candidate"),
    ("<=1", r"^constraint '<=1' must look like 'METRIC<=VALUE' with METRIC one of parameters"),
    ("latency_ms=1", r"^constraint 'latency_ms=1' must look like 'METRIC<=VALUE'"),
    # 1e999 was read as inf and accepted (a bound that holds for every candidate)
    ("latency_ms<=1e999", r"^constraint 'latency_ms<=1e999': value '1e999' is not a finite"),
])
def test_constraint_errors_quote_it_and_name_the_part(text, message):
    from search.space import parse_constraint
    with pytest.raises(ConfigError, match=message):
        parse_constraint(text)


@pytest.mark.parametrize("text", ["latency_ms<=0.5", " parameters > 10 ", "flops>=-1",
                                  "energy_mj<=0", "flops<1e9"])
def test_constraints_that_some_candidate_can_meet_are_accepted(text):
    from search.space import parse_constraint
    assert parse_constraint(text).metric in text


def test_missing_sweep_file_is_called_a_sweep_file(tmp_path, monkeypatch):
    """`nnsynth sweep nope.yaml` said "config file not found: nope.yaml"."""
    monkeypatch.chdir(tmp_path)
    assert _one_line(["sweep", "nope.yaml", "--check"], tmp_path) == \
        "error: sweep file not found: nope.yaml"
    (tmp_path / "list.yaml").write_text("- 1\n")
    assert _one_line(["sweep", "list.yaml", "--check"], tmp_path) == \
        "error: sweep file list.yaml must hold a mapping of keys, got list"


def test_sweep_base_errors_name_the_sweep_file(tmp_path, monkeypatch):
    """"error: base: /.../b.yaml: unknown config key ..." named the base, not the sweep."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.yaml").write_text("teacher: {foo: 1}\n")
    (tmp_path / "mysweep.yaml").write_text("base: b.yaml\ngrid: {seed: [1, 2]}\n")
    line = _one_line(["sweep", "mysweep.yaml", "--check"], tmp_path)
    assert line.startswith(f"error: mysweep.yaml: base: {tmp_path / 'b.yaml'}: unknown config "
                           f"key 'teacher.foo'"), line
