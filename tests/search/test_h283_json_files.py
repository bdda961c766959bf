"""The JSON files a search keeps for --resume, damaged or edited (helper h283).

A search_inputs.json that cannot be read made ``nnsynth search --resume`` say that "the data
set ... changed since the search ... began", blaming the data; it now says the file is
damaged, naming it.  And a key given twice in any of them was read as json reads it, the
last one kept without a word (a search_config.json giving ``trials`` twice resumed with the
second): every JSON file nnsynth reads back goes through ``synth.files.read_json``, which
refuses it in one line naming the file and the key.  No Ray: refused before it starts."""
import json

import pytest

from search.run import run_search
from synth.errors import UserError
from synth.files import read_json
from tests.search._trial import begun_search


def _resume_refused(out):
    with pytest.raises(UserError) as e:
        run_search(None, out, resume=True, progress=False)
    text = str(e.value)
    assert "\n" not in text, text
    return text


@pytest.mark.parametrize("content, phrase", [
    (b'{"digest": "ab', "cannot be read (not JSON: Unterminated string"),
    (b"\xff\xfe{}", "cannot be read (not UTF-8)"),
    (b"[1, 2]", "is a JSON list, not the object nnsynth writes"),
    (b'{"digest": "a", "digest": "b"}', "gives the key 'digest' twice; keep one"),
])
def test_a_damaged_inputs_record_is_named_not_blamed_on_the_data(tmp_path, content, phrase):
    out = begun_search(tmp_path / "s")
    (out / "search_inputs.json").write_bytes(content)
    text = _resume_refused(out)
    assert str(out / "search_inputs.json") in text and phrase in text, text
    assert "changed since" not in text, text


def _twice(path, key):
    """``path``'s JSON object written again with ``key`` given twice, the second value
    another one (as a hand edit that added a line leaves it)."""
    values = json.loads(path.read_text())
    first = json.dumps({key: values[key]})[1:-1]
    path.write_text("{" + first + ", " + json.dumps(values)[1:])
    return values


@pytest.mark.parametrize("name, key", [
    ("search_config.json", "trials"),
    ("search_space.json", "family"),
    ("search_inputs.json", "search_dir"),
])
def test_a_key_given_twice_is_refused_naming_the_file_and_key(tmp_path, name, key):
    out = begun_search(tmp_path / "s")
    _twice(out / name, key)
    text = _resume_refused(out)
    assert f"{out / name} gives the key '{key}' twice; keep one" in text, text


def test_a_trial_error_record_with_a_key_twice_is_refused(tmp_path):
    from search.run import ERRORS_FILE, read_errors
    out = begun_search(tmp_path / "s")
    (out / ERRORS_FILE).write_text('{"t1": {"error": "a"}, "t1": {"error": "b"}}')
    with pytest.raises(UserError, match=f"{ERRORS_FILE} gives the key 't1' twice"):
        read_errors(out)


def test_read_json_reads_what_json_reads(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"a": [1, 2.5, null, true], "b": {"c": "d"}}')
    assert read_json(path) == json.loads(path.read_text())


def test_a_results_row_whose_spec_gives_a_key_twice_is_refused(tmp_path):
    # read as json reads it, the row's spec was {"hidden": [16]} (the last), silently
    from search.results import append_result, read_results
    from tests.search.test_h278_results_table import _row
    path = tmp_path / "results.parquet"
    row = _row(0)
    append_result(path, {**row, "spec": '{"family": "mlp", "hidden": [8], "hidden": [16]}'})
    with pytest.raises(UserError) as e:
        read_results(path)
    text = str(e.value)
    assert "\n" not in text and str(path) in text, text
    assert "row 0's spec gives the key 'hidden' twice; keep one" in text, text
