"""A run directory's ledger.json that nnsynth did not write as it is (edited by hand, cut
short, another tool's): one line naming the file, never a traceback (helper 91's probe:
`nnsynth run tiny --run-dir R` raised AttributeError or UnicodeDecodeError)."""
from __future__ import annotations

import pytest

from deploy.ledger import Ledger
from synth.errors import UserError


@pytest.mark.parametrize("text, why", [
    (b"[]", r"a JSON list, not an object"),
    (b'{"version": 1, "x": "\xff"}', r"not UTF-8 text"),
    (b'{"version": 1, "a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", r"is nested too deep"),
    (b'{"version": 1, "stages": [1]}', r"its stages must map each stage"),
    (b'{"version": 1, "stages": {"teacher": [1]}}', r"its stages must map each stage"),
    (b'{"version": 1, "stages": {"teacher": {"fingerprint": "f", "outputs": {}, '
     b'"seconds": "1"}}}', r"its stages must map each stage"),
])
def test_a_ledger_that_nnsynth_did_not_write_is_one_line(tmp_path, text, why):
    (tmp_path / "ledger.json").write_bytes(text)
    with pytest.raises(UserError, match=rf"ledger\.json is corrupt \({why}.*delete it"):
        Ledger(tmp_path)


def test_the_ledger_nnsynth_writes_reads_back(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.record("teacher", "f", {"checkpoint": "teacher.pt"}, 1.5)
    ledger.begin("synthesis", {"config": {}})
    ledger.fail("synthesis", RuntimeError("boom"))
    again = Ledger(tmp_path)
    assert again.done("teacher", "f")["outputs"] == {"checkpoint": "teacher.pt"}
    assert again.failed["stage"] == "synthesis" and "synthesis" in again.started
