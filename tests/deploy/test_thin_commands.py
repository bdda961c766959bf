"""Commands stay thin: parse, call one library function, print.  Every function in a
command module is under 40 lines (decorators excluded), and the click choices that name a
registry come from it (adding an importance or a criterion is one registration)."""
import ast
from pathlib import Path

import pytest

COMMANDS = Path(__file__).resolve().parents[2] / "deploy" / "cli" / "commands"
LIMIT = 40


def _functions():
    for path in sorted(COMMANDS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.name, node.name, node.end_lineno - node.lineno + 1


@pytest.mark.parametrize("module, name, lines", list(_functions()))
def test_command_functions_are_short(module, name, lines):
    assert lines < LIMIT, f"{module}:{name} has {lines} lines; move the work into a library function"


def test_registry_choices_follow_the_registries():
    from click.testing import CliRunner
    from deploy.cli.main import cli
    from synth.continual import METHODS
    from synth.dfprune import IMPORTANCES
    from synth.masked import CRITERIA
    for args, names in ((["prune", "--help"], IMPORTANCES), (["grow-prune", "--help"], CRITERIA),
                        (["continual", "--help"], METHODS)):
        out = CliRunner().invoke(cli, args).output
        assert all(n in out for n in names), (args, names)
    r = CliRunner().invoke(cli, ["prune", "--model", "m.pt", "--ratio", "0.5", "--out", "o.pt",
                                 "--importance", "nope"])
    assert r.exit_code == 2 and "taylor" in r.output
