"""An actor whose ``__init__`` raises a UserError reaches the driver as Ray's
``ActorDiedError`` on every call to it: its text is the creation task's whole traceback, and
it has no ``.cause``.  The CLI printed no one-line message for it (``worker_user_error``
found no UserError: the command's traceback); it now follows the error's cause (the
creation task's ``RayTaskError``, the argument Ray made it with) to the user's error, and
tells a range error by the option typed (exit 2, one line).  A real actor on a local Ray,
so that a Ray whose error stops carrying its cause fails here."""
from __future__ import annotations

import click
import pytest

from deploy.cli.main import add_command, cli, worker_user_error
from synth.config import check_range
from synth.errors import ConfigError, UserError
from tests._cli import one_error_line, run

HUGE = 99999999999


class Sized:
    """An actor that checks its width in ``__init__`` (as a pool's actors check settings)."""

    def __init__(self, width: int, plain: bool = False):
        if plain:
            raise UserError(f"a layer of width {width:,} does not fit this accelerator")
        check_range("width", width, 0, 4096, integer=True)
        self.width = width

    def get(self) -> int:
        return self.width


def _died(ray, width: int, plain: bool = False) -> BaseException:
    actor = ray.remote(num_cpus=0)(Sized).remote(width, plain)
    with pytest.raises(Exception) as caught:
        ray.get(actor.get.remote())
    return caught.value


def test_an_actor_init_user_error_is_found_behind_actor_died_error(ray_local):
    from ray.exceptions import ActorDiedError
    error = _died(ray_local, HUGE)
    assert isinstance(error, ActorDiedError) and error.actor_init_failed
    assert not isinstance(error, UserError)   # Ray's, its text a traceback
    found = worker_user_error(error)
    assert isinstance(found, ConfigError) and type(found) is ConfigError
    assert (found.field, found.value, found.low, found.high) == ("width", HUGE, 0, 4096)
    assert worker_user_error(ActorDiedError()) is None   # a death without a known cause


@pytest.fixture
def actor_command(ray_local):
    """An ``nnsynth`` command whose work calls an actor made with --width (registered as every
    command is, removed after)."""
    @click.command("h124-actor")
    @click.option("--width", type=click.IntRange(min=1), default=4)
    @click.option("--plain", is_flag=True)
    def command(width, plain):
        actor = ray_local.remote(num_cpus=0)(Sized).remote(width, plain)
        ray_local.get(actor.get.remote())

    add_command(command)
    try:
        yield
    finally:
        cli.commands.pop("h124-actor", None)


def test_an_actor_init_range_error_names_the_option(actor_command):
    line = one_error_line(run(["h124-actor", "--width", str(HUGE)]))
    assert line == f"error: --width must be in [1, 4096], got {HUGE}"


def test_an_actor_init_user_error_is_its_one_line(actor_command):
    line = one_error_line(run(["h124-actor", "--width", "99999999", "--plain"]))
    assert line == "error: a layer of width 99,999,999 does not fit this accelerator"
