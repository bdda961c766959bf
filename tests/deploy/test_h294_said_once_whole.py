"""A warning the human output prints is whole, or left out because stderr said it (h294).

``deploy.cli.options.unsaid`` split a result's warning at every '; ' and left out each run
of parts that stood anywhere in a line said on stderr.  A part is not a warning: the
one-class warning's '(train longer; an imbalanced set: balance its classes)' ends every
one-class line, so where one model's line was logged and another's was not, the other was
printed cut at '(train longer' (h291 met it in diabdeep); two warnings whose first clause is
one printed the second less it.  Now only a said warning that stands whole in the text (a
logged line, or one less the model's name before it) is left out, and a '; ' within brackets
never splits.  --json (``said_in``) carried a logged line wherever a note's text stood in it
('padded to 6' of '... padded to 6 steps; ...'), so the rest never reached the JSON."""
import json
import logging
import subprocess
import sys
from pathlib import Path

import click
import torch

from deploy.cli.options import configure_output, emit, said_in, unsaid, warning_parts
from synth.data_registry import load_dataset
from synth.grow_prune import one_class_warning

ROOT = Path(__file__).resolve().parents[2]


def _said(*lines):
    """configure_output as a command starts, then ``lines`` logged by the library."""
    configure_output(0, False)
    for line in lines:
        logging.getLogger("synth.h294").warning("%s", line)


def _one_class(c: int) -> str:
    """The real one-class warning of a model predicting iris class ``c`` throughout."""
    data = load_dataset("iris")
    return one_class_warning(None, data, predicted=torch.full((len(data.y_test),), c))


def test_another_models_one_class_warning_is_not_cut_at_its_semicolon():
    first, second = _one_class(0), _one_class(1)
    assert first.endswith("(train longer; an imbalanced set: balance its classes)")
    with click.Context(click.Command("x")):
        _said(f"teacher model: {first}")
        assert unsaid(second) == second   # was "the model predicts class ... (train longer"
        assert unsaid(first) == ""        # said, with the model's name before it
        assert unsaid(f"{first}; {second}") == second


def test_warnings_sharing_a_first_clause_are_each_whole():
    with click.Context(click.Command("x")):
        _said("the split lacks a class; its accuracy is of one")
        other = "the split lacks a class; lower --split-seed or give more rows"
        assert unsaid(other) == other   # was 'lower --split-seed or give more rows'
        assert unsaid("the split lacks a class") == ""   # every word of it was read


def test_whole_said_warnings_are_still_left_out_of_a_joined_text(capsys):
    with click.Context(click.Command("x")):
        _said("few steps (raise --epochs; or --min-steps)", "m.pt: the floor is unmet")
        assert unsaid("few steps (raise --epochs; or --min-steps); one class") == "one class"
        assert unsaid("one class; the floor is unmet") == "one class"
        assert unsaid("or --min-steps)") == "or --min-steps)"   # half a bracket is no warning
        emit({"accuracy": 0.5, "warning": "the floor is unmet; few steps (raise --epochs; "
                                          "or --min-steps)"}, False)
        assert capsys.readouterr().out == "accuracy: 0.5000\n"


def test_non_ascii_and_pattern_characters():
    line = "class 'Färbung blau' (ß*?+ [x]): 3 of 4 rows; naïve rise: café fall ✓"
    with click.Context(click.Command("x")):
        _said(line)
        assert unsaid(line) == ""
        assert unsaid(f"grand iris virginique; {line}") == "grand iris virginique"
        assert unsaid("3 of 4 rows") == ""   # the part less the class named before it
        assert unsaid("4 rows") == "4 rows"   # words of a part are not the part
        assert unsaid("class 'Färbung blau' (ß*?+ [x])") == "class 'Färbung blau' (ß*?+ [x])"


def test_parts_split_outside_brackets_only():
    assert warning_parts("a (b; c) [d; e]; f") == ["a (b; c) [d; e]", "f"]
    assert warning_parts("1) a; 2) b") == ["1) a", "2) b"]   # a stray ')' opens nothing
    assert warning_parts("") == [""]


def test_json_carries_a_logged_line_that_merely_holds_a_note(capsys):
    logged = "the series were padded to 6 steps; their accuracy is of zeros in part"
    with click.Context(click.Command("x")):
        _said(logged, "m.pt: one class", "one class; and a second fact")
        assert said_in({"note": "padded to 6"})["warning"].split("; ", 2)[:2] == \
            logged.split("; ")   # was left out: 'padded to 6' stood in it
        warning = said_in({"warning": "one class"})["warning"]
        assert "and a second fact" in warning and logged in warning   # both were lost
        assert said_in({"warning": f"{logged}; one class; and a second fact"}) == \
            {"warning": f"{logged}; one class; and a second fact"}   # all of it carried
        emit({"note": "padded to 6"}, True)
        assert logged in json.loads(capsys.readouterr().out)["warning"]


def test_a_real_one_class_warning_is_printed_once_and_whole(tmp_path):
    """nnsynth train of a model that learns nothing (iris, lr 1e-9): its one-class warning,
    whose '; ' lies in brackets, is said whole on stderr and not again on stdout."""
    done = subprocess.run([sys.executable, "-m", "deploy.cli.main", "-q", "train",
                           "--dataset", "iris", "--model", "mlp_small", "--epochs", "1",
                           "--min-steps", "0", "--lr", "1e-9", "--out", str(tmp_path / "m.pt")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    tail = "(train longer; an imbalanced set: balance its classes)"
    assert done.stderr.count(tail) == 1 and "warning:" not in done.stdout, done.stdout
    assert "test_accuracy: 0.3333" in done.stdout
