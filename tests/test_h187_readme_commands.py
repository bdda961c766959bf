"""README.md's commands outside the "All commands" table (helper h187's walkthrough; no Ray,
no training): every `nnsynth ...` line of its bash blocks and every `nnsynth ...` code span
of its prose names a command and only that command's options (tests/test_readme_h98.py
checks the table's synopses alone).  The walkthrough also ran the README's sweep.yaml with
--check; that loads mnist5k for each of its 5 runs (~10 CPU-s), too slow for a test."""
from __future__ import annotations

import re
from pathlib import Path

import click

from deploy.cli.main import cli

README = Path(__file__).resolve().parent.parent / "README.md"


def _command(words: list[str]):
    """The deepest command ``words`` name (``hwsim eval``), or None for none."""
    cmd = cli
    for w in words:
        if not isinstance(cmd, click.Group) or w not in cmd.commands:
            break
        cmd = cmd.commands[w]
    return None if cmd is cli else cmd


def _options(cmd, visible_only: bool) -> set[str]:
    return {o for p in cmd.params if not (visible_only and getattr(p, "hidden", False))
            for o in p.opts + p.secondary_opts}


def _check(usage: str, visible_only: bool) -> list[str]:
    words = []
    for w in usage.split()[1:]:
        if not re.fullmatch(r"[a-z][a-z-]*", w):
            break
        words.append(w)
    if words[:1] == ["CMD"] or not words and re.match(r"nnsynth -[qv]", usage):
        return []                                  # `nnsynth -q CMD`: the group's own flags
    cmd = _command(words)
    if cmd is None:
        return [f"{usage!r} names no nnsynth command"]
    if isinstance(cmd, click.Group):
        return []                                  # `nnsynth hwsim eval|dse|table ...`
    own = _options(cmd, visible_only)
    return [f"{usage!r}: {opt} is not an option of nnsynth {' '.join(words)}"
            for opt in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", usage) if opt not in own]


def test_bash_blocks_run_existing_commands_with_their_options():
    text = README.read_text(encoding="utf-8")
    bad, checked = [], 0
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0]                 # a trailing comment is prose
            for m in re.finditer(r"(?:^|&&|\s--\s)\s*(nnsynth\s[^&]*)", line):
                bad += _check(m.group(1).strip(), visible_only=True)
                checked += 1
    assert checked >= 15, checked
    assert not bad, "\n".join(bad)


def test_prose_code_spans_name_existing_commands_and_options():
    """`nnsynth distill --num-workers 2`, `nnsynth hwsim eval --spec ... --batch 64` and the
    like in the text: a renamed option must not survive there.  An option the text says
    still works (`--data`, hidden from --help) counts."""
    text = README.read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    bad, checked = [], 0
    for m in re.finditer(r"`(nnsynth [^`]+)`", prose):
        bad += _check(m.group(1).replace("\\|", "|"), visible_only=False)
        checked += 1
    assert checked >= 40, checked
    assert not bad, "\n".join(bad)

