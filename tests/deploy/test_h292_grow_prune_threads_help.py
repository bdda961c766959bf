"""``nnsynth grow-prune --help`` says what --threads' count in the result is (h292): a rerun
that reports the finished result at --out gives none (h289, 0a6ec64: that run's count is not
recorded), where the help, shared with diabdeep's, said 'the result records the count used'."""
from click.testing import CliRunner

from deploy.cli.main import cli
from tests.deploy.test_h289_grow_prune_threads import _grow_prune


def _threads_help(command: str) -> str:
    shown = CliRunner().invoke(cli, [command, "--help"], terminal_width=10_000)
    assert shown.exit_code == 0, shown.output
    line = next(row for row in shown.output.splitlines() if "--threads" in row)
    return " ".join(line.split())


def test_the_help_says_a_reported_rerun_gives_no_count(tmp_path):
    said = _threads_help("grow-prune")
    # h295: the checkpoint records the count, and a reported rerun gives its run's
    assert ("the result and its checkpoint record the count used: the finished result at "
            "--out of this same command, reported again, gives its run's count (none where "
            "its checkpoint records none)") in said
    # as the command does
    out = tmp_path / "g.pt"
    assert _grow_prune(out, 1)["threads"] == 1
    again = _grow_prune(out, 2)
    assert "is the finished result of this same command" in again["warning"]
    assert again["threads"] == 1
    # diabdeep's rerun at another count runs again (its run key holds the count): its help's
    # word stays true there
    assert "the result records the count used." in _threads_help("diabdeep")
