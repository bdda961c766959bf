"""eval's and export's note lines are said once, through the one record of what stderr said
(h258).  ``deploy.cli.options.echo_notes`` printed its lines on stderr itself, outside
``warn``/``said_in``/``emit`` (5d58586): a note line the library had logged already was
printed on stderr again, and a result's note or warning that a note line had said was
printed again on stdout in human mode.  It now says each line through ``options.say``; the
lines nothing else said print as before, byte for byte, and --json is unchanged."""
import json
import logging

import click

from deploy.cli.options import configure_output, echo_notes, emit

SPLIT = "csv:t.csv's split column has no 'test' rows: evaluating on val (mark the held-out rows)"


def test_a_note_line_is_printed_once(capsys):
    with click.Context(click.Command("x")):
        configure_output(0, False)
        logging.getLogger("synth.h258").warning("%s", "classes scored by index")
        capsys.readouterr()    # what the library's handler printed, if anything
        result = {"accuracy": 0.5, "note": SPLIT}
        echo_notes(["warning: classes scored by index", SPLIT], result, False)
        assert capsys.readouterr().err == f"{SPLIT}\n"   # the warning was said: not again
        emit(result, False)
        assert capsys.readouterr().out == "accuracy: 0.5000\n"   # nor the note on stdout


def test_lines_said_nowhere_else_print_as_before(capsys):
    with click.Context(click.Command("x")):
        configure_output(0, False)
        result = {"accuracy": 0.5}
        echo_notes(["warning: one class predicted", SPLIT], result, False)
        assert capsys.readouterr().err == f"warning: one class predicted\n{SPLIT}\n"
        emit(result, False)
        assert capsys.readouterr().out == "accuracy: 0.5000\n"
        result = {"accuracy": 0.5}
        configure_output(0, False)   # the next command
        echo_notes(["warning: one class predicted", "warning: by index", SPLIT], result, True)
        assert capsys.readouterr().err == (f"warning: one class predicted\nwarning: by index\n"
                                           f"{SPLIT}\n")
        emit(result, True)
        assert json.loads(capsys.readouterr().out) == {
            "accuracy": 0.5, "warning": "one class predicted; by index"}
