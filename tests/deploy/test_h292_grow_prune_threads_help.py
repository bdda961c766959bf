"""``nnsynth grow-prune --help`` says what --threads' count in the result is (h292, h295): a
rerun that reports the finished result at --out gives that run's count, recorded in its
checkpoint (tests/deploy/test_h295_grow_prune_threads.py runs it), where the help, shared with
diabdeep's, said only 'the result records the count used'."""
from click.testing import CliRunner

from deploy.cli.main import cli


def _threads_help(command: str) -> str:
    shown = CliRunner().invoke(cli, [command, "--help"], terminal_width=10_000)
    assert shown.exit_code == 0, shown.output
    line = next(row for row in shown.output.splitlines() if "--threads" in row)
    return " ".join(line.split())


def test_the_help_says_a_reported_rerun_gives_its_runs_count():
    said = _threads_help("grow-prune")
    # h295: the checkpoint records the count, and a reported rerun gives its run's
    assert ("the result and its checkpoint record the count used: the finished result at "
            "--out of this same command, reported again, gives its run's count (none where "
            "its checkpoint records none)") in said
    # diabdeep's rerun at another count runs again (its run key holds the count): its help's
    # word stays true there
    assert "the result records the count used." in _threads_help("diabdeep")
