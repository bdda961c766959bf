"""A search directory copied or moved since it began is refused on --resume, before Ray.
Tune's saved state names the directory the experiment began in: nnsynth search --resume i1c
(a copy of i1, interrupted after 1 of its 3 trials) wrote the 2 new trials' rows to
i1/results.parquet and said '1 trials; 2 of the 3 requested never ran (an interruption lost
them ...)'; with i1 moved away its next trial failed ('Unable to set up cluster storage':
Ray gives the searcher's new trials the recorded path) and a finished one's --resume ended
in a FileNotFoundError traceback (best.pt copied from i1/models).  No Ray: the refusal
comes before it starts."""
import shutil

import pytest

from search.run import check_in_place, run_search
from synth.errors import UserError
from tests.search._trial import begun_search


def _begun(tmp_path):
    return begun_search(tmp_path / "i1")


def test_a_copied_search_is_refused_in_one_line(tmp_path):
    out = _begun(tmp_path)
    copy = shutil.copytree(out, tmp_path / "i1c")
    with pytest.raises(UserError) as e:
        run_search(None, copy, resume=True, progress=False)
    line = str(e.value)
    assert "\n" not in line and str(out) in line and "move it back" in line
    check_in_place(out)        # where it began: resumes


def test_a_moved_search_is_refused(tmp_path):
    out = _begun(tmp_path)
    moved = shutil.move(out, tmp_path / "elsewhere")
    with pytest.raises(UserError, match="copied or moved"):
        run_search(None, moved, resume=True, progress=False)
