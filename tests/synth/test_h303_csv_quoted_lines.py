"""A CSV whose quoted value runs over many lines (a quote left open) is one line that says so
(helper h303): pyarrow's 'CSV parser got out of sync with chunker ... please consider
enabling the option' was printed cut at its quote, naming an option nnsynth does not have."""
from __future__ import annotations

import pytest

from synth.data import load_dataset
from synth.errors import UserError


def test_a_quote_left_open_over_many_lines_says_so(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('a,b,label\n"' + "x\n" * 6_000_000 + '",1,0\n' + "1,2,1\n" * 10)
    with pytest.raises(UserError) as e:
        load_dataset(f"csv:{path}")
    text = str(e.value)
    assert "a quoted value runs over several lines (or a quote is left open)" in text
    assert "consider enabling" not in text and "\n" not in text
