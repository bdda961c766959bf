"""The latency cache leaves alone a file it cannot tell it wrote (helper 108).

cluster.latency.cached_table measured a table again when ``latency-KEY.json`` was unreadable
(corrupt, truncated, nested, of another schema) or recorded another host, and wrote the
fresh table over it: a file nnsynth cannot read is one it cannot prove it wrote.  Such a
file now keeps its bytes; a warning names it and why, and the table is measured into
``latency-KEY.remeasured.json`` beside it (reused by the next run).  A cache folder that is
a file, under a file, or not writable was a traceback after the measurement; it is now one
line before it.
"""
import json
import logging
import os
from pathlib import Path

import pytest

from cluster.latency import cache_key, cached_table
from hwsim.latency import host_identity
from synth.errors import UserError

IDENT = host_identity(1)
PARAMS = {"keys": [{"cell": "lstm", "width": 8}], "rounds": 3}
KEY = cache_key(IDENT, PARAMS)


class Measure:
    def __init__(self):
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return [{"platform": "host", "best_ms": float(self.calls)}]


UNREADABLE = {
    "corrupt": b"{not json",
    "truncated": b'{"rows": [{"best_ms": 1.0}], "identity": {"host": ',
    "nested": b"[" * 100_000 + b"]" * 100_000,
    "wrong schema": json.dumps({"rows": 3, "identity": {}}).encode(),
    "rows not objects": json.dumps({"rows": [1, 2], "identity": IDENT}).encode(),
    "no identity": json.dumps({"rows": [{"best_ms": 1.0}]}).encode(),
    "not utf-8": b'{"rows": [], "identity": {"host": "\xff"}}',
    "other host": json.dumps({"rows": [{"best_ms": 9.0}],
                              "identity": {**IDENT, "host": "elsewhere"}}).encode(),
}


@pytest.mark.parametrize("kind", sorted(UNREADABLE))
def test_a_file_it_cannot_read_keeps_its_bytes(tmp_path, caplog, kind):
    path = tmp_path / f"latency-{KEY}.json"
    path.write_bytes(UNREADABLE[kind])
    measure = Measure()
    with caplog.at_level(logging.WARNING, logger="cluster.latency"):
        first = cached_table(tmp_path, IDENT, PARAMS, measure)
    assert path.read_bytes() == UNREADABLE[kind]                 # left untouched
    assert measure.calls == 1 and not first["cached"] and first["rows"][0]["best_ms"] == 1.0
    told = [r.getMessage() for r in caplog.records if str(path) in r.getMessage()]
    assert len(told) == 1 and "\n" not in told[0] and "left as it is" in told[0], told
    aside = tmp_path / f"latency-{KEY}.remeasured.json"
    assert json.loads(aside.read_text())["rows"] == first["rows"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, aside.name])
    second = cached_table(tmp_path, IDENT, PARAMS, measure)      # measured once, not per run
    assert second["cached"] and measure.calls == 1 and second["rows"] == first["rows"]
    third = cached_table(tmp_path, IDENT, PARAMS, measure, refresh=True)
    assert measure.calls == 2 and third["rows"][0]["best_ms"] == 2.0
    assert path.read_bytes() == UNREADABLE[kind]
    assert json.loads(aside.read_text())["rows"] == third["rows"]


def test_a_directory_or_a_link_under_the_name_is_left_alone(tmp_path):
    (tmp_path / f"latency-{KEY}.json").mkdir()
    (tmp_path / "theirs.txt").write_text("keep")
    os.symlink(tmp_path / "theirs.txt", tmp_path / f"latency-{KEY}.remeasured.json")
    measure = Measure()
    table = cached_table(tmp_path, IDENT, PARAMS, measure)       # neither is a table: uncached
    assert not table["cached"] and measure.calls == 1
    assert (tmp_path / f"latency-{KEY}.json").is_dir()
    assert (tmp_path / f"latency-{KEY}.remeasured.json").is_symlink()
    assert (tmp_path / "theirs.txt").read_text() == "keep"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["theirs.txt", f"latency-{KEY}.json", f"latency-{KEY}.remeasured.json"])


def test_its_own_table_is_reused_and_refreshed_as_before(tmp_path):
    measure = Measure()
    first = cached_table(tmp_path, IDENT, PARAMS, measure)
    assert cached_table(tmp_path, IDENT, PARAMS, measure)["rows"] == first["rows"]
    assert measure.calls == 1
    again = cached_table(tmp_path, IDENT, PARAMS, measure, refresh=True)
    assert measure.calls == 2 and again["rows"][0]["best_ms"] == 2.0
    assert json.loads((tmp_path / f"latency-{KEY}.json").read_text())["rows"] == again["rows"]
    assert [p.name for p in tmp_path.iterdir()] == [f"latency-{KEY}.json"]   # no temp left


def _unwritable():
    """A folder this process may not create files in, whoever runs the tests (root too)."""
    if os.access("/proc/self", os.F_OK) and not os.access("/proc/self", os.W_OK):
        return Path("/proc/self")
    pytest.skip("no unwritable folder to try")


@pytest.mark.parametrize("case", ["file", "under a file", "unwritable"])
def test_an_unusable_cache_folder_is_one_line_before_measuring(tmp_path, case):
    (tmp_path / "f").write_text("a file")
    folder = {"file": tmp_path / "f", "under a file": tmp_path / "f" / "cache",
              "unwritable": (_unwritable() / "nnsynth-cache") if case == "unwritable"
              else None}[case]
    measure = Measure()
    with pytest.raises(UserError) as e:
        cached_table(folder, IDENT, PARAMS, measure)
    msg = str(e.value)
    assert "\n" not in msg and str(folder) in msg and "latency cache folder" in msg, msg
    assert measure.calls == 0
    assert (tmp_path / "f").read_text() == "a file"
