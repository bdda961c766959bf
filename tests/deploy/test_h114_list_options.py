"""Library range checks that said check_range's words without its fields now raise through
check_range, a Ray worker's error keeps its class and fields on the driver, and the
comma-separated list options of ``nnsynth symbiotic`` name themselves and the value at fault.

- hwsim.latency.torch_threads and synth.models.check_shape's num_classes raised a plain
  UserError in check_range's words: the CLI named the option only by parsing the text.
- cluster.latency.ray_starmap and cluster.train.worker_user_error re-raised a worker's
  UserError as ``UserError(str(cause))``: a range error lost its class and fields.
- ``nnsynth symbiotic --sparsities 0.5,1.5`` said ``sparsities[] must be in (0, 1), got
  1.5``; ``--widths 4,0`` said ``widths must be 1 to 64 integers >= 1, got [4, 0]``;
  ``--cells lstm,gru`` said ``cells must be a non-empty list of lstm, hlstm, got ['lstm',
  'gru']``: the config's fields, not the options typed.
- a width past 2^63 was torch's TypeError traceback (exit 1) from the table's Ray task.
"""
from __future__ import annotations

import pickle

import click
import pytest

from deploy.cli.main import add_command, cli
from synth.config import check_range
from synth.errors import ConfigError, UserError
from tests._cli import one_error_line, run

HUGE = 99999999999


def test_torch_threads_raises_a_range_error_with_its_fields():
    from hwsim.latency import MAX_THREADS, torch_threads
    with pytest.raises(ConfigError) as caught:
        with torch_threads(MAX_THREADS + 1):
            pass
    e = caught.value
    assert (e.field, e.value, e.low, e.high, e.integer) == ("threads", MAX_THREADS + 1, 1,
                                                           MAX_THREADS, True)
    assert str(e) == f"threads must be in [1, {MAX_THREADS}], got {MAX_THREADS + 1}"


def test_num_classes_is_a_range_error_after_its_where():
    from synth.models import check_shape
    from synth.models.registry import MAX_CLASSES
    with pytest.raises(ConfigError) as caught:
        check_shape([4], 1, "checkpoint t.pt")
    for e in (caught.value, pickle.loads(pickle.dumps(caught.value))):   # as Ray sends it
        assert str(e) == f"checkpoint t.pt: num_classes must be in [2, {MAX_CLASSES}], got 1"
        assert (e.field, e.value, e.low, e.high, e.integer) == ("num_classes", 1, 2,
                                                               MAX_CLASSES, True)


def test_hwsim_eval_num_classes_is_told_from_the_fields():
    line = one_error_line(run(["hwsim", "eval", "--spec", "lenet5", "--input-shape", "1x28x28",
                               "--num-classes", str(HUGE)]))
    assert line == f"error: --num-classes must be in [2, 100000], got {HUGE}"


def test_train_worker_user_error_is_the_workers_own():
    from ray.train.v2.api.exceptions import WorkerGroupError

    from cluster.train import worker_user_error
    try:
        check_range("epochs", HUGE, 0, 100000, integer=True)
    except ConfigError as e:
        cause = e
    assert worker_user_error(WorkerGroupError("rank 0 failed", {0: cause})) is cause
    assert worker_user_error(WorkerGroupError("rank 0 failed", {0: RuntimeError("bug")})) is None


@pytest.fixture
def worker_range_command():
    """An ``nnsynth`` command whose --width is checked by check_range in a Ray task."""
    @click.command("h114-worker")
    @click.option("--width", type=click.IntRange(min=1), default=4)
    def command(width):
        from cluster.latency import ray_starmap
        ray_starmap(check_range, [("width", width, 1, 1000)])

    add_command(command)
    try:
        yield
    finally:
        cli.commands.pop("h114-worker", None)


def test_ray_starmap_reraises_the_workers_error(ray_local, worker_range_command):
    from cluster.latency import ray_starmap
    with pytest.raises(ConfigError) as caught:
        ray_starmap(check_range, [("epochs", 7, 0, 5), ("epochs", 1, 0, 5)])
    assert (caught.value.field, caught.value.value, caught.value.high) == ("epochs", 7, 5)
    assert str(caught.value) == "epochs must be in [0, 5], got 7"
    # the CLI names the option from the fields of the worker's error
    line = one_error_line(run(["h114-worker", "--width", "5000"]))
    assert line == "error: --width must be in [1, 1000], got 5000"


def _symbiotic(tmp_path, *extra):
    return run(["symbiotic", "--dataset", "enwiki", "--platform", "accel",
                "--out", str(tmp_path / "out"), *extra])


@pytest.mark.parametrize("extra,expected", [
    (["--sparsities", "0.5,1.5"], "--sparsities: each value must be in (0, 1), got 1.5"),
    (["--sparsities", "0,0.5"], "--sparsities: each value must be in (0, 1), got 0.0"),
    (["--sparsities", "nan"], "--sparsities: each value must be a number in (0, 1), got nan"),
    (["--sparsities", "0.5,x"], "--sparsities must be comma-separated numbers, got '0.5,x'"),
    (["--sparsities", ",".join(["0.5"] * 65)], "--sparsities must be at most 64 values, got 65"),
    (["--widths", "4,0"], "--widths: each value must be in [1, inf), got 0"),
    (["--widths", "32,x"], "--widths must be comma-separated integers, got '32,x'"),
    (["--widths", ",".join(["4"] * 100)], "--widths must be at most 64 values, got 100"),
    (["--cells", "lstm,gru"],
     "--cells must be comma-separated cell types among lstm, hlstm, got 'gru'"),
])
def test_symbiotic_list_options_name_the_option_and_the_value(tmp_path, extra, expected):
    assert one_error_line(_symbiotic(tmp_path, *extra)) == f"error: {expected}"
    assert not (tmp_path / "out").exists()


def test_a_width_past_int64_is_the_parameter_limit():
    """torch's meta device raised TypeError 'Overflow when unpacking long long' (not the
    RuntimeError meta_shell caught): a traceback from `symbiotic --widths 1e23`'s table."""
    from synth.lm import recurrent_layer
    with pytest.raises(UserError, match="has more parameters than a tensor can hold"):
        recurrent_layer("lstm", 10 ** 23, 10 ** 23)
