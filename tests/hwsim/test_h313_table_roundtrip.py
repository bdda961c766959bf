"""h313: a latency table ``nnsynth hwsim table`` writes loads back.

``load_table`` refuses a row whose latency_ms or energy_mj is past ``MAX_TABLE_ENTRY``
(1e18) or not a finite number >= 0; ``build_table`` wrote such rows without a word.  A legal
but extreme accelerator (a 4096 x 4096 array of 64-bit PEs at 180 nm, 1e4 mW/mm^2 leakage,
one-word scratchpads, 1 kHz, 1 kB/s) prices the recurrent op of an LSTM(512) over 3,000
steps at 1.32e18 mJ (its 5.2e7 W of leakage for the 2.5e7 s its weights take to stream in
again every step), so 'hwsim table --json' printed a table that 'hwsim table --table' then
refused ('rows[1] energy_mj is 1.323e+18; the limit is 1e+18').  The writer now keeps the
reader's rule (``tables.entry_problem``): one line naming the op, the figure and what to
change, exit 2, no table printed.  ``hwsim eval`` has no such bound and prices it as before.
"""
from __future__ import annotations

import functools
import json
import math

import pytest
import yaml
from click.testing import CliRunner

from deploy.cli.main import cli
from hwsim import build_priced, extract, tables
from hwsim.accel import AcceleratorConfig
from synth.errors import UserError
from synth.files import jsonable
from tests.hwsim.test_h310_config_properties import _configs, _workloads

SPEC = json.dumps({"family": "lstm", "hidden": [512]})
SHAPE = (1, 3000)
WORD_KB = 64 / 8 / 1024   # one 64-bit word: the least a scratchpad holds
# every field inside AcceleratorConfig's ranges, most at their ends
EXTREME = {"rows": 4096, "cols": 4096, "precision_bits": 64, "ifmap_kb": WORD_KB,
           "filter_kb": WORD_KB, "ofmap_kb": WORD_KB, "clock_mhz": 1e-3, "dram_gbps": 1e-6,
           "technology_nm": 180.0, "leakage_mw_per_mm2": 1e4}


@functools.lru_cache(maxsize=None)
def _big_ops() -> tuple:
    return tuple(extract(build_priced(SPEC, SHAPE, 10), SHAPE))


def _accel_file(tmp_path, values=EXTREME):
    path = tmp_path / "a.yaml"
    path.write_text(yaml.safe_dump(dict(values)))
    return str(path)


def test_a_table_past_the_bound_is_refused_not_written(tmp_path):
    """Built through the CLI: refused in one line naming the op, the figure and what to
    change, exit 2, nothing on stdout; before, a table was printed that --table refused."""
    AcceleratorConfig.from_dict(EXTREME)   # a legal configuration
    accel = _accel_file(tmp_path)
    shape = "x".join(map(str, SHAPE))
    r = CliRunner().invoke(cli, ["hwsim", "table", "--device", "accel", "--model", SPEC,
                                 "--input-shape", shape, "--accel", accel, "--json"])
    if r.exit_code == 0:   # written: it must then read back (before h313 it did not)
        saved = tmp_path / "t.json"
        saved.write_text(r.stdout.strip().splitlines()[-1])
        back = CliRunner().invoke(cli, ["hwsim", "table", "--table", str(saved), "--model",
                                        SPEC, "--input-shape", shape])
        assert back.exit_code == 0, f"written, then refused: {back.output}"
    assert r.exit_code == 2, r.output
    assert r.stdout == "" and "Traceback" not in r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1, r.output
    line = lines[0]
    assert line.startswith("error: op rnn.layers.0.hh") and "energy_mj is 1.3" in line
    assert "MAX_TABLE_ENTRY" in line and "clock_mhz" in line and "dram_gbps" in line


def test_the_builder_refuses_what_the_reader_refuses():
    """``build_table`` (the library) raises the UserError; a table one step inside the
    bound (a 10x faster DRAM channel and clock) builds and loads back row for row."""
    ops = list(_big_ops())
    with pytest.raises(UserError, match=r"^op rnn\.layers\.0\.hh's energy_mj is 1\.3\d*e\+18; "
                                        r"the limit is 1e\+18"):
        tables.build_table(ops, "accel", AcceleratorConfig(**EXTREME))
    cfg = AcceleratorConfig(**{**EXTREME, "clock_mhz": 1e-2, "dram_gbps": 1e-5})
    table = tables.build_table(ops, "accel", cfg)
    assert max(row["energy_mj"] for row in table.values()) > 1e16   # still extreme
    report = tables.table_report("m", "accel", table, tables.predict(table, ops))[0]
    back = tables.load_table(json.loads(json.dumps(jsonable(report))))
    assert {k: (v["latency_ms"], v["energy_mj"]) for k, v in back.items()} == \
        {k: (v["latency_ms"], v["energy_mj"]) for k, v in table.items()}


def test_eval_prices_the_same_config(tmp_path):
    """``hwsim eval`` sums no table: it prices the configuration the table refuses, finite."""
    r = CliRunner().invoke(cli, ["hwsim", "eval", "--spec", SPEC, "--input-shape",
                                 "x".join(map(str, SHAPE)), "--accel", _accel_file(tmp_path),
                                 "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert math.isfinite(out["latency_ms"]) and out["energy_mj"] > tables.MAX_TABLE_ENTRY
    assert math.isfinite(out["energy_mj"])


def _extreme(configs):
    """A spread of h310's configurations with every one of its largest arrays at its slowest
    clock and channel, and each at the oldest node and the most leakage."""
    slowest = [c for c in configs if c.rows * c.cols == 4096 ** 2 and c.clock_mhz == 1e-3
               and c.dram_gbps == 1e-6]
    return [c for base in configs[::243] + slowest[::3] for c in
            (base, base.replace(technology_nm=180.0, leakage_mw_per_mm2=1e4))]


def test_every_table_built_loads_back_or_is_refused_when_built():
    """Over h310's extreme-but-legal configurations (arrays 1 x 1 to 4096 x 4096, 1 kHz to
    100 GHz, 1 kB/s to 100 TB/s, one-word to 1 GiB scratchpads, 1- to 64-bit words, each
    dataflow) and its workloads, with the LSTM(512) above: each table build_table returns
    reads back through its JSON report with the same rows, or build_table refused it with a
    UserError -- never written, then refused."""
    configs = _extreme(_configs())
    workloads = {**{k: _workloads()[k] for k in ("conv_b4", "mlp_b1", "lstm_b4", "hlstm_b4")},
                 "lstm512": list(_big_ops())}
    built = refused = 0
    for name, ops in workloads.items():
        for cfg in configs:
            try:
                table = tables.build_table(ops, "accel", cfg)
            except UserError as e:
                assert "MAX_TABLE_ENTRY" in str(e), (name, cfg, e)
                refused += 1
                continue
            report = tables.table_report(name, "accel", table, tables.predict(table, ops))[0]
            back = tables.load_table(json.loads(json.dumps(jsonable(report))),
                                     where=f"{name} on {cfg}")
            assert back.keys() == table.keys()
            for key, row in table.items():
                assert (back[key]["latency_ms"], back[key]["energy_mj"]) == \
                    (row["latency_ms"], row["energy_mj"]), (name, cfg, key)
            built += 1
    assert built and refused   # both ends reached
