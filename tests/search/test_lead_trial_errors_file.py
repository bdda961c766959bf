"""A search's ``trial_errors.json`` (nnsynth's record of failed trials, beside its results)
that is not the mapping nnsynth writes (a list, cut-off JSON, bytes that are not UTF-8) ended
``nnsynth search --resume`` of a finished search in a traceback (AttributeError 'list'
object has no attribute 'items', JSONDecodeError, UnicodeDecodeError; h229's report).  Now
one line naming the file, exit 2, the file kept.  No Ray: the searches are written as
``run_search`` writes them (test_h216's ``_search``)."""
import pytest

from search.run import ERRORS_FILE
from tests._cli import one_error_line, run
from tests.search.test_h216_search_state import _search


@pytest.mark.parametrize("content", [b"[1, 2]", b'{"t1": {"spec"', b"\xff\xfe{}",
                                     b'{"t1": 5}'], ids=["list", "cut", "not-utf8", "record"])
def test_a_corrupt_record_of_failed_trials_is_one_line(tmp_path, content):
    out = _search(tmp_path / "s")
    (out / ERRORS_FILE).write_bytes(content)
    line = one_error_line(run(["search", "--resume", str(out)]))
    assert line == (f"error: {out / ERRORS_FILE} is corrupt (not the record of failed trials "
                    f"nnsynth writes); move it away to summarize or resume the search "
                    f"without it")
    assert (out / ERRORS_FILE).read_bytes() == content


def test_a_good_record_is_still_counted(tmp_path):
    out = _search(tmp_path / "s")
    (out / ERRORS_FILE).write_text('{"t9": {"spec": {"family": "mlp"}, "error_file": ""}}')
    done = run(["search", "--resume", str(out)])
    assert done.exit_code == 0, done.output
    assert "1 more failed" in done.output, done.output
