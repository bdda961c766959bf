"""A result's warnings are separate lines (synth.logs.Warnings, h302).

Results joined their warnings with '; ', and one warning may hold '; ' itself, so the human
output's said-once filter (``deploy.cli.options.unsaid``) could not tell 'A; B', one warning,
from two: where 'A' alone had been logged as another warning, it printed only 'B' (h294's
"found, not fixed").  Results now keep each warning as a line (``join_warnings``); each is
shown whole or left out whole, --json still holds every one joined by '; ' (as before: old
JSON and new read alike), and a plain text (an old result) is read as before."""
import io
import json
import logging

import click
import torch

from deploy.cli.options import configure_output, emit, unsaid
from synth.checkpoint import read_checkpoint, save_checkpoint
from synth.logs import Warnings, join_warnings, warning_lines
from synth.models.registry import build
from synth.secret_eval import with_warnings
from synth.workflows import add_warning

A = "the split lacks a class"
AB = "the split lacks a class; lower --split-seed or give more rows"
C = "class names 'class_0', 'class_1' are placeholders; give words for each class"


def _said(*lines):
    configure_output(0, False)
    for line in lines:
        logging.getLogger("synth.h302").warning("%s", line)


def test_one_warning_holding_a_semicolon_is_shown_whole(capsys):
    with click.Context(click.Command("x")):
        _said(A, C)
        result = with_warnings({"accuracy": 0.5}, [AB, C])   # SECRET's result builder
        emit(result, False)
    # was 'warning: lower --split-seed or give more rows': 'A' taken as said
    assert capsys.readouterr().out == f"accuracy: 0.5000\nwarning: {AB}\n"


def test_a_warning_added_by_the_workflows_is_its_own_line(capsys):
    with click.Context(click.Command("x")):
        _said(A)
        metrics = {"accuracy": 0.5}
        add_warning(metrics, AB, said=True)   # train/prune/distill's warnings
        add_warning(metrics, C, said=True)
        assert metrics["warning"].lines == (AB, C)
        assert unsaid(metrics["warning"]) == f"{AB}; {C}"


def test_a_human_warning_line_is_read_as_the_results_lines(capsys):
    with click.Context(click.Command("x")):
        _said(A, C)
        result = with_warnings({}, [AB, C])
        emit(result, False, human=f"done\nwarning: {result['warning']}")
    assert capsys.readouterr().out == f"done\nwarning: {AB}\n"


def test_json_keeps_every_warning_joined_and_each_once(capsys):
    with click.Context(click.Command("x")):
        _said(A, AB, "another line the result does not hold")
        emit(with_warnings({"accuracy": 0.5}, [AB, C, AB]), True)
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # A's words stand in AB's line: carried (h294's reading); the other logged line added
    assert out["warning"] == f"{AB}; {C}; another line the result does not hold"


def test_old_json_and_plain_text_are_read_as_before():
    assert warning_lines(None) == [] and warning_lines("") == []
    assert warning_lines(AB) == [AB]          # an old result's text: one line, never cut
    assert warning_lines([AB, C]) == [AB, C]
    joined = join_warnings(f"{AB}; {C}", None, [AB, f"{AB}; {C}"])   # each line once
    assert joined == f"{AB}; {C}; {AB}" and joined.lines == (f"{AB}; {C}", AB)
    assert join_warnings(None, []) is None
    with click.Context(click.Command("x")):
        _said(A, C)
        assert unsaid(f"{A}; {C}; more") == "more"   # a plain text: h294's reading kept
        assert unsaid(Warnings([AB, C])) == AB


def test_a_checkpoint_keeps_the_text_and_loads_weights_only(tmp_path):
    """Checkpoints hold results through JSON: a Warnings is its text there, and
    torch.load(weights_only=True), which refuses any class, reads it."""
    path = save_checkpoint(tmp_path / "m.pt", build("mlp_small", (4,), 3),
                           metrics={"warning": join_warnings(AB, C)})
    assert read_checkpoint(path)["metrics"]["warning"] == f"{AB}; {C}"
    buffer = io.BytesIO()
    torch.save({"warning": str(join_warnings(AB, C))}, buffer)
    buffer.seek(0)
    assert torch.load(buffer, weights_only=True)["warning"] == f"{AB}; {C}"


def test_a_state_holding_warnings_loads_weights_only(tmp_path):
    """A resume state is read back with torch.load(weights_only=True), which refuses any
    class it does not know: a Warnings in a saved state's metrics (pickled as
    synth.logs.Warnings) made the state unreadable ('not nnsynth's') and the run could not
    resume.  States are written with their text as plain str."""
    from synth.resume import check_state, save_state
    path = tmp_path / "run.resume"
    save_state(path, "nnsynth-test-state", "k", {"metrics": {"warning": join_warnings(AB, C)},
                                                "rows": [{"note": join_warnings(C)}]})
    state = check_state(path, "nnsynth-test-state", "test")
    assert state["metrics"]["warning"] == f"{AB}; {C}"
    assert type(state["metrics"]["warning"]) is str and state["rows"][0]["note"] == C
