"""``nnsynth --help``, ``nnsynth CMD --help`` and a bad argument import neither torch nor Ray.

Importing torch takes 2-3 s, and users meet the help and the one-line argument errors all
the time: the CLI reads its choices and defaults from torch-free modules (``synth.choices``,
``search.choices``, ``cluster.limits``), the data-set registry's modules are imported when
it is first read, and a command imports its library when it runs.  One fresh interpreter
runs every case in turn and names the first that imported a heavy module.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "ray")

_CHECK = """
import json, sys
from click.testing import CliRunner
from deploy.cli.main import cli

cases, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
if not cases:   # every command and subcommand's --help
    cases = [[["--help"], 0]]
    for name, command in sorted(cli.commands.items()):
        cases.append([[name, "--help"], 0])
        for sub in sorted(getattr(command, "commands", {})):
            cases.append([[name, sub, "--help"], 0])
for args, code in cases:
    r = CliRunner().invoke(cli, args)
    loaded = [m for m in heavy if m in sys.modules]
    one_line = code == 0 or len(r.output.strip().splitlines()) == 1
    if r.exit_code != code or loaded or not one_line:
        print(json.dumps({"args": args, "exit_code": r.exit_code, "loaded": loaded,
                          "output": r.output[-500:]}))
        sys.exit(0)
print(json.dumps({"cases": len(cases)}))
"""


def _run(cases: list, heavy=HEAVY) -> dict:
    res = subprocess.run([sys.executable, "-c", _CHECK, json.dumps(cases), json.dumps(heavy)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_help_of_every_command_imports_no_torch_or_ray():
    result = _run([])
    assert "cases" in result and result["cases"] > 20, result


def test_help_of_every_command_imports_no_numpy():
    """`nnsynth secret --help` imported numpy (synth.secret_eval, synth.labels) for the
    choices of --base and --label-vectors; they live in synth.choices now."""
    result = _run([], heavy=("numpy",))
    assert "cases" in result and result["cases"] > 20, result


def test_argument_errors_import_no_torch_or_ray(tmp_path):
    """Each is one line and exit status 2, before any heavy import: a misspelt command or
    choice, a value out of range, a bad --device, and errors after a checked --out."""
    not_ours = tmp_path / "notes.txt"
    not_ours.write_text("mine")
    out, onnx = str(tmp_path / "new.pt"), str(tmp_path / "new.onnx")
    cases = [[["trian"], 2], [["--bogus"], 2], [["-v", "hwsim", "eval", "--bogus"], 2],
             [["train", "--dataset", "digits", "--model", "mlp_small", "--out", out,
               "--optimizer", "adamw"], 2],
             [["train", "--out", out, "--epochs", "abc"], 2],
             [["train", "--dataset", "digits", "--model", "mlp_small", "--out", out,
               "--device", "gpu"], 2],
             [["train", "--dataset", "digits", "--model", "mlp_small", "--out", str(not_ours)], 2],
             [["export", "--model", out, "--out", onnx, "--tolerance", "0"], 2],
             [["grow-prune", "--criterion", "largest"], 2],
             [["prune", "--importance", "random"], 2],
             [["scann", "--scheme", "D"], 2],
             [["continual", "--method", "replay"], 2],
             [["search", "--searcher", "grid"], 2],
             [["secret", "--label-vectors", "bert"], 2],
             [["invert", "--num-images", "0"], 2],
             [["diabdeep", "--dataset", "blink", "--steps", "0"], 2],
             [["hwsim", "eval", "--batch", "0"], 2],
             [["eval", "--model", out, "--dataset", "parquet:"], 2]]
    result = _run(cases)
    assert result == {"cases": len(cases)}, result


def test_the_registry_still_knows_every_set_after_a_light_import():
    """``import synth`` no longer imports the sequence and text modules; the registry imports
    them when first read, so their sets are listed, checked and loaded as before."""
    code = ("import sys; from synth.data_registry import list_datasets; "
            "assert 'torch' not in sys.modules; names = list_datasets(); "
            "print(sorted(n for n in ('blink', 'enwiki', 'ts:<path>', 'digits', 'parquet:<path>') "
            "if n in names))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "['blink', 'digits', 'enwiki', 'parquet:<path>', 'ts:<path>']"


def test_a_group_without_its_subcommand_shows_its_help():
    """``nnsynth hwsim`` alone prints the group's help (exit 2, as click does for a bare
    ``nnsynth``); the one-line error handler squeezed the whole help into one 'error:' line."""
    from click.testing import CliRunner

    from deploy.cli.main import cli
    r = CliRunner().invoke(cli, ["hwsim"])
    assert r.exit_code == 2
    assert r.output.startswith("Usage: cli hwsim") and "Commands:" in r.output
    assert "error:" not in r.output


def test_search_defaults_to_the_library_searcher():
    """`nnsynth search` and SearchConfig name one default (search.choices.DEFAULT_SEARCHER):
    the CLI said steerage after the library's default became localbo (155711b)."""
    from click.testing import CliRunner

    from deploy.cli.main import cli
    from search.choices import DEFAULT_SEARCHER
    from search.run import SearchConfig
    assert SearchConfig().searcher == DEFAULT_SEARCHER == "localbo"
    text = " ".join(CliRunner().invoke(cli, ["search", "--help"]).output.split())
    assert f"[default: {DEFAULT_SEARCHER}]" in text
