"""A config's range error names the option the user typed from the error's fields, a Ray
worker's user error included, and two options that went their own way follow the others.

- ``synth.config.check_range`` raises a ``ConfigError`` that carries what it checked
  (``field``, ``value``, ``low``/``high``, ``low_open``/``high_open``, ``integer``), also
  after pickling (a Ray worker's); the CLI words the option's error from those fields.
- A ``UserError`` raised in a Ray task or actor method reaches the driver as Ray's
  ``RayTaskError(UserError)`` (``as_instanceof_cause``): an instance of the user's class whose
  text is the worker's whole traceback.  ``nnsynth symbiotic --platform host --widths
  4,99999999`` printed 'error: ray::host_rows() (pid=..., ip=...) File "..." ...
  synth.errors.UserError: a lstm layer of width 99,999,999 ...' as its one line.
- ``nnsynth hwsim eval --batch 99999999999`` said 'batch 99,999,999,999 of (1, 28, 28)
  samples is ... input values; the limit is ...', every other option '--X must be in [lo,
  hi], got V' (here: '... in [1, 85598] for samples of (1, 28, 28) (...), got V').
- ``prune``/``continual --help`` stated the --iterations defaults (200, 300) as literal text.
"""
from __future__ import annotations

import pickle

import click
import pytest

from deploy.cli.main import add_command, cli, worker_user_error
from synth.config import check_range
from synth.errors import ConfigError, UserError
from tests._cli import one_error_line, run

HUGE = 99999999999


@pytest.mark.parametrize("value,low,high,flags,message", [
    (HUGE, 0, 100000, {"integer": True}, f"epochs must be in [0, 100000], got {HUGE}"),
    (float("nan"), 0, 10, {"low_open": True}, "epochs must be a number in (0, 10], got nan"),
    (float("inf"), 0, None, {}, "epochs must be a finite number in [0, inf), got inf"),
    (2.5, 0, 10, {"integer": True}, "epochs must be an integer in [0, 10], got 2.5"),
])
def test_a_range_error_carries_what_it_checked(value, low, high, flags, message):
    with pytest.raises(ConfigError) as caught:
        check_range("epochs", value, low, high, **flags)
    for e in (caught.value, pickle.loads(pickle.dumps(caught.value))):   # as Ray sends it
        assert str(e) == message
        assert (e.field, e.low, e.high) == ("epochs", low, high)
        assert e.value is value or e.value == value or (e.value != e.value and value != value)
        assert (e.low_open, e.high_open, e.integer) == (flags.get("low_open", False),
                                                        flags.get("high_open", False),
                                                        flags.get("integer", False))


def test_a_config_range_error_names_its_field_and_bounds():
    from synth.train import MAX_EPOCHS, TrainConfig
    with pytest.raises(ConfigError) as caught:
        TrainConfig(epochs=HUGE)
    e = caught.value
    assert (e.field, e.value, e.low, e.high, e.integer) == ("epochs", HUGE, 0, MAX_EPOCHS, True)
    assert ConfigError("unknown config key 'x'").field is None   # other config errors


def _ray_error(cause: Exception):
    """What ``ray.get`` raises for ``cause`` raised in a remote task (no Ray started)."""
    from ray.exceptions import RayTaskError
    trace = ("Traceback (most recent call last):\n  File \"/work/hwsim/latency.py\", line 240, "
             f"in host_rows\n{type(cause).__module__}.{type(cause).__name__}: {cause}")
    return RayTaskError("host_rows", trace, cause, proctitle="ray::host_rows", pid=1,
                        ip="127.0.0.1").as_instanceof_cause()


def test_worker_user_error_is_the_cause_ray_carries():
    cause = UserError("a lstm layer of width 99,999,999 has too many parameters")
    wrapped = _ray_error(cause)
    assert isinstance(wrapped, UserError) and "ray::host_rows()" in str(wrapped)   # Ray's
    assert worker_user_error(wrapped) is cause
    plain = UserError("x")
    assert worker_user_error(plain) is plain
    assert worker_user_error(_ray_error(RuntimeError("a bug"))) is None
    assert worker_user_error(RuntimeError("a bug")) is None


@pytest.fixture
def worker_command():
    """An ``nnsynth`` command whose work raised ``error`` in a Ray worker (registered as
    every command is, removed after)."""
    raised = {}

    @click.command("h107-worker")
    @click.option("--width", type=click.IntRange(min=1), default=4)
    def command(width):
        raise _ray_error(raised["error"](width))

    add_command(command)
    try:
        yield raised
    finally:
        cli.commands.pop("h107-worker", None)


def test_a_workers_user_error_is_its_one_line(worker_command):
    worker_command["error"] = lambda width: UserError(f"a lstm layer of width {width:,} has "
                                                      f"too many parameters")
    line = one_error_line(run(["h107-worker", "--width", "99999999"]))
    assert line == "error: a lstm layer of width 99,999,999 has too many parameters"


def test_a_workers_range_error_names_the_option(worker_command):
    def error(width):
        try:
            check_range("width", width, 0, 4096, integer=True)
        except ConfigError as e:
            return e
    worker_command["error"] = error
    line = one_error_line(run(["h107-worker", "--width", str(HUGE)]))
    assert line == f"error: --width must be in [1, 4096], got {HUGE}"   # narrowed to min 1


def test_hwsim_eval_batch_is_told_as_every_option_range():
    """Its range is the sample shape's (hwsim.workload.MAX_BATCH_VALUES input values), so a
    batch of a million 4-feature samples still prices (test_probe6_h65)."""
    from hwsim.workload import MAX_BATCH_VALUES
    most = MAX_BATCH_VALUES // (28 * 28)
    for batch in (HUGE, most + 1):
        line = one_error_line(run(["hwsim", "eval", "--spec", "lenet5", "--input-shape",
                                   "1x28x28", "--batch", str(batch)]))
        assert line == (f"error: --batch must be in [1, {most}] for samples of (1, 28, 28) "
                        f"(the limit is {MAX_BATCH_VALUES:,} input values), got {batch}")


@pytest.mark.parametrize("name", ["prune", "continual"])
def test_iterations_help_shows_the_library_constants(name, monkeypatch):
    import synth.choices
    monkeypatch.setattr(synth.choices, "PER_PIXEL_ITERATIONS", 123)
    monkeypatch.setattr(synth.choices, "AMORTIZED_REFINE",
                        {**synth.choices.AMORTIZED_REFINE, "refine_iterations": 456})
    r = run([name, "--help"])
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "PER_PIXEL_ITERATIONS = 123," in text and "refinement up to 456 per batch" in text


def test_the_help_constants_are_the_library_ones():
    """The help reads synth.choices (torch-free); the modules that run inversion use the same
    objects."""
    import synth.choices
    import synth.inversion
    import synth.workflows
    assert synth.workflows.PER_PIXEL_ITERATIONS is synth.choices.PER_PIXEL_ITERATIONS
    assert synth.inversion.AMORTIZED_REFINE is synth.choices.AMORTIZED_REFINE
