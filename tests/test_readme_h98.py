"""README.md against the code it describes (no Ray, no training): its Markdown tables are
well formed, every option the "All commands" table shows is a visible option of that
command, and the configuration reference's defaults are the run config's."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import click
import pytest

from deploy import run_config
from deploy.cli.main import cli

README = Path(__file__).resolve().parent.parent / "README.md"


def _lines() -> list[str]:
    lines, fenced = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fenced = not fenced
        lines.append("" if fenced or line.startswith("```") else line)
    return lines


def _cells(row: str) -> list[str]:
    """A GFM table row's cells: split on pipes not escaped with a backslash (a pipe inside a
    code span splits the row too, unless escaped)."""
    body = row.strip()[1:-1] if row.strip().endswith("|") else row.strip()[1:]
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", body)]


def _tables() -> list[tuple[int, list[str]]]:
    """(line number of the header, rows) of every table: runs of lines starting with '|'."""
    tables, start, rows = [], None, []
    for i, line in enumerate(_lines() + [""], 1):
        if line.startswith("|"):
            if start is None:
                start = i
            rows.append(line)
        elif start is not None:
            tables.append((start, rows))
            start, rows = None, []
    return tables


def test_every_table_has_a_header_and_equal_columns():
    for start, rows in _tables():
        assert len(rows) >= 2 and re.fullmatch(r"\|( *:?-+:? *\|)+", rows[1].replace(" ", "")), (
            f"README.md line {start}: a table row without a header and separator line "
            f"(text between two rows splits the table): {rows[0][:80]}")
        width = len(_cells(rows[0]))
        for k, row in enumerate(rows[2:], start + 2):
            assert len(_cells(row)) == width, (
                f"README.md line {k}: {len(_cells(row))} cells, the header has {width} "
                f"(an unescaped '|'?): {row[:100]}")


def _command_table() -> list[str]:
    for _, rows in _tables():
        if _cells(rows[0])[:2] == ["command", "what it does"]:
            return rows[2:]
    raise AssertionError("README.md has no 'command | what it does' table")


def _command(words: list[str]) -> click.Command | None:
    cmd = cli
    for w in words:
        if not isinstance(cmd, click.Group) or w not in cmd.commands:
            break
        cmd = cmd.commands[w]
    return None if cmd is cli else cmd


def test_command_table_shows_visible_options_of_its_commands():
    checked = 0
    for row in _command_table():
        synopsis = _cells(row)[0]
        for usage in re.findall(r"`(nnsynth [^`]+)`", synopsis):
            words = re.findall(r"[a-z][a-z-]*", usage.split("--")[0])[1:]
            cmd = _command(words)
            assert cmd is not None, f"README: {usage!r} names no nnsynth command"
            visible = {o for p in cmd.params if not getattr(p, "hidden", False)
                       for o in p.opts + p.secondary_opts}
            for opt in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", usage):
                assert opt in visible, (f"README: {usage.split(' --')[0]} shows {opt}, which "
                                        f"is not one of its options in --help")
                checked += 1
    assert checked > 40


def _default_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{}" if not value else repr(value)
    return str(value)


def test_configuration_reference_defaults_are_the_run_configs():
    sections = {f.name: f.default_factory() for f in dataclasses.fields(run_config.RunConfig)
                if f.default_factory is not dataclasses.MISSING
                and dataclasses.is_dataclass(f.default_factory)}
    table = next(rows for _, rows in _tables() if _cells(rows[0])[:2] == ["section.key", "default"])
    checked = 0
    for row in table[2:]:
        keys_cell, default_cell = _cells(row)[:2]
        keys = re.findall(r"`([a-z_.]+)`", keys_cell)
        section = keys[0].split(".")[0]
        keys = [keys[0].split(".", 1)[1]] + keys[1:]
        defaults = [d.strip() for d in default_cell.split(",")] if len(keys) > 1 else [default_cell]
        assert len(defaults) == len(keys), row
        for key, text in zip(keys, defaults):
            value = getattr(sections[section], key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                assert float(text) == pytest.approx(value), f"{section}.{key}: README {text}, code {value}"
            else:
                assert text == _default_text(value), f"{section}.{key}: README {text}, code {value!r}"
            checked += 1
    assert checked >= 20


def test_ci_runs_the_quick_start():
    """.ci/run installs the project as the README's quick start does and runs its test
    command."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"## Quick start.*?```bash\n(.*?)```", text, re.S).group(1).splitlines()
    ci = [line.replace(" --quiet", "").strip()
          for line in (README.parent / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.lstrip().startswith("#")]
    installs = [c.strip() for c in block[0].split("&&") if c.strip().startswith("pip ")]
    assert installs and all(c in ci for c in installs), (installs, ci)
    assert block[1].strip() == ci[-1] == "python -m pytest tests"
