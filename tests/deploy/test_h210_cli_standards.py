"""The user-facing standards every ``nnsynth`` command meets (audit h210): ``-v``/``-q`` in
either position, ``-v`` shows something on stderr and keeps ``--json`` parseable, every
option's help says what it is."""
import json
import subprocess
import sys

from deploy.cli.main import cli, hoist_output_flags


def test_output_flags_after_the_command_are_the_roots():
    """``nnsynth train -v ...`` was "No such option '-v'" (the README's ``nnsynth -v CMD``
    was the only spelling)."""
    assert hoist_output_flags(cli, ["train", "-v", "--epochs", "1"]) == \
        ["-v", "train", "--epochs", "1"]
    assert hoist_output_flags(cli, ["hwsim", "eval", "-q", "--model", "m.pt"]) == \
        ["-q", "hwsim", "eval", "--model", "m.pt"]
    assert hoist_output_flags(cli, ["eval", "--verbose", "-vv", "--quiet"]) == \
        ["--verbose", "-vv", "--quiet", "eval"]
    # an option's value, anything after --, and the root's own position are left alone
    assert hoist_output_flags(cli, ["secret", "--class-names", "-v"]) == \
        ["secret", "--class-names", "-v"]
    assert hoist_output_flags(cli, ["eval", "--", "-v"]) == ["eval", "--", "-v"]
    assert hoist_output_flags(cli, ["-q", "models"]) == ["-q", "models"]


def test_verbose_after_the_command_logs_on_stderr_and_keeps_json_clean():
    """``-vv`` shows the options the command ran with and ``-v`` its time, on stderr; the
    --json object is all of stdout.  Before: exit 2, "No such option '-vv'"; and
    ``nnsynth -vv models`` printed nothing more than ``nnsynth models``."""
    done = subprocess.run([sys.executable, "-m", "deploy.cli.main", "models", "--json", "-vv"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout), dict)
    assert "DEBUG deploy.cli: " in done.stderr and "models with as_json=True" in done.stderr
    assert "INFO deploy.cli: " in done.stderr and "models finished in" in done.stderr
