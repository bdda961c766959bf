"""A warning reaches the user once in human mode (h255).

``nnsynth train --dataset csv:lack.csv`` (a test split lacking a class) printed 'warning: the
test split of csv:lack.csv holds no sample of class ['y'] ...' on stderr when it arose and
again as the result's 'warning: ...' line on stdout (scann, continual and the others that
log a warning and keep it in their result alike).  The human output now leaves out what
stderr said (``deploy.cli.options.emit``); --json still carries every warning in its object
(``said_in``)."""
import json
import logging
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from deploy.cli.main import cli
from deploy.cli.options import configure_output, emit, unsaid

ROOT = Path(__file__).resolve().parents[2]
ROWS = [(i, (i * 7) % 5, "xy"[i % 2]) for i in range(30)]
LACKING = "holds no sample of class ['y']"


def _lacking_csv(tmp_path):
    path = tmp_path / "lack.csv"
    path.write_text("a,b,label,split\n" + "".join(
        f"{a},{b},{c},{'test' if i % 6 == 0 and c == 'x' else 'train'}\n"
        for i, (a, b, c) in enumerate(ROWS)))
    return f"csv:{path}"


def test_a_logged_warning_is_printed_once_in_human_mode(tmp_path):
    """A real process: under pytest the library's log records go to pytest's handlers, not
    to a CliRunner's stderr."""
    done = subprocess.run([sys.executable, "-m", "deploy.cli.main", "-q", "train",
                           "--dataset", _lacking_csv(tmp_path), "--model", "mlp_small",
                           "--epochs", "1", "--min-steps", "0", "--out", str(tmp_path / "m.pt")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(LACKING) == 1 and LACKING not in done.stdout, done.stdout
    assert done.stderr.startswith("warning: the test split of csv:"), done.stderr
    assert "test_accuracy: " in done.stdout   # the result itself is printed as before


def test_json_still_carries_it(tmp_path):
    done = CliRunner().invoke(cli, ["-q", "train", "--dataset", _lacking_csv(tmp_path),
                                    "--model", "mlp_small", "--epochs", "1", "--min-steps", "0",
                                    "--out",
                                    str(tmp_path / "m.pt"), "--json"])
    assert done.exit_code == 0, done.output
    assert LACKING in json.loads(done.stdout.strip().splitlines()[-1])["warning"]


def _said(*lines):
    """configure_output as a command starts, then ``lines`` logged by the library."""
    configure_output(0, False)
    for line in lines:
        logging.getLogger("synth.h255").warning("%s", line)


def test_only_the_parts_stderr_did_not_say_are_printed():
    with click.Context(click.Command("x")):
        _said("the split lacks a class; its accuracy is of one", "m.pt: epochs raised to 50")
        assert unsaid("the split lacks a class; its accuracy is of one") == ""
        assert unsaid("the split lacks a class; its accuracy is of one; a new thing") == \
            "a new thing"
        assert unsaid("epochs raised to 50") == ""   # logged with the model's name before it
        assert unsaid("a new thing; epochs raised to 50") == "a new thing"
        assert unsaid("nothing said of this") == "nothing said of this"
        assert unsaid("raised") == "raised"   # a word of a line said is not the line
        assert unsaid("the split lacks a class") == ""   # a whole part of one is


def test_emit_leaves_out_what_was_said_in_both_forms(capsys):
    with click.Context(click.Command("x")):
        _said("few steps")
        emit({"accuracy": 0.5, "warning": "few steps", "note": "padded",
              "final_warning": "few steps; one class"}, False)
        assert capsys.readouterr().out == "accuracy: 0.5000\nnote: padded\n" \
                                          "final_warning: one class\n"
        emit({"warning": "few steps"}, False, "accuracy 0.5\nwarning: few steps\nnote: padded")
        assert capsys.readouterr().out == "accuracy 0.5\nnote: padded\n"
        emit({"warning": "few steps"}, True)   # --json: every warning in the object
        assert json.loads(capsys.readouterr().out) == {"warning": "few steps"}


def test_a_commands_own_warning_counts_as_said(capsys):
    """invert printed its fidelity warning on stderr itself and again as the summary's
    'warning:' line; ``warn`` records it as said."""
    from deploy.cli.options import warn
    with click.Context(click.Command("x")):
        configure_output(0, False)
        warn("inversion reached fidelity 0.5")
        emit({"fidelity": 0.5, "warning": "inversion reached fidelity 0.5"}, False)
        out = capsys.readouterr()
        assert out.err == "warning: inversion reached fidelity 0.5\n"
        assert out.out == "fidelity: 0.5000\n"
        emit({"warning": "inversion reached fidelity 0.5"}, True)   # held once, not twice
        assert json.loads(capsys.readouterr().out) == {"warning": "inversion reached "
                                                                  "fidelity 0.5"}
