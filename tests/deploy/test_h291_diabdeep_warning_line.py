"""nnsynth diabdeep's table printed a one-class warning cut in half (h291):
'warning: edge_diabnn: the model predicts class 'up' for every test sample: ... (train longer'
-- the row's warning was logged as 'diabdeep edge_diabnn: ...', so the human output's
said-once filter (deploy.cli.options.unsaid) found only its last '; ' part already said and
printed the rest.  The log line now names the model as the table does, and the table's line
is left out whole (stderr said it)."""
import logging

import click

from deploy.cli import options
from synth.diabdeep import one_class, table


def test_a_logged_row_warning_is_left_out_whole(caplog):
    with click.Context(click.Command("diabdeep")):   # as the root group calls it
        options.configure_output()
    warning = ("the model predicts class 'up' for every test sample: its test accuracy 0.8333 "
               "is that class's share of the test split, and the other classes are never "
               "predicted (train longer; an imbalanced set: balance its classes)")
    row = {"model": "edge_diabnn", "spec": {"family": "hlstm"}, "test_accuracy": 0.8333,
           "nonzero_parameters": 86, "recurrent_weights": 49, "nonzero_flops": 696,
           "latency_ms": 0.4}
    with caplog.at_level(logging.WARNING):
        one_class(row, warning)
    result = {"rows": [row]}
    _, human = options._said_once(result, table(result))
    assert "(train longer" not in human, human
    assert not any(line.startswith("warning: edge_diabnn") for line in human.splitlines())
