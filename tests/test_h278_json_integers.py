"""A JSON option or spec holding an integer of more digits than Python converts (4,300;
helper h278): json raises a bare ValueError, which went past the JSON errors the callers
word, and `nnsynth train --model '{"family": "mlp", "hidden": [999...9]}'` ended in a
traceback.  Now a one-line error naming the option, as a YAML config file's already was."""
import pytest
from click.testing import CliRunner

from synth.errors import UserError

BIG = "9" * 5000


def test_a_model_spec_of_a_huge_integer_is_one_line():
    from synth.models.registry import resolve_spec
    with pytest.raises(UserError, match="^model spec holds an integer of more than 4,300 "
                                        "digits$"):
        resolve_spec('{"family": "mlp", "hidden": [%s]}' % BIG)


def test_a_json_option_of_a_huge_integer_is_one_line():
    from deploy.cli.options import json_object
    with pytest.raises(UserError, match="^--schedule holds an integer of more than 4,300"):
        json_object('{"prune_steps": %s}' % BIG, "--schedule")
    assert json_object('{"prune_steps": 3}', "--schedule") == {"prune_steps": 3}


def test_the_cli_says_it_in_one_line(tmp_path):
    from deploy.cli.main import cli
    r = CliRunner().invoke(cli, ["train", "--dataset", "iris", "--model",
                                 '{"family": "mlp", "hidden": [%s]}' % BIG,
                                 "--out", str(tmp_path / "m.pt")])
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.exit_code == 2 and len(lines) == 1 and "4,300 digits" in lines[0], r.stderr
