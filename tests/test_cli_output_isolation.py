"""A ``-q`` command run in the test process leaves no logging level behind for the next test
(tests/conftest.py ``_cli_output_settings_restored``): the library's warnings still reach
caplog, also after a module fixture of its own ran a ``-q`` command before the first test
(the level that fixture left was taken as the one to restore).  The tests run in this order
(one module, one process)."""
import logging

import pytest

from tests._cli import run


@pytest.fixture(scope="module")
def quiet_setup():
    """A module fixture that runs a ``-q`` command, as tests' data fixtures do."""
    assert run(["-q", "models"]).exit_code == 0


def test_a_quiet_command_keeps_the_library_warnings():
    # -q: "no progress ...; warnings and errors only" (its help); it set ERROR and dropped them
    assert run(["-q", "models"]).exit_code == 0
    assert logging.getLogger("synth").level == logging.WARNING


def test_the_next_test_still_sees_library_warnings(caplog):
    logging.getLogger("synth.grow_prune").warning("resuming grow-prune after step 1 of 5")
    assert "resuming grow-prune" in caplog.text


def test_a_module_fixtures_quiet_command_does_not_hide_them(quiet_setup, caplog):
    logging.getLogger("synth.grow_prune").warning("resuming grow-prune after step 2 of 5")
    assert "resuming grow-prune" in caplog.text
