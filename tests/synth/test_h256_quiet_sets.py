"""A set read only to compare with says nothing (helper 256): ``load_dataset(...,
quiet=True)`` and ``checkpoint_dataset(..., quiet=True)`` (synth.logs.quiet_sets), which eval
of another file uses to read the model's own set (workflows.trained_samples).  That read held
the ``synth`` logger at ERROR instead, which a logger given a level of its own ignored: a
program that set ``logging.getLogger('synth.data').setLevel(logging.WARNING)`` got the model's
own CSV's 'test rows repeat a training row' beside the file it scored."""
import logging

import pytest

from synth.checkpoint import checkpoint_dataset, load_model
from synth.data import load_dataset
from synth.workflows import evaluate_checkpoint
from tests.deploy.test_h254_json_said_warnings import ROWS, _csv, _train


@pytest.fixture
def dup(tmp_path):
    """(csv name of dup.csv, whose test rows repeat training rows; d.pt, a model of it)."""
    name = _csv(tmp_path / "dup.csv", ROWS * 3)
    _train(tmp_path, name, "d.pt")
    return name, tmp_path / "d.pt"


@pytest.fixture
def data_logger_level():
    """``synth.data`` given a level of its own, as a program may (restored after)."""
    logger = logging.getLogger("synth.data")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def _warned(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_quiet_read_says_nothing_a_loud_one_says(dup, caplog):
    name, model = dup
    caplog.set_level(logging.INFO)
    load_dataset(name, quiet=True)
    checkpoint_dataset(load_model(model), quiet=True)
    assert caplog.records == []
    load_dataset(name)
    assert any("repeat a training row" in line for line in _warned(caplog)), _warned(caplog)
    assert caplog.records[-1].funcName == "table_dataset"   # the reader's line, named


def test_eval_of_another_file_says_nothing_of_the_models_own(dup, tmp_path, caplog,
                                                             data_logger_level):
    _, model = dup
    other = _csv(tmp_path / "other.csv", [(a + 100, b, c) for a, b, c in ROWS])
    evaluate_checkpoint(model, other)
    # dup.csv's own loader lines; other.csv (a + 100) is named as on another scale than the
    # model's training set, dup.csv (synth.checkpoint.scale_warning), which is of it
    said = _warned(caplog)
    assert not [line for line in said if "repeat a training row" in line
                or line.startswith(f"data set csv:{tmp_path / 'dup.csv'}")], said
