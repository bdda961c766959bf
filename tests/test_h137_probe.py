"""Probe h137: a careful hostile user's inputs (data files, output folders, checkpoints).
Each test failed before its fix."""
import json

import pytest

from tests._cli import one_error_line, run


# --------------------------------------------------------------------------- symbiotic --out
@pytest.mark.parametrize("planted", [
    {"report.json": '{"mine": 1}', "report.md": "my notes"},   # a report of the user's own
    {"cache/notes.txt": "mine", "report.md": "my notes"},      # a cache/ folder of the user's
])
def test_symbiotic_out_of_the_users_report_or_cache_is_refused(tmp_path, planted):
    """A folder holding any report.json or cache/ passed as an earlier run's: symbiotic
    trained, then wrote report.json, report.md and latency.png over the user's files."""
    mine = tmp_path / "mine"
    for name, text in planted.items():
        (mine / name).parent.mkdir(parents=True, exist_ok=True)
        (mine / name).write_text(text)
    line = one_error_line(run(["symbiotic", "--dataset", "text:/no/such.txt",
                               "--platform", "accel", "--out", str(mine)]))
    assert "holds files nnsynth did not write" in line
    for name, text in planted.items():
        assert (mine / name).read_text() == text


def test_symbiotic_out_of_an_earlier_run_is_still_resumed(tmp_path):
    """Its own report.json, or an interrupted run's cache/ (tables, candidates, a temp file
    of a killed write), is an earlier run: accepted (here the missing text is the error)."""
    report = {"dataset": "text:x", "platform": "accel", "choice": {}, "tables": {}}
    one = tmp_path / "one"
    one.mkdir()
    (one / "report.json").write_text(json.dumps(report))
    two = tmp_path / "two"
    (two / "cache" / "candidates").mkdir(parents=True)
    (two / "cache" / "latency-0123.json").write_text("{}")
    (two / "cache" / ".latency-0123.json.tmp1.ab").write_text("")
    for out in (one, two):
        line = one_error_line(run(["symbiotic", "--dataset", "text:/no/such.txt",
                                   "--platform", "accel", "--out", str(out)]))
        assert "text file not found" in line, line
