"""Running the CLI in-process from tests: the result, its JSON, its one error line."""
import json

from click.testing import CliRunner

from deploy.cli.main import cli


def run(args):
    return CliRunner().invoke(cli, args)


def json_result(result) -> dict:
    """The JSON object on the last line of a successful command's stdout."""
    assert result.exit_code == 0, result.output
    return json.loads(result.output.strip().splitlines()[-1])


def one_error_line(result) -> str:
    """A user mistake's output: exit 2, no traceback, exactly one line."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]
