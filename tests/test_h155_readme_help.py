"""A new user's first hour (helper h155): the --help texts and README claims a user reads
first say what the code does."""
from __future__ import annotations

import re

import click
import torch
from click.testing import CliRunner

from deploy.cli.main import cli
from synth.inversion import settings_for
from synth.models import build


def _help(*words: str) -> str:
    r = CliRunner().invoke(cli, [*words, "--help"], terminal_width=10_000)
    assert r.exit_code == 0, r.output
    return " ".join(r.output.split())


def test_invert_method_help_names_the_sequence_generator():
    """settings_for gives a convnet1d teacher on a bounded set a generator as its fallback;
    the --method help, which says what the default is, must say so (it named images only)."""
    teacher = build("convnet1d_small", input_shape=(3, 40), num_classes=4)
    lo, hi = torch.full((3, 1), -2.0), torch.full((3, 1), 2.0)
    config = settings_for(teacher, value_range=(lo, hi))
    assert config.method == "deepinversion" and config.fallback and config.amortized
    text = _help("invert")
    method = text[text.index("--method"):text.index("--out")]
    assert "sequence" in method and "Conv1d" in method, method


def _commands(cmd=cli, path=()):
    if isinstance(cmd, click.Group):
        for name in cmd.list_commands(None):
            yield from _commands(cmd.get_command(None, name), path + (name,))
    else:
        yield path, cmd


def _options(cmd) -> set[str]:
    return {o for p in cmd.params for o in p.opts + p.secondary_opts}


def _command(words):
    cmd = cli
    for w in words:
        if not isinstance(cmd, click.Group) or w not in cmd.commands:
            return None
        cmd = cmd.commands[w]
    return cmd


def test_every_option_a_help_text_names_exists():
    """An option named in a command's help is one of its own, or one of the command the text
    quotes (`nnsynth train --fixed-point`).  hwsim dse and table said '--input-shape: Sample
    shape for --spec models', but only hwsim eval has --spec (dse and table take a spec as
    --model)."""
    bad = []
    for path, cmd in _commands():
        own = _options(cmd)
        for text in [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]:
            quoted = []
            for m in re.finditer(r"`nnsynth ([^`]*)`", text):
                words = re.findall(r"[a-z][a-z-]*", m.group(1).split("--")[0])
                other = _command(words)
                assert other is not None, f"{' '.join(path)} --help quotes `nnsynth {m.group(1)}`"
                for opt in re.findall(r"(?<![\w-])--[a-z][a-z-]*", m.group(1)):
                    if opt not in _options(other):
                        bad.append(f"{' '.join(path)}: `nnsynth {m.group(1)}` ({opt})")
                quoted.append(m.span())
            for m in re.finditer(r"(?<![\w-])--[a-z][a-z-]*", text):
                if any(a <= m.start() < b for a, b in quoted) or path == ("models",):
                    continue          # `nnsynth models` tells what other commands' --model takes
                if m.group() not in own:
                    bad.append(f"nnsynth {' '.join(path)} --help names {m.group()}, "
                               f"not one of its options: ...{text[max(0, m.start() - 50):m.end()]}")
    assert not bad, "\n".join(bad)


def test_readme_optimize_snippet_runs_and_its_by_hand_line_too():
    """README's search-space snippet runs as written (fewer trials), and the ask/tell line in
    its comment with the import the comment names (it named no import)."""
    from pathlib import Path
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    code = next(b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S)
                if "search.optimize" in b)
    hand = re.search(r"# or by hand \(([^)]*)\): (.*)", code)
    assert hand, "the snippet's by-hand line names no import"

    def my_objective(cfg):
        return -abs(cfg["units"] - 100) / 100 - len(cfg["layers"]) * 0.01

    ns = {"my_objective": my_objective}
    exec(code.replace("trials=50", "trials=3"), ns)
    assert ns["result"].best_config is not None
    exec(hand.group(1) + "\n" + hand.group(2).replace("; ", "\n"), ns)
    assert set(ns["cfg"]) >= {"optimizer", "lr", "units", "layers"}
