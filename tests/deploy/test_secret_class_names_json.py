"""``nnsynth secret --class-names`` split on every comma, so a class name that holds one
("iris, small") could not be given: it became two names and the count no longer matched.
A JSON list now gives names with commas; a malformed one is one line."""
import json

import pytest
from click.testing import CliRunner

from deploy.cli.main import cli


def _run(names: str):
    return CliRunner().invoke(cli, ["secret", "--dataset", "iris", "--class-names", names,
                                    "--json"])


def test_a_json_list_gives_names_that_hold_commas():
    r = _run('["iris, small", "iris, blue", "iris, large"]')
    assert r.exit_code == 0, r.output
    result = json.loads(r.output.strip().splitlines()[-1])
    assert result["class_names"] == ["iris small", "iris blue", "iris large"]


@pytest.mark.parametrize("names, says", [
    ('["iris, small", "iris"', "--class-names is not a valid JSON list"),
    ('[1, 2, 3]', "--class-names as JSON must be a list of strings"),
    ('["a", "a", "b", "b"]', "--class-names"),
])
def test_a_bad_json_list_is_one_line(names, says):
    r = _run(names)
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert r.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: ") \
        and says in lines[0], r.output
