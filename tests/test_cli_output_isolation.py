"""A ``-q`` command run in the test process leaves no logging level behind for the next test
(tests/conftest.py ``_cli_output_settings_restored``): the library's warnings still reach
caplog.  The two tests run in this order (one module, one process)."""
import logging

from tests._cli import run


def test_a_quiet_command_sets_the_library_loggers_to_error():
    assert run(["-q", "models"]).exit_code == 0
    assert logging.getLogger("synth").level == logging.ERROR


def test_the_next_test_still_sees_library_warnings(caplog):
    logging.getLogger("synth.grow_prune").warning("resuming grow-prune after step 1 of 5")
    assert "resuming grow-prune" in caplog.text
