"""``docs/cli.md``: every command's and subcommand's options with their help, made from the
commands themselves (``python -m deploy.cli.reference > docs/cli.md``), so the README's
command table can name the main options and this page the rest.  A test checks that the page
names every option of every command (tests/deploy/test_h210_cli_standards.py)."""
from __future__ import annotations

import click

HEADER = """# nnsynth command reference

Every command's options, as `nnsynth CMD --help` shows them (made by
`python -m deploy.cli.reference > docs/cli.md`; the README's command table names the main
ones). The root's `-v` / `-vv` (log messages on stderr, debug) and `-q` (no progress; warnings
and errors only) go before or after the command: `nnsynth -q train ...` or
`nnsynth train ... -q`.
"""


def _commands(command: click.Command, path: tuple[str, ...]):
    """(path, command) of every runnable command below ``command``, in name order."""
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from _commands(command.commands[name], (*path, name))
    else:
        yield path, command


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def reference_markdown(root: click.Group) -> str:
    """The page: one section per command, its summary and a table of its options."""
    parts = [HEADER]
    for path, command in _commands(root, ()):
        ctx = click.Context(command, info_name=" ".join(("nnsynth", *path)),
                            help_option_names=["-h", "--help"])
        usage = " ".join(command.collect_usage_pieces(ctx))
        parts.append(f"\n## nnsynth {' '.join(path)}\n\n`nnsynth {' '.join(path)} {usage}`\n\n"
                     f"{_cell(command.help or '')}\n\n| option | what |\n|---|---|")
        for param in command.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                parts.append(f"| `{_cell(record[0])}` | {_cell(record[1])} |")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    from deploy.cli.main import cli
    click.echo(reference_markdown(cli), nl=False)
