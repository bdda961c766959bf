"""The CLI names an option in a library's error only from the error's fields (h129): the
text fallback ``options._CONFIG_ERROR`` (a regex turning 'field must be X, got Y' into
'--field must be X, got Y') is gone, and the library checks it served (or missed) raise
``check_range`` / ``value_error`` errors instead.

- ``nnsynth diabdeep --steps`` beyond the window length was named by the regex only.
- ``nnsynth scann --components 9`` (iris has 4 features) and ``--components 2.7`` said
  'components ...' (the regex missed them: 9.0 against 9, and text after the value).
- ``nnsynth train --fixed-point 4`` said 'fixed-point format must be ...'.
- hwsim's rounds and batch, synth.text's min_count/batch/bptt/split, the data split,
  a search's constraints, the job's num_images and run names were plain messages.
"""
from __future__ import annotations

import click
import pytest
import torch

from synth.errors import ConfigError
from tests._cli import one_error_line, run


@pytest.mark.parametrize("args, line", [
    (["diabdeep", "--dataset", "basicmotions", "--steps", "100000000"],
     "error: --steps must be in [1, 100] for basicmotions (its windows hold 100 samples), "
     "got 100000000"),
    (["scann", "--dataset", "iris", "--components", "9"],
     "error: --components must be at most the 4 features of iris, got 9"),
    (["scann", "--dataset", "iris", "--components", "2.7"],
     "error: --components of 1 or more is a number of features and must be whole (a fraction "
     "of them is below 1), got 2.7"),
    (["train", "--dataset", "iris", "--model", "mlp", "--fixed-point", "4"],
     "error: --fixed-point must be INT.FRAC bits such as 4.16 (SPRING), got '4'"),
])
def test_a_library_check_is_told_by_its_option(args, line, tmp_path):
    assert one_error_line(run(["-q", *args, "--out", str(tmp_path / "out")])) == line


def _raises(call):
    with pytest.raises(ConfigError) as caught:
        call()
    return caught.value


def _fields():
    from cluster.pairs import run_synthesis
    from hwsim.latency import time_interleaved
    from hwsim.workload import extract
    from search.run import SearchConfig
    from synth.config import check_name
    from synth.data import load_dataset
    from synth.text import batchify, bptt_batches, text_dataset
    return [
        (lambda: time_interleaved({"a": lambda: None}, rounds=0),
         "rounds", 0, "rounds must be in [1, inf), got 0"),
        (lambda: extract(torch.nn.Linear(2, 2), (2,), batch=0),
         "batch", 0, "batch must be in [1, inf), got 0"),
        (lambda: text_dataset("t", ["a"] * 30, min_count=0),
         "min_count", 0, "min_count must be in [1, inf), got 0"),
        (lambda: batchify(torch.arange(10), 0), "batch", 0, "batch must be in [1, inf), got 0"),
        (lambda: list(bptt_batches(torch.arange(10), 0)),
         "bptt", 0, "bptt must be in [1, inf), got 0"),
        (lambda: load_dataset("iris").split("dev"),
         "split", "dev", "split must be train, val, test or all, got 'dev'"),
        (lambda: SearchConfig(dataset="iris", constraints="latency_ms<=1"), "constraints",
         "latency_ms<=1", "constraints must be a list of 'METRIC<=VALUE', got 'latency_ms<=1'"),
        (lambda: check_name("name", "a/b"), "name", "a/b",
         "name must be a file name (1-128 printable characters, not '.' or '..', no '/' or "
         "'\\'), got 'a/b'"),
        (lambda: run_synthesis(_teacher(), "/nonexistent/out", 2, 1, _inversion()),
         "num_images", 2, "num_images must be >= the number of classes (3), got 2"),
    ]


def _teacher():
    import tempfile
    from synth.checkpoint import save_checkpoint
    from synth.data import load_dataset
    from synth.models import build
    data = load_dataset("iris")
    path = tempfile.mkdtemp() + "/t.pt"
    save_checkpoint(path, build({"family": "mlp", "hidden": [4], "bn": True},
                                data.input_shape, data.num_classes), dataset=data.metadata())
    return path


def _inversion():
    from synth.inversion import InversionConfig
    return InversionConfig(iterations=1)


@pytest.mark.parametrize("case", range(9))
def test_library_checks_carry_fields(case):
    call, field, value, message = _fields()[case]
    e = _raises(call)
    assert (e.field, e.value, str(e)) == (field, value, message)


def test_a_plain_message_is_not_read_for_an_option():
    """Only fields name an option: a message in the same words without them is left as
    the library says it (the regex read it as --epochs's)."""
    from deploy.cli.main import cli
    from deploy.cli.options import option_message
    command = cli.get_command(click.Context(cli), "train")
    ctx = click.Context(command, info_name="train")
    ctx.params = {"epochs": 5}
    assert option_message(ctx, ConfigError("epochs must be in [1, 2], got 5")) is None
    assert option_message(ctx, ConfigError("epochs must be in [1, 2], got 5", field="epochs",
                                           value=5, low=1, high=2, integer=True)) == \
        "--epochs must be in [1, 2], got 5"
